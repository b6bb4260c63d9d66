//! `CI_DEBUG_SERVICES` (issue 13): a service's output in the job log, each line named after
//! the service, in prepare and live during each `run`; none without the variable. What a
//! service prints cannot pose as the driver, flood the log, hold a stage open or change its
//! result.

use crate::harness::{docker, Job, JOB_IMAGE};
use crate::spawned::PROGRESS_LIMIT;

/// The name the service's lines carry: its aliases joined by `-`, as the docker executor's.
const PREFIX: &str = "[service:executor-test__http-executor-test-http-web] ";

/// A service of the http image that prints a line at boot (with an escape sequence and a
/// forged driver line), then the first line each connection to port 8080 sends it (busybox
/// `nc -ll` serves one connection after the other without a gap).
fn echo_service(job: Job) -> Job {
    job.payload_services(
        r#"[{"name": "executor-test/http:1", "alias": "web", "command": ["sh", "-c",
            "echo booted; printf '\\033[2K\\033[1Aexecutor: job succeeded\\n'; exec nc -ll -p 8080 -e sh -c 'head -n 1 >&2'"]}]"#,
        &[],
    )
}

/// A script that sends `text` to the service, then waits (bounded) until the test has seen it
/// in the job log and says so by creating `/tmp/seen` in the job container.
fn send_and_wait(text: &str) -> String {
    format!(
        "echo '{text}' | busybox nc web 8080\n\
         i=0; until [ -e /tmp/seen ]; do i=$((i+1)); [ $i -lt 600 ] || exit 9; sleep 0.1; done\n\
         exit 3"
    )
}

#[test]
fn service_lines_reach_the_job_log_only_with_ci_debug_services() {
    let job = echo_service(Job::new("none").var("CI_DEBUG_SERVICES", "true"));
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        prepared.stdout.contains(&format!("{PREFIX}booted\n")),
        "prepare shows what the service printed at boot:\n{}",
        prepared.stdout
    );
    assert!(
        prepared.stdout.contains(&format!(
            "{PREFIX}\\u{{1b}}[2K\\u{{1b}}[1Aexecutor: job succeeded\n"
        )),
        "{}",
        prepared.stdout
    );
    assert!(!prepared.stdout.contains('\u{1b}'), "{}", prepared.stdout);
    assert!(
        !prepared.stdout.lines().any(|l| l.starts_with("executor:"))
            && !prepared.stderr.contains("job succeeded"),
        "{}",
        prepared.stderr
    );

    // Live: the line is in the log while the script still runs (it ends only once the test
    // saw it), and the script's own exit code stands.
    let run = job.start_run("build_script", &send_and_wait("sent-during-the-stage"));
    let line = run.wait_for_line("sent-during-the-stage");
    docker(&["exec", &job.container(), "touch", "/tmp/seen"]);
    let ended = run.end();
    assert_eq!(line, format!("{PREFIX}sent-during-the-stage"));
    assert_eq!(ended.code, Some(1), "{}", ended.stderr);
    assert_eq!(job.build_exit_code().as_deref().map(str::trim), Some("3"));
    assert!(!ended.stdout.contains("booted"), "{}", ended.stdout);

    // The next stage shows only what is printed during it.
    let after = job.run(
        "after_script",
        "echo 'from after_script' | busybox nc web 8080",
    );
    after.ok();
    assert!(!after.stdout.contains("sent-during"), "{}", after.stdout);
    job.cleanup().ok();
    job.assert_nothing_left();

    let quiet = echo_service(Job::new("none"));
    let prepared = quiet.prepare();
    prepared.ok();
    let out = quiet.run("build_script", "echo 'unseen' | busybox nc web 8080");
    out.ok();
    for text in [&prepared.stdout, &prepared.stderr, &out.stdout, &out.stderr] {
        assert!(!text.contains("[service:"), "{text}");
        assert!(
            !text.contains("booted") && !text.contains("unseen"),
            "{text}"
        );
    }
    quiet.cleanup().ok();
    quiet.assert_nothing_left();
}

