//! Warm sidecars (`dind.warm`) beyond adoption itself (`warm_adopt.rs`): cleanup does not wait
//! for the warm daemon, and a warm set running another image id than the job's is refused.
//! Each test has a runner id of its own (960, 961; `warm_gc.rs` has 962), because it ends with
//! `gc` for that runner, which must never touch another test's warm sets.

use std::process::Command;

use crate::harness::{build_image, docker, Job, DIND_IMAGE, JOB_IMAGE};
use crate::spawned::container_state;

/// prepare of a job that must adopt the warm sidecar its slot holds.
#[track_caller]
pub fn prepare_adopting(job: &Job) {
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains("adopted warm sidecar"),
        "{}",
        prepared.stderr
    );
}

/// cleanup of a dind job that must leave a fresh warm sidecar for its slot's next job.
#[track_caller]
pub fn cleanup_warming(job: &Job) {
    let cleaned = job.cleanup();
    cleaned.ok();
    assert!(
        cleaned.stderr.contains("started warm sidecar"),
        "{}",
        cleaned.stderr
    );
}

/// When a test ends, passing or not: whatever its runner left (a failed test's warm sets), then
/// the images it built (no container runs them any more). Never panics: it runs while a failed
/// test unwinds.
pub struct Teardown {
    runner: &'static str,
    images: Vec<String>,
}

impl Teardown {
    pub fn new(runner: &'static str) -> Teardown {
        Teardown {
            runner,
            images: Vec::new(),
        }
    }

    /// Build `image` from a Dockerfile (see [`build_image`]) and return its id.
    pub fn build(&mut self, image: &str, dockerfile: &str, files: &[(&str, &str)]) -> String {
        self.images.push(image.to_string());
        build_image(image, dockerfile, files);
        let id = docker(&["image", "inspect", "--format", "{{.Id}}", image]);
        self.images.push(id.trim().to_string());
        id.trim().to_string()
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        let label = format!("label=io.executor.runner-id={}", self.runner);
        for (list, remove) in [
            (["ps", "-aq"], ["rm", "-fv"]),
            (["network", "ls"], ["network", "rm"]),
            (["volume", "ls"], ["volume", "rm"]),
        ] {
            let Ok(out) = Command::new("docker")
                .args(list)
                .args(["-q", "--filter", &label])
                .output()
            else {
                return;
            };
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("docker").args(remove).arg(id).output();
            }
        }
        for image in self.images.iter().rev() {
            let _ = Command::new("docker").args(["rmi", image]).output();
        }
    }
}

/// The free warm sets of `runner`'s `slot`: their sidecars' names (`<warm key>-dind`).
pub fn warm_sidecars(runner: &str, slot: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--filter",
        "label=io.executor.warm-key",
        "--filter",
        &format!("label=io.executor.runner-id={runner}"),
        "--filter",
        &format!("label=io.executor.slot={slot}"),
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .filter(|name| name.starts_with(&format!("{}-c{slot}-w", crate::harness::stem(runner))))
    .map(str::to_string)
    .collect()
}

fn warm_job(config: &str, runner: &str, slot: &str) -> Job {
    Job::with_config("dind", config)
        .runner(runner)
        .var("CI_CONCURRENT_ID", slot)
}

/// The test dind image behind a gate: its daemon starts only once `/gate-open` exists in the
/// container, so the test, not the clock, decides when a sidecar may boot.
const GATE: &str = "while [ ! -e /gate-open ]; do sleep 0.05; done\n\
                    exec /usr/local/bin/dockerd-entrypoint.sh \"$@\"\n";

