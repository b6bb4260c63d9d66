//! `pull_policy` with real pulls: each test starts a registry of its own (`registry.rs`),
//! pushes tiny images with unique tags to it and removes them at the end. Whether the driver
//! asked the registry is read from the registry's own access log.

use crate::harness::{docker, doctor, remove_volume, Call, Job, BUSYBOX_IMAGE};
use crate::registry::{build, build_and_push, on_engine, unique_tag, Made, Registry};

/// One whole job (prepare, a stage printing `/marker`, cleanup) that leaves nothing; what
/// prepare said on stderr, and what the marker held.
fn run_marker(job: &Job) -> (String, String) {
    let prepare = job.prepare();
    prepare.ok();
    let run = job.run("build_script", "cat /marker");
    run.ok();
    job.cleanup().ok();
    remove_kept(job);
    (prepare.stderr.clone(), run.stdout.trim().to_string())
}

/// A job of this test binary's own project, so that the `cache_dir` volume it keeps by design
/// (one per runner, project and slot) is this test's to remove.
fn pull_job(mode: &str, config: &str) -> Job {
    let project = format!("88{:04}", std::process::id() % 10_000);
    Job::with_config(mode, config).project(&project)
}

/// After the runner's cleanup: nothing of the job remains once its kept `cache_dir` volume is
/// removed too.
#[track_caller]
fn remove_kept(job: &Job) {
    job.assert_nothing_left();
    let key = job.key();
    let (slot_stem, _) = key.rsplit_once("-j").unwrap();
    remove_volume(&format!("{slot_stem}-cache"));
}

/// A failed prepare: exit `code`, and one failure line, the last on stderr, naming `image`;
/// after the runner's cleanup nothing of the job remains. Returns that line.
#[track_caller]
fn fails_naming(job: &Job, call: &Call, code: i32, image: &str) -> String {
    call.expect(code);
    let failures: Vec<&str> = call
        .stderr
        .lines()
        .filter(|l| l.starts_with("executor: error:") || l.starts_with("executor: system failure:"))
        .collect();
    let last = call.stderr.lines().last().unwrap_or_default();
    assert!(
        failures.len() == 1 && failures[0] == last && last.contains(image) && last.len() <= 400,
        "want one failure line, the last, naming {image}:\n{}",
        call.stderr
    );
    eprintln!("{last}");
    job.cleanup().ok();
    remove_kept(job);
    last.to_string()
}

/// The default policy (`if-not-present`) pulls an image the engine lacks, and the job runs
/// what was pulled.
#[test]
fn if_not_present_pulls_an_image_the_engine_lacks() {
    let registry = Registry::start();
    let mut made = Made::default();
    let tag = unique_tag("a");
    let name = registry.image(&tag);
    build_and_push(&mut made, &name, &format!("A {tag}\n"));
    docker(&["rmi", &name]);
    assert!(!on_engine(&name), "{name} is still on the engine");

    let job = pull_job("none", &format!("image: {name}\n"));
    let (prepare, marker) = run_marker(&job);
    assert_eq!(marker, format!("A {tag}"));
    assert!(
        registry.manifest_requests(&tag) > 0,
        "the registry was not asked:\n{}",
        registry.log()
    );
    assert!(
        prepare.contains(&format!("executor: pulling image {name}\n")),
        "{prepare}"
    );
    made.remove_and_check();
}

