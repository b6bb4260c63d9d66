//! `executor gc` and free warm sets while `dind.warm` is on: a set whose sidecar stopped, one
//! with no sidecar, one older than `dind.warm_max_age` + `gc.grace` are removed, and nothing
//! younger than those bounds. Runner 962 is this test's alone: its gc touches nothing else.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{docker, Call, Job, DIND_IMAGE, JOB_IMAGE};
use crate::spawned::{container_state, PROGRESS_LIMIT};
use crate::warm::{warm_sidecars, Teardown};

const RUNNER: &str = "962";

fn config(max_age: &str) -> String {
    format!(
        "image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n  warm: true\n  \
         warm_max_age: {max_age}\n"
    )
}

/// gc of the runner with `dind.warm` on, this `dind.warm_max_age` and `--grace`.
fn gc(max_age: &str, grace: &str) -> Call {
    let gc = Job::with_config("", &config(max_age)).call(&[
        "gc",
        "--grace",
        grace,
        "--runner-id",
        RUNNER,
    ]);
    gc.ok();
    gc
}

/// What is left of the warm set `key`: containers, networks and volumes.
fn set_left(key: &str) -> Vec<String> {
    crate::harness::labelled(&format!("io.executor.warm-key={key}"))
}

/// Wait until the daemon in sidecar `name` answers; panics past [`PROGRESS_LIMIT`].
fn wait_for_daemon(name: &str) {
    let deadline = Instant::now() + PROGRESS_LIMIT;
    while !Command::new("docker")
        .args(["exec", name, "docker", "version"])
        .output()
        .is_ok_and(|out| out.status.success())
    {
        assert!(
            Instant::now() < deadline,
            "the daemon in {name} never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn gc_removes_free_warm_sets_that_stopped_aged_or_lost_their_sidecar() {
    // Removes the runner's leftovers if the test fails (it builds no image).
    let _teardown = Teardown::new(RUNNER);
    // Slot 53's sidecar will be stopped, 54's removed, 55's left running.
    let mut keys = Vec::new();
    for slot in ["53", "54", "55"] {
        let job = Job::with_config("dind", &config("1h"))
            .runner(RUNNER)
            .var("CI_CONCURRENT_ID", slot);
        job.prepare().ok();
        job.cleanup().ok();
        job.assert_nothing_left();
        let warm = warm_sidecars(RUNNER, slot);
        assert_eq!(warm.len(), 1, "slot {slot}: {warm:?}");
        keys.push(warm[0].strip_suffix("-dind").unwrap().to_string());
    }
    let sidecar = |key: &str| format!("{key}-dind");
    docker(&["kill", &sidecar(&keys[0])]);
    docker(&["rm", "-fv", &sidecar(&keys[1])]);
    // The engine dates a volume by its directory's last change, and a booting daemon adds to
    // its data volume: once the daemon answers, the set's age runs from a fixed point. Then it
    // is made older than a 1 s dind.warm_max_age (waiting longer only makes that truer).
    wait_for_daemon(&sidecar(&keys[2]));
    std::thread::sleep(Duration::from_millis(2100));

    // Within the grace nothing goes: not the stopped sidecar, not the lost one, and not the
    // running one past dind.warm_max_age alone (its bound is dind.warm_max_age + gc.grace).
    let young = gc("1s", "1h");
    assert!(
        young
            .stderr
            .contains("gc collected 0 warm sets; left 3 alone"),
        "{}",
        young.stderr
    );
    for key in &keys {
        assert!(!set_left(key).is_empty(), "{key}: {}", young.stderr);
    }

    // Past the grace: the stopped and the sidecar-less sets go; the running one is younger
    // than dind.warm_max_age and stays.
    let graceless = gc("1h", "0s");
    for (key, why) in [
        (&keys[0], "its sidecar stopped"),
        (&keys[1], "it has no containers"),
    ] {
        assert!(
            graceless
                .stderr
                .contains(&format!("removed warm set {key} ({why})")),
            "{}",
            graceless.stderr
        );
        assert_eq!(set_left(key), Vec::<String>::new());
    }
    assert!(
        graceless
            .stderr
            .contains("gc collected 2 warm sets; left 1 alone"),
        "{}",
        graceless.stderr
    );
    assert_eq!(container_state(&sidecar(&keys[2])), "running");

    // Past dind.warm_max_age + gc.grace, the running one goes too.
    let aged_out = gc("1s", "0s");
    assert!(
        aged_out
            .stderr
            .contains(&format!("removed warm set {} (", keys[2]))
            && aged_out.stderr.contains("old, past dind.warm_max_age)"),
        "{}",
        aged_out.stderr
    );
    assert_eq!(set_left(&keys[2]), Vec::<String>::new());
    crate::harness::collect_runner(RUNNER);
}
