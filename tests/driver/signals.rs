//! Cancellation as gitlab-runner does it: SIGTERM to the driver during a long `run` stops the
//! script inside the container (not just the local client), the driver exits within seconds,
//! and cleanup leaves nothing.

use std::io::{BufRead, BufReader, Read};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{assert_no_canary, docker, Job};

/// `signal` (TERM as the runner sends it, INT as a person's Ctrl-C) during a long stage.
fn signal_during_a_long_run(mode: &str, signal: &str) {
    let job = Job::new(mode);
    job.prepare().ok();
    let mut child = job.spawn_run("build_script", "echo started\nsleep 300\necho never");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("started"), "{first:?}");

    let signalled = Instant::now();
    Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let took = signalled.elapsed();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    for text in [&first, &rest, &stderr] {
        assert_no_canary(text);
    }
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(
        status.code(),
        Some(1),
        "the wrapper's TERM trap exits 1: {stderr}"
    );
    assert!(
        stderr.contains(&format!("SIG{signal}: stopping the build_script stage")),
        "{stderr}"
    );
    assert!(!rest.contains("never"));
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
