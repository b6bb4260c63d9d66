//! Hostile jobs against warm sets (`warm.jobs`, with `dind.warm`): what a job's image does in
//! a warm container before any job adopts it, and what a job's image labels make the driver
//! remove, must never reach a job of another project.
//!
//! Runner 985 is the dind tests' own, 986 the none-mode test's, 989 the socket-mode test's:
//! each test starts by collecting what a failed run left, and ends proving nothing of its
//! runner is left.

use crate::harness::{collect_runner, docker, Job, ALL_MODES, DIND_IMAGE, JOB_IMAGE};
use crate::spawned::container_state;
use crate::warm::Teardown;
use crate::warm_jobs::started_set;

const DIND_RUNNER: &str = "985";
const NONE_RUNNER: &str = "986";

/// Held by runner 985's tests throughout: each ends with a gc of the runner, which would take
/// the other's waiting sets.
static DIND_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn dind_config() -> String {
    format!(
        "image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n  warm: true\n{ALL_MODES}warm:\n  jobs: true\n"
    )
}

/// The free warm sets of `runner` (their `role` container still bears the set's own name).
fn free_keys(runner: &str, role: &str) -> Vec<String> {
    crate::warm_jobs::free_keys(runner, None, role)
}

/// Wait (up to `secs`) until `check` holds.
#[track_caller]
fn wait_until(secs: u64, what: &str, check: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A dind job's cleanup makes the slot's warm sidecar together with a warm job container of
/// the job's project and image, which can reach that daemon (its socket volume, `DOCKER_HOST`)
/// from the moment it starts, before any job adopts the set. A job of another project must
/// not be handed a daemon that project's image has had its hands on: here the image's
/// entrypoint plants a volume in the waiting daemon, and the next job of the slot, of another
/// project, must start on a daemon without it.
#[test]
fn a_warm_daemon_another_projects_image_touched_is_not_adopted() {
    const POISON_IMAGE: &str = "executor-test/hostile-warm-poison:1";
    const PLANTED: &str = "planted-by-another-project";
    let _lock = DIND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    collect_runner(DIND_RUNNER);
    let mut teardown = Teardown::new(DIND_RUNNER);
    teardown.build(
        POISON_IMAGE,
        &format!(
            "FROM {JOB_IMAGE}\nCOPY entry.sh /entry.sh\nRUN chmod +x /entry.sh\n\
             ENTRYPOINT [\"/entry.sh\"]\n"
        ),
        &[(
            "entry.sh",
            &format!(
                "#!/bin/sh\n( i=0; while [ $i -lt 240 ]; do \
                 docker volume create {PLANTED} && exit 0; i=$((i+1)); sleep 0.5; done ) \
                 </dev/null >/dev/null 2>&1 &\nexec \"$@\"\n"
            ),
        )],
    );
    let config = dind_config();
    let dind_job = || {
        Job::with_config("dind", &config)
            .runner(DIND_RUNNER)
            .var("CI_CONCURRENT_ID", "5")
    };
    // The attacker's project: its job, cold, leaves the slot's warm set.
    let attacker = dind_job().project("4242").var("CI_JOB_IMAGE", POISON_IMAGE);
    attacker.prepare().ok();
    attacker.run("build_script", "true").ok();
    let cleaned = attacker.cleanup();
    cleaned.ok();
    assert!(
        cleaned.stderr.contains("started warm sidecar"),
        "{}",
        cleaned.stderr
    );
    attacker.assert_nothing_left();
    let keys = free_keys(DIND_RUNNER, "dind");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    // The premise: the set's job container (the attacker's image) reached the waiting daemon.
    assert_eq!(container_state(&format!("{key}-job")), "running");
    wait_until(
        120,
        "the warm job container never reached the daemon",
        || {
            let out = std::process::Command::new("docker")
                .args([
                    "exec",
                    &format!("{key}-dind"),
                    "docker",
                    "volume",
                    "ls",
                    "-q",
                ])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).contains(PLANTED)
        },
    );

    // The victim: another project's job in the same slot.
    let victim = dind_job();
    let prepared = victim.prepare();
    prepared.ok();
    let out = victim.run(
        "build_script",
        "docker volume ls -q; echo \"key=$EXECUTOR_JOB_KEY\"",
    );
    out.ok();
    assert!(
        out.stdout.contains(&format!("key={}\n", victim.key())),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains(PLANTED),
        "another project's image reached this job's daemon:\n{}\n{}",
        prepared.stderr,
        out.stdout
    );
    assert!(
        !prepared.stderr.contains("adopted warm sidecar"),
        "{}",
        prepared.stderr
    );
    victim.cleanup().ok();
    victim.assert_nothing_left();
    collect_runner(DIND_RUNNER);
}

