//! `executor run [JOB]` in a checkout: the example jobs in `examples/docker-build` on the real
//! engine, in both Docker modes, plus listing, errors, `--dry-run` and Ctrl-C.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::harness::{assert_no_canary, docker, leftovers, Bounded, CANARY, JOB_IMAGE};
use crate::spawned::{Ended, Spawned};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The bound on the driver's peak memory that docs/security.md states.
const PEAK_LIMIT_KIB: u64 = 64 * 1024;

/// A throwaway git checkout of the example project plus a driver config using the test images.
pub struct Checkout {
    pub dir: TempDir,
    pub job_id: String,
}

impl Checkout {
    pub fn new() -> Checkout {
        let dir = tempfile::tempdir().unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/docker-build");
        let sh = |cmd: &str| {
            let status = Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "{cmd}");
        };
        sh(&format!("cp -a {}/. .", example.display()));
        sh("git init -q . && git add . && git -c user.email=t@t -c user.name=t commit -qm example");
        std::fs::write(
            dir.path().join("executor.yaml"),
            "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n\
             helper:\n  image: executor-test/debian:1\n\
             mode:\n  allowed: [dind, socket, none]\n",
        )
        .unwrap();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let job_id = format!("{}{:03}", std::process::id(), 500 + n);
        Checkout { dir, job_id }
    }

    pub fn key(&self) -> String {
        format!("executor-r900-p77-c0-j{}", self.job_id)
    }

    /// `executor run ARGS` as a person would type it: no runner environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_executor"));
        cmd.arg("run")
            .args(args)
            .args(["--var", &format!("JOB_IMAGE={JOB_IMAGE}")])
            .args(["--var", "CI_RUNNER_ID=900", "--var", "CI_PROJECT_ID=77"])
            .args(["--var", &format!("CI_JOB_ID={}", self.job_id)])
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("EXECUTOR_CONFIG", self.dir.path().join("executor.yaml"));
        cmd
    }

    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self
            .command(args)
            .args(["--var", &format!("DEPLOY_TOKEN={CANARY}")])
            .bounded_output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_no_canary(&stdout);
        assert_no_canary(&stderr);
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }

    #[track_caller]
    pub fn assert_nothing_left(&self) {
        let left = leftovers(&self.key());
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

#[test]
fn build_jobs_pass_in_dind_and_socket_mode() {
    for job in ["build-dind", "build-socket"] {
        let checkout = Checkout::new();
        let ((code, stdout, stderr), seen) = events_during(|| checkout.run(&[job]));
        assert_eq!(code, 0, "{job}\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("hello from the image this job built"),
            "{stdout}"
        );
        assert!(
            stdout.contains("$ docker build -q -t \"$IMAGE_TAG\" ctx"),
            "{stdout}"
        );
        // What the engine saw decides the mode: a sidecar was created in dind mode only, and the
        // image was built (tagged) on the host engine in socket mode only.
        let sidecar = format!("container create {}-dind", checkout.key());
        let image = format!("image tag hello-{}:latest", checkout.job_id);
        let (created, tagged) = (seen.contains(&sidecar), seen.contains(&image));
        match job {
            "build-dind" => assert!(created && !tagged, "{job}: {seen}"),
            _ => assert!(!created && tagged, "{job}: {seen}"),
        }
        for step in ["prepare", "get_sources", "build_script", "cleanup"] {
            assert!(stderr.contains(&format!("✔ {step} (")), "{step}: {stderr}");
        }
        assert!(stderr.contains("ignored in a local run: cache"), "{stderr}");
        assert!(
            !stderr.contains('\x1b') && !stdout.contains('\x1b'),
            "no colour when piped"
        );
        checkout.assert_nothing_left();
    }
}

/// The engine's events while `during` runs, as lines `TYPE ACTION NAME`, watched live: a
/// query afterwards (`docker events --since`) reads dockerd's buffer of its last 256 events,
/// which the jobs of tests running alongside can overrun. A marker volume, made and removed
/// before and after, shows the watch had begun and has seen everything up to the end.
fn events_during<T>(during: impl FnOnce() -> T) -> (T, String) {
    let mut watch = Command::new("docker")
        .args([
            "events",
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}{{.Actor.ID}}",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let marker = |n: u32| {
        let name = format!("executor-test-events-{}-{n}", std::process::id());
        docker(&["volume", "create", &name]);
        docker(&["volume", "rm", &name]);
        name
    };
    let await_line = |text: &str, seen: &mut String| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .expect("docker events saw the marker");
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(text) {
                return;
            }
        }
    };
    let mut seen = String::new();
    // Markers until one is seen: the watch may subscribe after the first is made.
    let mut n = 0;
    loop {
        let name = marker(n);
        let deadline = Instant::now() + Duration::from_millis(500);
        let mut got = false;
        while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line.contains(&name) {
                got = true;
                break;
            }
        }
        if got {
            break;
        }
        n += 1;
        assert!(n < 20, "docker events never started");
    }
    let result = during();
    let end = marker(1000);
    await_line(&end, &mut seen);
    let _ = watch.kill();
    let _ = watch.wait();
    (result, seen)
}

