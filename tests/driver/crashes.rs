//! Crashes, retries, overlaps and concurrency: whatever happens to a job, the next prepare or
//! cleanup leaves exactly what should be there.

use std::thread;
use std::time::Duration;

use crate::harness::{docker, leftovers, Job};
use crate::prepare_signals::{held, reach, Point};

const CONFIG: &str = "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n";

/// SIGKILL during prepare at each point of its work (seen by the test before it kills: a line
/// printed, a container present or running; prepare is held at its end by a service that
/// never gets ready), then the runner's cleanup.
#[test]
fn sigkill_during_prepare_then_cleanup_leaves_nothing() {
    for point in [
        Point::FirstLooks,
        Point::Exists("dind"),
        Point::Exists("job"),
        Point::Runs("dind"),
        Point::Runs("svc0"),
    ] {
        let job = held("dind");
        let prepare = job.start(&["prepare"]);
        reach(&job, &prepare, point);
        prepare.signal("KILL");
        let ended = prepare.end();
        assert_eq!(ended.code, None, "{point:?}: killed, not exited");
        // A create the killed prepare had sent may still complete in the engine after the
        // kill: cleanup must find and remove it too, so give it the moment it needs.
        thread::sleep(Duration::from_millis(200));
        job.cleanup().ok();
        job.assert_nothing_left();
    }
}

/// SIGKILL during prepare (the sidecar exists, the rest is in flight), then a retried prepare
/// and a whole job: one set of resources.
#[test]
fn sigkill_during_prepare_then_a_new_prepare_starts_clean() {
    let job = Job::new("dind");
    let prepare = job.start(&["prepare"]);
    reach(&job, &prepare, Point::Exists("dind"));
    prepare.signal("KILL");
    prepare.end();
    job.prepare().ok();
    job.run("build_script", "docker info --format '{{.ServerVersion}}'")
        .ok();
    let left = leftovers(&job.key());
    assert_eq!(left.len(), 3 + 1 + 4, "one set: {left:?}");
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// SIGKILL of `run` while the script runs (its first line printed): the script is orphaned
/// in the container until cleanup removes the container with it.
#[test]
fn sigkill_during_run_then_cleanup_leaves_nothing() {
    let job = Job::new("socket");
    job.prepare().ok();
    let run = job.start_run("build_script", "echo started\nsleep 300");
    run.wait_for_line("started");
    run.signal("KILL");
    run.end();
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// The runner retries a failed prepare up to three times, with a cleanup after each failure.
#[test]
fn three_failed_prepares_then_a_success_make_one_set_of_resources() {
    let failing = format!("{CONFIG}  ready_timeout: 50ms\n");
    let job = Job::with_config("dind", &failing);
    for _ in 0..3 {
        job.prepare().expect(2);
        job.cleanup().ok();
    }
    job.set_config(CONFIG);
    job.prepare().ok();
    let left = leftovers(&job.key());
    assert_eq!(left.len(), 3 + 1 + 4, "one set: {left:?}");
    job.run("build_script", "docker info > /dev/null").ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A job timeout: cleanup starts while `run` still streams output. Both end; nothing remains.
#[test]
fn cleanup_while_run_is_streaming() {
    let job = Job::new("none");
    job.prepare().ok();
    let run = job.start_run("build_script", "while :; do echo tick; sleep 0.01; done");
    run.wait_for_line("tick");
    job.cleanup().ok();
    // The output is drained as it comes, so the run is never blocked on a full pipe; it must
    // end on its own.
    let ended = run.end();
    assert_eq!(
        ended.code,
        Some(2),
        "the container vanished, a system failure: {}",
        ended.stderr
    );
    job.assert_nothing_left();
}

/// Eight jobs at once on two cores, mixed modes: each sees only its own state.
#[test]
fn eight_jobs_at_once_do_not_cross_talk() {
    let modes = [
        "dind", "socket", "none", "dind", "socket", "none", "dind", "socket",
    ];
    let handles: Vec<_> = modes
        .iter()
        .map(|mode| {
            let mode = mode.to_string();
            thread::spawn(move || {
                let job = Job::new(&mode);
                job.prepare().ok();
                let check = match mode.as_str() {
                    // Its own daemon: empty, whatever the others do.
                    "dind" => "test \"$(docker ps -aq | wc -l)\" -eq 0",
                    "socket" => "docker ps --format '{{.Names}}' | grep -qx \"$JOB_CONTAINER\"",
                    _ => "test ! -e /var/run/docker.sock",
                };
                let body = format!(
                    "echo \"$CI_JOB_ID\" >> mine.txt\nsleep 1\ntest \"$(cat mine.txt)\" = \"$CI_JOB_ID\"\n\
                     JOB_CONTAINER={}\n{check}",
                    job.container()
                );
                job.run("build_script", &body).ok();
                job.cleanup().ok();
                job.assert_nothing_left();
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a job failed");
    }
    let _ = docker(&["version"]);
}

/// A killed attempt's container create can land after the next attempt removed its
/// leftovers, holding the job container's name: prepare replaces it.
#[test]
fn a_stale_container_of_the_jobs_name_does_not_break_prepare() {
    let job = Job::new("none");
    docker(&[
        "create",
        "--name",
        &job.container(),
        "executor-test/busybox:1",
        "true",
    ]);
    job.prepare().ok();
    job.run("build_script", "true").ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}
