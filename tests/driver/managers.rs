//! Two runner managers sharing one runner (GitLab 16.2 and later: one `CI_RUNNER_ID`, each
//! manager counting its slots from 0) on one engine: `runner.manager_id` keeps their names
//! apart, so the same project's jobs in "slot 0" of each never share a kept volume.

use crate::harness::{docker, Job, JOB_IMAGE};

const RUNNER: &str = "974";

fn job_of(manager: &str) -> Job {
    let config = format!("image: {JOB_IMAGE}\nrunner:\n  manager_id: {manager}\n");
    Job::with_config("none", &config)
        .runner(RUNNER)
        .var("CI_CONCURRENT_ID", "0")
}

/// Everything of runner 974 on the engine carrying `label`.
fn labelled(label: &str) -> Vec<String> {
    let mut all = Vec::new();
    for kind in [
        &["ps", "-aq"][..],
        &["network", "ls", "-q"],
        &["volume", "ls", "-q"],
    ] {
        let mut args = kind.to_vec();
        let runner = format!("label=io.executor.runner-id={RUNNER}");
        args.extend(["--filter", &runner, "--filter", label]);
        all.extend(docker(&args).split_whitespace().map(String::from));
    }
    all
}

#[test]
fn two_managers_sharing_a_runner_keep_their_caches_apart() {
    let (a, b) = (job_of("mgra"), job_of("mgrb"));
    let prepared = a.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains(&format!("executor-r{RUNNER}-mmgra-p77-c0-j")),
        "{}",
        prepared.stderr
    );
    a.run("build_script", "echo from-a > /cache/who").ok();
    a.cleanup().ok();
    b.prepare().ok();
    let seen = b.run("build_script", "cat /cache/who 2>/dev/null || echo none");
    seen.ok();
    assert!(
        seen.stdout.contains("none"),
        "manager b read a's cache: {}",
        seen.stdout
    );
    b.cleanup().ok();
    // Each manager's kept cache_dir volume, under its own name and label; nothing else left.
    for manager in ["mgra", "mgrb"] {
        let left = labelled(&format!("label=io.executor.manager-id={manager}"));
        let cache = format!("executor-r{RUNNER}-m{manager}-p77-c0-cache");
        assert_eq!(left, vec![cache.clone()], "{manager}");
        docker(&["volume", "rm", &cache]);
    }
}

/// With a manager part in every name, who holds a kept volume is still read from its name: the
/// slot's earlier job, dead (its job container stopped, its cleanup never run), does not keep
/// the next job of its manager off the project's cache_dir volume. (Owners were read from
/// names without a manager part only: every holder was a stranger, and the next job got an
/// empty volume.) Runner 975.
#[test]
fn a_dead_earlier_job_of_the_same_manager_does_not_keep_its_cache_from_the_next() {
    const RUNNER: &str = "975";
    let job = || {
        let config = format!("image: {JOB_IMAGE}\nrunner:\n  manager_id: mgrc\n");
        Job::with_config("none", &config)
            .runner(RUNNER)
            .project("9751")
            .var("CI_CONCURRENT_ID", "0")
    };
    let (first, next) = (job(), job());
    first.prepare().ok();
    first
        .run("build_script", "echo from-first > /cache/who")
        .ok();
    // A crashed runner: the job container ends, no cleanup runs. (The harness names jobs
    // with this host's manager id; this job's is the config's.)
    let container = format!("executor-r{RUNNER}-mmgrc-p9751-c0-j{}-job", first.job_id);
    docker(&["stop", "--time", "1", &container]);
    let prepared = next.prepare();
    prepared.ok();
    assert!(
        !prepared.stderr.contains("is in use by"),
        "{}",
        prepared.stderr
    );
    let seen = next.run("build_script", "cat /cache/who");
    seen.ok();
    assert!(seen.stdout.contains("from-first"), "{}", seen.stdout);
    next.cleanup().ok();
    first.cleanup().ok();
    let cache = format!("executor-r{RUNNER}-mmgrc-p9751-c0-cache");
    docker(&["volume", "rm", &cache]);
    let runner = format!("label=io.executor.runner-id={RUNNER}");
    for kind in [
        &["ps", "-aq"][..],
        &["network", "ls", "-q"],
        &["volume", "ls", "-q"],
    ] {
        let mut args = kind.to_vec();
        args.extend(["--filter", &runner]);
        assert_eq!(docker(&args).trim(), "", "runner {RUNNER} left {kind:?}");
    }
}
