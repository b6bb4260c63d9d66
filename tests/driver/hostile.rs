//! Hostile and broken input, one table: each row runs the real binary and checks the exit code
//! (build failure 1 for what retrying cannot fix, system failure 2 for infrastructure), a
//! one-line message naming the problem, and that the engine holds nothing of the job after the
//! runner's cleanup. The rows are in `hostile/rows.rs`; the "Bad input" table of
//! docs/operations.md lists the same rows.

mod rows;

use crate::harness::{Bounded, Job};
use rows::{rows, Act};

const GOOD: &str = "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n";

#[test]
fn hostile_and_broken_input() {
    let mut failures = Vec::new();
    for row in rows() {
        let job = (row.setup)(Job::with_config(row.mode, row.config));
        let call = match row.act {
            Act::Prepare => job.prepare(),
            Act::FailingRun => {
                job.prepare().ok();
                job.run("build_script", "exit 3")
            }
            Act::RunMissingScript => job.run_path("/nonexistent/script", "build_script"),
            Act::RunUnprepared => job.run("build_script", "true"),
            Act::Cleanup => job.cleanup(),
        };
        let line = call.stderr.lines().find(|l| l.contains(row.message));
        let too_long = call.stderr.lines().any(|l| l.len() > 400);
        // A failure is one line, the last: what came before is the stage's progress.
        let failure_lines = call
            .stderr
            .lines()
            .filter(|l| {
                l.starts_with("executor: error:") || l.starts_with("executor: system failure:")
            })
            .count();
        let last = call.stderr.lines().last().unwrap_or_default();
        let one_line = row.code == 0 || (failure_lines == 1 && last.contains(row.message));
        if call.code != row.code || line.is_none() || too_long || !one_line {
            failures.push(format!(
                "{}: exit {} (want {}), stderr:\n{}",
                row.name, call.code, row.code, call.stderr
            ));
        }
        // The runner calls cleanup after every failed prepare; after it nothing may remain.
        // (With a broken config cleanup fails too, but prepare created nothing to find.)
        let _ = job.cleanup();
        job.assert_nothing_left();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A large job variable that is not ours to read is carried, not refused. (Linux caps one
/// environment string at 128 KiB, so the runner cannot pass a larger one to any driver.)
#[test]
fn a_large_job_variable_does_not_break_the_job() {
    let job = Job::new("none").var("BIG", &"y".repeat(120 * 1024));
    job.prepare().ok();
    let call = job.run("build_script", "test ${#BIG} -eq 122880 && echo big-ok");
    call.ok();
    assert!(call.stdout.contains("big-ok"));
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A job variable that is not UTF-8 at all (raw bytes from the environment; only NUL cannot
/// be passed) is read lossily and refused in one line, like any other bad value.
#[test]
fn a_binary_mode_variable_is_refused_in_one_line() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("executor.yaml");
    std::fs::write(&config, GOOD).unwrap();
    let payload = dir.path().join("response.json");
    std::fs::write(
        &payload,
        r#"{"id": 990001, "job_info": {"project_id": 77},
            "variables": [{"key": "CI_RUNNER_ID", "value": "900"}]}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .arg("prepare")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("EXECUTOR_CONFIG", &config)
        .env("JOB_RESPONSE_FILE", &payload)
        .env("BUILD_FAILURE_EXIT_CODE", "1")
        .env("CUSTOM_ENV_CI_RUNNER_ID", "900")
        .env("CUSTOM_ENV_CI_PROJECT_ID", "77")
        .env("CUSTOM_ENV_CI_CONCURRENT_ID", "0")
        .env("CUSTOM_ENV_CI_JOB_ID", "990001")
        .env(
            "CUSTOM_ENV_EXECUTOR_DOCKER_MODE",
            OsStr::from_bytes(b"\xff\xfe\x1bdind\x80"),
        )
        .bounded_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "EXECUTOR_DOCKER_MODE=`\\u{fffd}\\u{fffd}\\u{1b}dind\\u{fffd}` is not a Docker mode"
        ),
        "{stderr}"
    );
    assert!(
        crate::harness::leftovers(&format!("{}-p77-c0-j990001", crate::harness::stem("900")))
            .is_empty()
    );
}
