//! The trust boundary, attacked as a hostile job would attack it: job variables that copy
//! another project's or a running job's ids, an unprotected branch aiming at what protected
//! jobs restore, a payload with a thousand services. Each test shows the attack fails and the
//! victim is untouched. Only the payload and the config are trusted (`src/plan/identity.rs`).
//! Hostile images are in `trust_images.rs`, forged slots in `trust_slots.rs`.

use crate::harness::{docker, labelled, Job, JOB_IMAGE};

fn in_slot(project: &str, slot: &str) -> Job {
    Job::new("none")
        .project(project)
        .var("CI_CONCURRENT_ID", slot)
}

/// Remove the kept volumes of a slot and prove nothing of the slot remains.
fn drop_slot(slot: &str) {
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=io.executor.slot={slot}"),
    ]);
    for volume in volumes.lines() {
        docker(&["volume", "rm", volume]);
    }
    assert_eq!(
        labelled(&format!("io.executor.slot={slot}")),
        Vec::<String>::new()
    );
}

/// Long enough that no generated name (job ids are 8 random digits) can contain it by chance:
/// "4242" once matched a job id and failed CI.
const FORGED_PIPELINE: &str = "90817263544536";

/// Project B copies project A's ids into its variables (and claims A's path, another
/// pipeline and a protected ref): it still gets B's cache_dir, A's stays as A left it, and
/// prepare names each ignored variable (never its value).
#[test]
fn a_job_copying_another_projects_ids_gets_its_own_cache() {
    let (victim, attacker, slot) = ("7961", "7962", "61");
    in_slot(victim, slot).whole("build_script", "echo kept > /cache/note.txt");
    let forger = in_slot(attacker, slot)
        .project_path("group/attacker", false)
        .var("CI_PROJECT_ID", victim)
        .var("CI_JOB_ID", "1")
        .var("CI_RUNNER_ID", "1")
        .var("CI_PIPELINE_ID", FORGED_PIPELINE)
        .var("CI_PROJECT_PATH", "group/victim-7961")
        .var("CI_COMMIT_REF_PROTECTED", "true");
    let prepared = forger.prepare();
    prepared.ok();
    for name in [
        "CI_JOB_ID",
        "CI_PROJECT_ID",
        "CI_RUNNER_ID",
        "CI_PIPELINE_ID",
        "CI_PROJECT_PATH",
        "CI_COMMIT_REF_PROTECTED",
    ] {
        let line = format!("job variable {name} differs from the job payload; ignored");
        assert!(prepared.stderr.contains(&line), "{}", prepared.stderr);
    }
    for value in [FORGED_PIPELINE, "victim-7961"] {
        assert!(!prepared.stderr.contains(value), "{}", prepared.stderr);
    }
    assert_eq!(
        docker(&[
            "inspect",
            "--format",
            "{{index .Config.Labels \"io.executor.pipeline-id\"}}",
            &forger.container(),
        ])
        .trim(),
        "5",
        "the pipeline label is the payload's"
    );
    assert!(forger.key().contains(&format!("-p{attacker}-")));
    let seen = forger.run(
        "build_script",
        "cat /cache/note.txt 2>/dev/null || echo none; echo poisoned > /cache/note.txt",
    );
    seen.ok();
    assert!(seen.stdout.contains("none"), "{}", seen.stdout);
    forger.cleanup().ok();
    forger.assert_nothing_left();
    let again = in_slot(victim, slot).whole("build_script", "cat /cache/note.txt");
    assert_eq!(again.trim(), "kept");
    drop_slot(slot);
}

/// A job that copies a running job's ids (job, project, runner, slot) neither replaces its
/// container nor shares its cache_dir, and its cleanup leaves the running job alone.
#[test]
fn a_job_copying_a_running_jobs_ids_cannot_touch_it() {
    let (project, slot) = ("7964", "64");
    let victim = in_slot(project, slot);
    victim.prepare().ok();
    victim
        .run("build_script", "echo mine > /cache/owner.txt")
        .ok();
    let id = |job: &Job| docker(&["inspect", "--format", "{{.Id}}", &job.container()]);
    let before = id(&victim);

    // Same project (a fork's pipeline would differ; the same project is the hardest case).
    let forger = in_slot(project, slot).var("CI_JOB_ID", &victim.job_id);
    let prepared = forger.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains("job variable CI_JOB_ID differs from the job payload; ignored"),
        "{}",
        prepared.stderr
    );
    assert!(
        prepared.stderr.contains(&format!(
            "cache_dir volume {}-p{project}-c{slot}-cache is in use by {}-",
            crate::harness::stem("900"),
            victim.key()
        )),
        "{}",
        prepared.stderr
    );
    assert_ne!(forger.container(), victim.container());
    forger
        .run("build_script", "echo forger > /cache/owner.txt")
        .ok();
    forger.cleanup().ok();
    forger.assert_nothing_left();

    assert_eq!(
        id(&victim),
        before,
        "the running job's container was replaced"
    );
    let out = victim.run("build_script", "cat /cache/owner.txt");
    out.ok();
    assert_eq!(out.stdout.trim(), "mine");
    victim.cleanup().ok();
    victim.assert_nothing_left();
    drop_slot(slot);
}

/// An unprotected branch cannot write what the same project's protected jobs restore, and
/// claiming a protected ref by variable changes nothing.
#[test]
fn an_unprotected_job_cannot_write_what_protected_jobs_read() {
    let (project, slot) = ("7963", "63");
    let job = |protected: bool| in_slot(project, slot).project_path("group/app", protected);
    job(true).whole("build_script", "echo trusted > /cache/tool.sh");
    let branch = job(false).var("CI_COMMIT_REF_PROTECTED", "true");
    let seen = branch.whole(
        "build_script",
        "cat /cache/tool.sh 2>/dev/null || echo none; echo poisoned > /cache/tool.sh",
    );
    assert!(seen.contains("none"), "{seen}");
    let again = job(true).whole("build_script", "cat /cache/tool.sh");
    assert_eq!(again.trim(), "trusted");
    let volumes = docker(&[
        "volume",
        "ls",
        "--format",
        "{{.Name}} {{.Label \"io.executor.protected\"}}",
        "--filter",
        &format!("label=io.executor.slot={slot}"),
    ]);
    let mut volumes: Vec<&str> = volumes.lines().collect();
    volumes.sort();
    assert_eq!(
        volumes,
        [
            format!(
                "{}-p{project}-c{slot}-cache false",
                crate::harness::stem("900")
            ),
            format!(
                "{}-p{project}-c{slot}-protected-cache true",
                crate::harness::stem("900")
            ),
        ]
    );
    drop_slot(slot);
}

/// A payload asking for a thousand services fails in one line naming the limit, and nothing
/// is created.
#[test]
fn a_payload_with_a_thousand_services_is_refused_in_one_line() {
    let services: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"name": "{JOB_IMAGE}", "alias": "s{i}"}}"#))
        .collect();
    let job = Job::new("none").payload_services(&format!("[{}]", services.join(",")), &[]);
    let call = job.prepare();
    call.expect(1);
    assert_eq!(
        call.stderr.trim(),
        "executor: error: the job asks for 1000 services and services.max allows 10; use fewer services"
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}