/// cleanup starts the slot's warm sidecar and returns while its daemon cannot have booted (it
/// waits at the gate, so a cleanup that waited for it would time out or hang instead of saying
/// it started one); once the gate opens, the next job adopts it.
#[test]
fn cleanup_returns_before_the_warm_sidecars_daemon_boots() {
    let (runner, slot) = ("960", "51");
    let mut teardown = Teardown::new(runner);
    let image = format!("executor-test/warm-gated:{}", std::process::id());
    teardown.build(
        &image,
        &format!(
            "FROM {DIND_IMAGE}\nCOPY gate.sh /gate.sh\nENTRYPOINT [\"/bin/sh\", \"/gate.sh\"]\n"
        ),
        &[("gate.sh", GATE)],
    );
    // A cleanup that waited would use the readiness timeout: fail in 30 s, not hang.
    let config = format!(
        "image: {JOB_IMAGE}\ndind:\n  image: {image}\n  warm: true\n  ready_timeout: 30s\n"
    );

    let first = warm_job(&config, runner, slot);
    let prepare = first.start(&["prepare"]);
    let sidecar = format!("{}-dind", first.key());
    prepare.wait_for_container(&sidecar, true);
    docker(&["exec", &sidecar, "touch", "/gate-open"]);
    let prepared = prepare.end();
    assert_eq!(prepared.code, Some(0), "{}", prepared.stderr);
    cleanup_warming(&first);
    first.assert_nothing_left();

    let warm = warm_sidecars(runner, slot);
    assert_eq!(warm.len(), 1, "{warm:?}");
    let warm = &warm[0];
    assert_eq!(container_state(warm), "running");
    let processes = docker(&["top", warm]);
    assert!(
        processes.contains("/gate.sh") && !processes.contains("dockerd"),
        "{processes}"
    );
    let socket = Command::new("docker")
        .args(["exec", warm, "test", "-e", "/var/run/dind/docker.sock"])
        .status()
        .unwrap();
    assert!(!socket.success(), "the warm daemon has a socket already");

    docker(&["exec", warm, "touch", "/gate-open"]);
    let second = warm_job(&config, runner, slot);
    prepare_adopting(&second);
    second
        .run("build_script", "docker info --format 'daemon {{.ID}}'")
        .ok();
    second.cleanup().ok();
    second.assert_nothing_left();
    crate::harness::collect_runner(runner);
}

/// A warm set whose sidecar runs another image id than the job's dind image now names (the
/// tag was rebuilt between two jobs) is not adopted: prepare says why and replaces it. The
/// control: with the tag left alone, the next job adopts the set its predecessor warmed.
#[test]
fn a_warm_set_running_another_image_id_is_refused() {
    let (runner, slot) = ("961", "52");
    let mut teardown = Teardown::new(runner);
    let image = format!("executor-test/warm-variant:{}", std::process::id());
    let variant = |name: &str| format!("FROM {DIND_IMAGE}\nLABEL executor-test.variant={name}\n");
    let old_id = teardown.build(&image, &variant("a"), &[]);
    let config = format!("image: {JOB_IMAGE}\ndind:\n  image: {image}\n  warm: true\n");

    let first = warm_job(&config, runner, slot);
    first.prepare().ok();
    first.cleanup().ok();
    let warm = warm_sidecars(runner, slot);
    assert_eq!(warm.len(), 1, "{warm:?}");
    let image_of = |name: &str| docker(&["inspect", "--format", "{{.Image}}", name]);
    assert_eq!(image_of(&warm[0]).trim(), old_id);

    let new_id = teardown.build(&image, &variant("b"), &[]);
    assert_ne!(new_id, old_id);
    let second = warm_job(&config, runner, slot);
    let prepared = second.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains(&format!(
            "warm sidecar {} runs an older image: replacing it",
            warm[0]
        )) && !prepared.stderr.contains("adopted"),
        "{}",
        prepared.stderr
    );
    assert_eq!(container_state(&warm[0]), "", "the refused set is removed");
    assert_eq!(image_of(&format!("{}-dind", second.key())).trim(), new_id);
    second.cleanup().ok();
    second.assert_nothing_left();

    let third = warm_job(&config, runner, slot);
    prepare_adopting(&third);
    third.cleanup().ok();
    third.assert_nothing_left();
    first.assert_nothing_left();
    crate::harness::collect_runner(runner);
}