/// `services:` from the file start next to the job, as gitlab-runner hands them to a driver;
/// the `--var` values (secrets' stand-ins) never reach the service.
#[test]
fn a_job_with_a_service_reaches_it_by_its_alias() {
    let checkout = Checkout::new();
    let (code, stdout, stderr) = checkout.run(&["with-service"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("hello from the service"), "{stdout}");
    assert!(
        stderr.contains("service executor-test__http (executor-test/http:1) ready"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("ignored in a local run: services"),
        "{stderr}"
    );
    checkout.assert_nothing_left();
}

#[test]
fn references_gitlab_env_and_after_script() {
    let checkout = Checkout::new();
    let (code, stdout, stderr) = checkout.run(&["referenced"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("hello through a !reference"), "{stdout}");
    assert!(
        stdout.contains("after_script sees status success, no GREETING and written to GITLAB_ENV"),
        "{stdout}"
    );
    assert!(stderr.contains("ignored in a local run: rules"), "{stderr}");
    checkout.assert_nothing_left();
}

#[test]
fn a_failing_job_exits_with_its_own_code_and_still_runs_after_script() {
    let checkout = Checkout::new();
    let (code, stdout, stderr) = checkout.run(&["failing"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(stdout.contains("about to fail") && !stdout.contains("never printed"));
    assert!(
        stdout.contains("after_script still runs, status failed"),
        "{stdout}"
    );
    assert!(
        stderr.contains("job failing failed with exit code 3"),
        "{stderr}"
    );
    checkout.assert_nothing_left();
}

#[test]
fn without_a_job_the_jobs_are_listed() {
    let checkout = Checkout::new();
    let (code, stdout, _) = checkout.run(&[]);
    assert_eq!(code, 0);
    for job in ["build-dind", "build-socket", "referenced", "failing"] {
        assert!(stdout.contains(job), "{stdout}");
    }
    assert!(
        !stdout.contains(".docker-build"),
        "hidden jobs are not listed"
    );
}

#[test]
fn an_unknown_job_or_a_broken_file_is_a_clear_error() {
    let checkout = Checkout::new();
    let (code, _, stderr) = checkout.run(&["nope"]);
    assert_eq!(code, 125);
    assert!(
        stderr.contains("nope") && stderr.contains("build-dind"),
        "{stderr}"
    );
    std::fs::write(
        checkout.dir.path().join("broken.yml"),
        "job:\n  script: [a\n  x: y\n",
    )
    .unwrap();
    let (code, _, stderr) = checkout.run(&["job", "--file", "broken.yml"]);
    assert_eq!(code, 125);
    assert!(
        stderr.contains("broken.yml") && stderr.contains("line"),
        "{stderr}"
    );
    let (code, _, stderr) = checkout.run(&["job", "--file", "missing.yml"]);
    assert_eq!(code, 125);
    assert!(stderr.contains("missing.yml"), "{stderr}");
}

/// The plan is printed without touching Docker: the configured engine does not even exist.
#[test]
fn dry_run_prints_the_plan_without_an_engine() {
    let checkout = Checkout::new();
    std::fs::write(
        checkout.dir.path().join("executor.yaml"),
        "docker:\n  host: unix:///nonexistent/docker.sock\ndind:\n  image: executor-test/dind:1\n",
    )
    .unwrap();
    let (code, stdout, stderr) =
        checkout.run(&["build-dind", "--dry-run", "--var", "SECRET=canary-value"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("canary-value") && !stderr.contains("canary-value"));
    let stdout = stdout.replace(&checkout.job_id, "<job>");
    insta::assert_snapshot!("dry_run_build_dind", stdout);
    let (code, stdout, _) = checkout.run(&["build-socket", "--dry-run", "--mode", "none"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("mode: none"),
        "--mode wins over the job's variable: {stdout}"
    );
}

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
/// person's `--var`), as a runner's come from GitLab's payload.
#[test]
fn predefined_ids_in_the_file_do_not_rename_resources() {
    let checkout = Checkout::new();
    std::fs::write(
        checkout.dir.path().join("ids.yml"),
        "forged:\n  variables: {CI_PROJECT_ID: \"12345\", CI_RUNNER_ID: \"5\", CI_JOB_ID: \"1\"}\n  \
         script: [\"true\"]\n",
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
    assert!(network.starts_with("network: executor-r0-p"), "{network}");
    assert!(
        !network.contains("-p12345-") && !network.ends_with("-j1"),
        "{network}"
    );
    for name in ["CI_PROJECT_ID", "CI_RUNNER_ID", "CI_JOB_ID"] {
        let line = format!("job variable {name} differs from the job payload; ignored");
        assert!(stderr.contains(&line), "{stderr}");
    }
}

/// Ctrl-C while a job's script runs (its line printed: `$((6*7))` so the echoed command
/// line cannot match) stops it, cleans up and exits 130.
#[test]
fn ctrl_c_cleans_up() {
    let checkout = Checkout::new();
    let ended = stop_a_slow_run(&checkout, "INT");
    assert!(
        ended.took < Duration::from_secs(10),
        "took {:?}",
        ended.took
    );
    checkout.assert_nothing_left();
}

/// Start a local job that prints `sleeping-42` and then sleeps a minute, send it `signal` once
/// that line is out, and wait for it to end: it must exit 130 without its last line `never`.
#[track_caller]
pub fn stop_a_slow_run(checkout: &Checkout, signal: &str) -> Ended {
    std::fs::write(
        checkout.dir.path().join("slow.yml"),
        "slow:\n  variables: {EXECUTOR_DOCKER_MODE: none}\n  script:\n    \
         - echo \"sleeping-$((6*7))\"\n    - sleep 60\n    - echo never\n",
    )
    .unwrap();
    let child = checkout
        .command(&["slow", "--file", "slow.yml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = Spawned::new(child);
    run.wait_for_line("sleeping-42");
    run.signal(signal);
    let ended = run.end();
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(
        !ended.stdout.lines().any(|l| l.trim() == "never"),
        "{}",
        ended.stdout
    );
    ended
}

/// On a terminal the step lines are coloured, unless NO_COLOR is set.
#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let checkout = Checkout::new();
    let on_terminal = |no_color: &str| {
        let exe = env!("CARGO_BIN_EXE_executor");
        let line = format!(
            "{no_color} EXECUTOR_CONFIG=executor.yaml {exe} run build-dind --dry-run --var CI_JOB_ID={}",
            checkout.job_id
        );
        // util-linux `script` gives the command a pseudo-terminal.
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .current_dir(checkout.dir.path())
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "a broken file is an error");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let broken = "default:\n  image: [oops\n";
    std::fs::write(checkout.dir.path().join(".gitlab-ci.yml"), broken).unwrap();
    // An error line is coloured on a terminal ...
    let coloured = on_terminal("");
    assert!(coloured.contains("\x1b[31m"), "{coloured:?}");
    // ... and plain with NO_COLOR.
    let plain = on_terminal("NO_COLOR=1");
    assert!(!plain.contains('\x1b'), "{plain:?}");
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
/// docs/security.md states.
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
    let cases = [
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

/// The project's own pipeline reads cleanly: every job dry-runs, on a runner that offers
/// socket mode (its `test` job asks for it, as `.gitlab-ci.yml` says).
#[test]
fn the_projects_own_pipeline_dry_runs_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("executor.yaml");
    std::fs::write(&config, "mode:\n  allowed: [dind, socket, none]\n").unwrap();
    for (job, mode) in [("format", "dind"), ("clippy", "dind"), ("test", "socket")] {
        let out = Command::new(env!("CARGO_BIN_EXE_executor"))
            .args(["run", job, "--dry-run", "--file"])
            .arg(root.join(".gitlab-ci.yml"))
            .current_dir(root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("EXECUTOR_CONFIG", &config)
            .bounded_output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(0), "{job}: {stderr}");
        assert!(
            stdout.contains(&format!("mode: {mode}\n")),
            "{job}: {stdout}"
        );
        assert!(stdout.contains("image: rust:1-bookworm"), "{job}: {stdout}");
    }
}
