//! Warm job containers (`warm.jobs`, issue 18): after a job's cleanup the slot's next job
//! container waits, started, for the next job of the same project and settings, which adopts
//! it; a set that does not fit is replaced and the job starts cold. Runner 980 is these tests'
//! own: each ends with `gc` for it, which must never touch another test's warm sets.

use crate::harness::{collect_runner, docker, labelled, Job, ALL_MODES, JOB_IMAGE};

const RUNNER: &str = "980";

fn config(extra: &str) -> String {
    format!("image: {JOB_IMAGE}\n{ALL_MODES}warm:\n  jobs: true\n{extra}")
}

fn warm_job(mode: &str, slot: &str, extra: &str) -> Job {
    Job::with_config(mode, &config(extra))
        .runner(RUNNER)
        .var("CI_CONCURRENT_ID", slot)
}

/// The slot's free warm job containers: `<id> <name> <state>`.
fn warm_sets(slot: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--filter",
        "label=io.executor.warm-key",
        "--filter",
        &format!("label=io.executor.runner-id={RUNNER}"),
        "--filter",
        &format!("label=io.executor.slot={slot}"),
        "--filter",
        "label=io.executor.role=job",
        "--format",
        "{{.ID}} {{.Names}} {{.State}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// cleanup that must leave a fresh warm job set for the slot.
#[track_caller]
fn cleanup_warming(job: &Job) {
    let cleaned = job.cleanup();
    cleaned.ok();
    assert!(
        cleaned.stderr.contains("started warm job set"),
        "{}",
        cleaned.stderr
    );
    job.assert_nothing_left();
}

/// prepare that must adopt (or must not) the slot's warm job set.
#[track_caller]
fn prepare_expecting(job: &Job, adopted: bool) -> String {
    let prepared = job.prepare();
    prepared.ok();
    assert_eq!(
        prepared.stderr.contains("adopted warm job set"),
        adopted,
        "{}",
        prepared.stderr
    );
    prepared.stderr.clone()
}

/// In socket and none mode: the first job starts cold and leaves a warm set; the next adopts
/// it, under its own names, and finds nothing of the first job (not its files, not its
/// builds directory, not its key); its sibling containers see its checkout through the builds
/// directory the runner was told about. Then gc (with `warm.jobs` off) leaves nothing.
#[test]
fn a_warm_job_set_is_adopted_fresh_in_socket_and_none_mode() {
    // A failed earlier run's warm sets would be adopted by the first job.
    collect_runner(RUNNER);
    for (mode, slot) in [("socket", "60"), ("none", "61")] {
        let first = warm_job(mode, slot, "");
        prepare_expecting(&first, false);
        first
            .run(
                "build_script",
                "mkdir -p \"$CI_PROJECT_DIR\" && echo one > \"$CI_PROJECT_DIR/left\" && echo one > /tmp/left",
            )
            .ok();
        cleanup_warming(&first);
        let warm = warm_sets(slot);
        assert_eq!(warm.len(), 1, "{mode}: {warm:?}");
        assert!(warm[0].ends_with("running"), "{warm:?}");
        let warm_id = warm[0].split(' ').next().unwrap().to_string();

        let second = warm_job(mode, slot, "");
        prepare_expecting(&second, true);
        let job_container = docker(&[
            "inspect",
            "--format",
            "{{.Id}}",
            &format!("{}-job", second.key()),
        ]);
        assert!(
            job_container.starts_with(&warm_id),
            "{job_container} vs {warm_id}"
        );
        let out = second.run(
            "build_script",
            "ls -A /tmp; test -e /tmp/left && echo 'first job file in /tmp'\n\
             mkdir -p \"$CI_PROJECT_DIR\" && cd \"$CI_PROJECT_DIR\"\n\
             test -e left && echo 'first job file in the builds dir'\n\
             echo \"key=$EXECUTOR_JOB_KEY\"\n\
             echo two > mine",
        );
        out.ok();
        assert!(!out.stdout.contains("first job file"), "{}", out.stdout);
        assert!(
            out.stdout.contains(&format!("key={}\n", second.key())),
            "{}",
            out.stdout
        );
        if mode == "socket" {
            // A sibling container mounts the checkout by the path the runner knows.
            let sibling = second.run(
                "build_script",
                &format!(
                    "docker run --rm --label io.executor.job-key=$EXECUTOR_JOB_KEY \
                     -v \"$CI_PROJECT_DIR:/src\" {JOB_IMAGE} cat /src/mine"
                ),
            );
            sibling.ok();
            assert!(sibling.stdout.contains("two"), "{}", sibling.stdout);
        }
        cleanup_warming(&second);
        let warm = warm_sets(slot);
        assert_eq!(warm.len(), 1, "{mode}: {warm:?}");
        assert!(!warm[0].starts_with(&warm_id), "a new one: {warm:?}");
        if mode == "socket" {
            // Neither the job's link nor the adopted set's directory is left on the host.
            let root = std::path::Path::new(&second.builds_dir())
                .parent()
                .unwrap()
                .to_path_buf();
            let left: Vec<_> = std::fs::read_dir(&root)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("executor-r{RUNNER}-")))
                .collect();
            assert_eq!(left.len(), 1, "only the new warm set's: {left:?}");
        }
    }
    let gc = Job::with_config("", "").call(&["gc", "--runner-id", RUNNER]);
    gc.ok();
    assert!(gc.stderr.contains("warm.jobs is off"), "{}", gc.stderr);
    let left = labelled(&format!("io.executor.runner-id={RUNNER}"));
    assert!(
        left.iter()
            .all(|l| l.starts_with("volume ") && l.ends_with("-cache")),
        "only the kept cache_dir volumes: {left:?}"
    );
    collect_runner(RUNNER);
}
