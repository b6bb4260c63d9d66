//! The trust boundary, attacked as a hostile job would attack it: job variables that copy
//! another project's or a running job's ids, an unprotected branch aiming at what protected
//! jobs restore, an image carrying executor's own labels, a payload with a thousand services.
//! Each test shows the attack fails and the victim is untouched. Only the payload and the
//! config are trusted (`src/plan/identity.rs`).

use crate::harness::{
    build_image, docker, labelled, Bounded, Job, ALL_MODES, BUSYBOX_IMAGE, DIND_IMAGE, JOB_IMAGE,
};
use crate::warm::prepare_adopting;

fn in_slot(project: &str, slot: &str) -> Job {
    Job::new("none")
        .project(project)
        .var("CI_CONCURRENT_ID", slot)
}

/// Remove the kept volumes of a slot and prove nothing of the slot remains.
fn drop_slot(slot: &str) {
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=io.executor.slot={slot}"),
    ]);
    for volume in volumes.lines() {
        docker(&["volume", "rm", volume]);
    }
    assert_eq!(
        labelled(&format!("io.executor.slot={slot}")),
        Vec::<String>::new()
    );
}

/// Project B copies project A's ids into its variables (and claims A's path, another
/// pipeline and a protected ref): it still gets B's cache_dir, A's stays as A left it, and
/// prepare names each ignored variable (never its value).
#[test]
fn a_job_copying_another_projects_ids_gets_its_own_cache() {
    let (victim, attacker, slot) = ("7961", "7962", "61");
    in_slot(victim, slot).whole("build_script", "echo kept > /cache/note.txt");
    let forger = in_slot(attacker, slot)
        .project_path("group/attacker", false)
        .var("CI_PROJECT_ID", victim)
        .var("CI_JOB_ID", "1")
        .var("CI_RUNNER_ID", "1")
        .var("CI_PIPELINE_ID", "4242")
        .var("CI_PROJECT_PATH", "group/victim-7961")
        .var("CI_COMMIT_REF_PROTECTED", "true");
    let prepared = forger.prepare();
    prepared.ok();
    for name in [
        "CI_JOB_ID",
        "CI_PROJECT_ID",
        "CI_RUNNER_ID",
        "CI_PIPELINE_ID",
        "CI_PROJECT_PATH",
        "CI_COMMIT_REF_PROTECTED",
    ] {
        let line = format!("job variable {name} differs from the job payload; ignored");
        assert!(prepared.stderr.contains(&line), "{}", prepared.stderr);
    }
    for value in ["4242", "victim-7961"] {
        assert!(!prepared.stderr.contains(value), "{}", prepared.stderr);
    }
    assert_eq!(
        docker(&[
            "inspect",
            "--format",
            "{{index .Config.Labels \"io.executor.pipeline-id\"}}",
            &forger.container(),
        ])
        .trim(),
        "5",
        "the pipeline label is the payload's"
    );
    assert!(forger.key().contains(&format!("-p{attacker}-")));
    let seen = forger.run(
        "build_script",
        "cat /cache/note.txt 2>/dev/null || echo none; echo poisoned > /cache/note.txt",
    );
    seen.ok();
    assert!(seen.stdout.contains("none"), "{}", seen.stdout);
    forger.cleanup().ok();
    forger.assert_nothing_left();
    let again = in_slot(victim, slot).whole("build_script", "cat /cache/note.txt");
    assert_eq!(again.trim(), "kept");
    drop_slot(slot);
}

