//! Which ports a service's readiness waits for (issue 13): the ports its `ports:` lists
//! instead of the ones its image exposes, and only the one its `HEALTHCHECK_TCP_PORT` variable
//! names, as the docker executor reads it.

use crate::harness::{Job, JOB_IMAGE};

/// A job whose services are waited for 3 s at most, so a wait for the wrong port ends soon.
fn job_with(services: &str) -> Job {
    let config = format!("image: {JOB_IMAGE}\nservices:\n  wait_timeout: 3s\n");
    Job::with_config("none", &config).payload_services(services, &[])
}

/// The http image exposes 8080. Served on 9090 only, with `ports: [9090]`, the service is
/// ready once 9090 answers (waiting for 8080 would end in the warning after 3 s); served on
/// 8080 with `ports: [9091]`, 8080 answering is not enough and the warning names 9091.
#[test]
fn a_services_ports_replace_its_exposed_ones_in_the_wait() {
    let listed = job_with(
        r#"[{"name": "executor-test/http:1", "alias": "web",
             "command": ["httpd", "-f", "-p", "9090", "-h", "/www"],
             "ports": [{"number": 9090, "protocol": "http", "name": "web"}]}]"#,
    );
    let prepared = listed.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.lines().any(|l| l
            .starts_with("executor: service executor-test__http (executor-test/http:1) ready in")
            && l.ends_with(": TCP 9090 answers (the service's ports:)")),
        "{}",
        prepared.stderr
    );
    assert!(!prepared.stderr.contains("WARNING"), "{}", prepared.stderr);
    let out = listed.run("build_script", "busybox wget -qO- http://web:9090/");
    out.ok();
    assert!(
        out.stdout.contains("hello from the service"),
        "{}",
        out.stdout
    );
    listed.cleanup().ok();
    listed.assert_nothing_left();

    let elsewhere = job_with(
        r#"[{"name": "executor-test/http:1", "alias": "web", "ports": [{"number": 9091}]}]"#,
    );
    let prepared = elsewhere.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains(
            "probably did not start properly: not ready within services.wait_timeout (3 s); \
             TCP 9091 did not answer (the service's ports:)"
        ),
        "{}",
        prepared.stderr
    );
    elsewhere.cleanup().ok();
    elsewhere.assert_nothing_left();
}

/// The http2 image exposes 8080 and 8081; `HEALTHCHECK_TCP_PORT: "9090"` among the service's
/// variables makes 9090 the one port waited for, as under the docker executor.
#[test]
fn healthcheck_tcp_port_names_the_one_port_waited_for() {
    let job = job_with(
        r#"[{"name": "executor-test/http2:1", "alias": "web",
             "command": ["httpd", "-f", "-p", "9090", "-h", "/www"],
             "variables": [{"key": "HEALTHCHECK_TCP_PORT", "value": "9090"}]}]"#,
    );
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .lines()
            .any(|l| l.ends_with(": TCP 9090 answers (HEALTHCHECK_TCP_PORT)")),
        "{}",
        prepared.stderr
    );
    assert!(!prepared.stderr.contains("WARNING"), "{}", prepared.stderr);
    job.cleanup().ok();
    job.assert_nothing_left();
}