/// Unix time now, as `docker events` takes it.
fn now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// A warm dind set can be claimed (its token exists) only once the job container beside its
/// sidecar runs. Were the token there first, a job of another project could claim the set in
/// between, find no job container beside the sidecar, create its own, and then have the
/// finished job's container (that project's image) started in its set, beside its job, with
/// its daemon and builds volume at hand for the rest of its job.
#[test]
fn a_warm_dind_set_can_be_claimed_only_once_its_job_container_runs() {
    let _lock = DIND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    collect_runner(DIND_RUNNER);
    let _teardown = Teardown::new(DIND_RUNNER);
    let job = Job::with_config("dind", &dind_config())
        .runner(DIND_RUNNER)
        .var("CI_CONCURRENT_ID", "6");
    job.prepare().ok();
    job.run("build_script", "true").ok();
    let since = now();
    let cleaned = job.cleanup();
    cleaned.ok();
    assert!(
        cleaned.stderr.contains("started warm sidecar"),
        "{}",
        cleaned.stderr
    );
    job.assert_nothing_left();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let until = now();
    let keys = free_keys(DIND_RUNNER, "dind");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    let events: Vec<String> = docker(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "type=container",
        "--filter",
        "type=volume",
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes \"name\"}}",
    ])
    .lines()
    .map(str::to_string)
    .collect();
    let at = |what: &str| {
        events
            .iter()
            .position(|e| e.starts_with(what))
            .unwrap_or_else(|| panic!("no `{what}` in {events:#?}"))
    };
    let token = at(&format!("volume create {key}-token"));
    for started in ["job", "dind"] {
        let container = format!("{key}-{started}");
        let start = events
            .iter()
            .position(|e| {
                e.starts_with("container start ") && e.ends_with(&format!(" {container}"))
            })
            .unwrap_or_else(|| panic!("{container} not started: {events:#?}"));
        assert!(
            start < token,
            "{container} started after the token: {events:#?}"
        );
    }
    collect_runner(DIND_RUNNER);
}

