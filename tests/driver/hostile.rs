//! Hostile and broken input, one table: each row runs the real binary and checks the exit code
//! (build failure 1 for what retrying cannot fix, system failure 2 for infrastructure), a
//! one-line message naming the problem, and that the engine holds nothing of the job after the
//! runner's cleanup. The "Bad input" table of docs/operations.md lists the same rows.

use crate::harness::{Bounded, Job};

const GOOD: &str = "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n";

/// What a row does after setting up the job.
#[derive(Clone, Copy)]
enum Act {
    Prepare,
    /// prepare (must pass), then run a script that exits 3.
    FailingRun,
    /// run with a script path that does not exist.
    RunMissingScript,
    /// run a good script without prepare.
    RunUnprepared,
    Cleanup,
}

struct Row {
    name: &'static str,
    config: &'static str,
    mode: &'static str,
    setup: fn(Job) -> Job,
    act: Act,
    code: i32,
    message: &'static str,
}

fn same(job: Job) -> Job {
    job
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "config file missing",
            config: GOOD,
            mode: "none",
            setup: |j| j.env("EXECUTOR_CONFIG", "/nonexistent/executor.yaml"),
            act: Act::Prepare,
            code: 1,
            message: "config /nonexistent/executor.yaml: cannot be read",
        },
        Row {
            name: "config unreadable (a directory)",
            config: GOOD,
            mode: "none",
            setup: |j| j.env("EXECUTOR_CONFIG", "/tmp"),
            act: Act::Prepare,
            code: 1,
            message: "config /tmp: cannot be read",
        },
        Row {
            name: "config not YAML",
            config: "mode:\n\tdefault: dind\n",
            mode: "none",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "found character that cannot start any token at line 2 column 1",
        },
        Row {
            name: "config unknown key",
            config: "modes:\n  default: dind\n",
            mode: "none",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "unknown field `modes`, expected one of `docker`, `runner_id`, `slots`, `payload`, `builds_dir`",
        },
        Row {
            name: "config wrong type",
            config: "dind:\n  privileged: maybe\n",
            mode: "none",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "dind.privileged: invalid type",
        },
        Row {
            name: "invalid glob",
            config: "policy:\n  job_images: [\"reg/[ab]\"]\n",
            mode: "none",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "policy.job_images at line 2: `reg/[ab]`",
        },
        Row {
            name: "unknown mode value",
            config: GOOD,
            mode: "docker",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "EXECUTOR_DOCKER_MODE=`docker` is not a Docker mode; set it to one of: dind, none",
        },
        Row {
            name: "mode not offered by the runner",
            config: "mode:\n  allowed: [dind, none]\n",
            mode: "socket",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "is not allowed on this runner; allowed modes: dind, none",
        },
        Row {
            name: "denied job image",
            config: "image: executor-test/debian:1\npolicy:\n  job_images: [\"docker:*\"]\n",
            mode: "none",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "image `executor-test/debian:1` is not allowed by policy.job_images",
        },
        Row {
            name: "image missing with pull_policy never",
            config: "image: executor-test/missing:1\npull_policy: never\n",
            mode: "none",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "is not on the engine and pull_policy is never",
        },
        Row {
            name: "engine unreachable",
            config: "docker:\n  host: tcp://127.0.0.1:1\n",
            mode: "none",
            setup: same,
            act: Act::Prepare,
            code: 2,
            message: "cannot reach the Docker engine at tcp://127.0.0.1:1",
        },
        Row {
            name: "wrong engine socket path",
            config: "docker:\n  host: unix:///nonexistent.sock\n",
            mode: "none",
            setup: same,
            act: Act::Prepare,
            code: 2,
            message: "cannot reach the Docker engine at unix:///nonexistent.sock",
        },
        Row {
            name: "wrong socket.host_path",
            config: "image: executor-test/debian:1\nsocket:\n  host_path: /nonexistent.sock\n\
                     mode:\n  allowed: [dind, socket, none]\n",
            mode: "socket",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "socket.host_path /nonexistent.sock does not exist",
        },
        Row {
            name: "script path missing",
            config: GOOD,
            mode: "none",
            setup: same,
            act: Act::RunMissingScript,
            code: 2,
            message: "cannot read the build_script script /nonexistent/script",
        },
        Row {
            name: "BUILD_EXIT_CODE_FILE not writable",
            config: GOOD,
            mode: "none",
            setup: |j| j.env("BUILD_EXIT_CODE_FILE", "/nonexistent/dir/code"),
            act: Act::FailingRun,
            code: 2,
            message: "failed to write BUILD_EXIT_CODE_FILE /nonexistent/dir/code",
        },
        Row {
            name: "JOB_RESPONSE_FILE not JSON",
            config: GOOD,
            mode: "none",
            setup: |j| j.payload("\u{0}\u{1}binary, not JSON"),
            act: Act::Prepare,
            code: 2,
            message: "is not a job payload: invalid JSON",
        },
        Row {
            name: "JOB_RESPONSE_FILE missing",
            config: GOOD,
            mode: "none",
            setup: |j| j.env("JOB_RESPONSE_FILE", "/nonexistent/response.json"),
            act: Act::Prepare,
            code: 2,
            message: "cannot read JOB_RESPONSE_FILE /nonexistent/response.json",
        },
        Row {
            name: "oversized mode variable (120 KiB)",
            config: GOOD,
            mode: "none",
            setup: |j| j.var("EXECUTOR_DOCKER_MODE", &"x".repeat(120 * 1024)),
            act: Act::Prepare,
            code: 1,
            message: "EXECUTOR_DOCKER_MODE=`xxxxxxxx",
        },
        Row {
            name: "control characters in the mode variable",
            config: GOOD,
            mode: "none",
            setup: |j| {
                j.var(
                    "EXECUTOR_DOCKER_MODE",
                    "\u{1b}[31mdind\nexecutor: forged line",
                )
            },
            act: Act::Prepare,
            code: 1,
            message: "EXECUTOR_DOCKER_MODE=`\\u{1b}[31mdind\\nexecutor: forged line`",
        },
        Row {
            name: "a job id forged with path characters is ignored",
            config: GOOD,
            mode: "none",
            setup: |j| j.var("CI_JOB_ID", "../../etc/passwd"),
            act: Act::Prepare,
            code: 0,
            message: "job variable CI_JOB_ID differs from the job payload; ignored",
        },
        Row {
            name: "slot too long",
            config: GOOD,
            mode: "none",
            setup: |j| j.var("CI_CONCURRENT_ID", &"9".repeat(64)),
            act: Act::Prepare,
            code: 1,
            message: "is not a number of at most 20 digits",
        },
        Row {
            name: "no payload (a runner older than 14.1)",
            config: GOOD,
            mode: "none",
            setup: |j| j.without_payload(),
            act: Act::Prepare,
            code: 1,
            message: "JOB_RESPONSE_FILE is not set: executor needs gitlab-runner 14.1 or later",
        },
        Row {
            name: "payload without a runner id",
            config: GOOD,
            mode: "none",
            setup: |j| j.payload(r#"{"id": 1, "job_info": {"project_id": 77}}"#),
            act: Act::Prepare,
            code: 1,
            message: "the job payload has no CI_RUNNER_ID; set runner_id in executor's config",
        },
        Row {
            name: "payload without a job id",
            config: GOOD,
            mode: "none",
            setup: |j| {
                j.payload(
                    r#"{"job_info": {"project_id": 77},
                        "variables": [{"key": "CI_RUNNER_ID", "value": "900"}]}"#,
                )
            },
            act: Act::Prepare,
            code: 1,
            message: "JOB_RESPONSE_FILE has no job id; it must be gitlab-runner's job payload",
        },
        Row {
            name: "run for a job never prepared",
            config: GOOD,
            mode: "none",
            setup: same,
            act: Act::RunUnprepared,
            code: 2,
            message: "does not exist; prepare did not run for this job",
        },
        Row {
            name: "cleanup for a job never prepared",
            config: GOOD,
            mode: "none",
            setup: same,
            act: Act::Cleanup,
            code: 0,
            message: "removed 0 containers, 0 networks, 0 volumes",
        },
    ]
}

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
    assert!(crate::harness::leftovers("executor-r900-p77-c0-j990001").is_empty());
}
