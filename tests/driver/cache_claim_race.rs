//! The layer cache claim holds until the sidecar starts: a job whose image pull is slow must
//! not claim the project's cache before the pull and start its daemon on it after another
//! job (two runners sharing an id, or a job that forged the slot) claimed it meanwhile.
//! The kept `cache_dir` volume is looked at again before the containers for the same reason.
//! Runner 919.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{docker, stub_registry, Job, ALL_MODES, DIND_IMAGE, JOB_IMAGE};

const RUNNER: &str = "919";
const PROJECT: &str = "9191";
const SLOT: &str = "71";
/// How long the registry holds a manifest request before it answers "not found".
const STALL: Duration = Duration::from_secs(12);

/// A registry on loopback that holds every request but `/v2/` for [`STALL`], then says the
/// manifest is unknown.
fn stalling_registry() -> u16 {
    stub_registry(|| {
        std::thread::sleep(STALL);
        let unknown = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
        ("404 Not Found", Arc::from(&unknown[..]))
    })
}

fn job(image: &str) -> Job {
    let config = format!(
        "{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  cache: project\nimage: {image}\n\
         allowed_pull_policies: [if-not-present, always]\n"
    );
    Job::with_config("dind", &config)
        .runner(RUNNER)
        .project(PROJECT)
        .var("CI_CONCURRENT_ID", SLOT)
        .payload_image(r#"{"pull_policy": ["always", "if-not-present"]}"#)
}

fn holders(volume: &str) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("volume={volume}"),
        "--format",
        "{{.Names}}",
    ]);
    let mut names: Vec<String> = out.lines().map(str::to_string).collect();
    names.sort();
    names
}

/// A job that claimed the cache and then waits on a slow pull; meanwhile another job of the
/// project in the same slot claims it and starts its daemon on it. The slow job, once its
/// image is there, must not start a second daemon on that cache.
#[test]
fn a_slow_pull_does_not_let_two_daemons_open_one_layer_cache() {
    let port = stalling_registry();
    let slow_image = format!("127.0.0.1:{port}/slow/job:1");
    docker(&["tag", JOB_IMAGE, &slow_image]);
    let slow = job(&slow_image);
    let quick = job(JOB_IMAGE).payload_image(r#"{"pull_policy": "if-not-present"}"#);
    let cache = format!(
        "{}-p{PROJECT}-c{SLOT}-dind-cache",
        crate::harness::stem(RUNNER)
    );
    let started = slow.start(&["prepare"]);
    started.wait_for_line("pulling image");
    // Whatever the slow job does alongside its pull is done once its network exists, or
    // (when it makes the network only after its images) within a moment.
    let deadline = Instant::now() + Duration::from_secs(3);
    let network = format!("label=io.executor.job-key={}", slow.key());
    while Instant::now() < deadline
        && docker(&["network", "ls", "-q", "--filter", &network])
            .trim()
            .is_empty()
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let quick_prepare = quick.prepare();
    let ended = started.end();
    let held_by = holders(&cache);
    let cache_dir = cache.trim_end_matches("-dind-cache").to_string() + "-cache";
    let cache_dir_held_by = holders(&cache_dir);
    eprintln!(
        "quick: exit {}\n{}\nslow: exit {:?}\n{}\nholders: {held_by:?}\n\
         cache_dir holders: {:?}",
        quick_prepare.code, quick_prepare.stderr, ended.code, ended.stderr, cache_dir_held_by
    );
    slow.cleanup().ok();
    quick.cleanup().ok();
    docker(&["rmi", &slow_image]);
    crate::harness::collect_runner(RUNNER);
    quick_prepare.ok();
    assert_eq!(
        held_by,
        [format!("{}-dind", quick.key())],
        "daemons on one cache"
    );
    assert!(
        !cache_dir_held_by.is_empty()
            && cache_dir_held_by
                .iter()
                .all(|name| name.starts_with(&format!("{}-", quick.key()))),
        "the kept cache_dir volume is mounted by both jobs: {cache_dir_held_by:?}"
    );
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("gets an empty one"),
        "{}",
        ended.stderr
    );
}
