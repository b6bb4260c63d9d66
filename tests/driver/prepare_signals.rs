//! A cancelled prepare, as gitlab-runner cancels it (SIGTERM to the driver) or a person does
//! (SIGINT): at each point of its work it lets the requests in flight finish, begins nothing
//! new, ends promptly as a system failure naming the signal, leaves nothing that appears
//! after it exited, and the runner's cleanup then leaves nothing at all. Each signal is sent
//! only once the test sees the point it is named after (a line printed, a container present).

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{assert_no_canary, docker, leftovers, Job, ALL_MODES, DIND_IMAGE, JOB_IMAGE};

/// Where in prepare the signal lands.
#[derive(Clone, Copy, Debug)]
enum Point {
    /// Right after the first looks at the engine ("Docker engine ..." printed).
    FirstLooks,
    /// Once the named container exists (created, maybe not started).
    Exists(&'static str),
    /// Once the named container runs: the daemon's boot or the services' readiness wait.
    Runs(&'static str),
}

fn container_state(name: &str) -> String {
    docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{name}$"),
        "--format",
        "{{.State}}",
    ])
    .trim()
    .to_string()
}

/// Spawn prepare, wait for `point`, send `signal`; returns exit code, stderr and how long the
/// exit took after the signal.
fn interrupt(job: &Job, point: Point, signal: &str) -> (Option<i32>, String, Duration) {
    let mut child = job.spawn(&["prepare"]);
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("Docker engine") {
                let _ = seen_tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let reached = match point {
        Point::FirstLooks => seen_rx.recv_timeout(Duration::from_secs(30)).is_ok(),
        Point::Exists(suffix) | Point::Runs(suffix) => {
            let name = format!("{}-{suffix}", job.key());
            let want_running = matches!(point, Point::Runs(_));
            loop {
                let state = container_state(&name);
                if (!want_running && !state.is_empty()) || state == "running" {
                    break true;
                }
                if Instant::now() > deadline {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    assert!(reached, "{point:?} never came");
    let signalled = Instant::now();
    Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let took = signalled.elapsed();
    let stderr = reader.join().unwrap();
    assert_no_canary(&stderr);
    (status.code(), stderr, took)
}

fn check(job: &Job, point: Point, signal: &str) {
    let (code, stderr, took) = interrupt(job, point, signal);
    let name = format!("SIG{signal}");
    assert_eq!(code, Some(2), "{point:?} {name}: {stderr}");
    assert!(
        stderr.contains(&format!(
            "executor: system failure: prepare stopped by {name} at "
        )),
        "{point:?} {name}: {stderr}"
    );
    assert!(
        took < Duration::from_secs(16),
        "{point:?} {name}: took {took:?}"
    );
    // Nothing the stopped prepare asked for lands after it exited.
    let after_exit = leftovers(&job.key());
    std::thread::sleep(Duration::from_secs(1));
    let later = leftovers(&job.key());
    assert!(
        later.iter().all(|r| after_exit.contains(r)),
        "{point:?} {name}: appeared after exit: {later:?} vs {after_exit:?}"
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn a_signalled_prepare_in_dind_mode_stops_between_steps() {
    for (point, signal) in [
        (Point::FirstLooks, "TERM"),
        (Point::Exists("dind"), "INT"),
        (Point::Runs("job"), "TERM"),
        (Point::Runs("dind"), "INT"),
    ] {
        check(&Job::new("dind"), point, signal);
    }
    // A retried prepare after a stopped one makes one whole set and runs.
    let job = Job::new("dind");
    check(&job, Point::Exists("dind"), "TERM");
    job.prepare().ok();
    job.run("build_script", "docker info --format ok").ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// Socket mode starts fast; a service that never opens its port holds prepare in the
/// services' readiness wait long enough to reach each point.
#[test]
fn a_signalled_prepare_in_socket_mode_stops_between_steps() {
    let config = format!(
        "image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{ALL_MODES}services:\n  wait_timeout: 8s\n"
    );
    let slow = r#"[{"name":"executor-test/http:1","alias":"slow","command":["sh","-c","exec sleep 600"]}]"#;
    for (point, signal) in [
        (Point::FirstLooks, "INT"),
        (Point::Exists("job"), "TERM"),
        (Point::Runs("svc0"), "INT"),
        (Point::Runs("job"), "TERM"),
    ] {
        check(
            &Job::with_config("socket", &config).payload_services(slow, &[]),
            point,
            signal,
        );
    }
}
