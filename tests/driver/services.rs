//! The job's `services:` (issue 7): started on the job's network under the docker executor's
//! aliases, waited for on every exposed port or their HEALTHCHECK, warned about but not fatal
//! when they never become ready; a dind service is the dind sidecar, and refused elsewhere.

use crate::harness::{docker, Job, CANARY, DIND_IMAGE, JOB_IMAGE};

fn services(json: &str) -> Job {
    Job::new("none").payload_services(json, &[])
}

fn containers_of(job: &Job) -> Vec<String> {
    let mut names: Vec<String> = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=io.executor.job-key={}", job.key()),
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .map(|n| n.trim_start_matches(&job.key()).to_string())
    .collect();
    names.sort();
    names
}

/// Reached by its derived alias and the user's; prepare waits until both exposed ports answer
/// (the second opens 2 s after the first); the service resolves the job container too.
#[test]
fn a_service_is_reached_by_its_aliases_once_every_port_answers() {
    let job = services(
        r#"[{"name":"executor-test/http2:1","alias":"web","entrypoint":null,"command":null}]"#,
    );
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains("service executor-test__http2 (executor-test/http2:1) ready in"),
        "{}",
        prepared.stderr
    );
    assert!(
        prepared.stderr.contains("TCP 8080, 8081 answer"),
        "{}",
        prepared.stderr
    );
    let out = job.run(
        "build_script",
        "busybox wget -qO- http://web:8081/\n\
         busybox wget -qO- http://executor-test__http2:8080/\n\
         busybox wget -qO- http://executor-test-http2:8080/",
    );
    out.ok();
    assert_eq!(
        out.stdout.matches("hello from the service").count(),
        3,
        "{}",
        out.stdout
    );
    docker(&[
        "exec",
        &format!("{}-svc0", job.key()),
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        "build",
    ]);
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn a_service_that_never_opens_its_port_gets_a_warning_and_the_job_runs() {
    let config = format!("image: {JOB_IMAGE}\nservices:\n  wait_timeout: 2s\n");
    let job = Job::with_config("none", &config).payload_services(r#"[{"name":"executor-test/http:1","alias":"","entrypoint":null,"command":["sh","-c","echo never listening; exec sleep 600"]}]"#, &[]);
    let prepared = job.prepare();
    prepared.ok();
    for want in [
        "*** WARNING: service executor-test__http (executor-test/http:1) probably did not start properly",
        "TCP 8080 did not answer",
        "never listening",
    ] {
        assert!(prepared.stderr.contains(want), "{want}: {}", prepared.stderr);
    }
    job.run("build_script", "echo the job runs").ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn a_healthcheck_decides_when_a_service_is_ready() {
    let job = services(r#"[{"name":"executor-test/healthy:1","alias":"h"}]"#);
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains("its HEALTHCHECK reports healthy"),
        "{}",
        prepared.stderr
    );
    // The evidence that prepare waited: the engine already holds the healthy status the
    // moment prepare returns (a service that was only started would still be `starting`).
    let health = docker(&[
        "inspect",
        "--format",
        "{{.State.Health.Status}}",
        &format!("{}-svc0", job.key()),
    ]);
    assert_eq!(health.trim(), "healthy");
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A `docker:dind` service in a dind job is the sidecar (never a second daemon), reachable
/// under the service's own alias as well.
#[test]
fn a_dind_service_in_a_dind_job_is_the_sidecar() {
    let job = Job::new("dind")
        .var("DOCKER_TLS_CERTDIR", "")
        .payload_services(
            r#"[{"name":"docker:27-dind","alias":"daemon","entrypoint":null,"command":null}]"#,
            &[],
        );
    job.prepare().ok();
    assert_eq!(containers_of(&job), ["-dind", "-helper", "-job"]);
    let out = job.run(
        "build_script",
        "docker -H tcp://daemon:2375 info --format 'one daemon {{.Name}}'\n\
         docker -H tcp://docker:2375 info --format 'same daemon {{.Name}}'",
    );
    out.ok();
    let names: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{}", out.stdout);
    assert_eq!(names[0], names[1], "{}", out.stdout);
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn a_dind_service_in_socket_mode_is_refused_before_anything_is_made() {
    let job = Job::new("socket")
        .payload_services(&format!(r#"[{{"name":"{DIND_IMAGE}","alias":""}}]"#), &[]);
    let prepared = job.prepare();
    prepared.expect(1);
    assert!(
        prepared
            .stderr
            .contains("is a Docker daemon, and this job runs in socket mode")
            && prepared.stderr.contains("EXECUTOR_DOCKER_MODE=dind"),
        "{}",
        prepared.stderr
    );
    assert_eq!(
        prepared.stderr.trim().lines().count(),
        1,
        "{}",
        prepared.stderr
    );
    job.assert_nothing_left();
    job.cleanup().ok();
}

/// From the payload: a service gets the job's public variables and its own, never a secret.
#[test]
fn services_get_public_variables_and_their_own_but_no_secrets() {
    let job = Job::new("none").payload_services(
        r#"[{"name": "executor-test/http:1", "alias": "web",
            "variables": [{"key": "SERVICE_ONLY", "value": "yes"}]}]"#,
        &[r#"{"key": "APP_ENV", "value": "test", "public": true}"#],
    );
    job.prepare().ok();
    let env = docker(&[
        "inspect",
        "--format",
        "{{range .Config.Env}}{{println .}}{{end}}",
        &format!("{}-svc0", job.key()),
    ]);
    assert!(
        env.contains("APP_ENV=test\n") && env.contains("SERVICE_ONLY=yes\n"),
        "{env}"
    );
    assert!(!env.contains(CANARY), "a secret reached a service: {env}");
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn service_images_go_through_the_image_policy() {
    let config =
        format!("image: {JOB_IMAGE}\npolicy:\n  job_images: [\"executor-test/debian:*\"]\n");
    let job = Job::with_config("none", &config)
        .payload_services(r#"[{"name":"executor-test/http:1"}]"#, &[]);
    let prepared = job.prepare();
    prepared.expect(1);
    assert!(
        prepared
            .stderr
            .contains("service image `executor-test/http:1` is not allowed by policy.job_images"),
        "{}",
        prepared.stderr
    );
    job.assert_nothing_left();
}

/// A service name the engine refuses as an image reference is the job's mistake: exit 1, one
/// line, and nothing left behind.
#[test]
fn a_malformed_service_image_is_a_build_failure() {
    let job = services(r#"[{"name":"Bad$(name)"}]"#);
    let prepared = job.prepare();
    prepared.expect(1);
    assert!(
        prepared
            .stderr
            .contains("image `Bad$(name)` is not a valid image name"),
        "{}",
        prepared.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}
