//! Exit codes and messages for failures, and that failures leave nothing behind.

use crate::harness::Job;

#[test]
fn config_prints_one_json_object_and_nothing_else() {
    let job = Job::new("");
    let call = job.config();
    call.ok();
    let value: serde_json::Value = serde_json::from_str(&call.stdout).expect("stdout is JSON");
    assert_eq!(call.stdout.trim_end().lines().count(), 1);
    assert_eq!(value["builds_dir"], "/builds");
    assert_eq!(value["cache_dir"], "/cache");
    assert_eq!(value["builds_dir_is_shared"], false);
    assert_eq!(value["shell"], "bash");
    assert_eq!(value["driver"]["name"], "executor");
    assert!(value["hostname"].is_string());
}

#[test]
fn failing_script_reports_its_code() {
    let job = Job::new("none");
    job.prepare().ok();
    let failed = job.run("build_script", "echo before\nexit 3\necho never");
    failed.expect(1);
    assert!(failed.stdout.contains("before") && !failed.stdout.contains("never"));
    assert_eq!(job.build_exit_code().as_deref(), Some("3\n"));
    // The next stage succeeds; the state of the container is intact.
    job.run("after_script", "true").ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn bad_mode_value_is_a_build_failure_that_creates_nothing() {
    let job = Job::new("docker-please");
    let call = job.prepare();
    call.expect(1);
    assert!(
        call.stderr.contains(
            "EXECUTOR_DOCKER_MODE=`docker-please` is not a Docker mode; set it to one of: dind, socket, none"
        ),
        "{}",
        call.stderr
    );
    assert_eq!(call.stderr.lines().count(), 1, "one line: {}", call.stderr);
    job.assert_nothing_left();
}

#[test]
fn mode_not_allowed_is_a_build_failure() {
    let config = "image: executor-test/debian:1\nmode:\n  allowed: [dind, none]\n";
    let job = Job::with_config("socket", config);
    let call = job.prepare();
    call.expect(1);
    assert!(call
        .stderr
        .contains("is not allowed on this runner; allowed modes: dind, none"));
    job.assert_nothing_left();
}

#[test]
fn unreachable_engine_is_a_system_failure() {
    for host in ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"] {
        let job = Job::with_config(
            "none",
            &format!(
                "docker:\n  host: {host}\n  insecure: {}\n",
                host.starts_with("tcp")
            ),
        );
        let call = job.prepare();
        call.expect(2);
        assert!(
            call.stderr.contains("cannot reach the Docker engine"),
            "{}",
            call.stderr
        );
        job.assert_nothing_left();
    }
}

