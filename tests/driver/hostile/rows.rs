//! The rows of `hostile_and_broken_input`: what each sets up, does, and must get back.

use super::GOOD;
use crate::harness::Job;

/// What a row does after setting up the job.
#[derive(Clone, Copy)]
pub(super) enum Act {
    Prepare,
    /// prepare (must pass), then run a script that exits 3.
    FailingRun,
    /// run with a script path that does not exist.
    RunMissingScript,
    /// run a good script without prepare.
    RunUnprepared,
    Cleanup,
}

pub(super) struct Row {
    pub(super) name: &'static str,
    pub(super) config: &'static str,
    pub(super) mode: &'static str,
    pub(super) setup: fn(Job) -> Job,
    pub(super) act: Act,
    pub(super) code: i32,
    pub(super) message: &'static str,
}

fn same(job: Job) -> Job {
    job
}

pub(super) fn rows() -> Vec<Row> {
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
            name: "plain tcp engine without insecure",
            config: "docker:\n  host: tcp://127.0.0.1:1\n",
            mode: "none",
            setup: same,
            act: Act::Prepare,
            code: 1,
            message: "docker.host at line 2: `tcp://127.0.0.1:1` without docker.cert_path is plain HTTP",
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
            config: "docker:\n  host: tcp://127.0.0.1:1\n  insecure: true\n",
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
