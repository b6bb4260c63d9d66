//! Resource limits (`limits:`): each kind of container the driver makes gets its CPU, memory
//! and pids limits as the engine sees them; job and helper containers run without their
//! image's HEALTHCHECK, a service keeps its own at a 1 s floor; a memory hog and a fork bomb
//! are held by the limits; a job's request over its cap creates nothing, and a policy rule
//! raises the cap for its projects only.

use serde_json::Value;

use crate::harness::{build_image, ALL_MODES, BUSYBOX_IMAGE, DIND_IMAGE, JOB_IMAGE};
use crate::own_job::{inspect, own_job, OwnJob};
use crate::registry::{unique_tag, Made};

const MIB: u64 = 1 << 20;

/// An image whose HEALTHCHECK runs every millisecond.
fn restless_image(made: &mut Made) -> String {
    let name = format!("executor-test-limits/restless:{}", unique_tag("hc"));
    made.add(&name);
    build_image(
        &name,
        &format!(
            "FROM {BUSYBOX_IMAGE}\nHEALTHCHECK --interval=1ms --timeout=1s CMD [\"true\"]\n\
             CMD [\"sleep\", \"600\"]\n"
        ),
        &[],
    );
    name
}

fn host(name: &str) -> Value {
    inspect(name)["HostConfig"].clone()
}

/// (NanoCpus, Memory, MemorySwap, PidsLimit) of a container.
fn limits_of(name: &str) -> (u64, u64, u64, u64) {
    let h = host(name);
    let n = |k: &str| h[k].as_u64().unwrap_or(0);
    (n("NanoCpus"), n("Memory"), n("MemorySwap"), n("PidsLimit"))
}

