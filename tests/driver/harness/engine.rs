//! The test engine through the docker CLI: what is left of a job, volumes, images, and
//! `executor doctor` against it.

use std::process::Command;

use super::Bounded;

/// Names of every container, network and volume labelled with `key`.
pub fn leftovers(key: &str) -> Vec<String> {
    labelled(&format!("io.executor.job-key={key}"))
}

/// Names of every container, network and volume carrying `label` (`name` or `name=value`).
pub fn labelled(label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    let mut found = Vec::new();
    for args in [
        vec![
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "container {{.Names}}",
        ],
        vec![
            "network",
            "ls",
            "--filter",
            &filter,
            "--format",
            "network {{.Name}}",
        ],
        vec![
            "volume",
            "ls",
            "--filter",
            &filter,
            "--format",
            "volume {{.Name}}",
        ],
    ] {
        found.extend(docker(&args).lines().map(str::to_string));
    }
    found
}

/// Run the docker CLI against the test engine; panics if it fails.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Assert the engine has no volume named exactly `volume`.
#[track_caller]
pub fn assert_volume_gone(volume: &str) {
    let left = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=^{volume}$"),
    ]);
    assert!(left.trim().is_empty(), "left behind: {left}");
}

/// Remove `volume` (a kept one, which cleanup leaves by design) and prove it is gone.
#[track_caller]
pub fn remove_volume(volume: &str) {
    docker(&["volume", "rm", "-f", volume]);
    assert_volume_gone(volume);
}

/// `executor --config FILE doctor` with `config` written to a temp file and no runner
/// environment: its exit code and stdout.
pub fn doctor(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("executor.yaml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["--config", &path.display().to_string(), "doctor"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .bounded_output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Build `image` from a Dockerfile's text and files beside it.
pub fn build_image(image: &str, dockerfile: &str, files: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    docker(&[
        "build",
        "-q",
        "-t",
        image,
        &dir.path().display().to_string(),
    ]);
}

/// gc of a runner as a default config runs it (`dind.warm` off, so every warm set goes), with
/// every idle cache dropped; then nothing of it may remain.
pub fn collect_runner(runner: &str) {
    // A cleanup with `warm.jobs` leaves the next set to a detached `executor warm-up`; one
    // still at work would add resources after gc looked.
    wait_for_warm_ups();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .args([
            "gc",
            "--grace",
            "0s",
            "--drop-caches",
            "--runner-id",
            runner,
        ])
        .env("EXECUTOR_CONFIG", "/dev/null")
        .bounded_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let label = format!("io.executor.runner-id={runner}");
    assert_eq!(labelled(&label), Vec::<String>::new());
}

/// Wait (up to 60 s) until the `executor warm-up` process making warm set `key` has ended:
/// with `warm.jobs`, a cleanup leaves its job's networks and the slot's next set to it.
pub fn wait_for_warm_up(key: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let pattern = format!("executor.* warm-up {key}( |$)");
    loop {
        let running = std::process::Command::new("pgrep")
            .args(["-f", &pattern])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !running {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "warm-up {key} still running after 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The warm set a cleanup or local run says it started (`starting warm job set KEY ...`).
pub fn started_warm_set(stderr: &str) -> Option<String> {
    let (_, rest) = stderr.split_once("starting warm job set ")?;
    Some(rest.split([' ', ',', '\n']).next()?.to_string())
}

/// Wait (up to 60 s) until no detached `executor warm-up` (started by a cleanup with
/// `warm.jobs`) runs on this machine.
pub fn wait_for_warm_ups() {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let running = std::process::Command::new("pgrep")
            .args(["-f", "executor.* warm-up "])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !running {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