/// A job that copies a running job's ids (job, project, runner, slot) neither replaces its
/// container nor shares its cache_dir, and its cleanup leaves the running job alone.
#[test]
fn a_job_copying_a_running_jobs_ids_cannot_touch_it() {
    let (project, slot) = ("7964", "64");
    let victim = in_slot(project, slot);
    victim.prepare().ok();
    victim
        .run("build_script", "echo mine > /cache/owner.txt")
        .ok();
    let id = |job: &Job| docker(&["inspect", "--format", "{{.Id}}", &job.container()]);
    let before = id(&victim);

    // Same project (a fork's pipeline would differ; the same project is the hardest case).
    let forger = in_slot(project, slot).var("CI_JOB_ID", &victim.job_id);
    let prepared = forger.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains("job variable CI_JOB_ID differs from the job payload; ignored"),
        "{}",
        prepared.stderr
    );
    assert!(
        prepared.stderr.contains(&format!(
            "cache_dir volume executor-r900-p{project}-c{slot}-cache is in use by {}-",
            victim.key()
        )),
        "{}",
        prepared.stderr
    );
    assert_ne!(forger.container(), victim.container());
    forger
        .run("build_script", "echo forger > /cache/owner.txt")
        .ok();
    forger.cleanup().ok();
    forger.assert_nothing_left();

    assert_eq!(
        id(&victim),
        before,
        "the running job's container was replaced"
    );
    let out = victim.run("build_script", "cat /cache/owner.txt");
    out.ok();
    assert_eq!(out.stdout.trim(), "mine");
    victim.cleanup().ok();
    victim.assert_nothing_left();
    drop_slot(slot);
}

/// An unprotected branch cannot write what the same project's protected jobs restore, and
/// claiming a protected ref by variable changes nothing.
#[test]
fn an_unprotected_job_cannot_write_what_protected_jobs_read() {
    let (project, slot) = ("7963", "63");
    let job = |protected: bool| in_slot(project, slot).project_path("group/app", protected);
    job(true).whole("build_script", "echo trusted > /cache/tool.sh");
    let branch = job(false).var("CI_COMMIT_REF_PROTECTED", "true");
    let seen = branch.whole(
        "build_script",
        "cat /cache/tool.sh 2>/dev/null || echo none; echo poisoned > /cache/tool.sh",
    );
    assert!(seen.contains("none"), "{seen}");
    let again = job(true).whole("build_script", "cat /cache/tool.sh");
    assert_eq!(again.trim(), "trusted");
    let volumes = docker(&[
        "volume",
        "ls",
        "--format",
        "{{.Name}} {{.Label \"io.executor.protected\"}}",
        "--filter",
        &format!("label=io.executor.slot={slot}"),
    ]);
    let mut volumes: Vec<&str> = volumes.lines().collect();
    volumes.sort();
    assert_eq!(
        volumes,
        [
            format!("executor-r900-p{project}-c{slot}-cache false"),
            format!("executor-r900-p{project}-c{slot}-protected-cache true"),
        ]
    );
    drop_slot(slot);
}