#[test]
fn run_without_prepare_is_a_system_failure_with_a_reason() {
    let job = Job::new("none");
    let call = job.run("build_script", "true");
    call.expect(2);
    assert!(
        call.stderr.contains("does not exist; prepare did not run"),
        "{}",
        call.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn cleanup_is_idempotent_and_prepare_retries_start_clean() {
    let job = Job::new("none");
    job.cleanup().ok();
    let first = job.prepare();
    first.ok();
    // The engine it talked to, and in which API version, is in the job log.
    let engine_line = first.stderr.lines().find(|l| l.contains("Docker engine "));
    assert!(
        engine_line.is_some_and(|l| l.contains("(API 1.") && l.contains(" at unix://")),
        "{}",
        first.stderr
    );
    let again = job.prepare();
    again.ok();
    assert!(
        again
            .stderr
            .contains("removed what an earlier attempt left"),
        "{}",
        again.stderr
    );
    job.cleanup().ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn secrets_never_reach_output() {
    let job = Job::new("none");
    let calls = [
        job.config(),
        job.prepare(),
        job.run("build_script", "true"),
        job.cleanup(),
    ];
    for call in &calls {
        call.ok();
        assert!(!call.stdout.contains("canary") && !call.stderr.contains("canary"));
    }
    job.assert_nothing_left();
}

#[test]
fn a_sidecar_that_dies_fails_prepare_fast_with_its_logs() {
    // busybox's sh exits at once without a terminal: a "dind" that never serves.
    let config = "image: executor-test/debian:1\ndind:\n  image: executor-test/busybox:1\n";
    let job = Job::with_config("dind", config);
    let call = job.prepare();
    call.expect(2);
    assert!(call.stderr.contains("exited with code"), "{}", call.stderr);
    assert!(call.stderr.contains("log lines of"), "{}", call.stderr);
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn a_sidecar_that_is_not_ready_in_time_is_a_system_failure() {
    let config = "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n  ready_timeout: 50ms\n";
    let job = Job::with_config("dind", config);
    let call = job.prepare();
    call.expect(2);
    assert!(call.stderr.contains("did not answer"), "{}", call.stderr);
    assert!(
        call.stderr.contains("dind.ready_timeout"),
        "{}",
        call.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn a_missing_image_with_pull_policy_never_is_a_build_failure() {
    let config = "image: executor-test/no-such-image:1\npull_policy: never\n";
    let job = Job::with_config("none", config);
    let call = job.prepare();
    call.expect(1);
    assert!(
        call.stderr.contains(
            "image executor-test/no-such-image:1 is not on the engine and pull_policy is never"
        ),
        "{}",
        call.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// An image that declares a VOLUME gives its container an anonymous volume, which carries no
/// label of ours; removing the container must take it along.
#[test]
fn anonymous_volumes_of_the_job_image_do_not_leak() {
    let config = "image: executor-test/dind:1\n";
    let job = Job::with_config("none", config);
    job.prepare().ok();
    let mounts = crate::harness::docker(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{if eq .Destination \"/var/lib/docker\"}}{{.Name}}{{end}}{{end}}",
        &job.container(),
    ]);
    let anonymous = mounts.trim();
    assert!(
        !anonymous.is_empty(),
        "the image's VOLUME made no anonymous volume"
    );
    job.cleanup().ok();
    job.assert_nothing_left();
    let left = crate::harness::docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name={anonymous}"),
    ]);
    assert!(
        left.trim().is_empty(),
        "anonymous volume {anonymous} leaked"
    );
}

/// `prepare --dry-run` in the runner's environment prints the plan and touches no engine.
#[test]
fn protocol_prepare_dry_run_needs_no_engine() {
    let config = "docker:\n  host: unix:///nonexistent/docker.sock\n";
    let job = Job::with_config("dind", config);
    let call = job.call(&["prepare", "--dry-run"]);
    call.ok();
    assert!(call.stdout.contains("mode: dind"), "{}", call.stdout);
    assert!(call
        .stdout
        .contains(&format!("container: {}-dind (dind)", job.key())));
    assert!(call.stdout.contains("privileged: yes"));
    assert!(!call.stdout.contains("canary"), "no variable values");
    job.assert_nothing_left();
}

/// With the runner's environment, `run` is the protocol form and wants exactly two arguments.
#[test]
fn protocol_run_rejects_local_arguments() {
    let job = Job::new("none");
    let call = job.call(&["run", "build-job"]);
    call.expect(1);
    assert!(
        call.stderr.contains("executor run SCRIPT STAGE"),
        "{}",
        call.stderr
    );
    job.assert_nothing_left();
}

/// A script that dies by a signal is still the script's failure while its container lives.
#[test]
fn a_script_killed_by_a_signal_is_a_build_failure() {
    let job = Job::new("none");
    job.prepare().ok();
    job.run("build_script", "kill -KILL $$").expect(1);
    assert_eq!(job.build_exit_code().as_deref(), Some("137\n"));
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// An engine that accepts connections and never answers (hung, or restarting) must not hang
/// the driver: every call fails as a system failure once `docker.timeout` passes.
#[test]
fn a_hung_engine_is_a_system_failure_within_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Hold every connection open without a word, until the test ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let config =
        format!("docker:\n  host: tcp://127.0.0.1:{port}\n  insecure: true\n  timeout: 2s\n");
    let job = Job::with_config("none", &config);
    for call in [
        job.prepare(),
        job.run("build_script", "true"),
        job.cleanup(),
    ] {
        call.expect(2);
    }
    let started = std::time::Instant::now();
    let call = job.prepare();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(call.stderr.contains("tcp://127.0.0.1"), "{}", call.stderr);
}