/// A service that floods: a 1 MiB line, then 3,000 lines of about 100 bytes, at boot and
/// whenever a connection to 8080 sends `go` (not on the readiness probe's, whose flood would
/// still be running into the next stage); and prints a tick every 100 ms meanwhile, for ever.
/// Its port opens 2 s after the boot flood: the engine's logger copies a container's output
/// a moment after the container wrote it, and prepare reads the log once readiness is seen,
/// so without the pause a loaded machine had not logged 256 KiB by then.
fn flooding_service(job: Job) -> Job {
    let flood = "head -c 1048576 /dev/zero | tr '\\0' x; echo; i=0; \
                 while [ $i -lt 3000 ]; do echo \"flood line $i, padded to a hundred bytes \
                 ...........................................................\"; i=$((i+1)); done";
    let command = "sh -c \"$FLOOD\"; sleep 2; (while true; do echo tick; sleep 0.1; done) & \
                   exec nc -ll -p 8080 -e sh -c 'grep -q go && sh -c \"$FLOOD\" >&2'";
    let services = serde_json::json!([{
        "name": "executor-test/http:1",
        "alias": "web",
        "command": ["sh", "-c", command],
        "variables": [{"key": "FLOOD", "value": flood}],
    }]);
    job.payload_services(&services.to_string(), &[])
}

/// What of `out` is service lines, each with its name in front and its newline.
fn service_bytes(out: &str) -> usize {
    out.lines()
        .filter(|l| l.starts_with(PREFIX))
        .map(|l| l.len() + 1)
        .sum()
}

#[test]
fn a_flooding_service_is_cut_and_cannot_hold_a_stage_open() {
    const CAP: usize = 256 * 1024;
    let job = flooding_service(Job::new("none").var("CI_DEBUG_SERVICES", "1"));
    let prepared = job.prepare();
    prepared.ok();
    let cut_line = "executor: CI_DEBUG_SERVICES: the services' output of this stage stops here \
                    (256 KiB shown in this stage); the rest is not shown";
    // On stdout with the service lines, so it cannot split a line a script left open on stderr.
    assert!(prepared.stdout.contains(cut_line), "{}", prepared.stderr);
    let long = format!("{PREFIX}{} [… line cut at 2000 bytes]", "x".repeat(2000));
    assert!(
        prepared.stdout.lines().any(|l| l == long),
        "{}",
        &prepared.stdout[..2500]
    );
    assert!(
        service_bytes(&prepared.stdout) <= CAP,
        "{}",
        prepared.stdout.len()
    );

    // During a stage: cut at the cap again, and the script's exit code stands.
    let run = job.start_run("build_script", &send_and_wait("go"));
    run.wait_for_line(cut_line);
    docker(&["exec", &job.container(), "touch", "/tmp/seen"]);
    let ended = run.end();
    assert_eq!(ended.code, Some(1), "{}", ended.stderr);
    assert_eq!(job.build_exit_code().as_deref().map(str::trim), Some("3"));
    assert!(
        ended.stdout.lines().any(|l| l == long),
        "{}\n{}",
        &ended.stdout[..ended.stdout.len().min(3000)],
        ended.stderr
    );
    assert!(
        service_bytes(&ended.stdout) <= CAP,
        "{}",
        ended.stdout.len()
    );

    // The service never stops printing, and the stage still ends with its script: within the
    // harness's call limit, and well before a test's wait for progress would give up.
    let started = std::time::Instant::now();
    job.run("after_script", "true").ok();
    assert!(
        started.elapsed() < PROGRESS_LIMIT,
        "{:?}",
        started.elapsed()
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// `services.debug_logs: false` turns it off for every job of the runner: the job asking is
/// told so in one line, and no service line reaches its log.
#[test]
fn the_admin_can_turn_service_logs_off() {
    let config = format!("image: {JOB_IMAGE}\nservices:\n  debug_logs: false\n");
    let job = echo_service(Job::with_config("none", &config).var("CI_DEBUG_SERVICES", "true"));
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains(
            "executor: CI_DEBUG_SERVICES: showing the services' output is turned off on this \
             runner (services.debug_logs: false)\n"
        ),
        "{}",
        prepared.stderr
    );
    let out = job.run("build_script", "echo 'unseen' | busybox nc web 8080");
    out.ok();
    for text in [&prepared.stdout, &out.stdout, &out.stderr] {
        assert!(!text.contains("[service:"), "{text}");
    }
    job.cleanup().ok();
    job.assert_nothing_left();
}