/// Docker copies an image's labels onto its containers: an image carrying executor's own
/// labels is refused, as the job's image and as a service, before anything is created.
#[test]
fn images_carrying_executors_labels_are_refused() {
    let image = "executor-test/labelled:1";
    let dockerfile =
        format!("FROM {BUSYBOX_IMAGE}\nLABEL io.executor.warm-key=executor-r900-c0-wforged\n");
    build_image(image, &dockerfile, &[]);

    let as_job = Job::new("none").var("CI_JOB_IMAGE", image);
    let call = as_job.prepare();
    call.expect(1);
    let line = "image `executor-test/labelled:1` carries the label `io.executor.warm-key`, which only executor sets";
    assert!(call.stderr.contains(line), "{}", call.stderr);
    as_job.cleanup().ok();
    as_job.assert_nothing_left();

    let as_service = Job::new("none").payload_services(&format!(r#"[{{"name": "{image}"}}]"#), &[]);
    let call = as_service.prepare();
    call.expect(1);
    assert!(call.stderr.contains(line), "{}", call.stderr);
    as_service.cleanup().ok();
    as_service.assert_nothing_left();
    docker(&["rmi", image]);
}

/// A payload asking for a thousand services fails in one line naming the limit, and nothing
/// is created.
#[test]
fn a_payload_with_a_thousand_services_is_refused_in_one_line() {
    let services: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"name": "{JOB_IMAGE}", "alias": "s{i}"}}"#))
        .collect();
    let job = Job::new("none").payload_services(&format!("[{}]", services.join(",")), &[]);
    let call = job.prepare();
    call.expect(1);
    assert_eq!(
        call.stderr.trim(),
        "executor: error: the job asks for 1000 services and services.max allows 10; use fewer services"
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// The warm and cache attacks run each on a runner of its own (908, 909), so their gc touches
/// nothing else.
fn on_runner(runner: &str, config: &str, project: &str, slot: &str) -> Job {
    Job::with_config("dind", config)
        .runner(runner)
        .project(project)
        .var("CI_CONCURRENT_ID", slot)
}

/// gc of a runner with every idle cache dropped; then nothing of it may remain.
fn collect_runner(runner: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .args([
            "gc",
            "--grace",
            "0s",
            "--drop-caches",
            "--runner-id",
            runner,
        ])
        .env("EXECUTOR_CONFIG", "/dev/null")
        .bounded_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let label = format!("io.executor.runner-id={runner}");
    assert_eq!(labelled(&label), Vec::<String>::new());
}

/// Peak resident memory (VmHWM, KiB) of a running process, sampled until it exits.
fn peak_of(mut child: std::process::Child) -> (Option<i32>, u64) {
    let mut peak = 0;
    let started = std::time::Instant::now();
    loop {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()));
        if let Some(kib) = status.ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        }) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), peak);
        }
        if started.elapsed() > std::time::Duration::from_secs(120) || peak > 512 * 1024 {
            let _ = child.kill();
            let _ = child.wait();
            return (None, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// What a hostile job image's shell does at container start (the keep-alive runs it): bind a
/// socket in the shared dind socket volume before the sidecar's daemon does, and answer the
/// driver's ping with an endless body (an unbounded reader grew the driver past 1 GiB).
const PLANT_SOCKET: &str = r#"use strict; use IO::Socket::UNIX; use Socket;
my $path = "/var/run/dind/docker.sock";
for (1..500) { last if -d "/var/run/dind"; select(undef,undef,undef,0.01); }
unlink $path;
my $srv = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => 16) or exit 0;
$SIG{CHLD} = 'IGNORE';
my $chunk = "x" x (1024*1024);
while (my $c = $srv->accept) {
  next if fork();
  while (<$c>) { last if $_ eq "\r\n"; }
  print $c "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n";
  while (print $c $chunk) {}
  exit 0;
}
"#;
const PLANTING_SH: &str =
    "#!/bin/dash\nif [ \"$$\" = 1 ]; then perl /plant.pl >/dev/null 2>&1 & fi\nexec /bin/dash \"$@\"\n";

/// The job mounts the socket volume read-only, so the plant fails, and the driver's ping reads
/// a bounded answer whatever answers there.
#[test]
fn a_planted_dind_socket_cannot_answer_for_the_daemon() {
    let image = "executor-test/plants-socket:1";
    let dockerfile = format!(
        "FROM {JOB_IMAGE}\nCOPY plant.pl /plant.pl\nCOPY sh /bin/sh.new\n\
         RUN chmod +x /bin/sh.new && ln -sf /bin/sh.new /bin/sh\n"
    );
    build_image(
        image,
        &dockerfile,
        &[("plant.pl", PLANT_SOCKET), ("sh", PLANTING_SH)],
    );
    // With the image's own TLS the daemon spends seconds on keys before it binds.
    let job = Job::new("dind")
        .var("CI_JOB_IMAGE", image)
        .var("DOCKER_TLS_CERTDIR", "/certs");
    let (code, peak) = peak_of(job.spawn(&["prepare"]));
    assert_eq!(code, Some(0), "prepare did not succeed");
    assert!(peak < 64 * 1024, "peak {peak} KiB");
    let out = job.run(
        "build_script",
        "touch /var/run/dind/planted 2>/dev/null && echo writable || echo read-only\n\
         docker info --format 'daemon {{.Name}}'",
    );
    out.ok();
    assert!(out.stdout.contains("read-only\ndaemon "), "{}", out.stdout);
    job.cleanup().ok();
    job.assert_nothing_left();
    docker(&["rmi", image]);
}

/// A job of another project that forged this slot runs its cleanup (which starts the slot's
/// next warm set, discarding the old one) while this project's job adopts the waiting set:
/// whichever claims the set first has it, and the adopter's prepare never fails.
#[test]
fn a_forged_slot_cannot_break_another_projects_adoption() {
    let config =
        format!("{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  warm: true\nimage: {JOB_IMAGE}\n");
    for round in 0..3 {
        let first = on_runner("908", &config, "9611", "66");
        first.prepare().ok();
        let forger = on_runner("908", &config, "9612", "66");
        forger.prepare().ok();
        first.cleanup().ok(); // leaves a warm set for slot 66
        let victim = on_runner("908", &config, "9611", "66");
        let cleanup = forger.start(&["cleanup"]);
        let prepared = victim.prepare();
        cleanup.end();
        prepared.expect(0);
        let out = victim.run(
            "build_script",
            "docker version --format 'ok {{.Server.Version}}'",
        );
        assert!(
            out.code == 0 && out.stdout.contains("ok "),
            "round {round}: {}",
            out.stderr
        );
        victim.cleanup().ok();
        victim.assert_nothing_left();
        forger.assert_nothing_left();
    }
    collect_runner("908");
}

/// A job that copies a live job's slot in the same project runs without the held layer cache;
/// its cleanup must then neither start a second daemon on that cache nor judge its size.
#[test]
fn a_forged_slot_cannot_start_a_second_daemon_on_a_held_cache() {
    let config = format!(
        "{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  cache: project\n  warm: true\nimage: {JOB_IMAGE}\n"
    );
    let live = on_runner("909", &config, "9613", "67");
    live.prepare().ok();
    let copycat = on_runner("909", &config, "9613", "67");
    let prepared = copycat.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains("is in use by") && prepared.stderr.contains("gets an empty one"),
        "{}",
        prepared.stderr
    );
    copycat.cleanup().ok();
    let holders = docker(&[
        "ps",
        "-a",
        "--filter",
        "volume=executor-r909-p9613-c67-dind-cache",
        "--format",
        "{{.Names}}",
    ]);
    let holders: Vec<&str> = holders.lines().collect();
    assert_eq!(
        holders,
        [format!("{}-dind", live.key())],
        "daemons on one cache"
    );
    let out = live.run("build_script", "docker info --format ok");
    out.ok();
    live.cleanup().ok();
    live.assert_nothing_left();
    copycat.assert_nothing_left();
    collect_runner("909");
}

