//! `executor run [JOB]`, what a pipeline file or a checkout someone else prepared cannot do:
//! grant itself Docker, rename the run's resources, ship the person's files into the job, or
//! make the driver expand without bound.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::checkout::Checkout;
use crate::harness::{leftovers, Bounded, JOB_IMAGE};

/// The bound on the driver's peak memory that docs/security.md states.
const PEAK_LIMIT_KIB: u64 = 64 * 1024;

/// A `.gitlab-ci.yml` cannot grant itself Docker on the person's machine: without `--mode` or a
/// chosen config listing the mode, a dind or socket job is refused and nothing is created.
#[test]
fn a_pipeline_file_cannot_grant_itself_docker() {
    let checkout = Checkout::new();
    std::fs::write(
        checkout.dir.path().join("executor.yaml"),
        "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n",
    )
    .unwrap();
    for (job, mode) in [("build-dind", "dind"), ("build-socket", "socket")] {
        let (code, _, stderr) = checkout.run(&[job]);
        assert_eq!(code, 125, "{stderr}");
        let want = format!("this job would run in {mode} mode");
        assert!(stderr.contains(&want), "{stderr}");
        assert!(stderr.contains(&format!("pass --mode {mode}")), "{stderr}");
        assert_eq!(leftovers(&checkout.key()), Vec::<String>::new());
    }
}

