//! The engine restarts under a running stage: `run` ends promptly as a system failure (the
//! runner may retry the job) and, with the engine back, cleanup leaves nothing.
//!
//! Its own test binary on purpose: cargo runs test binaries one after another, so stopping the
//! engine here cannot disturb the other engine tests. It restarts the engine with
//! `scripts/engine-up`, as the test command itself does.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Sender};
use std::thread::JoinHandle;
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
        ("CUSTOM_ENV_SECRET", CANARY.into()),
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

/// A masked job variable's value: it must never reach any output of any call.
const CANARY: &str = "canary-secret-engine-restart";

/// The longest any call may take: a hung call fails the test instead of stalling the suite.
const CALL_LIMIT: Duration = Duration::from_secs(240);

/// Reads a pipe to its end in the background, sending each line as it comes.
fn collect(pipe: impl Read + Send + 'static, lines: Sender<String>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = lines.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    })
}

/// Wait for `child` at most `limit` (past it: killed, and the test fails).
fn wait_within(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One whole call, bounded; its output is checked for the canary.
fn call(dir: &Path, args: &[&str]) -> (ExitStatus, String) {
    let mut child = executor(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, _rx) = channel();
    let out = collect(child.stdout.take().unwrap(), tx.clone());
    let err = collect(child.stderr.take().unwrap(), tx);
    let status = wait_within(&mut child, CALL_LIMIT, &args.join(" "));
    let text = out.join().unwrap() + &err.join().unwrap();
    assert!(
        !text.contains(CANARY),
        "a secret reached the output:\n{text}"
    );
    (status, text)
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
            "variables": [{{"key": "CI_RUNNER_ID", "value": "907"}},
                          {{"key": "SECRET", "value": "{CANARY}", "masked": true}}]}}"#,
        std::process::id()
    );
    std::fs::write(dir.path().join("response.json"), payload).unwrap();
    let (prepared, said) = call(dir.path(), &["prepare"]);
    assert!(prepared.success(), "{said}");

    let mut run = executor(dir.path(), &["run", "script", "build_script"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = channel();
    let stdout = collect(run.stdout.take().unwrap(), tx.clone());
    let stderr = collect(run.stderr.take().unwrap(), tx);
    // The engine stops only once the stage's script runs (its first line printed).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.trim() == "started" => break,
            Ok(_) => {}
            Err(e) => panic!("the stage never printed its first line ({e})"),
        }
    }

    let stopped = Instant::now();
    Command::new("pkill")
        .args(["-TERM", "-x", "dockerd"])
        .status()
        .unwrap();
    let status = wait_within(&mut run, CALL_LIMIT, "run");
    let took = stopped.elapsed();
    let stdout = stdout.join().unwrap();
    let stderr = stderr.join().unwrap();
    // Let the old daemon finish its shutdown (it may still answer meanwhile), then restart.
    let deadline = Instant::now() + Duration::from_secs(60);
    while dockerd_alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    engine_up();

    for text in [&stdout, &stderr] {
        assert!(
            !text.contains(CANARY),
            "a secret reached the output:\n{text}"
        );
    }
    // Printed for the README's figure (`cargo test --test engine_restart -- --nocapture`).
    eprintln!("run ended {took:?} after dockerd was sent SIGTERM");
    assert_eq!(status.code(), Some(2), "{stderr}");
    // dockerd closes its clients' connections as it begins to shut down (about 50 ms here);
    // the driver must end as soon as it does. The bound leaves room for a loaded machine.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        stderr.contains("lost the Docker engine at unix:///var/run/docker.sock"),
        "{stderr}"
    );
    let (cleaned, said) = call(dir.path(), &["cleanup"]);
    assert!(cleaned.success(), "{said}");
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter", "label=io.executor.runner-id=907"])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "left behind after the restart; cleanup said: {said}"
    );
}
