//! `executor run [JOB]` in a checkout: the example jobs in `examples/docker-build` on the real
//! engine, in both Docker modes, plus listing, errors and `--dry-run`. What a pipeline file
//! cannot do is in `local_safety.rs`; signals, colour and the engine in `local_more.rs`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::checkout::Checkout;
use crate::harness::{docker, Bounded};

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
        // `cache:` is kept under the user's cache dir; the harness's runs have no HOME.
        assert!(
            stderr.contains("cache: not restored nor kept: set HOME or XDG_CACHE_HOME"),
            "{stderr}"
        );
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
    // `rules:` are read now (`Pipeline::decide`), no longer reported as ignored.
    assert!(
        !stderr.contains("ignored in a local run: rules"),
        "{stderr}"
    );
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
    // The manager part of names is this host's machine id (none on a host without one).
    let stdout = stdout
        .replace(&checkout.job_id, "<job>")
        .replace(&crate::harness::stem("900"), "executor-r900-m<manager>");
    insta::assert_snapshot!("dry_run_build_dind", stdout);
    let (code, stdout, _) = checkout.run(&["build-socket", "--dry-run", "--mode", "none"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("mode: none"),
        "--mode wins over the job's variable: {stdout}"
    );
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