/// An image whose configuration carries 48 MiB of ordinary labels, loaded from a `docker save`
/// of the busybox test image with its config rewritten (no registry needed).
fn big_label_image(name: &str) {
    use std::io::{Read, Write};
    let saved = std::process::Command::new("docker")
        .args(["save", BUSYBOX_IMAGE])
        .output()
        .unwrap()
        .stdout;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in tar::Archive::new(saved.as_slice()).entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let path = entry.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            files.push((path, bytes));
        }
    }
    let manifest = &files.iter().find(|(p, _)| p == "manifest.json").unwrap().1;
    let mut manifest: serde_json::Value = serde_json::from_slice(manifest).unwrap();
    let config_name = manifest[0]["Config"].as_str().unwrap().to_string();
    let config = &files.iter().find(|(p, _)| *p == config_name).unwrap().1;
    let mut config: serde_json::Value = serde_json::from_slice(config).unwrap();
    let labels: serde_json::Map<String, serde_json::Value> = (0..48)
        .map(|i| (format!("big{i}"), "y".repeat(1 << 20).into()))
        .collect();
    config["config"]["Labels"] = labels.into();
    manifest[0]["Config"] = "big.json".into();
    manifest[0]["RepoTags"] = serde_json::json!([name]);
    let mut out = tar::Builder::new(Vec::new());
    let mut add = |path: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        out.append_data(&mut header, path, bytes).unwrap();
    };
    for (path, bytes) in &files {
        if !["manifest.json", "repositories", config_name.as_str()].contains(&path.as_str()) {
            add(path, bytes);
        }
    }
    add("big.json", &serde_json::to_vec(&config).unwrap());
    add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    let mut load = std::process::Command::new("docker")
        .args(["load", "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let tarball = out.into_inner().unwrap();
    load.stdin.take().unwrap().write_all(&tarball).unwrap();
    assert!(load.wait().unwrap().success());
}

/// The engine's answer about an image is its author's: an image with 48 MiB of labels is
/// refused from a bounded read (an unbounded one cost the driver 113 MB), and nothing is made.
#[test]
fn an_image_with_megabytes_of_labels_is_refused_from_a_bounded_read() {
    let image = "executor-test/big-labels:1";
    big_label_image(image);
    let job = Job::new("none").var("CI_JOB_IMAGE", image);
    let mut child = job.spawn(&["prepare"]);
    let stderr = child.stderr.take().unwrap();
    let (code, peak) = peak_of(child);
    let stderr = std::io::read_to_string(stderr).unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(peak < 64 * 1024, "peak {peak} KiB");
    assert!(
        stderr.contains(
            "image executor-test/big-labels:1 has a configuration (labels, environment, ...) \
             larger than 1024 KiB"
        ),
        "{stderr}"
    );
    let (code, peak) = peak_of(job.spawn(&["cleanup"]));
    assert_eq!(code, Some(0));
    assert!(peak < 64 * 1024, "cleanup peak {peak} KiB");
    job.assert_nothing_left();
    docker(&["rmi", image]);
}

/// A job adopted a warm set and its cleanup was cut short after removing the job's own
/// resources: the adopted sidecar (renamed to the job's name, labelled with the warm key only)
/// and the set's network and volumes remain. gc must still collect them.
#[test]
fn an_adopted_set_whose_cleanup_was_cut_short_is_collected() {
    let config =
        format!("{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  warm: true\nimage: {JOB_IMAGE}\n");
    let first = on_runner("910", &config, "9621", "1");
    first.prepare().ok();
    first.cleanup().ok(); // a warm set for slot 1
    let adopter = on_runner("910", &config, "9621", "1");
    prepare_adopting(&adopter);
    // The cut-short cleanup: the job's own containers went, the warm-key pass never came.
    let label = format!("label=io.executor.job-key={}", adopter.key());
    for id in docker(&["ps", "-aq", "--filter", &label]).split_whitespace() {
        docker(&["rm", "-fv", id]);
    }
    let sidecar = format!("{}-dind", adopter.key());
    let named = |name: &str| {
        docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("name=^{name}$"),
            "--format",
            "{{.Names}}",
        ])
    };
    assert_eq!(named(&sidecar).trim(), sidecar);
    // gc with dind.warm on: the set is old enough (grace 0s) and no job holds it.
    let config_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config_file.path(), crate::harness::with_helper(&config)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["gc", "--grace", "0s", "--runner-id", "910"])
        .env("EXECUTOR_CONFIG", config_file.path())
        .bounded_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        named(&sidecar).trim(),
        "",
        "gc left the orphaned sidecar: {stderr}"
    );
    collect_runner("910");
}