#[test]
fn each_kind_of_container_gets_its_limits_and_only_services_keep_a_floored_healthcheck() {
    let mut made = Made::default();
    let image = restless_image(&mut made);
    let config = format!(
        "image: {image}\ndind:\n  image: {DIND_IMAGE}\n{ALL_MODES}helper:\n  mode: container\n  image: {JOB_IMAGE}\n\
         limits:\n  job: {{ cpus: 0.5, memory: 256MiB, pids: 300 }}\n  \
         dind: {{ cpus: 1, memory: 1GiB, pids: 5000 }}\n  \
         services: {{ cpus: 0.25, memory: 64MiB, pids: 100 }}\n  \
         helper: {{ cpus: 0.5, memory: 128MiB, pids: 200 }}\n  shm_size: 128MiB\n  nofile: 2048\n"
    );
    let services = format!(r#"[{{"name":"{image}","alias":"restless"}}]"#);
    let job = own_job("dind", &config, 5).payload_services(&services, &[]);

    let dry = job.call(&["prepare", "--dry-run"]);
    dry.ok();
    assert!(
        dry.stdout.contains("limits: cpus 0.5, memory 256 MiB, pids 300, shm 128 MiB, nofile 2048, image healthcheck off"),
        "{}",
        dry.stdout
    );

    let job = OwnJob::new(job, &[]);
    job.prepare().ok();
    let key = job.key();
    let (job_c, helper, sidecar, service) = (
        format!("{key}-job"),
        format!("{key}-helper"),
        format!("{key}-dind"),
        format!("{key}-svc0"),
    );
    assert_eq!(limits_of(&job_c), (500_000_000, 256 * MIB, 256 * MIB, 300));
    assert_eq!(limits_of(&helper), (500_000_000, 128 * MIB, 128 * MIB, 200));
    assert_eq!(
        limits_of(&sidecar),
        (1_000_000_000, 1024 * MIB, 1024 * MIB, 5000)
    );
    assert_eq!(limits_of(&service), (250_000_000, 64 * MIB, 64 * MIB, 100));
    for (name, shm) in [(&job_c, 128 * MIB), (&service, 128 * MIB)] {
        assert_eq!(host(name)["ShmSize"].as_u64(), Some(shm), "{name}");
        let ulimits = host(name)["Ulimits"].to_string();
        assert!(
            ulimits.contains(r#""Hard":2048,"Name":"nofile","Soft":2048"#),
            "{name}: {ulimits}"
        );
    }
    assert!(host(&sidecar)["Ulimits"]
        .as_array()
        .is_none_or(|u| u.is_empty()));

    for name in [&job_c, &helper] {
        let state = inspect(name);
        assert_eq!(
            state["Config"]["Healthcheck"]["Test"],
            serde_json::json!(["NONE"]),
            "{name}"
        );
        assert!(
            state["State"]["Health"].is_null(),
            "{name} was health-checked"
        );
    }
    let check = &inspect(&service)["Config"]["Healthcheck"];
    assert_eq!(check["Interval"].as_u64(), Some(1_000_000_000), "{check}");
    assert_eq!(check["Test"], serde_json::json!(["CMD", "true"]), "{check}");

    // The limits hold inside: the job's own cgroup says so (v1 or v2).
    let run = job.run(
        "build_script",
        "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    );
    run.ok();
    assert_eq!(run.stdout.trim(), (256 * MIB).to_string());

    // The last stage reports each container's use of its limits, as the engine measured it.
    let last = job.run("cleanup_file_variables", "true");
    last.ok();
    for (name, what, memory, cpus) in [
        (
            &job_c,
            "the job container",
            "256 MiB (limits.job.memory)",
            "0.5 CPUs (limits.job.cpus)",
        ),
        (
            &helper,
            "the helper container",
            "128 MiB (limits.helper.memory)",
            "0.5 CPUs (limits.helper.cpus)",
        ),
        (
            &sidecar,
            "the dind sidecar",
            "1.0 GiB (limits.dind.memory)",
            "1 CPUs (limits.dind.cpus)",
        ),
        (
            &service,
            "a service",
            "64 MiB (limits.services.memory)",
            "0.25 CPUs (limits.services.cpus)",
        ),
    ] {
        let line = last
            .stderr
            .lines()
            .find(|l| l.contains(&format!("usage of {name} ({what}): ")))
            .unwrap_or_else(|| panic!("no usage line for {name}:\n{}", last.stderr));
        assert!(
            line.contains(&format!(" of {memory}; CPU time "))
                && line.ends_with(&format!("limit {cpus}")),
            "{line}"
        );
    }
    job.cleanup().ok();
    job.assert_nothing_left();
    drop(job);
    made.remove_and_check();
}

#[test]
fn a_memory_hog_is_killed_and_a_fork_bomb_is_stopped_by_pids() {
    let config = format!(
        "image: {JOB_IMAGE}\n{ALL_MODES}limits:\n  job: {{ cpus: 1, memory: 64MiB, pids: 48 }}\n  \
         services: {{ memory: 16MiB }}\n"
    );
    // A service whose hog is killed 2 s after it starts (while the job gets ready, or in the
    // first stage, which waits 4 s); the service itself lives on.
    let services = format!(
        r#"[{{"name":"{BUSYBOX_IMAGE}","alias":"hog","entrypoint":["sh","-c"],
             "command":["sleep 2; head -c 104857600 /dev/zero | tail >/dev/null; sleep 600"]}}]"#
    );
    let job = OwnJob::new(
        own_job("none", &config, 6).payload_services(&services, &[]),
        &[],
    );
    let prepared = job.prepare();
    prepared.ok();
    let key = job.key();
    // A stage that survives a killed process passes, and still says what was killed.
    let survived = job.run(
        "build_script",
        "sleep 4; head -c 209715200 /dev/zero | tail >/dev/null || true; echo survived",
    );
    survived.ok();
    let said = format!("{}{}", prepared.stderr, survived.stderr);
    assert!(
        said.lines()
            .any(|l| l.starts_with(&format!("executor: container {key}-svc"))
                && l.contains(
                    "(a service) reached its memory limit of 16 MiB (limits.services.memory)"
                )
                && l.contains("with EXECUTOR_SERVICE_MEMORY")),
        "{said}"
    );
    assert!(survived.stdout.contains("survived"), "{}", survived.stdout);
    assert!(
        survived.stderr.contains(&format!(
            "container {key}-job (the job container) reached its memory limit of 64 MiB"
        )),
        "{}",
        survived.stderr
    );
    // `tail` keeps all of 200 MiB without a newline in memory, against 64 MiB.
    let hog = job.run(
        "build_script",
        "head -c 209715200 /dev/zero | tail >/dev/null; echo held",
    );
    hog.expect(1);
    assert!(!hog.stdout.contains("held"), "{}", hog.stdout);
    let line = format!(
        "container {key}-job (the job container) reached its memory limit of 64 MiB \
         (limits.job.memory) and the kernel killed a process in it; the job may ask for more \
         with EXECUTOR_MEMORY, up to its cap"
    );
    assert!(hog.stderr.contains(&line), "{}", hog.stderr);
    // A fork bomb of sleeps: the pids limit refuses forks past 48, the stage fails on it, the
    // container lives on, and the line names the pids limit (inferred: "probably").
    let bomb = job.run(
        "build_script",
        "n=0; while [ $n -lt 200 ]; do sleep 30 & n=$((n+1)); done; echo all-started",
    );
    bomb.expect(1);
    assert!(!bomb.stdout.contains("all-started"), "{}", bomb.stdout);
    assert!(
        bomb.stderr.contains(&format!("container {key}-job runs "))
            && bomb.stderr.contains(
                "at or near its pids limit of 48 (limits.job.pids): the stage probably failed"
            ),
        "{}",
        bomb.stderr
    );
    assert!(!bomb.stderr.contains("memory limit"), "{}", bomb.stderr);
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn a_request_over_the_cap_creates_nothing_and_a_rule_raises_the_cap_for_its_projects() {
    let config = format!(
        "image: {JOB_IMAGE}\n{ALL_MODES}limits:\n  max: {{ cpus: 1, memory: 512MiB }}\n\
         policy:\n  rules:\n    - match: {{ projects: [infra/*] }}\n      modes: [none]\n      \
         max: {{ memory: 2GiB }}\n    - modes: [none]\n"
    );
    let refused = OwnJob::new(
        own_job("none", &config, 7)
            .project_path("web/shop", false)
            .var("EXECUTOR_MEMORY", "1GiB"),
        &[],
    );
    let prepare = refused.prepare();
    prepare.expect(1);
    assert_eq!(
        prepare.stderr.lines().last().unwrap_or_default(),
        "executor: error: EXECUTOR_MEMORY=`1GiB` is over the cap of 512 MiB per container for this job \
         (limits.max.memory); ask for at most that, or have the runner's admin raise \
         limits.max.memory (the job limit without a request: limits.job.memory)",
        "{}",
        prepare.stderr
    );
    // Refused before anything was made, not only cleaned up after.
    refused.assert_nothing_left();
    refused.cleanup().ok();
    refused.assert_nothing_left();
    drop(refused);

    let services = format!(r#"[{{"name":"{BUSYBOX_IMAGE}","command":["sleep","600"]}}]"#);
    let allowed = OwnJob::new(
        own_job("none", &config, 8)
            .project_path("infra/deploy", true)
            .payload_services(&services, &[])
            .var("EXECUTOR_MEMORY", "1GiB")
            .var("EXECUTOR_CPUS", "0.5")
            .var("EXECUTOR_SERVICE_MEMORY", "1536MiB")
            .var("EXECUTOR_SERVICE_CPUS", "0.25"),
        &[],
    );
    allowed.prepare().ok();
    let (cpus, memory, _, _) = limits_of(&format!("{}-job", allowed.key()));
    assert_eq!((cpus, memory), (500_000_000, 1024 * MIB));
    // A service's request, over limits.max but within the rule's cap.
    let (cpus, memory, _, _) = limits_of(&format!("{}-svc0", allowed.key()));
    assert_eq!((cpus, memory), (250_000_000, 1536 * MIB));
    allowed.cleanup().ok();
    allowed.assert_nothing_left();
}

/// Runner of the attack review's limits tests (issue 15), apart from the suite's.
const RUNNER: &str = "972";

/// A CPU request the engine takes at create but the kernel refuses at start (under 0.01 CPU)
/// is the job's mistake: refused by prepare as a build failure, nothing made, never a system
/// failure the runner would retry three times.
#[test]
fn a_cpu_request_too_small_to_start_is_the_jobs_failure_and_creates_nothing() {
    let config = format!("image: {JOB_IMAGE}\n{ALL_MODES}");
    let job = OwnJob::new(
        own_job("none", &config, 9)
            .runner(RUNNER)
            .var("EXECUTOR_CPUS", "0.001"),
        &[],
    );
    let prepare = job.prepare();
    prepare.expect(1);
    assert_eq!(
        prepare.stderr.lines().last().unwrap_or_default(),
        "executor: error: EXECUTOR_CPUS=`0.001` is under 0.01 CPUs, the least the kernel can \
         hold; ask for more",
        "{}",
        prepare.stderr
    );
    job.assert_nothing_left();
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A sidecar memory request too small for its daemon to boot (it is killed for memory before
/// it answers) is the job's request to fix: a build failure naming the limit and the
/// variable, not "the sidecar exited", a system failure the runner would retry.
#[test]
fn a_sidecar_killed_for_memory_before_its_daemon_answers_is_the_jobs_failure() {
    let config = format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{ALL_MODES}");
    let job = OwnJob::new(
        own_job("dind", &config, 9)
            .runner(RUNNER)
            .var("EXECUTOR_DIND_MEMORY", "6MiB"),
        &[],
    );
    let prepare = job.prepare();
    prepare.expect(1);
    let line = format!(
        "executor: error: the dind sidecar {}-dind was killed for memory before its daemon \
         answered: its memory limit of 6.0 MiB (the job's EXECUTOR_DIND_MEMORY) is too small for it; the \
         job may ask for more with EXECUTOR_DIND_MEMORY, up to its cap",
        job.key()
    );
    assert_eq!(
        prepare.stderr.lines().last().unwrap_or_default(),
        line,
        "{}",
        prepare.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// The warm sidecar cleanup starts for the slot's next job keeps its image's HEALTHCHECK at the
/// floor, as the sidecar prepare makes does: a dind image (one the policy lets a job pick)
/// checking every millisecond must not run so while it waits for the next job.
#[test]
fn a_warm_sidecar_keeps_its_images_healthcheck_at_the_floor() {
    let (runner, slot) = ("973", "53");
    let mut teardown = crate::warm::Teardown::new(runner);
    let image = format!("executor-test-limits/restless-dind:{}", unique_tag("hc"));
    teardown.build(
        &image,
        &format!("FROM {DIND_IMAGE}\nHEALTHCHECK --interval=1ms --timeout=1s CMD [\"true\"]\n"),
        &[],
    );
    let config = format!("image: {JOB_IMAGE}\ndind:\n  image: {image}\n  warm: true\n");
    let first = crate::harness::Job::with_config("dind", &config)
        .runner(runner)
        .var("CI_CONCURRENT_ID", slot);
    first.prepare().ok();
    let interval = |name: &str| inspect(name)["Config"]["Healthcheck"]["Interval"].as_u64();
    assert_eq!(
        interval(&format!("{}-dind", first.key())),
        Some(1_000_000_000)
    );
    crate::warm::cleanup_warming(&first);
    first.assert_nothing_left();
    let warm = crate::warm::warm_sidecars(runner, slot);
    assert_eq!(warm.len(), 1, "{warm:?}");
    assert_eq!(interval(&warm[0]), Some(1_000_000_000), "{}", warm[0]);
    crate::harness::collect_runner(runner);
}

/// In dind mode the sidecar's memory limit bounds the containers the job starts inside it:
/// an inner container with no limit of its own is killed past the sidecar's, and the stage
/// names the sidecar. The inner image is made from the job image's own files (no registry).
#[test]
fn the_sidecars_limit_holds_what_the_job_starts_inside_it() {
    let config = format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{ALL_MODES}");
    let job = OwnJob::new(
        own_job("dind", &config, 10)
            .runner(RUNNER)
            .var("EXECUTOR_DIND_MEMORY", "256MiB"),
        &[],
    );
    job.prepare().ok();
    let run = job.run(
        "build_script",
        // ldd names each program (`/usr/bin/dash:`) and its libraries, each once after sort.
        "files=$(ldd /usr/bin/dash /usr/bin/head /usr/bin/tail | grep -o '/[^ :]*' | sort -u)\n\
         tar -ch $files 2>/dev/null | docker import - inner-hog >/dev/null\n\
         docker run --rm inner-hog /usr/bin/dash -c \
         '/usr/bin/head -c 600000000 /dev/zero | /usr/bin/tail >/dev/null; echo inner-rc=$?'",
    );
    run.ok();
    // tail, killed by the kernel: 128 + 9.
    assert!(
        run.stdout.contains("inner-rc=137"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "container {}-dind (the dind sidecar) reached its memory limit of 256 MiB (the \
             job's EXECUTOR_DIND_MEMORY)",
            job.key()
        )),
        "{}",
        run.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}
