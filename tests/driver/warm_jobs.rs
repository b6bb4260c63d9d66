//! Warm job containers (`warm.jobs`, issue 18): after a job's cleanup the slot's next job
//! container waits, started, for the next job of the same project and settings, which adopts
//! it; a set that does not fit is replaced and the job starts cold. Runner 980 is these tests'
//! own: each ends with `gc` for it, which must never touch another test's warm sets.

use crate::harness::{
    collect_runner, docker, labelled, leftovers, started_warm_set, wait_for_warm_up, Job,
    ALL_MODES, BUSYBOX_IMAGE, JOB_IMAGE,
};

const RUNNER: &str = "980";

pub fn config(extra: &str) -> String {
    format!("image: {JOB_IMAGE}\n{ALL_MODES}warm:\n  jobs: true\n{extra}")
}

/// A job of `runner` in `mode` and `slot`, with `warm.jobs` on (and `extra` config).
pub fn job(runner: &str, mode: &str, slot: &str, extra: &str) -> Job {
    Job::with_config(mode, &config(extra))
        .runner(runner)
        .var("CI_CONCURRENT_ID", slot)
}

fn warm_job(mode: &str, slot: &str, extra: &str) -> Job {
    job(RUNNER, mode, slot, extra)
}

/// The slot's free warm job containers: `<id> <name> <state>`.
fn warm_sets(runner: &str, slot: &str) -> Vec<String> {
    warm_containers(runner, Some(slot), "job", "{{.ID}} {{.Names}} {{.State}}")
}

/// The warm-set containers of `runner` (of `slot`, when given) in `role`, a line each in the
/// `docker ps` `format`.
pub fn warm_containers(runner: &str, slot: Option<&str>, role: &str, format: &str) -> Vec<String> {
    let mut args = vec![
        "ps".to_string(),
        "-a".into(),
        "--filter".into(),
        "label=io.executor.warm-key".into(),
        "--filter".into(),
        format!("label=io.executor.runner-id={runner}"),
        "--filter".into(),
        format!("label=io.executor.role={role}"),
        "--format".into(),
        format.into(),
    ];
    if let Some(slot) = slot {
        args.extend(["--filter".into(), format!("label=io.executor.slot={slot}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    docker(&args).lines().map(str::to_string).collect()
}

/// The keys of the free warm sets of `runner` (of `slot`, when given): those whose `role`
/// container still bears the set's own name.
pub fn free_keys(runner: &str, slot: Option<&str>, role: &str) -> Vec<String> {
    let format = "{{.Names}} {{.Label \"io.executor.warm-key\"}}";
    warm_containers(runner, slot, role, format)
        .iter()
        .filter_map(|line| {
            let (name, key) = line.split_once(' ')?;
            (name == format!("{key}-{role}")).then(|| key.to_string())
        })
        .collect()
}

/// The containers named after job `key` (an adopted set's bear the job's names, not its
/// labels).
pub fn named_after(key: &str) -> String {
    docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{key}-"),
        "--format",
        "{{.Names}}",
    ])
}

/// cleanup that must leave a fresh warm job set for the slot. When it returns, none of the
/// job's containers (its own, or an adopted set's under the job's names), volumes (its own
/// or the adopted set's) or builds directory is left: only networks, which the warm-up
/// process it started removes before it makes the next set. Then wait for that process, and
/// nothing of the job is left at all.
#[track_caller]
pub fn cleanup_warming(job: &Job, runner: &str, slot: &str) {
    let adopted = docker(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"io.executor.warm-key\"}}",
        &format!("{}-job", job.key()),
    ])
    .trim()
    .to_string();
    let cleaned = job.cleanup_returning();
    cleaned.ok();
    if !adopted.is_empty() {
        let left: Vec<String> = labelled(&format!("io.executor.warm-key={adopted}"))
            .into_iter()
            .filter(|l| !l.starts_with("network "))
            .collect();
        assert!(left.is_empty(), "the adopted set's, at return: {left:?}");
    }
    // Socket mode's, on this host (named by the job's key; none mode's is in a volume).
    let dir = job.builds_dir();
    if dir.ends_with(&job.key()) {
        assert!(
            std::fs::symlink_metadata(&dir).is_err(),
            "{dir} left at return"
        );
    }
    let set = started_warm_set(&cleaned.stderr)
        .unwrap_or_else(|| panic!("no warm set started: {}", cleaned.stderr));
    let named = named_after(&job.key());
    assert!(named.trim().is_empty(), "containers left: {named}");
    let left: Vec<String> = leftovers(&job.key())
        .into_iter()
        .filter(|l| !l.starts_with("network "))
        .collect();
    assert!(left.is_empty(), "left when cleanup returned: {left:?}");
    wait_for_warm_up(&set);
    job.assert_nothing_left();
    wait_for_warm_set(runner, slot);
}

/// Wait (up to 60 s) until the slot has a complete free warm job set.
#[track_caller]
pub fn wait_for_warm_set(runner: &str, slot: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let tokens = docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            "label=io.executor.role=warm-token",
            "--filter",
            &format!("label=io.executor.runner-id={runner}"),
            "--filter",
            &format!("label=io.executor.slot={slot}"),
        ]);
        if !tokens.trim().is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no warm job set for runner {runner} slot {slot} after 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// prepare that must adopt (or must not) the slot's warm job set.