/// Two jobs of one project, the second forging the first's slot while the first is still in
/// its prepare (its sidecar holds the layer cache before its job container starts): the first
/// must never be taken for dead and removed.
#[test]
fn a_forged_slot_cannot_remove_a_job_in_its_prepare() {
    let config =
        format!("{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  cache: project\nimage: {JOB_IMAGE}\n");
    for round in 0..3 {
        let victim = on_runner("911", &config, "9622", "3");
        let forger = on_runner("911", &config, "9622", "3");
        let sidecar = format!("{}-dind", victim.key());
        let prepare = victim.start(&["prepare"]);
        // The forger starts as soon as the victim's sidecar exists.
        prepare.wait_for_container(&sidecar, false);
        let forged = forger.prepare();
        let victim_out = prepare.end();
        let victim_err = victim_out.stderr;
        assert_eq!(victim_out.code, Some(0), "round {round}: {victim_err}");
        assert!(
            !forged.stderr.contains(&format!("removed {}", victim.key())),
            "round {round}: {}",
            forged.stderr
        );
        victim.run("build_script", "docker info --format ok").ok();
        forger.cleanup().ok();
        victim.cleanup().ok();
        forger.assert_nothing_left();
        victim.assert_nothing_left();
    }
    collect_runner("911");
}

/// `01` and `1` are one slot: leading zeros cannot multiply the kept volumes `slots` bounds.
#[test]
fn leading_zeros_name_no_other_slot() {
    for slot in ["1", "01", "0000000000000000001"] {
        let job = Job::new("none")
            .runner("912")
            .project("9623")
            .var("CI_CONCURRENT_ID", slot);
        let out = job.call(&["prepare", "--dry-run"]);
        out.ok();
        assert!(
            out.stdout.contains("executor-r912-p9623-c1-cache"),
            "{}",
            out.stdout
        );
    }
}
