//! A registry a job names answers with megabytes: the engine passes a registry's error text
//! (and a manifest list's platforms) on whole, so the driver must read the engine's answer
//! bounded, on the pull and on the private-image check alike. Runner 974.

use std::sync::Arc;

use crate::harness::{docker, remove_volume, stub_registry, Job, BUSYBOX_IMAGE, JOB_IMAGE};
use crate::registry_auth::{auths, USER};
use crate::trust_probes::{watch, PEAK_LIMIT_KIB};

const RUNNER: &str = "974";
/// What the registry's error says: 64 MiB, past any driver's cap.
const FLOOD: usize = 64 << 20;

/// A registry on loopback that refuses everything but `/v2/` with a 64 MiB `UNAUTHORIZED`
/// error.
fn flooding_registry() -> u16 {
    let message = format!("denied {}", "x".repeat(FLOOD));
    let body = serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": message}]});
    let body: Arc<[u8]> = Arc::from(body.to_string().into_bytes());
    stub_registry(move || ("401 Unauthorized", Arc::clone(&body)))
}

fn job(image: &str) -> Job {
    Job::with_config("none", &format!("image: {JOB_IMAGE}\n"))
        .runner(RUNNER)
        .project("9741")
        .var("CI_JOB_IMAGE", image)
}

/// Prepare fails as the job's error naming `refusal`, its log and the driver's memory small.
#[track_caller]
fn prepare_is_refused_in_bounds(job: &Job, refusal: &str) {
    // `watch` stops a driver past 256 MiB with a panic: clean up before passing it on.
    let watched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        watch(
            job.spawn(&["prepare"]),
            std::time::Duration::from_secs(120),
            |_| {},
        )
    }));
    job.cleanup().ok();
    let slot = job.job_var("CI_CONCURRENT_ID").unwrap();
    remove_volume(&format!(
        "{}-p9741-c{slot}-cache",
        crate::harness::stem(RUNNER)
    ));
    job.assert_nothing_left();
    let watched = watched.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    eprintln!(
        "prepare: exit {:?}, peak {} KiB, {} bytes of log",
        watched.code,
        watched.peak_kib,
        watched.stderr.len()
    );
    eprintln!("{}", watched.stderr);
    assert_eq!(watched.code, Some(1), "{}", watched.stderr);
    assert!(watched.stderr.contains(refusal), "{}", watched.stderr);
    assert!(
        watched.stderr.len() < 64 * 1024,
        "{} bytes",
        watched.stderr.len()
    );
    assert!(
        watched.peak_kib < PEAK_LIMIT_KIB,
        "peak {} KiB",
        watched.peak_kib
    );
}

/// The pull: no login needed, any job can name such a registry.
#[test]
fn a_registry_cannot_flood_the_driver_through_a_failed_pull() {
    let port = flooding_registry();
    let job = job(&format!("127.0.0.1:{port}/flood:1"));
    prepare_is_refused_in_bounds(&job, "refused to let this job pull image");
}

/// The private-image check: the image is on the engine and the job has a login of its own for
/// the registry, so the driver asks the registry (through the engine) before using it.
#[test]
fn a_registry_cannot_flood_the_driver_through_the_private_image_check() {
    let port = flooding_registry();
    let image = format!("127.0.0.1:{port}/flood-check:1");
    docker(&["tag", BUSYBOX_IMAGE, &image]);
    let job = job(&image).var(
        "DOCKER_AUTH_CONFIG",
        &auths(&format!("127.0.0.1:{port}"), USER, "the-jobs-own"),
    );
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        prepare_is_refused_in_bounds(&job, "does not let this job read it with credentials from")
    }));
    docker(&["rmi", &image]);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
