//! `dind.cache: project`: cleanup stops the sidecar gracefully before removing it, so the
//! daemon flushes what it keeps on the project's layer cache. Seen from the engine's own event
//! log: which signal the sidecar got and how its daemon exited.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::harness::{docker, labelled, Job, DIND_IMAGE, JOB_IMAGE};

/// Now, as `docker events` reads a timestamp (seconds and nanoseconds).
fn timestamp() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

/// What the engine logged of container `name` between `since` and `until`, one line an event:
/// the action, then the signal of a `kill` or the exit code of a `die`.
fn events(name: &str, since: &str, until: &str) -> Vec<String> {
    docker(&[
        "events",
        "--since",
        since,
        "--until",
        until,
        "--filter",
        &format!("container={name}"),
        "--format",
        concat!(
            "{{.Action}} {{index .Actor.Attributes \"signal\"}}",
            "{{index .Actor.Attributes \"exitCode\"}}"
        ),
    ])
    .lines()
    .map(|l| l.trim().to_string())
    .collect()
}

/// The events of the job's sidecar during the job's cleanup.
fn cleanup_events(job: &Job) -> (Vec<String>, String) {
    job.prepare().ok();
    job.run("build_script", "docker info --format 'daemon {{.ID}}'")
        .ok();
    let since = timestamp();
    let cleaned = job.cleanup();
    cleaned.ok();
    let until = timestamp();
    job.assert_nothing_left();
    let sidecar = format!("{}-dind", job.key());
    (events(&sidecar, &since, &until), cleaned.stderr.clone())
}

/// A cached sidecar gets SIGTERM, and its daemon exits 0 on its own (no SIGKILL after the
/// grace) before the container is removed. A sidecar without a cache, whose data is thrown
/// away, is simply killed: the control that shows the events tell the two apart.
#[test]
fn cleanup_stops_a_cached_sidecar_with_sigterm_and_its_daemon_exits_cleanly() {
    let (project, slot) = ("7831", "45");
    let cached = Job::with_config(
        "dind",
        &format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n  cache: project\n"),
    )
    .project(project)
    .var("CI_CONCURRENT_ID", slot);
    let (seen, stderr) = cleanup_events(&cached);
    assert!(stderr.contains("layer cache"), "{stderr}");
    let at = |event: &str| seen.iter().position(|e| e == event);
    let (term, died, destroyed) = (at("kill 15"), at("die 0"), at("destroy"));
    assert!(
        term.is_some() && term < died && died < destroyed,
        "SIGTERM, a clean exit, then removal: {seen:?}"
    );
    assert_eq!(at("kill 9"), None, "the daemon was killed: {seen:?}");

    let plain = Job::with_config(
        "dind",
        &format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n"),
    );
    let (seen, _) = cleanup_events(&plain);
    assert!(
        seen.contains(&"kill 9".to_string()) && !seen.contains(&"kill 15".to_string()),
        "{seen:?}"
    );

    for kind in ["cache", "dind-cache"] {
        docker(&[
            "volume",
            "rm",
            &format!("{}-p{project}-c{slot}-{kind}", crate::harness::stem("900")),
        ]);
    }
    assert_eq!(
        labelled(&format!("io.executor.slot={slot}")),
        Vec::<String>::new()
    );
}
