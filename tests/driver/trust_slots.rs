//! The trust boundary, continued: a job that forges another's concurrency slot (warm sidecars
//! and held caches are per slot) must neither break, replace nor remove what the slot's rightful
//! job holds, and gc still collects what a cut-short cleanup left. Each test has a runner id of
//! its own and ends with `gc` for it.

use crate::harness::{docker, Bounded, Job, ALL_MODES, DIND_IMAGE, JOB_IMAGE};
use crate::warm::prepare_adopting;

/// The warm and cache attacks run each on a runner of its own (908, 909), so their gc touches
/// nothing else.
fn on_runner(runner: &str, config: &str, project: &str, slot: &str) -> Job {
    Job::with_config("dind", config)
        .runner(runner)
        .project(project)
        .var("CI_CONCURRENT_ID", slot)
}

/// A job of another project that forged this slot runs its cleanup (which starts the slot's
/// next warm set, discarding the old one) while this project's job adopts the waiting set:
/// whichever claims the set first has it, and the adopter's prepare never fails.
#[test]
fn a_forged_slot_cannot_break_another_projects_adoption() {
    let config =
        format!("{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  warm: true\nimage: {JOB_IMAGE}\n");
    for round in 0..3 {
        let first = on_runner("908", &config, "9611", "66");
        first.prepare().ok();
        let forger = on_runner("908", &config, "9612", "66");
        forger.prepare().ok();
        first.cleanup().ok(); // leaves a warm set for slot 66
        let victim = on_runner("908", &config, "9611", "66");
        let cleanup = forger.start(&["cleanup"]);
        let prepared = victim.prepare();
        cleanup.end();
        prepared.expect(0);
        let out = victim.run(
            "build_script",
            "docker version --format 'ok {{.Server.Version}}'",
        );
        assert!(
            out.code == 0 && out.stdout.contains("ok "),
            "round {round}: {}",
            out.stderr
        );
        victim.cleanup().ok();
        victim.assert_nothing_left();
        forger.assert_nothing_left();
    }
    crate::harness::collect_runner("908");
}

/// A job that copies a live job's slot in the same project runs without the held layer cache;
/// its cleanup must then neither start a second daemon on that cache nor judge its size.
#[test]
fn a_forged_slot_cannot_start_a_second_daemon_on_a_held_cache() {
    let config = format!(
        "{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  cache: project\n  warm: true\nimage: {JOB_IMAGE}\n"
    );
    let live = on_runner("909", &config, "9613", "67");
    live.prepare().ok();
    let copycat = on_runner("909", &config, "9613", "67");
    let prepared = copycat.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains("is in use by") && prepared.stderr.contains("gets an empty one"),
        "{}",
        prepared.stderr
    );
    copycat.cleanup().ok();
    let holders = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!(
            "volume={}-p9613-c67-dind-cache",
            crate::harness::stem("909")
        ),
        "--format",
        "{{.Names}}",
    ]);
    let holders: Vec<&str> = holders.lines().collect();
    assert_eq!(
        holders,
        [format!("{}-dind", live.key())],
        "daemons on one cache"
    );
    let out = live.run("build_script", "docker info --format ok");
    out.ok();
    live.cleanup().ok();
    live.assert_nothing_left();
    copycat.assert_nothing_left();
    crate::harness::collect_runner("909");
}

/// A job adopted a warm set and its cleanup was cut short after removing the job's own
/// resources: the adopted sidecar (renamed to the job's name, labelled with the warm key only)
/// and the set's network and volumes remain. gc must still collect them.
#[test]
fn an_adopted_set_whose_cleanup_was_cut_short_is_collected() {
    let config =
        format!("{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  warm: true\nimage: {JOB_IMAGE}\n");
    let first = on_runner("910", &config, "9621", "1");
    first.prepare().ok();
    first.cleanup().ok(); // a warm set for slot 1
    let adopter = on_runner("910", &config, "9621", "1");
    prepare_adopting(&adopter);
    // The cut-short cleanup: the job's own containers went, the warm-key pass never came.
    let label = format!("label=io.executor.job-key={}", adopter.key());
    for id in docker(&["ps", "-aq", "--filter", &label]).split_whitespace() {
        docker(&["rm", "-fv", id]);
    }
    let sidecar = format!("{}-dind", adopter.key());
    let named = |name: &str| {
        docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("name=^{name}$"),
            "--format",
            "{{.Names}}",
        ])
    };
    assert_eq!(named(&sidecar).trim(), sidecar);
    // gc with dind.warm on: the set is old enough (grace 0s) and no job holds it.
    let config_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config_file.path(), crate::harness::with_helper(&config)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["gc", "--grace", "0s", "--runner-id", "910"])
        .env("EXECUTOR_CONFIG", config_file.path())
        .bounded_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        named(&sidecar).trim(),
        "",
        "gc left the orphaned sidecar: {stderr}"
    );
    crate::harness::collect_runner("910");
}

/// Two jobs of one project, the second forging the first's slot while the first is still in
/// its prepare (its sidecar holds the layer cache before its job container starts): the first
/// must never be taken for dead and removed.
#[test]
fn a_forged_slot_cannot_remove_a_job_in_its_prepare() {
    let config =
        format!("{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  cache: project\nimage: {JOB_IMAGE}\n");
    for round in 0..3 {
        let victim = on_runner("911", &config, "9622", "3");
        let forger = on_runner("911", &config, "9622", "3");
        let sidecar = format!("{}-dind", victim.key());
        let prepare = victim.start(&["prepare"]);
        // The forger starts as soon as the victim's sidecar exists.
        prepare.wait_for_container(&sidecar, false);
        let forged = forger.prepare();
        let victim_out = prepare.end();
        let victim_err = victim_out.stderr;
        assert_eq!(victim_out.code, Some(0), "round {round}: {victim_err}");
        assert!(
            !forged.stderr.contains(&format!("removed {}", victim.key())),
            "round {round}: {}",
            forged.stderr
        );
        victim.run("build_script", "docker info --format ok").ok();
        forger.cleanup().ok();
        victim.cleanup().ok();
        forger.assert_nothing_left();
        victim.assert_nothing_left();
    }
    crate::harness::collect_runner("911");
}

/// `01` and `1` are one slot: leading zeros cannot multiply the kept volumes `slots` bounds.
#[test]
fn leading_zeros_name_no_other_slot() {
    for slot in ["1", "01", "0000000000000000001"] {
        let job = Job::new("none")
            .runner("912")
            .project("9623")
            .var("CI_CONCURRENT_ID", slot);
        let out = job.call(&["prepare", "--dry-run"]);
        out.ok();
        assert!(
            out.stdout
                .contains(&format!("{}-p9623-c1-cache", crate::harness::stem("912"))),
            "{}",
            out.stdout
        );
    }
}