#[track_caller]
fn prepare_expecting(job: &Job, adopted: bool) -> String {
    let prepared = job.prepare();
    prepared.ok();
    assert_eq!(
        prepared.stderr.contains("adopted warm job set"),
        adopted,
        "{}",
        prepared.stderr
    );
    prepared.stderr.clone()
}

/// In socket and none mode: the first job starts cold and leaves a warm set; the next adopts
/// it, under its own names, and finds nothing of the first job (not its files, not its
/// builds directory, not its key); its sibling containers see its checkout through the builds
/// directory the runner was told about. Then gc (with `warm.jobs` off) leaves nothing.
#[test]
fn a_warm_job_set_is_adopted_fresh_in_socket_and_none_mode() {
    // A failed earlier run's warm sets would be adopted by the first job.
    collect_runner(RUNNER);
    for (mode, slot) in [("socket", "60"), ("none", "61")] {
        let first = warm_job(mode, slot, "");
        prepare_expecting(&first, false);
        first
            .run(
                "build_script",
                "mkdir -p \"$CI_PROJECT_DIR\" && echo one > \"$CI_PROJECT_DIR/left\" && echo one > /tmp/left",
            )
            .ok();
        cleanup_warming(&first, RUNNER, slot);
        let warm = warm_sets(RUNNER, slot);
        assert_eq!(warm.len(), 1, "{mode}: {warm:?}");
        assert!(warm[0].ends_with("running"), "{warm:?}");
        let warm_id = warm[0].split(' ').next().unwrap().to_string();

        let second = warm_job(mode, slot, "");
        prepare_expecting(&second, true);
        let job_container = docker(&[
            "inspect",
            "--format",
            "{{.Id}}",
            &format!("{}-job", second.key()),
        ]);
        assert!(
            job_container.starts_with(&warm_id),
            "{job_container} vs {warm_id}"
        );
        let out = second.run(
            "build_script",
            "ls -A /tmp; test -e /tmp/left && echo 'first job file in /tmp'\n\
             mkdir -p \"$CI_PROJECT_DIR\" && cd \"$CI_PROJECT_DIR\"\n\
             test -e left && echo 'first job file in the builds dir'\n\
             echo \"key=$EXECUTOR_JOB_KEY\"\n\
             echo two > mine",
        );
        out.ok();
        assert!(!out.stdout.contains("first job file"), "{}", out.stdout);
        assert!(
            out.stdout.contains(&format!("key={}\n", second.key())),
            "{}",
            out.stdout
        );
        if mode == "socket" {
            // A sibling container mounts the checkout by the path the runner knows.
            let sibling = second.run(
                "build_script",
                &format!(
                    "docker run --rm --label io.executor.job-key=$EXECUTOR_JOB_KEY \
                     -v \"$CI_PROJECT_DIR:/src\" {JOB_IMAGE} cat /src/mine"
                ),
            );
            sibling.ok();
            assert!(sibling.stdout.contains("two"), "{}", sibling.stdout);
        }
        cleanup_warming(&second, RUNNER, slot);
        let warm = warm_sets(RUNNER, slot);
        assert_eq!(warm.len(), 1, "{mode}: {warm:?}");
        assert!(!warm[0].starts_with(&warm_id), "a new one: {warm:?}");
        if mode == "socket" {
            // Neither the job's link nor the adopted set's directory is left on the host.
            let root = std::path::Path::new(&second.builds_dir())
                .parent()
                .unwrap()
                .to_path_buf();
            let left: Vec<_> = std::fs::read_dir(&root)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("executor-r{RUNNER}-")))
                .collect();
            assert_eq!(left.len(), 1, "only the new warm set's: {left:?}");
        }
    }
    // doctor counts the sets waiting (this test's, and any other's on the engine).
    let waiting = {
        let _turn = crate::doctor::turn();
        crate::harness::doctor(&config("")).1
    };
    let count = waiting
        .split_once("warm job sets waiting: ")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse::<u32>().ok());
    assert!(count.is_some_and(|n| n >= 2), "{waiting}");
    assert!(
        waiting.contains("(warm.jobs on, max age 3600s)"),
        "{waiting}"
    );
    let gc = Job::with_config("", "").call(&["gc", "--runner-id", RUNNER]);
    gc.ok();
    assert!(gc.stderr.contains("warm.jobs is off"), "{}", gc.stderr);
    let left = labelled(&format!("io.executor.runner-id={RUNNER}"));
    assert!(
        left.iter()
            .all(|l| l.starts_with("volume ") && l.ends_with("-cache")),
        "only the kept cache_dir volumes: {left:?}"
    );
    collect_runner(RUNNER);
}

