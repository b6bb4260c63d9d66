//! The private-image check under every way a job can reach the engine's copy of an image:
//! by an image id instead of its name, and under `pull_policy: never`. Another project's
//! private image, pulled by its own job, must not serve a job whose own login cannot read it.

use crate::registry::{on_engine, unique_tag, Made, Registry};
use crate::registry_auth::{auths, job, password, private_image, remove_kept, run_marker, USER};

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

#[track_caller]
fn assert_refused(prepare: &crate::harness::Call, address: &str) {
    prepare.expect(1);
    assert!(
        prepare.stderr.contains(&format!(
            "registry {address} does not let this job read it with credentials from"
        )),
        "{}",
        prepare.stderr
    );
    assert!(
        !prepare.stderr.contains("another-projects"),
        "{}",
        prepare.stderr
    );
}

/// A job that names the image by its id (`sha256:…`, the bare hex, or a short prefix of it,
/// which the engine all resolve) is checked with the registries of the names the image has.
#[test]
fn a_private_image_named_by_its_id_is_checked_with_its_registry() {
    let registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    let mut made = Made::default();
    let tag = unique_tag("byid");
    let name = registry.image(&tag);
    let marker = format!("by id {tag}");
    private_image(&mut made, &registry, &name, &format!("{marker}\n"));
    let config = format!("image: {name}\nregistry:\n  auth_config: \"\"\n");
    let id = pulled_by_its_project(&config, &address, &name, &marker);
    let hex = id.trim_start_matches("sha256:");
    for by_id in [id.as_str(), hex, &hex[..12]] {
        let other = job(&config)
            .runner(RUNNER)
            .var("CI_JOB_IMAGE", by_id)
            .payload_registry_token(&address, "glcbt-another-projects-token");
        let prepare = other.prepare();
        assert_refused(&prepare, &address);
        other.cleanup().ok();
        remove_kept(&other);
    }
    // Its own project's job may still name it by id.
    let mine = job(&config)
        .runner(RUNNER)
        .var("CI_JOB_IMAGE", &hex[..12])
        .payload_registry_login(&address);
    let (_, shown) = run_marker(&mine);
    assert_eq!(shown, marker);
    made.remove_and_check();
}

/// `pull_policy: never` uses the engine's copy as `if-not-present` does, so it is checked the
/// same way.
#[test]
fn pull_policy_never_does_not_skip_the_private_image_check() {
    let registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    let mut made = Made::default();
    let tag = unique_tag("never");
    let name = registry.image(&tag);
    let marker = format!("never {tag}");
    private_image(&mut made, &registry, &name, &format!("{marker}\n"));
    let config = format!(
        "image: {name}\nallowed_pull_policies: [if-not-present, never]\nregistry:\n  \
         auth_config: \"\"\n"
    );
    pulled_by_its_project(&config, &address, &name, &marker);
    let other = job(&config)
        .runner(RUNNER)
        .payload_image(r#"{"pull_policy": ["never"]}"#)
        .var(
            "DOCKER_AUTH_CONFIG",
            &auths(&address, USER, "another-projects-token"),
        );
    let prepare = other.prepare();
    assert_refused(&prepare, &address);
    other.cleanup().ok();
    remove_kept(&other);
    made.remove_and_check();
}
