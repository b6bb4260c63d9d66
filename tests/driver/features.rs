//! Documented features that had no test of their own: the services wait turned off, gc's
//! `--max-age` and `--drop-caches` (and doctor's cache listing), gc collecting a killed socket
//! job's labelled siblings, an unprivileged sidecar, and `DOCKER_TLS_SAN` on a real daemon.
//! The gc tests use runner ids of their own (913 to 915), so their gc touches nothing else.

use crate::harness::{
    docker, labelled, Bounded, Job, ALL_MODES, BUSYBOX_IMAGE, DIND_IMAGE, JOB_IMAGE,
};

fn base(extra: &str) -> String {
    format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{ALL_MODES}{extra}")
}

/// `services.wait_timeout: 0s`: prepare does not wait at all, so a service that never opens
/// its port draws no warning (with a wait it would, as `services.rs` shows).
#[test]
fn a_zero_services_wait_does_not_wait() {
    let job = Job::with_config("none", &base("services:\n  wait_timeout: 0s\n")).payload_services(
        r#"[{"name":"executor-test/http:1","command":["sh","-c","exec sleep 600"]}]"#,
        &[],
    );
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        !prepared.stderr.contains("probably did not start properly"),
        "{}",
        prepared.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// `gc.max_age` and `gc --max-age`: a job whose newest resource is older than that is
/// collected even while its job container runs (it outlived any job timeout). The flag
/// overrides the key either way.
#[test]
fn gc_max_age_collects_even_a_running_job() {
    let gc = |job: &Job, max_age_key: &str, flags: &[&str]| {
        job.set_config(&base(&format!("gc:\n  max_age: {max_age_key}\n")));
        let mut args = vec!["gc", "--runner-id", "913"];
        args.extend(flags);
        let call = job.call(&args);
        call.ok();
        call.stderr
    };
    let removed = |job: &Job, stderr: &str| {
        stderr.contains(&format!("removed {}", job.key())) && stderr.contains("past gc.max_age")
    };

    let job = Job::new("none").runner("913");
    job.prepare().ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let kept = gc(&job, "1h", &[]);
    assert!(!kept.contains(&job.key()), "{kept}");
    let flag_keeps = gc(&job, "1s", &["--max-age", "1h"]);
    assert!(!flag_keeps.contains(&job.key()), "{flag_keeps}");
    let key_collects = gc(&job, "1s", &[]);
    assert!(removed(&job, &key_collects), "{key_collects}");
    job.assert_nothing_left();

    let job = Job::new("none").runner("913");
    job.prepare().ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let flag_collects = gc(&job, "1h", &["--max-age", "1s"]);
    assert!(removed(&job, &flag_collects), "{flag_collects}");
    job.assert_nothing_left();
    drop_caches("913");
}

/// A project's kept cache_dir outlives its job: gc reports it and keeps it, doctor lists it,
/// `gc --drop-caches` removes it once idle.
#[test]
fn kept_caches_are_listed_and_dropped_only_when_asked() {
    let job = Job::new("none").runner("914");
    job.whole("build_script", "echo kept > /cache/note");
    let volume = format!(
        "{}-p77-c{}-cache",
        crate::harness::stem("914"),
        job.job_var("CI_CONCURRENT_ID").unwrap()
    );
    let gc = job.call(&["gc", "--runner-id", "914"]);
    gc.ok();
    assert!(
        gc.stderr.contains(&format!("cache {volume}: ")),
        "{}",
        gc.stderr
    );
    assert!(gc.stderr.contains("idle"), "{}", gc.stderr);
    // Without dind offered, doctor starts no privileged probe (doctor.rs checks none remains).
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!("image: {JOB_IMAGE}\nmode:\n  default: none\n  allowed: [none]\n"),
    )
    .unwrap();
    let doctor = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .arg("--config")
        .arg(config.path())
        .arg("doctor")
        .bounded_output()
        .unwrap();
    let listed = String::from_utf8_lossy(&doctor.stdout);
    assert!(listed.contains(&volume), "{listed}");
    let dropped = job.call(&["gc", "--runner-id", "914", "--drop-caches"]);
    dropped.ok();
    assert!(
        dropped.stderr.contains(&format!("dropped cache {volume}")),
        "{}",
        dropped.stderr
    );
    assert_eq!(labelled("io.executor.runner-id=914"), Vec::<String>::new());
}

/// A socket job labels the containers it starts with its key; killed before its cleanup, gc
/// collects them with the job.
#[test]
fn gc_collects_a_killed_socket_jobs_labelled_siblings() {
    let job = Job::new("socket").runner("915");
    job.prepare().ok();
    job.run(
        "build_script",
        &format!(
            "docker run -d --label io.executor.job-key=$EXECUTOR_JOB_KEY --name $EXECUTOR_JOB_KEY-sibling \
             {BUSYBOX_IMAGE} sleep 600"
        ),
    )
    .ok();
    // The runner died: no cleanup; the job container stops with it.
    docker(&["kill", &job.container(), &format!("{}-helper", job.key())]);
    let gc = job.call(&["gc", "--runner-id", "915", "--grace", "0s"]);
    gc.ok();
    assert!(
        gc.stderr.contains(&format!("removed {}", job.key())),
        "{}",
        gc.stderr
    );
    let sibling = format!("{}-sibling", job.key());
    let left = docker(&["ps", "-aq", "--filter", &format!("name=^{sibling}$")]);
    assert!(left.trim().is_empty(), "the sibling survived gc");
    job.assert_nothing_left();
    drop_caches("915");
}

fn drop_caches(runner: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["gc", "--drop-caches", "--runner-id", runner])
        .env("EXECUTOR_CONFIG", "/dev/null")
        .bounded_output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        labelled(&format!("io.executor.runner-id={runner}")),
        Vec::<String>::new()
    );
}

/// `dind.privileged: false` without a runtime such as sysbox: dockerd cannot start in the
/// sidecar, and prepare says so as a system failure with the daemon's last log lines.
#[test]
fn an_unprivileged_sidecar_fails_with_the_daemons_logs() {
    let job = Job::with_config(
        "dind",
        &base("").replace(
            &format!("  image: {DIND_IMAGE}\n"),
            &format!("  image: {DIND_IMAGE}\n  privileged: false\n  ready_timeout: 20s\n"),
        ),
    );
    let prepared = job.prepare();
    prepared.expect(2);
    assert!(
        prepared.stderr.contains("last 20 log lines of")
            && prepared.stderr.contains("system failure:"),
        "{}",
        prepared.stderr
    );
    assert!(
        !prepared.stderr.contains(", privileged"),
        "{}",
        prepared.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// `DOCKER_TLS_SAN` with `dind.tls`: the daemon's certificate names the extra host.
#[test]
fn docker_tls_san_reaches_the_daemons_certificate() {
    let job = Job::with_config(
        "dind",
        &base("").replace(
            &format!("  image: {DIND_IMAGE}\n"),
            &format!("  image: {DIND_IMAGE}\n  tls: true\n"),
        ),
    )
    .var("DOCKER_TLS_SAN", "DNS:builder.example.internal");
    job.prepare().ok();
    let out = job.run(
        "build_script",
        "echo | openssl s_client -connect docker:2376 -cert /certs/client/cert.pem \
         -key /certs/client/key.pem 2>/dev/null | openssl x509 -noout -ext subjectAltName",
    );
    out.ok();
    assert!(
        out.stdout.contains("DNS:builder.example.internal"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("DNS:docker"), "{}", out.stdout);
    job.cleanup().ok();
    job.assert_nothing_left();
}
