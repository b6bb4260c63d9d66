//! Services, continued: a service's `entrypoint` from the payload, the job container reached
//! from a service by its name, services started and waited for together, and a socket job's
//! `docker build` on the job's network reaching a service.

use crate::harness::{docker, Job};

/// The payload's `entrypoint` replaces the image's (the http image has none and would run
/// `httpd` serving "hello from the service"), and the payload's `command` follows it as its
/// arguments, as the docker executor passes them. The service, in turn, reaches the job
/// container by the container's own name: the job serves a page naming itself (waiting until
/// its server, which forks into the background, answers), which only that container can answer.
#[test]
fn a_services_entrypoint_runs_with_its_command_and_reaches_the_job_by_name() {
    let entrypoint = r#"["sh", "-c", "echo \"entrypoint ran with $1\" > /www/index.html && exec httpd -f -p 8080 -h /www", "svc"]"#;
    let job = Job::new("none").payload_services(
        &format!(
            r#"[{{"name": "executor-test/http:1", "alias": "web",
                 "entrypoint": {entrypoint}, "command": ["the-command"]}}]"#
        ),
        &[],
    );
    job.prepare().ok();
    let out = job.run(
        "build_script",
        "busybox wget -qO- http://web:8080/\n\
         mkdir -p www && echo \"job container of $CI_JOB_ID\" > www/index.html\n\
         busybox httpd -p 8000 -h \"$PWD/www\"\n\
         i=0; until busybox wget -qO /dev/null http://127.0.0.1:8000/; do\n\
           i=$((i+1)); [ $i -lt 100 ] || exit 7; sleep 0.1\n\
         done",
    );
    out.ok();
    assert!(
        out.stdout.contains("entrypoint ran with the-command"),
        "{}",
        out.stdout
    );
    let served = docker(&[
        "exec",
        &format!("{}-svc0", job.key()),
        "wget",
        "-qO-",
        &format!("http://{}:8000/", job.container()),
    ]);
    assert_eq!(served.trim(), format!("job container of {}", job.job_id));
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A service of the http2 image (it exposes 8080 and 8081) that accepts one connection on 8080,
/// marks in the shared builds directory that it was probed, and opens 8081 only once `other`
/// was probed too.
fn probed_then_waits_for(me: &str, other: &str, builds: &str) -> String {
    let script = format!(
        "nc -l -p 8080 </dev/null >/dev/null 2>&1; touch {builds}/.probed-{me}; \
         until [ -e {builds}/.probed-{other} ]; do sleep 0.1; done; \
         exec httpd -f -p 8081 -h /www"
    );
    format!(
        r#"{{"name": "executor-test/http2:1", "alias": "{me}", "command": ["sh", "-c", "{script}"]}}"#
    )
}

/// Each service opens its second port only once the driver has probed the other's first: the
/// driver checks a service's ports in order, so both become ready only if both run before
/// either is ready and both are waited for at the same time. Started one after another's
/// readiness, or waited for one after another (in any order), the first one waited for would
/// never become ready, and prepare would warn after `services.wait_timeout` (30 s).
#[test]
fn services_run_before_any_is_ready_and_are_waited_for_together() {
    let probe = Job::new("none");
    let builds = probe.builds_dir();
    let services = format!(
        "[{}, {}]",
        probed_then_waits_for("one", "two", &builds),
        probed_then_waits_for("two", "one", &builds)
    );
    let job = probe.payload_services(&services, &[]);
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        !prepared.stderr.contains("probably did not start properly"),
        "{}",
        prepared.stderr
    );
    // Both services carry the image's derived alias first, which the ready line names.
    let ready = prepared
        .stderr
        .lines()
        .filter(|l| {
            l.contains("service executor-test__http2 (executor-test/http2:1) ready in")
                && l.ends_with("TCP 8080, 8081 answer")
        })
        .count();
    assert_eq!(ready, 2, "{}", prepared.stderr);
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A socket job's `docker build --network "$CI_BUILD_NETWORK_NAME"` puts its `RUN` steps on
/// the job's network, where a service answers to its alias: the step fetches the service's
/// page, and fails the build (and the stage) if it cannot. BuildKit refuses a network of the
/// user's ("not supported by buildkit"), so the job asks for the classic builder. The image is
/// built on the host engine; the job removes it, and the test makes sure it is gone.
#[test]
fn docker_build_on_the_job_network_reaches_a_service_in_socket_mode() {
    let job = Job::new("socket").payload_services(
        r#"[{"name": "executor-test/http:1", "alias": "web", "entrypoint": null, "command": null}]"#,
        &[],
    );
    let tag = format!("executor-test/built-on-job-network:{}", job.job_id);
    job.prepare().ok();
    let out = job.run(
        "build_script",
        &format!(
            "export DOCKER_BUILDKIT=0\n\
             mkdir ctx && printf 'FROM executor-test/busybox:1\\nRUN wget -qO- http://web:8080/\\n' > ctx/Dockerfile\n\
             docker build --no-cache --force-rm --network \"$CI_BUILD_NETWORK_NAME\" -t {tag} ctx\n\
             docker image rm {tag}"
        ),
    );
    let gone = std::process::Command::new("docker")
        .args(["image", "rm", &tag])
        .output()
        .unwrap();
    out.ok();
    assert!(
        out.stdout.contains("hello from the service"),
        "{}",
        out.stdout
    );
    assert!(!gone.status.success(), "the job left its image {tag}");
    job.cleanup().ok();
    job.assert_nothing_left();
}
