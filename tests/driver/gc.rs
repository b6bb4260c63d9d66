//! `executor gc` removes what a killed job left and leaves a running job alone. Its jobs use
//! their own runner id and gc is scoped to it, so the other tests' jobs are never in its way.

use crate::harness::{docker, leftovers, Job};

const RUNNER: &str = "903";

#[test]
fn gc_collects_a_dead_job_and_leaves_a_live_one() {
    let live = Job::new("none").runner(RUNNER);
    live.prepare().ok();
    // A job whose driver was SIGKILLed and whose cleanup never came: its containers stopped.
    let dead = Job::new("dind").runner(RUNNER);
    dead.prepare().ok();
    docker(&["kill", &dead.container(), &format!("{}-dind", dead.key())]);

    let dry = dead.call(&["gc", "--grace", "0s", "--runner-id", RUNNER, "--dry-run"]);
    dry.ok();
    assert!(
        dry.stderr.contains(&format!("would remove {}", dead.key())),
        "{}",
        dry.stderr
    );
    assert_eq!(
        leftovers(&dead.key()).len(),
        3 + 1 + 4,
        "a dry run removes nothing"
    );

    let gc = dead.call(&["gc", "--grace", "0s", "--runner-id", RUNNER]);
    gc.ok();
    assert!(
        gc.stderr.contains(&format!(
            "removed {}: 3 containers, 1 network, 4 volumes (job container not running",
            dead.key()
        )),
        "{}",
        gc.stderr
    );
    assert!(
        !gc.stderr.contains(&live.key()),
        "the live job was touched: {}",
        gc.stderr
    );
    dead.assert_nothing_left();

    // The live job still works.
    live.run("build_script", "echo still here").ok();
    live.cleanup().ok();
    live.assert_nothing_left();
}

/// A leftover from a prepare killed before any container existed, within the grace period,
/// is left alone (it could be a prepare in progress); past it, it is collected.
#[test]
fn gc_waits_out_the_grace_period_for_jobs_without_containers() {
    let job = Job::new("none").runner("904");
    docker(&[
        "network",
        "create",
        "--label",
        &format!("io.executor.job-key={}", job.key()),
        "--label",
        "io.executor.runner-id=904",
        &job.key(),
    ]);
    let young = job.call(&["gc", "--grace", "1h", "--runner-id", "904"]);
    young.ok();
    assert!(
        young.stderr.contains("collected 0 jobs; left 1"),
        "{}",
        young.stderr
    );
    let old = job.call(&["gc", "--grace", "0s", "--runner-id", "904"]);
    old.ok();
    assert!(old.stderr.contains("collected 1 jobs"), "{}", old.stderr);
    job.assert_nothing_left();
}
