//! The private-image check under every way a job can reach the engine's copy of an image:
//! by an image id instead of its name, and under `pull_policy: never`. Another project's
//! private image, pulled by its own job, must not serve a job whose own login cannot read it.

use crate::harness::Job;
use crate::registry::on_engine;
use crate::registry_auth::{auths, config_naming, failed_prepare, job, run_marker, Private, USER};

const RUNNER: &str = "971";

/// `name` pulled by a job whose payload login reaches it; its image id.
fn pulled_by_its_project(config: &str, address: &str, name: &str, marker: &str) -> String {
    let first = job(config).runner(RUNNER).payload_registry_login(address);
    let (_, shown) = run_marker(&first);
    assert_eq!(shown, marker);
    assert!(on_engine(name));
    crate::harness::docker(&["image", "inspect", "--format", "{{.Id}}", name])
        .trim()
        .to_string()
}

/// `job`'s prepare is refused by the private-image check (its error), naming the registry
/// and never the other project's token; nothing of it is left.
#[track_caller]
fn assert_refused(job: &Job, address: &str) {
    let (stderr, _) = failed_prepare(job, 1);
    assert!(
        stderr.contains(&format!(
            "registry {address} does not let this job read it with credentials from"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("another-projects"), "{stderr}");
}

/// A job that names the image by its id (`sha256:…`, the bare hex, or a short prefix of it,
/// which the engine all resolve) is checked with the registries of the names the image has.
#[test]
fn a_private_image_named_by_its_id_is_checked_with_its_registry() {
    let mut private = Private::start();
    let address = private.address.clone();
    let (name, marker) = private.image("byid");
    let config = config_naming(&name, "");
    let id = pulled_by_its_project(&config, &address, &name, &marker);
    let hex = id.trim_start_matches("sha256:");
    for by_id in [id.as_str(), hex, &hex[..12]] {
        let other = job(&config)
            .runner(RUNNER)
            .var("CI_JOB_IMAGE", by_id)
            .payload_registry_token(&address, "glcbt-another-projects-token");
        assert_refused(&other, &address);
    }
    // Its own project's job may still name it by id.
    let mine = job(&config)
        .runner(RUNNER)
        .var("CI_JOB_IMAGE", &hex[..12])
        .payload_registry_login(&address);
    let (_, shown) = run_marker(&mine);
    assert_eq!(shown, marker);
    private.made.remove_and_check();
}

/// `pull_policy: never` uses the engine's copy as `if-not-present` does, so it is checked the
/// same way.
#[test]
fn pull_policy_never_does_not_skip_the_private_image_check() {
    let mut private = Private::start();
    let address = private.address.clone();
    let (name, marker) = private.image("never");
    let config = format!(
        "allowed_pull_policies: [if-not-present, never]\n{}",
        config_naming(&name, "")
    );
    pulled_by_its_project(&config, &address, &name, &marker);
    let other = job(&config)
        .runner(RUNNER)
        .payload_image(r#"{"pull_policy": ["never"]}"#)
        .var(
            "DOCKER_AUTH_CONFIG",
            &auths(&address, USER, "another-projects-token"),
        );
    assert_refused(&other, &address);
    private.made.remove_and_check();
}