/// A job container's labels include its image's `LABEL`s wherever the driver sets none, and a
/// cold job container carries no warm key of the driver's: a job whose image names another
/// project's adopted warm set (a key its prepare log showed when it lost the race for that
/// set) must not have its cleanup take that set, and the other job with it. Held: an image
/// with the driver's labels is refused before anything is made from it.
#[test]
fn an_image_label_naming_another_jobs_warm_set_takes_nothing_of_it() {
    const LABEL_IMAGE: &str = "executor-test/hostile-warm-label:1";
    collect_runner(NONE_RUNNER);
    let mut teardown = Teardown::new(NONE_RUNNER);
    let config = crate::warm_jobs::config("");
    let job = |slot: &str| {
        Job::with_config("none", &config)
            .runner(NONE_RUNNER)
            .var("CI_CONCURRENT_ID", slot)
    };
    // The victim's project: a cold job leaves a set, which its next job adopts.
    let first = job("1");
    first.prepare().ok();
    first.run("build_script", "true").ok();
    let cleaned = first.cleanup();
    cleaned.ok();
    let key = started_set(&cleaned.stderr).unwrap_or_else(|| panic!("{}", cleaned.stderr));
    let victim = job("1");
    let prepared = victim.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains(&format!("adopted warm job set {key}")),
        "{}",
        prepared.stderr
    );

    // The attacker's project, in another slot, with an image naming the victim's set.
    teardown.build(
        LABEL_IMAGE,
        &format!("FROM {JOB_IMAGE}\nLABEL io.executor.warm-key={key}\n"),
        &[],
    );
    let attacker = job("2").project("4242").var("CI_JOB_IMAGE", LABEL_IMAGE);
    let prepared = attacker.prepare();
    prepared.expect(1);
    assert!(
        prepared.stderr.contains("which only executor sets"),
        "{}",
        prepared.stderr
    );
    let cleaned = attacker.cleanup();
    cleaned.ok();
    attacker.assert_nothing_left();
    assert!(started_set(&cleaned.stderr).is_none(), "{}", cleaned.stderr);

    assert_eq!(container_state(&victim.container()), "running");
    let out = victim.run("build_script", "echo \"ran as $EXECUTOR_JOB_KEY\"");
    out.ok();
    assert!(
        out.stdout.contains(&format!("ran as {}\n", victim.key())),
        "{}",
        out.stdout
    );
    let cleaned = victim.cleanup();
    cleaned.ok();
    victim.assert_nothing_left();
    started_set(&cleaned.stderr);
    collect_runner(NONE_RUNNER);
}

/// In socket mode a warm set's containers mount the set's directory at the builds root, and
/// the adopting job's directory is made in it on the host. What runs in a waiting set before
/// any job (its image's processes) can write there, and can guess the next job's key (job ids
/// count up): a link planted at that name, to the host's `/etc`, must not become the job's
/// builds directory. The job starts cold instead, the set goes without following the link,
/// and the host's `/etc` is untouched.
#[test]
fn a_link_planted_at_the_next_jobs_name_in_a_socket_set_is_not_followed() {
    const SOCKET_RUNNER: &str = "989";
    collect_runner(SOCKET_RUNNER);
    let config = crate::warm_jobs::config("");
    let job = || {
        Job::with_config("socket", &config)
            .runner(SOCKET_RUNNER)
            .var("CI_CONCURRENT_ID", "3")
    };
    let first = job();
    first.prepare().ok();
    first.run("build_script", "true").ok();
    let cleaned = first.cleanup();
    cleaned.ok();
    let set = started_set(&cleaned.stderr).unwrap_or_else(|| panic!("{}", cleaned.stderr));

    let next = job();
    let dir = next.builds_dir();
    let root = dir.rsplit_once('/').unwrap().0.to_string();
    docker(&["exec", &format!("{set}-job"), "ln", "-s", "/etc", &dir]);
    let planted = std::path::Path::new(&root).join(&set).join(next.key());
    assert!(planted.is_symlink(), "{planted:?}");
    let etc_before = std::fs::read_dir("/etc").unwrap().count();

    let prepared = next.prepare();
    prepared.ok();
    assert!(
        !prepared.stderr.contains("adopted warm job set"),
        "{}",
        prepared.stderr
    );
    assert!(
        prepared
            .stderr
            .contains("could not make the job's directory"),
        "{}",
        prepared.stderr
    );
    let host_dir = std::fs::symlink_metadata(&dir).unwrap();
    assert!(host_dir.is_dir(), "a real directory: {host_dir:?}");
    let out = next.run(
        "build_script",
        "mkdir -p \"$CI_PROJECT_DIR\" && echo mine > \"$CI_PROJECT_DIR/f\" && cat \"$CI_PROJECT_DIR/f\"",
    );
    out.ok();
    assert!(out.stdout.contains("mine"), "{}", out.stdout);
    next.cleanup().ok();
    next.assert_nothing_left();
    assert!(
        !std::path::Path::new(&root).join(&set).exists(),
        "the set's directory is gone"
    );
    assert_eq!(std::fs::read_dir("/etc").unwrap().count(), etc_before);
    assert!(std::path::Path::new("/etc/hostname").exists());
    collect_runner(SOCKET_RUNNER);
}
