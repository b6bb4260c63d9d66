//! A job's own `pull_policy:` (payload `image.pull_policy`, a service's `pull_policy`): a
//! list tried in order, within the runner's `allowed_pull_policies`.

use crate::harness::{docker, Job, JOB_IMAGE};
use crate::registry::{build_and_push, unique_tag, Made, Registry};

fn job(config: &str) -> Job {
    let project = format!("86{:04}", std::process::id() % 10_000);
    Job::with_config("none", config).project(&project)
}

#[track_caller]
fn remove_kept(job: &Job) {
    job.assert_nothing_left();
    let key = job.key();
    let (slot_stem, _) = key.rsplit_once("-j").unwrap();
    docker(&["volume", "rm", "-f", &format!("{slot_stem}-cache")]);
}

/// `[always, if-not-present]` with the registry gone: `always` fails, the engine's copy is
/// used, and the job log says why.
#[test]
fn a_jobs_list_of_policies_is_tried_in_order() {
    let mut registry = Registry::start();
    let mut made = Made::default();
    let tag = unique_tag("order");
    let name = registry.image(&tag);
    build_and_push(&mut made, &name, &format!("local {tag}\n"));
    registry.stop();
    let job = job(&format!(
        "image: {name}\nallowed_pull_policies: [if-not-present, always]\n"
    ))
    .payload_image(r#"{"pull_policy": ["always", "if-not-present"]}"#);
    let prepare = job.prepare();
    prepare.ok();
    assert!(
        prepare.stderr.contains(&format!(
            "executor: pull_policy if-not-present: trying it for image {name} after: "
        )),
        "{}",
        prepare.stderr
    );
    let run = job.run("build_script", "cat /marker");
    run.ok();
    assert_eq!(run.stdout.trim(), format!("local {tag}"));
    job.cleanup().ok();
    remove_kept(&job);
    made.remove_and_check();
}

/// A policy the runner does not allow: the job's error before anything is made, naming the
/// policy and what is allowed; the same for a service's.
#[test]
fn a_policy_the_runner_does_not_allow_is_refused_before_anything_is_made() {
    let job = job("").payload_image(r#"{"pull_policy": "always"}"#);
    let prepare = job.prepare();
    prepare.expect(1);
    assert_eq!(
        prepare.stderr.lines().last().unwrap_or_default(),
        "executor: error: image: pull_policy always is not allowed on this runner \
         (allowed_pull_policies: if-not-present); use one of those or leave pull_policy out",
        "{}",
        prepare.stderr
    );
    job.assert_nothing_left();

    let services =
        r#"[{"name": "executor-test/http:1", "alias": "web", "pull_policy": ["never"]}]"#;
    let job = self::job("").payload_services(services, &[]);
    let prepare = job.prepare();
    prepare.expect(1);
    let last = prepare.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "executor: error: service `executor-test/http:1`: pull_policy never is not allowed"
        ),
        "{}",
        prepare.stderr
    );
    job.assert_nothing_left();
}

/// A service's `pull_policy: always` pulls its image on every job, while the job's image
/// follows the runner's `if-not-present`.
#[test]
fn a_services_policy_is_its_own() {
    let registry = Registry::start();
    let mut made = Made::default();
    let tag = unique_tag("svc");
    let name = registry.image(&tag);
    build_and_push(&mut made, &name, &format!("svc {tag}\n"));
    let pushed = registry.manifest_requests(&tag);
    let services = format!(
        r#"[{{"name": "{name}", "alias": "svc", "command": ["sleep", "300"], "pull_policy": "always"}}]"#
    );
    let config = format!("image: {JOB_IMAGE}\nallowed_pull_policies: [if-not-present, always]\n");
    let job = job(&config).payload_services(&services, &[]);
    let prepare = job.prepare();
    prepare.ok();
    assert!(
        registry.manifest_requests(&tag) > pushed,
        "the service's image was not pulled:\n{}",
        prepare.stderr
    );
    assert!(
        prepare
            .stderr
            .contains(&format!("executor: pulling image {name}\n")),
        "{}",
        prepare.stderr
    );
    job.cleanup().ok();
    remove_kept(&job);
    made.remove_and_check();
}
