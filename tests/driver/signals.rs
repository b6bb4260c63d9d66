//! Cancellation as gitlab-runner does it: SIGTERM to the driver during a long `run` stops the
//! script inside the container (not just the local client), the driver exits within seconds,
//! and cleanup leaves nothing.

use std::time::Duration;

use crate::harness::{docker, Job};
use crate::spawned::Ended;

/// `signal` (TERM as the runner sends it, INT as a person's Ctrl-C) during a long stage, sent
/// once the script has printed its first line.
fn signal_during_a_long_run(mode: &str, signal: &str) {
    let job = Job::new(mode);
    job.prepare().ok();
    let run = job.start_run("build_script", "echo started\nsleep 300\necho never");
    run.wait_for_line("started");
    run.signal(signal);
    let Ended {
        code,
        stdout,
        stderr,
        took,
    } = run.end();
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(code, Some(1), "the wrapper's TERM trap exits 1: {stderr}");
    assert!(
        stderr.contains(&format!("SIG{signal}: stopping the build_script stage")),
        "{stderr}"
    );
    assert!(!stdout.contains("never"), "{stdout}");
    assert_eq!(job.build_exit_code().as_deref(), Some("1\n"));
    // Only the keep-alive loop is left in the job container: the script's sleep is gone.
    let processes = docker(&["top", &job.container(), "-o", "pid,args"]);
    assert!(!processes.contains("sleep 300"), "{processes}");
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn sigterm_stops_the_script_inside_the_container_in_socket_mode() {
    signal_during_a_long_run("socket", "TERM");
}

#[test]
fn sigterm_stops_the_script_inside_the_container_in_dind_mode() {
    signal_during_a_long_run("dind", "TERM");
}

#[test]
fn sigint_stops_the_script_inside_the_container_in_none_mode() {
    signal_during_a_long_run("none", "INT");
}