/// The registry holds B under the tag, the engine still A: `if-not-present` runs A without
/// asking the registry; `always` pulls B and runs it.
#[test]
fn if_not_present_keeps_the_local_image_and_always_pulls_the_registrys() {
    let registry = Registry::start();
    let mut made = Made::default();
    let tag = unique_tag("ab");
    let name = registry.image(&tag);
    let a = build_and_push(&mut made, &name, &format!("A {tag}\n"));
    build_and_push(&mut made, &name, &format!("B {tag}\n"));
    docker(&["tag", &a, &name]);
    let pushed = registry.manifest_requests(&tag);

    let job = pull_job(
        "none",
        &format!("image: {name}\npull_policy: if-not-present\n"),
    );
    let (prepare, marker) = run_marker(&job);
    assert_eq!(marker, format!("A {tag}"));
    assert_eq!(
        registry.manifest_requests(&tag),
        pushed,
        "if-not-present asked the registry:\n{}",
        registry.log()
    );
    assert!(!prepare.contains("pulling image"), "{prepare}");

    // `always` applies to every image of the job, the helper container's too: here the same
    // image, pulled once.
    let job = pull_job(
        "none",
        &format!("image: {name}\npull_policy: always\nhelper:\n  image: {name}\n"),
    );
    let (prepare, marker) = run_marker(&job);
    assert_eq!(marker, format!("B {tag}"));
    assert!(
        registry.manifest_requests(&tag) > pushed,
        "always did not ask the registry:\n{}",
        registry.log()
    );
    eprintln!(
        "always: {} manifest requests",
        registry.manifest_requests(&tag) - pushed
    );
    assert_eq!(
        prepare
            .matches(&format!("executor: pulling image {name}\n"))
            .count(),
        1,
        "{prepare}"
    );
    made.remove_and_check();
}

/// A pull that fails fails prepare with one line naming the image, and nothing remains after
/// the runner's cleanup: a tag the registry lacks is the job's mistake (a build failure, exit
/// 1; retrying cannot fix it), for the job image and the dind image alike; a registry that
/// does not answer is the infrastructure's (a system failure, exit 2: the runner retries
/// prepare), and `always` does not fall back to the image the engine has.
#[test]
fn a_failed_pull_is_one_line_naming_the_image_and_leaves_nothing() {
    let mut registry = Registry::start();
    let mut made = Made::default();

    let missing = registry.image(&unique_tag("missing"));
    let job = pull_job("none", &format!("image: {missing}\n"));
    let line = fails_naming(&job, &job.prepare(), 1, &missing);
    assert!(
        line.contains("is not in registry 127.0.0.1:")
            && line.contains("needs credentials (none found for it)"),
        "{line}"
    );
    assert_eq!(job.build_exit_code().as_deref(), Some("1\n"));

    let dind = registry.image(&unique_tag("dind"));
    let job = pull_job(
        "dind",
        &format!("image: {BUSYBOX_IMAGE}\ndind:\n  image: {dind}\n"),
    );
    let line = fails_naming(&job, &job.prepare(), 1, &dind);
    assert!(
        line.contains("is not in registry 127.0.0.1:")
            && line.contains("needs credentials (none found for it)"),
        "{line}"
    );

    // An image the engine has, under a name on the registry, which then stops.
    let local = registry.image(&unique_tag("local"));
    build(&mut made, &local, &local);
    registry.stop();
    let gone = registry.image(&unique_tag("gone"));
    for (image, config) in [
        (&gone, format!("image: {gone}\n")),
        (
            &local,
            format!("image: {local}\npull_policy: always\nhelper:\n  mode: job\n"),
        ),
    ] {
        let job = pull_job("none", &config);
        let line = fails_naming(&job, &job.prepare(), 2, image);
        assert!(
            line.starts_with("executor: system failure: failed to pull image")
                && line
                    .ends_with("check that the registry is up and the Docker engine can reach it"),
            "{line}"
        );
    }
    for image in [&missing, &dind, &gone] {
        assert!(!on_engine(image), "{image} is on the engine");
    }
    made.remove_and_check();
}

/// `executor doctor` pulls a configured image the engine lacks and says so; one the registry
/// lacks is a FAIL line naming it.
#[test]
fn doctor_pulls_a_configured_image_the_engine_lacks() {
    let registry = Registry::start();
    let mut made = Made::default();
    let tag = unique_tag("doctor");
    let name = registry.image(&tag);
    build_and_push(&mut made, &name, &format!("A {tag}\n"));
    docker(&["rmi", &name]);

    let only_none = "mode:\n  default: none\n  allowed: [none]\n";
    let (code, out) = doctor(&format!("image: {name}\n{only_none}"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("ok    job image {name} pulled\n")),
        "{out}"
    );
    assert!(
        on_engine(&name),
        "doctor said pulled, but {name} is not on the engine"
    );

    let missing = registry.image(&unique_tag("missing"));
    let (code, out) = doctor(&format!("image: {missing}\n{only_none}"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "FAIL  job image {missing} is missing and cannot be pulled: image {missing} is not in registry"
        )),
        "{out}"
    );
    made.remove_and_check();
}
