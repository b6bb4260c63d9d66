//! A cancelled prepare, as gitlab-runner cancels it (SIGTERM to the driver) or a person does
//! (SIGINT): at each point of its work it lets the requests in flight finish, begins nothing
//! new, ends promptly as a system failure naming the signal, leaves nothing that appears
//! after it exited, and the runner's cleanup then leaves nothing at all. Each signal is sent
//! only once the test sees the point it is named after (a line printed, a container present).

use std::time::Duration;

use crate::harness::{leftovers, Job, ALL_MODES, DIND_IMAGE, JOB_IMAGE};
use crate::spawned::Spawned;

/// Where in prepare the signal lands.
#[derive(Clone, Copy, Debug)]
pub enum Point {
    /// Right after the first looks at the engine ("Docker engine ..." printed).
    FirstLooks,
    /// Once the named container exists (created, maybe not started).
    Exists(&'static str),
    /// Once the named container runs: the daemon's boot or the services' readiness wait.
    Runs(&'static str),
}

/// Spawn prepare, wait for `point`, send `signal`; returns exit code, stderr and how long the
/// exit took after the signal.
fn interrupt(job: &Job, point: Point, signal: &str) -> (Option<i32>, String, Duration) {
    let prepare = job.start(&["prepare"]);
    reach(job, &prepare, point);
    prepare.signal(signal);
    let ended = prepare.end();
    (ended.code, ended.stderr, ended.took)
}

/// Wait until a running prepare reaches `point`.
pub fn reach(job: &Job, prepare: &Spawned, point: Point) {
    match point {
        Point::FirstLooks => {
            prepare.wait_for_line("Docker engine");
        }
        Point::Exists(suffix) => {
            prepare.wait_for_container(&format!("{}-{suffix}", job.key()), false)
        }
        Point::Runs(suffix) => prepare.wait_for_container(&format!("{}-{suffix}", job.key()), true),
    }
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

/// A job whose prepare is held at its end, in the services' readiness wait (a service that
/// never opens its port, for 8 s), so every point before it is reached while prepare runs:
/// a signal or kill sent there lands in prepare, never after it.
pub fn held(mode: &str) -> Job {
    let config = format!(
        "image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{ALL_MODES}services:\n  wait_timeout: 8s\n"
    );
    let slow = r#"[{"name":"executor-test/http:1","alias":"slow","command":["sh","-c","exec sleep 600"]}]"#;
    Job::with_config(mode, &config).payload_services(slow, &[])
}

#[test]
fn a_signalled_prepare_in_dind_mode_stops_between_steps() {
    for (point, signal) in [
        (Point::FirstLooks, "TERM"),
        (Point::Exists("dind"), "INT"),
        (Point::Runs("job"), "TERM"),
        (Point::Runs("dind"), "INT"),
    ] {
        check(&held("dind"), point, signal);
    }
    // A retried prepare after a stopped one makes one whole set and runs. The sidecar's
    // daemon boots for a second or more after it is created, so the signal lands in prepare.
    let job = Job::new("dind");
    check(&job, Point::Exists("dind"), "TERM");
    job.prepare().ok();
    job.run("build_script", "docker info --format ok").ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn a_signalled_prepare_in_socket_mode_stops_between_steps() {
    for (point, signal) in [
        (Point::FirstLooks, "INT"),
        (Point::Exists("job"), "TERM"),
        (Point::Runs("svc0"), "INT"),
        (Point::Runs("job"), "TERM"),
    ] {
        check(&held("socket"), point, signal);
    }
}
