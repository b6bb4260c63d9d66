//! Crashes, retries, overlaps and concurrency: whatever happens to a job, the next prepare or
//! cleanup leaves exactly what should be there.

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::harness::{docker, leftovers, Job};

const CONFIG: &str = "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n";

/// SIGKILL, then whatever the killed call printed is checked for the job's secrets.
fn kill9(child: &mut std::process::Child) {
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut { pipe }, &mut text);
        crate::harness::assert_no_canary(&text);
    }
}

/// SIGKILL during prepare, at several points of its work, then the runner's cleanup.
#[test]
fn sigkill_during_prepare_then_cleanup_leaves_nothing() {
    for delay_ms in [30, 150, 400, 900] {
        let job = Job::new("dind");
        let mut child = job.spawn(&["prepare"]);
        thread::sleep(Duration::from_millis(delay_ms));
        kill9(&mut child);
        // A create the killed prepare had sent still completes in the engine; give it a moment.
        thread::sleep(Duration::from_millis(200));
        job.cleanup().ok();
        job.assert_nothing_left();
    }
}

/// SIGKILL during prepare, then a retried prepare and a whole job: one set of resources.
#[test]
fn sigkill_during_prepare_then_a_new_prepare_starts_clean() {
    let job = Job::new("dind");
    let mut child = job.spawn(&["prepare"]);
    thread::sleep(Duration::from_millis(600));
    kill9(&mut child);
    job.prepare().ok();
    job.run("build_script", "docker info --format '{{.ServerVersion}}'")
        .ok();
    let left = leftovers(&job.key());
    assert_eq!(left.len(), 3 + 1 + 4, "one set: {left:?}");
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// SIGKILL of `run` while the script runs: the script is orphaned in the container until
/// cleanup removes the container with it.
#[test]
fn sigkill_during_run_then_cleanup_leaves_nothing() {
    let job = Job::new("socket");
    job.prepare().ok();
    let mut child = job.spawn_run("build_script", "echo started\nsleep 300");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    kill9(&mut child);
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
    let mut child = job.spawn_run("build_script", "while :; do echo tick; sleep 0.01; done");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    job.cleanup().ok();
    // Drain so the run is never blocked on a full pipe, then it must end on its own.
    let drain = thread::spawn(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).map(|_| rest)
    });
    let status = child.wait().unwrap();
    let rest = drain.join().unwrap().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    crate::harness::assert_no_canary(&rest);
    crate::harness::assert_no_canary(&stderr);
    assert_eq!(
        status.code(),
        Some(2),
        "the container vanished, a system failure: {stderr}"
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
