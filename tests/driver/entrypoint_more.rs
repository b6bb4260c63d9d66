//! Entrypoints that stay: the helper container starts through its image's entrypoint too, and
//! an entrypoint that stays PID 1 (an init such as dumb-init or tini, which gitlab-runner's
//! helper image has) survives a cancelled stage, whose SIGTERM and SIGKILL reach the stage's
//! processes but not the keep-alive: the container stays up for the next stage.

use std::time::Duration;

use crate::harness::{build_image, Job, JOB_IMAGE};

/// An image whose entrypoint stays PID 1 and runs its arguments as a child, as an init does.
const INIT_IMAGE: &str = "executor-test/entrypoint-init:1";

fn init_image() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        build_image(
            INIT_IMAGE,
            &format!(
                "FROM {JOB_IMAGE}\nCOPY init.sh /init.sh\nRUN chmod +x /init.sh\n\
                 ENTRYPOINT [\"/init.sh\"]\n"
            ),
            &[(
                "init.sh",
                "#!/bin/sh\nexport FROM_INIT=yes\n\"$@\" &\nchild=$!\n\
                 trap 'kill -TERM $child' TERM\nwait $child\n",
            )],
        );
    });
}

#[test]
fn the_helper_starts_through_its_images_entrypoint() {
    init_image();
    let config = format!(
        "image: {JOB_IMAGE}\ndind:\n  image: executor-test/dind:1\nhelper:\n  image: {INIT_IMAGE}\n"
    );
    let job = Job::with_config("none", &config);
    job.prepare().ok();
    let out = job.run("get_sources", "echo \"helper saw ${FROM_INIT:-nothing}\"");
    out.ok();
    assert!(out.stdout.contains("helper saw yes"), "{}", out.stdout);
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn a_cancelled_stage_under_an_init_entrypoint_leaves_the_container_up() {
    init_image();
    let job = Job::new("none").var("CI_JOB_IMAGE", INIT_IMAGE);
    job.prepare().ok();
    // SIGTERM: the script ends (the wrapper's trap), the keep-alive stays.
    let run = job.start_run("build_script", "echo started\nsleep 300");
    run.wait_for_line("started");
    run.signal("TERM");
    let ended = run.end();
    assert_eq!(ended.code, Some(1), "{}", ended.stderr);
    // A script that ignores SIGTERM is killed after the grace; the keep-alive stays again.
    let run = job.start_run(
        "build_script",
        "trap '' TERM\necho stubborn\nwhile :; do sleep 1; done",
    );
    run.wait_for_line("stubborn");
    run.signal("TERM");
    let ended = run.end();
    assert!(
        ended.took < Duration::from_secs(20),
        "took {:?}",
        ended.took
    );
    assert_ne!(ended.code, Some(0), "{}", ended.stderr);
    // The container is up: the next stage runs, with what the entrypoint set up.
    let out = job.run("after_script", "echo \"still here ${FROM_INIT:-nothing}\"");
    out.ok();
    assert!(out.stdout.contains("still here yes"), "{}", out.stdout);
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// `entrypoint: ignore` starts the helper without its image's entrypoint too.
#[test]
fn entrypoint_ignore_starts_the_helper_without_its_entrypoint() {
    init_image();
    let config = format!(
        "image: {JOB_IMAGE}\ndind:\n  image: executor-test/dind:1\nhelper:\n  image: {INIT_IMAGE}\n\
         entrypoint: ignore\n"
    );
    let job = Job::with_config("none", &config);
    job.prepare().ok();
    let out = job.run("get_sources", "echo \"helper saw ${FROM_INIT:-nothing}\"");
    out.ok();
    assert!(out.stdout.contains("helper saw nothing"), "{}", out.stdout);
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A helper image whose entrypoint is a tool is the admin's to fix, not the job's: a system
/// failure naming the driver's setting, and nothing remains after cleanup.
#[test]
fn a_helper_entrypoint_that_exits_is_the_admins_failure() {
    crate::entrypoint::images();
    let config = format!(
        "image: {JOB_IMAGE}\ndind:\n  image: executor-test/dind:1\nhelper:\n  image: {}\n",
        crate::entrypoint::TOOL_IMAGE
    );
    let job = Job::with_config("none", &config);
    let prepared = job.prepare();
    prepared.expect(2);
    let last = prepared.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("executor: system failure: the entrypoint [/tool.sh] of image")
            && last.contains("set entrypoint: ignore in the driver's config")
            && !last.contains("image: entrypoint"),
        "{}",
        prepared.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}
