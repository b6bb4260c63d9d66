//! The engine restarts under a running stage: `run` ends promptly as a system failure (the
//! runner may retry the job) and, with the engine back, cleanup leaves nothing.
//!
//! Its own test binary on purpose: cargo runs test binaries one after another, so stopping the
//! engine here cannot disturb the other engine tests. It restarts the engine with
//! `scripts/engine-up`, as the test command itself does.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn executor(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_executor"));
    cmd.args(args).current_dir(dir).env_clear().envs([
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("BUILD_FAILURE_EXIT_CODE", "1".into()),
        ("SYSTEM_FAILURE_EXIT_CODE", "2".into()),
        (
            "EXECUTOR_CONFIG",
            dir.join("executor.yaml").display().to_string(),
        ),
        (
            "JOB_RESPONSE_FILE",
            dir.join("response.json").display().to_string(),
        ),
        ("CUSTOM_ENV_CI_RUNNER_ID", "907".into()),
        ("CUSTOM_ENV_CI_PROJECT_ID", "1".into()),
        ("CUSTOM_ENV_CI_CONCURRENT_ID", "0".into()),
        ("CUSTOM_ENV_CI_JOB_ID", std::process::id().to_string()),
        ("CUSTOM_ENV_EXECUTOR_DOCKER_MODE", "none".into()),
    ]);
    cmd
}

/// A live dockerd process (a zombie of a killed one does not count).
fn dockerd_alive() -> bool {
    let out = Command::new("ps")
        .args(["-C", "dockerd", "-o", "stat="])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|stat| !stat.trim().starts_with('Z'))
}

fn engine_up() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/engine-up");
    assert!(
        Command::new(script).status().unwrap().success(),
        "the engine did not come back"
    );
}

#[test]
fn an_engine_restart_under_a_stage_is_a_prompt_system_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("executor.yaml"),
        "image: executor-test/debian:1\nhelper:\n  image: executor-test/debian:1\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("script"), "echo started\nsleep 120\n").unwrap();
    // The job payload the runner writes: the only source of the job's identity.
    let payload = format!(
        r#"{{"id": {}, "job_info": {{"project_id": 1}},
            "variables": [{{"key": "CI_RUNNER_ID", "value": "907"}}]}}"#,
        std::process::id()
    );
    std::fs::write(dir.path().join("response.json"), payload).unwrap();
    assert!(executor(dir.path(), &["prepare"])
        .status()
        .unwrap()
        .success());

    let mut run = executor(dir.path(), &["run", "script", "build_script"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(run.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();

    let stopped = Instant::now();
    Command::new("pkill")
        .args(["-TERM", "-x", "dockerd"])
        .status()
        .unwrap();
    let status = run.wait().unwrap();
    let took = stopped.elapsed();
    let mut stderr = String::new();
    run.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    // Let the old daemon finish its shutdown (it may still answer meanwhile), then restart.
    let deadline = Instant::now() + Duration::from_secs(60);
    while dockerd_alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    engine_up();

    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(
        stderr.contains("lost the Docker engine at unix:///var/run/docker.sock"),
        "{stderr}"
    );
    let cleanup = executor(dir.path(), &["cleanup"]).output().unwrap();
    let said = String::from_utf8_lossy(&cleanup.stderr);
    assert!(cleanup.status.success(), "{said}");
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter", "label=io.executor.runner-id=907"])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "left behind after the restart; cleanup said: {said}"
    );
}
