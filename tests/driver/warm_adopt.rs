//! Warm sidecars (`dind.warm`, issue 6), adoption itself: after a dind job a fresh sidecar
//! waits for its slot's next job, which adopts it; with `dind.cache: project` only a job of the
//! same project does. Each test has a concurrency slot of its own (42, 44).

use crate::dind_extras::{config, whole_job, BUILD_CACHED, LOOK_FOR_IT};
use crate::harness::{docker, labelled, Job};
use crate::warm::{cleanup_warming, prepare_adopting};

fn warm_job() -> Job {
    Job::with_config("dind", &config("  warm: true\n")).var("CI_CONCURRENT_ID", "42")
}

fn warm_sidecars() -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--filter",
        "label=io.executor.warm-key",
        "--filter",
        "label=io.executor.slot=42",
        "--format",
        "{{.ID}} {{.Names}} {{.State}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// After a dind job, a fresh sidecar waits for the slot's next job, which adopts it; a warm
/// sidecar that died or aged out is replaced; gc removes warm sidecars once `dind.warm` is off.
#[test]
fn a_warm_sidecar_is_adopted_and_a_fresh_one_started() {
    let first = warm_job();
    let prepared = first.prepare();
    prepared.ok();
    assert!(!prepared.stderr.contains("adopted"), "{}", prepared.stderr);
    first.run("build_script", BUILD_CACHED).ok();
    cleanup_warming(&first);
    first.assert_nothing_left();
    let warm = warm_sidecars();
    assert_eq!(warm.len(), 1, "{warm:?}");
    let warm_id = warm[0].split(' ').next().unwrap().to_string();

    let second = warm_job();
    prepare_adopting(&second);
    let sidecar = docker(&[
        "inspect",
        "--format",
        "{{.Id}}",
        &format!("{}-dind", second.key()),
    ]);
    assert!(sidecar.starts_with(&warm_id), "{sidecar} vs {warm_id}");
    // Fresh: nothing of the first job's daemon is in it.
    let out = second.run(
        "build_script",
        "echo \"images=$(docker images -q | wc -l) containers=$(docker ps -aq | wc -l)\"\n\
         test -z \"$(ls -A \"$CI_PROJECT_DIR\")\" && echo 'empty builds dir'",
    );
    out.ok();
    assert!(
        out.stdout
            .contains("images=0 containers=0\nempty builds dir"),
        "{}",
        out.stdout
    );
    second.cleanup().ok();
    second.assert_nothing_left();
    let warm = warm_sidecars();
    assert_eq!(warm.len(), 1, "{warm:?}");
    assert!(!warm[0].starts_with(&warm_id), "a new one: {warm:?}");

    // A warm sidecar that died is not adopted but replaced.
    let dead_id = warm[0].split(' ').next().unwrap().to_string();
    docker(&["kill", &dead_id]);
    let third = warm_job();
    let prepared = third.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains("is not running: replacing it"),
        "{}",
        prepared.stderr
    );
    third
        .run("build_script", "docker info >/dev/null && echo cold works")
        .ok();
    third.cleanup().ok();
    third.assert_nothing_left();
    let warm = warm_sidecars();
    assert_eq!(warm.len(), 1, "{warm:?}");
    assert!(warm[0].ends_with("running"), "{warm:?}");

    // One older than dind.warm_max_age is not adopted either.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let aged = Job::with_config("dind", &config("  warm: true\n  warm_max_age: 2s\n"))
        .var("CI_CONCURRENT_ID", "42");
    let prepared = aged.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains("is older than dind.warm_max_age: replacing it"),
        "{}",
        prepared.stderr
    );
    aged.cleanup().ok();
    aged.assert_nothing_left();

    // With dind.warm off, gc removes what is left.
    let gc = Job::with_config("", &config("")).call(&["gc", "--runner-id", "900"]);
    gc.ok();
    assert!(gc.stderr.contains("dind.warm is off"), "{}", gc.stderr);
    docker(&[
        "volume",
        "rm",
        &format!("{}-p77-c42-cache", crate::harness::stem("900")),
    ]);
    assert_eq!(labelled("io.executor.slot=42"), Vec::<String>::new());
}

/// `dind.warm` with `dind.cache: project`: the sidecar the first job's cleanup warms runs on the
/// project's layer cache, so the slot's next job of that project adopts it and finds the
/// earlier image; a job of another project in that slot does not adopt it (it would see the
/// first project's images) and starts cold on a cache of its own.
#[test]
fn a_warm_sidecar_keeps_its_projects_layer_cache_and_no_other_project_adopts_it() {
    let job = |project: &str| {
        Job::with_config("dind", &config("  cache: project\n  warm: true\n"))
            .project(project)
            .var("CI_CONCURRENT_ID", "44")
    };
    let (mine, other) = ("7811", "7812");
    let first = whole_job(&job(mine), BUILD_CACHED);
    assert!(first.contains("started warm sidecar"), "{first}");

    let second = job(mine);
    prepare_adopting(&second);
    let out = second.run("build_script", LOOK_FOR_IT);
    out.ok();
    assert!(
        out.stdout.contains("found the earlier image"),
        "{}",
        out.stdout
    );
    second.cleanup().ok();
    second.assert_nothing_left();

    let elsewhere = job(other);
    let prepared = elsewhere.prepare();
    prepared.ok();
    assert!(
        !prepared.stderr.contains("adopted"),
        "another project adopted the warm sidecar: {}",
        prepared.stderr
    );
    let out = elsewhere.run("build_script", LOOK_FOR_IT);
    out.ok();
    assert!(out.stdout.contains("no earlier image"), "{}", out.stdout);
    elsewhere.cleanup().ok();
    elsewhere.assert_nothing_left();

    // With dind.warm off, gc removes the warm sidecar; the kept volumes go by name (not
    // `gc --drop-caches`, which would take the caches of tests running alongside).
    let gc =
        Job::with_config("", &config("  cache: project\n")).call(&["gc", "--runner-id", "900"]);
    gc.ok();
    for project in [mine, other] {
        for kind in ["cache", "dind-cache"] {
            docker(&[
                "volume",
                "rm",
                &format!("{}-p{project}-c44-{kind}", crate::harness::stem("900")),
            ]);
        }
    }
    assert_eq!(labelled("io.executor.slot=44"), Vec::<String>::new());
}
