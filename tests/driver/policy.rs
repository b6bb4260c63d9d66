//! The admin's policy through the real binary: trusted facts from `JOB_RESPONSE_FILE` decide,
//! job variables cannot forge them, denied images and broken payloads fail cleanly.

use crate::harness::{docker, Job};

const POLICY: &str = r#"
image: executor-test/debian:1
mode:
  allowed: [dind, socket, none]
dind:
  image: executor-test/dind:1
policy:
  rules:
    - match: { projects: ["infra/*"], protected: true }
      modes: [socket, dind, none]
  default_modes: [none]
  job_images: ["executor-test/*"]
"#;

/// Forged job variables claim the trusted project; the payload says otherwise.
fn forged(job: Job) -> Job {
    job.var("CI_PROJECT_PATH", "infra/deploy")
        .var("CI_COMMIT_REF_PROTECTED", "true")
        .var("CI_RUNNER_TAGS", "[\"trusted\"]")
}

#[test]
fn job_variables_do_not_unlock_socket_mode() {
    let job = forged(Job::with_config("socket", POLICY)).project_path("alice/fork", true);
    let call = job.prepare();
    call.expect(1);
    assert!(
        call.stderr.contains(
            "EXECUTOR_DOCKER_MODE=`socket` is not allowed for project alice/fork on a protected ref \
             by policy.default_modes; allowed for this job: none"
        ),
        "{}",
        call.stderr
    );
    assert_eq!(call.stderr.lines().count(), 1, "{}", call.stderr);
    job.assert_nothing_left();
}

#[test]
fn without_a_payload_the_driver_refuses_and_names_the_runner_version() {
    let job = forged(Job::with_config("none", POLICY)).without_payload();
    let call = job.prepare();
    call.expect(1);
    assert!(
        call.stderr
            .contains("JOB_RESPONSE_FILE is not set: executor needs gitlab-runner 14.1 or later"),
        "{}",
        call.stderr
    );
    job.assert_nothing_left();
}

#[test]
fn without_a_payload_socket_is_denied_and_says_why() {
    let config = format!("{POLICY}\npayload:\n  required: false\n");
    let job = forged(Job::with_config("socket", &config)).without_payload();
    let call = job.prepare();
    call.expect(1);
    assert!(
        call.stderr.contains("no JOB_RESPONSE_FILE"),
        "{}",
        call.stderr
    );
    job.assert_nothing_left();
}

#[test]
fn the_trusted_project_on_a_protected_ref_gets_the_socket() {
    let job = Job::with_config("socket", POLICY).project_path("infra/deploy", true);
    job.prepare().ok();
    // The job container: the socket and its own builds directory (at the same path, for
    // sibling containers) are its only host paths; no privilege, no host namespaces.
    let inspect = docker(&[
        "inspect",
        "--format",
        "{{.HostConfig.Privileged}} {{.HostConfig.PidMode}}|{{.HostConfig.NetworkMode}}|\
         {{.HostConfig.IpcMode}} {{len .HostConfig.Devices}} {{.HostConfig.CapAdd}}|\
         {{range .Mounts}}{{if eq .Type \"bind\"}}{{.Source}}->{{.Destination}} {{end}}{{end}}",
        &job.container(),
    ]);
    let net = job.key();
    let (flags, binds) = inspect.trim().split_once("|/").unwrap();
    assert_eq!(flags, format!("false |{net}|private 0 []"));
    let mut binds: Vec<&str> = format!("/{binds}").leak().split(' ').collect();
    binds.sort();
    let builds = format!("/var/lib/executor/builds/{net}");
    assert_eq!(
        binds,
        [
            format!("{builds}->{builds}").as_str(),
            "/var/run/docker.sock->/var/run/docker.sock"
        ]
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn the_same_project_on_an_unprotected_ref_gets_no_docker() {
    let job = Job::with_config("", POLICY).project_path("infra/deploy", false);
    job.prepare().ok();
    job.run("build_script", "test ! -e /var/run/docker.sock")
        .ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn denied_images_are_build_failures_that_create_nothing() {
    let job = Job::with_config("none", POLICY)
        .project_path("infra/deploy", true)
        .var("CI_JOB_IMAGE", "evil/miner:latest");
    let call = job.prepare();
    call.expect(1);
    assert!(
        call.stderr
            .contains("image `evil/miner:latest` is not allowed by policy.job_images"),
        "{}",
        call.stderr
    );
    job.assert_nothing_left();

    let job = Job::with_config("dind", POLICY)
        .project_path("infra/deploy", true)
        .var("EXECUTOR_DIND_IMAGE", "evil/dind:1");
    let call = job.prepare();
    call.expect(1);
    assert!(
        call.stderr
            .contains("EXECUTOR_DIND_IMAGE=`evil/dind:1` is not allowed"),
        "{}",
        call.stderr
    );
    job.assert_nothing_left();
}

#[test]
fn a_payload_that_is_not_json_is_a_system_failure() {
    let job =
        Job::with_config("none", POLICY).payload("{\"token\": \"glcbt-secret-in-payload\" <<");
    let call = job.prepare();
    call.expect(2);
    assert!(
        call.stderr
            .contains("is not a job payload: invalid JSON at line 1"),
        "{}",
        call.stderr
    );
    assert!(!call.stderr.contains("secret-in-payload"));
    job.assert_nothing_left();
}
