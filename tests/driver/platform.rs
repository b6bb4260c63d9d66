//! `image: docker: platform:` (issue 13): the job container runs that platform's image; a
//! platform the engine's image is not for fails prepare in one line naming it; a value that is
//! no platform is refused before anything is made; a pull fetches that platform's image of a
//! multi-platform tag. This machine runs linux/amd64 only: the arm64 image of the pull test is
//! a `FROM scratch` one that nothing here can run, which is all the test needs.

use std::process::Command;

use crate::harness::{docker, leftovers, Bounded, Job, JOB_IMAGE};
use crate::registry::{build, on_engine, unique_tag, Made, Registry};

/// The job's image as the runner passes it (`CI_JOB_IMAGE`), and its payload `image:`.
fn with_platform(job: Job, image: &str, platform: &str) -> Job {
    job.var("CI_JOB_IMAGE", image).payload_image(&format!(
        r#"{{"name": "{image}", "executor_opts": {{"docker": {{"platform": "{platform}"}}}}}}"#
    ))
}

/// The one failure line of a failed prepare: the last line on stderr.
#[track_caller]
fn failure_line(stderr: &str) -> &str {
    let failures: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("executor: error:") || l.starts_with("executor: system failure:"))
        .collect();
    assert_eq!(failures.len(), 1, "{stderr}");
    assert_eq!(Some(failures[0]), stderr.lines().last(), "{stderr}");
    failures[0]
}

#[test]
fn the_engines_own_platform_runs_and_another_fails_in_one_line() {
    let native = with_platform(Job::new("none"), JOB_IMAGE, "linux/amd64");
    let dry = native.call(&["prepare", "--dry-run"]);
    dry.ok();
    assert!(
        dry.stdout.contains("  platform: linux/amd64\n"),
        "{}",
        dry.stdout
    );
    native.prepare().ok();
    let out = native.run("build_script", "uname -m");
    out.ok();
    assert_eq!(out.stdout.trim(), "x86_64");
    native.cleanup().ok();
    native.assert_nothing_left();

    // The engine holds the image for amd64 only, and `never` keeps it from pulling another.
    let config = format!("image: {JOB_IMAGE}\npull_policy: never\n");
    let foreign = with_platform(Job::with_config("none", &config), JOB_IMAGE, "linux/arm64");
    let prepared = foreign.prepare();
    prepared.expect(1);
    let line = failure_line(&prepared.stderr);
    assert!(
        line.starts_with(&format!(
            "executor: error: image {JOB_IMAGE} is not for platform linux/arm64 ("
        )) && line.contains("change image: docker: platform:"),
        "{line}"
    );
    foreign.cleanup().ok();
    foreign.assert_nothing_left();
}

#[test]
fn a_value_that_is_no_platform_is_refused_before_anything_is_made() {
    for bad in [
        "arm64",
        "Linux/AMD64",
        "linux/amd64/v3/x",
        "linux/amd64&fromImage=evil",
    ] {
        let job = with_platform(Job::new("none"), JOB_IMAGE, bad);
        let prepared = job.prepare();
        prepared.expect(1);
        let line = failure_line(&prepared.stderr);
        assert!(
            line.starts_with(&format!(
                "executor: error: image: docker: platform: `{bad}` is not a platform"
            )),
            "{line}"
        );
        assert!(
            leftovers(&job.key()).is_empty(),
            "{bad}: {:?}",
            leftovers(&job.key())
        );
    }
}

/// A multi-platform tag in a registry of the test's own: amd64 (busybox, `/marker` A) and
/// arm64 (`FROM scratch`, `/marker` B). `if-not-present` pulls the amd64 image for an amd64
/// job and runs it; for an arm64 job it pulls again, since the engine's copy is for another
/// platform, and the engine then holds the arm64 image under the tag. The job cannot run it
/// here; that prepare fails. A later job that names no platform gets the engine's own
/// platform again, not the tag the arm64 pull left. Nothing of any of the jobs remains.
#[test]
fn a_pull_fetches_the_jobs_platform_of_a_multi_platform_tag() {
    let registry = Registry::start();
    let mut made = Made::default();
    let tag = unique_tag("multi");
    let (amd, arm, multi) = (
        registry.image(&format!("{tag}-amd64")),
        registry.image(&format!("{tag}-arm64")),
        registry.image(&tag),
    );
    build(&mut made, &amd, "A\n");
    build_arm64_scratch(&mut made, &arm);
    for image in [&amd, &arm] {
        docker(&["push", "-q", image]);
        docker(&["rmi", image]);
    }
    made.add(&multi);
    docker(&["manifest", "create", "--insecure", &multi, &amd, &arm]);
    docker(&["manifest", "push", "--purge", "--insecure", &multi]);
    assert!(!on_engine(&multi));

    let amd64 = with_platform(Job::new("none"), &multi, "linux/amd64");
    let prepared = amd64.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains(&format!(
            "executor: pulling image {multi} for platform linux/amd64\n"
        )),
        "{}",
        prepared.stderr
    );
    assert_eq!(amd64.run("build_script", "cat /marker").stdout.trim(), "A");
    amd64.cleanup().ok();
    amd64.assert_nothing_left();

    let arm64 = with_platform(Job::new("none"), &multi, "linux/arm64");
    let prepared = arm64.prepare();
    assert_ne!(prepared.code, 0, "{}", prepared.stderr);
    assert!(
        prepared.stderr.contains(&format!(
            "executor: pulling image {multi} for platform linux/arm64\n"
        )),
        "{}",
        prepared.stderr
    );
    let architecture = docker(&["image", "inspect", "--format", "{{.Architecture}}", &multi]);
    assert_eq!(architecture.trim(), "arm64", "{}", prepared.stderr);
    arm64.cleanup().ok();
    arm64.assert_nothing_left();

    // The tag now names the arm64 image. A job (of any project) that names no platform must
    // not get it: its copy does not fit the engine, so it is pulled for the engine's own
    // platform again, and the job runs the amd64 image.
    let native = Job::new("none").var("CI_JOB_IMAGE", &multi);
    let prepared = native.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains(&format!("executor: pulling image {multi}\n")),
        "{}",
        prepared.stderr
    );
    assert_eq!(native.run("build_script", "cat /marker").stdout.trim(), "A");
    native.cleanup().ok();
    native.assert_nothing_left();
    made.remove_and_check();
}

/// `FROM scratch` with `/marker` B, built for arm64: no step runs, so no emulator is needed.
fn build_arm64_scratch(made: &mut Made, name: &str) {
    made.add(name);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY marker /marker\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("marker"), "B\n").unwrap();
    let out = Command::new("docker")
        .args(["build", "-q", "--platform", "linux/arm64", "-t", name])
        .arg(dir.path())
        .env("DOCKER_BUILDKIT", "0")
        .bounded_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