/// Local runs use warm job sets too: a second `executor run JOB` in the same checkout adopts
/// the container the first run's cleanup started, and finds nothing of the first run in it;
/// `--no-warm` neither adopts nor leaves one. Runner 983 is this test's own (it collects it).
#[test]
fn a_second_local_run_adopts_and_no_warm_skips_it() {
    use crate::checkout::Checkout;
    const LOCAL_RUNNER: &str = "983";
    collect_runner(LOCAL_RUNNER);
    let checkout = Checkout::new();
    let dir = checkout.dir.path();
    let config = std::fs::read_to_string(dir.join("executor.yaml")).unwrap();
    std::fs::write(
        dir.join("executor.yaml"),
        format!("{config}warm:\n  jobs: true\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join(".gitlab-ci.yml"),
        "warm-check:\n  image: $JOB_IMAGE\n  variables:\n    EXECUTOR_DOCKER_MODE: none\n  \
         script:\n    - test -e /tmp/marker && echo \"marker of run $((1+1))\" || true\n    \
         - touch /tmp/marker\n",
    )
    .unwrap();
    let run = |job_id: &str, extra: &[&str]| {
        let mut command = checkout.command(&["warm-check"]);
        command.args(["--var", "CI_RUNNER_ID=983", "--var", "CI_CONCURRENT_ID=62"]);
        command
            .args(["--var", &format!("CI_JOB_ID={job_id}")])
            .args(extra);
        let (code, stdout, stderr) = checkout.output_of(command);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(!stdout.contains("marker of run 2"), "{stdout}");
        stderr
    };
    let base = &checkout.job_id;
    // The run returns once its own containers are gone; the set is made by a process it
    // started, and waited for here as a person's next run would find it.
    let started = started_set;
    let first = run(&format!("{base}1"), &[]);
    assert!(!first.contains("adopted warm job set"), "{first}");
    let key = started(&first).unwrap_or_else(|| panic!("{first}"));
    let second = run(&format!("{base}2"), &[]);
    assert!(
        second.contains(&format!("adopted warm job set {key}")),
        "{second}"
    );
    started(&second).unwrap_or_else(|| panic!("{second}"));
    let third = run(&format!("{base}3"), &["--no-warm"]);
    assert!(
        !third.contains("adopted warm job set") && !third.contains("warm job set"),
        "{third}"
    );
    // The set the second run left is still there for a later run; gc (warm.jobs off) takes it.
    assert_eq!(warm_sets(LOCAL_RUNNER, "62").len(), 1);
    collect_runner(LOCAL_RUNNER);
}

/// Wait (up to 60 s) until the warm set `key` is complete (its token volume, made last, exists)
/// and the process that made it has ended.
#[track_caller]
pub fn wait_for_token(key: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let token = format!("{key}-token");
    while docker(&["volume", "ls", "-q", "--filter", &format!("name=^{token}$")])
        .trim()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "warm set {key} not complete after 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The process that made it may still be removing the finished job's networks.
    wait_for_warm_up(key);
}

/// The key of the warm job set a cleanup or local run says it started (its stderr), once
/// that set is complete and the process that made it has ended.
#[track_caller]
pub fn started_set(stderr: &str) -> Option<String> {
    let key = started_warm_set(stderr)?;
    wait_for_token(&key);
    Some(key)
}

/// With `dind.warm` too, a dind job's cleanup starts the slot's next sidecar together with
/// its job and helper containers; the next dind job adopts all of them, and finds its own key
/// and a working, empty daemon, and nothing of the first job.
#[test]
fn a_dind_job_adopts_its_warm_sidecar_with_the_job_container() {
    const DIND_RUNNER: &str = "984";
    collect_runner(DIND_RUNNER);
    let config = format!(
        "image: {JOB_IMAGE}\ndind:\n  image: {}\n  warm: true\n{ALL_MODES}warm:\n  jobs: true\n",
        crate::harness::DIND_IMAGE
    );
    let dind_job = || {
        Job::with_config("dind", &config)
            .runner(DIND_RUNNER)
            .var("CI_CONCURRENT_ID", "63")
    };
    let first = dind_job();
    let prepared = first.prepare();
    prepared.ok();
    assert!(!prepared.stderr.contains("adopted"), "{}", prepared.stderr);
    first.run("build_script", "touch /tmp/left").ok();
    let cleaned = first.cleanup();
    cleaned.ok();
    assert!(
        cleaned.stderr.contains("started warm sidecar"),
        "{}",
        cleaned.stderr
    );
    first.assert_nothing_left();

    let second = dind_job();
    let prepared = second.prepare();
    prepared.ok();
    for line in ["adopted warm sidecar", "adopted the warm job container of"] {
        assert!(
            prepared.stderr.contains(line),
            "{line}: {}",
            prepared.stderr
        );
    }
    let out = second.run(
        "build_script",
        "test -e /tmp/left && echo 'first job file'\n\
         echo \"key=$EXECUTOR_JOB_KEY\"\n\
         docker info --format 'containers={{.Containers}}'",
    );
    out.ok();
    assert!(!out.stdout.contains("first job file"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("key={}\n", second.key())),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("containers=0"), "{}", out.stdout);
    let cleaned = second.cleanup();
    cleaned.ok();
    second.assert_nothing_left();
    // A none-mode job of the slot leaves the waiting dind set (and its job container) alone.
    let (_, rest) = cleaned
        .stderr
        .split_once("started warm sidecar ")
        .unwrap_or_else(|| panic!("{}", cleaned.stderr));
    let dind_set = rest.split(' ').next().unwrap().to_string();
    let other = Job::with_config("none", &config)
        .runner(DIND_RUNNER)
        .var("CI_CONCURRENT_ID", "63");
    let prepared = other.prepare();
    prepared.ok();
    assert!(
        !prepared.stderr.contains("replacing"),
        "{}",
        prepared.stderr
    );
    for member in ["dind", "job"] {
        let state = docker(&[
            "inspect",
            "--format",
            "{{.State.Status}}",
            &format!("{dind_set}-{member}"),
        ]);
        assert_eq!(state.trim(), "running", "{member}");
    }
    other.cleanup().ok();
    other.assert_nothing_left();
    collect_runner(DIND_RUNNER);
}

/// What a removal killed midway leaves of a warm set (its network and a volume, no container)
/// is taken when the slot's next set is made, once older than a set being made can be: the
/// engine's network address pools are not held by remnants until gc's grace has passed.
#[test]
fn remnants_of_a_killed_removal_go_with_the_slots_next_set() {
    const REMNANT_RUNNER: &str = "987";
    collect_runner(REMNANT_RUNNER);
    let first = job(REMNANT_RUNNER, "none", "64", "");
    let stem = format!("{}-c64-w", crate::harness::stem(REMNANT_RUNNER));
    let remnant = format!("{stem}remnant1");
    let labels = [
        "--label".to_string(),
        format!("io.executor.warm-key={remnant}"),
        "--label".to_string(),
        format!("io.executor.runner-id={REMNANT_RUNNER}"),
        "--label".to_string(),
        "io.executor.slot=64".to_string(),
    ];
    let mut net = vec!["network", "create"];
    net.extend(labels.iter().map(String::as_str));
    net.push(&remnant);
    docker(&net);
    let volume = format!("{remnant}-builds");
    let mut vol = vec!["volume", "create"];
    vol.extend(labels.iter().map(String::as_str));
    vol.push(&volume);
    docker(&vol);
    // Older than a set being made can be.
    std::thread::sleep(std::time::Duration::from_secs(31));
    first.prepare().ok();
    cleanup_warming(&first, REMNANT_RUNNER, "64");
    let left = labelled(&format!("io.executor.warm-key={remnant}"));
    assert_eq!(left, Vec::<String>::new());
    collect_runner(REMNANT_RUNNER);
}

/// The runner retries a failed prepare within the same job (same key). A first attempt whose
/// job container ran had a cleanup that left its network to the warm-up process it started;
/// that process removes it by id, never the retry's new network of the same labels, so the
/// retried job runs, and afterwards nothing of it is left.
#[test]
fn a_retried_prepare_keeps_its_network_while_the_warm_up_removes_the_first() {
    const RETRY_RUNNER: &str = "988";
    collect_runner(RETRY_RUNNER);
    let job = job(RETRY_RUNNER, "none", "65", "");
    let networks = || {
        docker(&[
            "network",
            "ls",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("label=io.executor.job-key={}", job.key()),
        ])
        .split_whitespace()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    job.prepare().ok();
    let first = networks();
    assert_eq!(first.len(), 1, "{first:?}");
    let cleaned = job.cleanup_returning();
    cleaned.ok();
    let set = started_warm_set(&cleaned.stderr).unwrap_or_else(|| panic!("{}", cleaned.stderr));
    // The warm-up process held (if it has not done its work yet) while the retry makes its
    // network, so a removal that went by the job's labels would find that one too.
    let signal = |sig: &str| {
        std::process::Command::new("pkill")
            .args([sig, "-f", &format!("executor.* warm-up {set}( |$)")])
            .status()
            .ok()
    };
    signal("-STOP");
    let retried = job.prepare();
    signal("-CONT");
    retried.ok();
    wait_for_warm_up(&set);
    let second = networks();
    assert_eq!(second.len(), 1, "the retry's own network: {second:?}");
    assert_ne!(second, first);
    job.run("build_script", "echo retried").ok();
    cleanup_warming(&job, RETRY_RUNNER, "65");
    collect_runner(RETRY_RUNNER);
}

/// A cleanup whose removal fails (here: an unlabelled container the job's builds volume is
/// mounted in, so the volume stays in use through every pass) fails as a system failure, and
/// still hands the networks it found to the warm-up process it starts, which removes them:
/// the failure leaves the volume, held by what is not the driver's, and nothing else.
#[test]
fn a_cleanup_whose_removal_fails_still_hands_its_network_on() {
    const FAILING_RUNNER: &str = "990";
    collect_runner(FAILING_RUNNER);
    let job = job(FAILING_RUNNER, "none", "66", "");
    job.prepare().ok();
    job.run("build_script", "true").ok();
    let holder = format!("{}-holder", job.key()).replace("executor-", "test-");
    docker(&[
        "run",
        "-d",
        "--name",
        &holder,
        "-v",
        &format!("{}-builds:/x", job.key()),
        BUSYBOX_IMAGE,
        "sleep",
        "300",
    ]);
    let cleaned = job.cleanup_returning();
    docker(&["rm", "-f", &holder]);
    assert_eq!(cleaned.code, 2, "{}", cleaned.stderr);
    let set = started_warm_set(&cleaned.stderr)
        .unwrap_or_else(|| panic!("no warm set started: {}", cleaned.stderr));
    wait_for_warm_up(&set);
    let left = leftovers(&job.key());
    assert!(
        left.iter().all(|l| l.starts_with("volume ")),
        "only the held volume may be left: {left:?}"
    );
    collect_runner(FAILING_RUNNER);
    job.assert_nothing_left();
}