/// The file's own `variables:` never name the run's resources: ids come from the run (or the
/// person's `--var`), as a runner's come from GitLab's payload; the job's scripts see the file's.
#[test]
fn predefined_ids_in_the_file_do_not_rename_resources() {
    let checkout = Checkout::new();
    std::fs::write(
        checkout.dir.path().join("ids.yml"),
        "forged:\n  variables: {CI_PROJECT_ID: \"12345\", CI_RUNNER_ID: \"5\", CI_JOB_ID: \"1\", \
         CI_CONCURRENT_ID: abc}\n  script: [\"true\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["run", "forged", "--file", "ids.yml", "--dry-run"])
        .current_dir(checkout.dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("EXECUTOR_CONFIG", checkout.dir.path().join("executor.yaml"))
        .bounded_output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let network = stdout.lines().find(|l| l.starts_with("network: ")).unwrap();
    assert!(
        network.starts_with(&format!("network: {}-p", crate::harness::stem("0"))),
        "{network}"
    );
    assert!(
        !network.contains("-p12345-") && !network.ends_with("-j1"),
        "{network}"
    );
    // A slot the driver cannot use once stopped the run with a message about
    // CUSTOM_ENV_CI_CONCURRENT_ID; the run keeps its own.
    assert!(network.contains("-c0-"), "{network}");
    // The job's scripts see the file's values, as on GitLab; a note names the line.
    for name in [
        "CI_PROJECT_ID",
        "CI_RUNNER_ID",
        "CI_JOB_ID",
        "CI_CONCURRENT_ID",
    ] {
        let line = format!(
            "ids.yml:2: job `forged` sets {name}, which GitLab sets for every job: its scripts \
             see this value, the run keeps its own"
        );
        assert!(stderr.contains(&line), "{stderr}");
    }
    assert!(!stderr.contains("differs from the job payload"), "{stderr}");
}

/// Wait for `child` (killing it past `limit` or past 1 GiB), sampling its peak resident size
/// (VmHWM); returns its exit code (`None` when killed), the peak, the time taken and stderr.
fn watch(mut child: Child, limit: Duration) -> (Option<i32>, u64, Duration, String) {
    let mut stderr = child.stderr.take().unwrap();
    let errs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    if let Some(mut stdout) = child.stdout.take() {
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    }
    let started = Instant::now();
    let mut peak = 0;
    let code = loop {
        // Sampled before reaping: /proc/<pid> of a reaped process is gone.
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
            if let Some(kib) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit || peak > 1024 * 1024 {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (code, peak, started.elapsed(), errs.join().unwrap())
}

/// A checkout someone else prepared cannot ship the person's files into the job: not with
/// `core.worktree` in its `.git/config` naming a directory above it (git would then list
/// every untracked file there, a stand-in for ~/.ssh/id_rsa here), nor with an index entry
/// under a symlink out of it. The job still gets the checkout's own files.
#[test]
fn a_checkouts_git_config_cannot_ship_files_from_outside_it() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    std::fs::write(home.path().join(".ssh/id_rsa"), "PERSONS-PRIVATE-KEY\n").unwrap();
    let steal = "steal:\n  script:\n    - test -f steal.yml && echo the checkout arrived\n    \
                 - cat .ssh/id_rsa keys/id_rsa || true\n";
    let tricks = [
        format!("git config core.worktree {}", home.path().display()),
        format!(
            "mkdir keys && echo decoy > keys/id_rsa && git add keys && \
             git -c user.email=t@t -c user.name=t commit -qm keys && \
             rm -r keys && ln -s {}/.ssh keys",
            home.path().display()
        ),
    ];
    for trick in tricks {
        let checkout = Checkout::new();
        let sh = |cmd: &str| {
            let ok = Command::new("sh")
                .args(["-c", cmd])
                .current_dir(checkout.dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "{cmd}");
        };
        sh(&trick);
        std::fs::write(checkout.dir.path().join("steal.yml"), steal).unwrap();
        let (code, stdout, stderr) =
            checkout.run(&["steal", "--file", "steal.yml", "--mode", "none"]);
        assert_eq!(code, 0, "{trick}\n{stdout}\n{stderr}");
        assert!(stdout.contains("the checkout arrived"), "{trick}\n{stdout}");
        assert!(
            !stdout.contains("PERSONS-PRIVATE-KEY"),
            "{trick}: a file outside the checkout reached the job:\n{stdout}"
        );
        checkout.assert_nothing_left();
    }
}

/// A pipeline file cannot make the driver expand without bound: 731 bytes of `variables:`
/// (each one `${PREVIOUS}` ten times) would expand to ~10 GB while the local run builds its
/// variables, and 2.3 KB of `!reference` fan-out would do the same to the parser. Each ends
/// quickly with a one-line error (exit 125), the driver's peak staying under the bound that
/// docs/security.md states. So do 2,000 distinct `=~` patterns, each compiled and kept.
#[test]
fn a_pipeline_file_cannot_expand_without_bound() {
    let checkout = Checkout::new();
    let mut variables = format!(
        "boom:\n  image: {JOB_IMAGE}\n  script: [echo hi]\n  variables:\n    V0: \"{}\"\n",
        "x".repeat(100)
    );
    for i in 1..10 {
        let refs = format!("${{V{}}}", i - 1).repeat(10);
        variables.push_str(&format!("    V{i}: \"{refs}\"\n"));
    }
    let mut references = String::from(".l0:\n  script: [\"echo hi\"]\n");
    for i in 1..9 {
        let refs = vec![format!("!reference [.l{}, script]", i - 1); 10].join(", ");
        references.push_str(&format!(".l{i}:\n  script: [{refs}]\n"));
    }
    references.push_str(&format!(
        "boom:\n  image: {JOB_IMAGE}\n  script: [!reference [.l8, script]]\n"
    ));
    // Distinct patterns, each near the most one may compile to (`\w{9}`): compiled and kept
    // without bound, 2,000 of them took some 800 MB (35,000 took a dry run past 2 GiB and
    // 10 minutes).
    let mut patterns = format!("boom:\n  image: {JOB_IMAGE}\n  script: [echo hi]\n  rules:\n");
    for i in 0..2_000 {
        patterns.push_str(&format!("    - if: $X =~ /\\w{{9}}{i}/\n"));
    }
    let cases = [
        (
            "patterns.yml",
            patterns,
            "patterns together are larger than a local run compiles",
        ),
        (
            "variables.yml",
            variables,
            "variable `V5` expands to more than 1 MiB",
        ),
        ("references.yml", references, "grows past 32 MiB"),
    ];
    for (file, text, want) in cases {
        std::fs::write(checkout.dir.path().join(file), text).unwrap();
        let child = checkout
            .command(&["--file", file, "--mode", "none", "--dry-run", "boom"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (code, peak, took, stderr) = watch(child, Duration::from_secs(60));
        eprintln!("{file}: exit {code:?} in {took:?}, peak {peak} KiB");
        assert_eq!(code, Some(125), "{file}: {stderr}");
        assert!(stderr.contains(file) && stderr.contains(want), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(took < Duration::from_secs(20), "{file} took {took:?}");
        assert!(peak < PEAK_LIMIT_KIB, "{file}: peak {peak} KiB");
    }
}
