//! Pulls from a registry that wants a login, with each credential source in the order
//! gitlab-runner's docker executor uses: the job's `DOCKER_AUTH_CONFIG`, the runner's
//! (`DOCKER_AUTH_CONFIG` in the driver's environment, `registry.auth_config`), the payload's
//! registry login. The registry is a real one (`registry.rs`) with an htpasswd login, on
//! loopback; nothing printed may hold a password.

use std::process::Command;

use tempfile::TempDir;

use crate::harness::{docker, Bounded, Job, CANARY};
use crate::registry::{build, on_engine, unique_tag, Made, Registry};

pub(crate) const USER: &str = "gitlab-ci-token";
/// The payload's login is the job's token (`glcbt-` and the canary), so the registry takes it.
pub(crate) fn password() -> String {
    format!("glcbt-{CANARY}")
}

/// A Docker client config holding `user`/`password` for `registry`, as DOCKER_AUTH_CONFIG
/// and config.json write it.
pub(crate) fn auths(registry: &str, user: &str, password: &str) -> String {
    let auth = base64(&format!("{user}:{password}"));
    format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#)
}

fn base64(text: &str) -> String {
    let out = Command::new("base64")
        .args(["-w0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// `name` built (busybox with `/marker`) and pushed with a login, then removed from the engine
/// so the job must pull it.
pub(crate) fn private_image(made: &mut Made, registry: &Registry, name: &str, marker: &str) {
    build(made, name, marker);
    push_as(registry, name);
    docker(&["rmi", name]);
    assert!(!on_engine(name), "{name} is still on the engine");
}

/// Push `name` with a client config of its own (the host's is never touched).
fn push_as(registry: &Registry, name: &str) {
    let config = TempDir::new().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        auths(&registry.address(), USER, &password()),
    )
    .unwrap();
    let pushed = Command::new("docker")
        .arg("--config")
        .arg(config.path())
        .args(["push", "-q", name])
        .bounded_output()
        .unwrap();
    assert!(
        pushed.status.success(),
        "push {name}: {}",
        String::from_utf8_lossy(&pushed.stderr)
    );
}

/// A job of a project of this test's own (its kept cache_dir volume is removed at the end).
pub(crate) fn job(config: &str) -> Job {
    let project = format!("87{:04}", std::process::id() % 10_000);
    Job::with_config("none", config).project(&project)
}

/// Prepare, print `/marker`, cleanup; nothing left (the kept cache_dir volume removed).
/// Returns prepare's stderr and the marker.
pub(crate) fn run_marker(job: &Job) -> (String, String) {
    let prepare = job.prepare();
    prepare.ok();
    let run = job.run("build_script", "cat /marker");
    run.ok();
    job.cleanup().ok();
    remove_kept(job);
    (prepare.stderr.clone(), run.stdout.trim().to_string())
}

#[track_caller]
pub(crate) fn remove_kept(job: &Job) {
    job.assert_nothing_left();
    let key = job.key();
    let (slot_stem, _) = key.rsplit_once("-j").unwrap();
    docker(&["volume", "rm", "-f", &format!("{slot_stem}-cache")]);
}

type WithSource<'a> = Box<dyn Fn(Job) -> Job + 'a>;

/// Each credential source giving the login `right` for `address`: its name, how a job gets it
/// (the runner file is named in the config by the caller), and how prepare names the source.
fn each_source<'a>(
    right: &'a str,
    address: &'a str,
) -> [(&'static str, WithSource<'a>, &'static str); 4] {
    [
        (
            "job variable",
            Box::new(move |j: Job| j.var("DOCKER_AUTH_CONFIG", right)),
            "the job's DOCKER_AUTH_CONFIG",
        ),
        (
            "runner variable",
            Box::new(move |j: Job| j.env("DOCKER_AUTH_CONFIG", right)),
            "the runner's DOCKER_AUTH_CONFIG",
        ),
        ("runner file", Box::new(|j: Job| j), "the runner's "),
        (
            "payload",
            Box::new(move |j: Job| j.payload_registry_login(address)),
            "the job payload",
        ),
    ]
}

/// The job image of a registry that wants a login, pulled with each source in turn; the
/// prepare line names the source, and the job runs what was pushed.
#[test]
fn a_private_job_image_is_pulled_with_each_credential_source() {
    let registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    let right = auths(&address, USER, &password());
    let file = TempDir::new().unwrap();
    let config_json = file.path().join("config.json");
    std::fs::write(&config_json, &right).unwrap();
    let mut made = Made::default();
    let sources = each_source(&right, &address);
    for (what, with_source, named) in sources {
        let tag = unique_tag("auth");
        let name = registry.image(&tag);
        private_image(&mut made, &registry, &name, &format!("{what} {tag}\n"));
        let auth_config = match what {
            "runner file" => config_json.display().to_string(),
            _ => String::new(),
        };
        let config = format!("image: {name}\nregistry:\n  auth_config: \"{auth_config}\"\n");
        let job = with_source(job(&config));
        let (prepare, marker) = run_marker(&job);
        eprintln!("{prepare}");
        assert_eq!(marker, format!("{what} {tag}"), "{prepare}");
        let line = format!("executor: pulling image {name} with credentials from {named}");
        assert!(prepare.contains(&line), "{what}: {prepare}");
        assert!(!prepare.contains(&password()), "{prepare}");
        made.remove_and_check();
    }
}

/// Without a login, or with a wrong password: the job's error (exit 1), one line naming the
/// image, the registry and which source was tried; no password in it.
#[test]
fn a_refused_login_is_the_jobs_error_naming_registry_and_source() {
    let registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    let mut made = Made::default();
    let tag = unique_tag("refused");
    let name = registry.image(&tag);
    private_image(&mut made, &registry, &name, "never run\n");
    let config = format!("image: {name}\nregistry:\n  auth_config: \"\"\n");

    let wrong = job(&config).var(
        "DOCKER_AUTH_CONFIG",
        &auths(&address, USER, "wrong-password-5b1e"),
    );
    let prepare = wrong.prepare();
    prepare.expect(1);
    let last = prepare
        .stderr
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    eprintln!("{}", prepare.stderr);
    assert!(
        last.contains(&format!("registry {address} refused"))
            && last.contains(&name)
            && last.contains("the job's DOCKER_AUTH_CONFIG"),
        "{}",
        prepare.stderr
    );
    assert!(
        !prepare.stderr.contains("wrong-password-5b1e"),
        "{}",
        prepare.stderr
    );
    wrong.cleanup().ok();
    remove_kept(&wrong);

    let without = job(&config);
    let prepare = without.prepare();
    prepare.expect(1);
    let last = prepare
        .stderr
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        last.contains(&format!("registry {address} refused")) && last.contains("no credentials"),
        "{}",
        prepare.stderr
    );
    without.cleanup().ok();
    remove_kept(&without);

    // The right login, a tag the registry lacks: the engine says "not found" (as it does for
    // a registry's `denied`); the line still names the registry and the source tried.
    let missing = registry.image(&unique_tag("absent"));
    let absent = job(&format!(
        "image: {missing}\nregistry:\n  auth_config: \"\"\n"
    ))
    .var("DOCKER_AUTH_CONFIG", &auths(&address, USER, &password()));
    let prepare = absent.prepare();
    prepare.expect(1);
    let last = prepare.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("{missing} is not in registry {address}"))
            && last.contains("or credentials from the job's DOCKER_AUTH_CONFIG may not read it"),
        "{}",
        prepare.stderr
    );
    assert!(!prepare.stderr.contains(&password()), "{}", prepare.stderr);
    absent.cleanup().ok();
    remove_kept(&absent);
    assert!(!on_engine(&name));
    made.remove_and_check();
}

/// A registry that does not answer: a system failure (exit 2, the runner retries), naming it.
#[test]
fn a_registry_that_does_not_answer_is_a_system_failure() {
    let mut registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    registry.stop();
    let name = registry.image(&unique_tag("down"));
    let job = job(&format!("image: {name}\nregistry:\n  auth_config: \"\"\n"))
        .payload_registry_login(&address);
    let prepare = job.prepare();
    prepare.expect(2);
    let last = prepare.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!(
            "from registry {address} with credentials from the job payload"
        )),
        "{}",
        prepare.stderr
    );
    job.cleanup().ok();
    remove_kept(&job);
}

/// The job's `DOCKER_AUTH_CONFIG` comes before the runner's: a wrong password in the runner's
/// file does not stop a job that brings the right one.
#[test]
fn the_jobs_docker_auth_config_comes_before_the_runners() {
    let registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    let file = TempDir::new().unwrap();
    let config_json = file.path().join("config.json");
    std::fs::write(&config_json, auths(&address, USER, "stale-password")).unwrap();
    let mut made = Made::default();
    let tag = unique_tag("order");
    let name = registry.image(&tag);
    private_image(&mut made, &registry, &name, &format!("job's {tag}\n"));
    let config = format!(
        "image: {name}\nregistry:\n  auth_config: {}\n",
        config_json.display()
    );
    let job = job(&config).var("DOCKER_AUTH_CONFIG", &auths(&address, USER, &password()));
    let (prepare, marker) = run_marker(&job);
    assert_eq!(marker, format!("job's {tag}"));
    assert!(
        prepare.contains("with credentials from the job's DOCKER_AUTH_CONFIG"),
        "{prepare}"
    );
    made.remove_and_check();
}

/// A credential helper the runner's config names is run (`docker-credential-test`, a script
/// on the driver's PATH); one the job's `DOCKER_AUTH_CONFIG` names never is.
#[test]
fn only_the_runners_credential_helpers_are_run() {
    let registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    let bin = TempDir::new().unwrap();
    let ran = bin.path().join("ran");
    let helper = bin.path().join("docker-credential-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\necho \"$1 $server\" >> {}\n\
             printf '{{\"ServerURL\": \"%s\", \"Username\": \"{USER}\", \"Secret\": \"{}\"}}' \"$server\"\n",
            ran.display(),
            password()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["755", helper.to_str().unwrap()])
        .bounded_output()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let helpers = format!(r#"{{"credHelpers": {{"{address}": "test"}}}}"#);
    let mut made = Made::default();

    // The job's config names the helper: not run, so no credentials, and the registry refuses.
    let tag = unique_tag("helper");
    let name = registry.image(&tag);
    private_image(&mut made, &registry, &name, &format!("helper {tag}\n"));
    let config = format!("image: {name}\nregistry:\n  auth_config: \"\"\n");
    let jobs = job(&config)
        .env("PATH", &path)
        .var("DOCKER_AUTH_CONFIG", &helpers);
    let prepare = jobs.prepare();
    prepare.expect(1);
    assert!(
        prepare
            .stderr
            .contains("the job's DOCKER_AUTH_CONFIG names credential helpers"),
        "{}",
        prepare.stderr
    );
    assert!(!ran.exists(), "the job's helper was run");
    jobs.cleanup().ok();
    remove_kept(&jobs);

    // The runner's config names it: run with the registry on stdin, and the pull works.
    let file = bin.path().join("config.json");
    std::fs::write(&file, &helpers).unwrap();
    let config = format!(
        "image: {name}\nregistry:\n  auth_config: {}\n",
        file.display()
    );
    let runners = job(&config).env("PATH", &path);
    let (prepare, marker) = run_marker(&runners);
    assert_eq!(marker, format!("helper {tag}"), "{prepare}");
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap().trim(),
        format!("get {address}")
    );
    made.remove_and_check();
}

/// An image from GitLab's registry that another job pulled is on the engine; under
/// `if-not-present` a job whose own login does not reach it is refused (its error), and one
/// whose login does runs it without pulling again.
#[test]
fn a_private_image_on_the_engine_serves_only_jobs_whose_login_reaches_it() {
    let registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    let mut made = Made::default();
    let tag = unique_tag("shared");
    let name = registry.image(&tag);
    private_image(&mut made, &registry, &name, &format!("private {tag}\n"));
    let config = format!("image: {name}\nregistry:\n  auth_config: \"\"\n");

    let first = job(&config).payload_registry_login(&address);
    let (_, marker) = run_marker(&first);
    assert_eq!(marker, format!("private {tag}"));
    assert!(on_engine(&name));

    let other = job(&config).var(
        "DOCKER_AUTH_CONFIG",
        &auths(&address, USER, "another-projects-token"),
    );
    let prepare = other.prepare();
    prepare.expect(1);
    let last = prepare.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!(
            "image {name} is on this engine, but registry {address}"
        )),
        "{}",
        prepare.stderr
    );
    other.cleanup().ok();
    remove_kept(&other);

    let again = job(&config).payload_registry_login(&address);
    let (prepare, marker) = run_marker(&again);
    assert_eq!(marker, format!("private {tag}"));
    assert!(!prepare.contains("pulling image"), "{prepare}");
    made.remove_and_check();
}

/// The runner's own login for the registry comes before the payload's for pulls, but it does
/// not vouch for a job: under `if-not-present` the engine's copy of a private image is checked
/// with the job's own payload login, which here is another project's token and is refused.
#[test]
fn a_runners_login_does_not_skip_the_private_image_check() {
    let registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    let file = TempDir::new().unwrap();
    let config_json = file.path().join("config.json");
    std::fs::write(&config_json, auths(&address, USER, &password())).unwrap();
    let mut made = Made::default();
    let tag = unique_tag("vouch");
    let name = registry.image(&tag);
    private_image(&mut made, &registry, &name, &format!("vouch {tag}\n"));
    let config = format!(
        "image: {name}\nregistry:\n  auth_config: {}\n",
        config_json.display()
    );

    let first = job(&config).payload_registry_login(&address);
    let (_, marker) = run_marker(&first);
    assert_eq!(marker, format!("vouch {tag}"));

    let other = job(&config).payload_registry_token(&address, "glcbt-another-projects-token");
    let prepare = other.prepare();
    prepare.expect(1);
    assert!(
        prepare.stderr.contains(&format!(
            "image {name} is on this engine, but registry {address} does not let this job read \
             it with credentials from the job payload"
        )),
        "{}",
        prepare.stderr
    );
    assert!(
        !prepare.stderr.contains("another-projects"),
        "{}",
        prepare.stderr
    );
    other.cleanup().ok();
    remove_kept(&other);
    made.remove_and_check();
}

/// A service image, the helper image and the dind sidecar's image from a registry that wants
/// a login, through each credential source: the same pull as the job image's, and the prepare
/// lines name the source for each.
#[test]
fn a_private_service_helper_and_dind_image_are_pulled_with_each_credential_source() {
    let registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    let right = auths(&address, USER, &password());
    let file = TempDir::new().unwrap();
    let config_json = file.path().join("config.json");
    std::fs::write(&config_json, &right).unwrap();
    let mut made = Made::default();
    let dind = registry.image(&unique_tag("dind"));
    made.add(&dind);
    docker(&["tag", crate::harness::DIND_IMAGE, &dind]);
    push_as(&registry, &dind);
    let helper = registry.image(&unique_tag("helper"));
    made.add(&helper);
    docker(&["tag", crate::harness::JOB_IMAGE, &helper]);
    push_as(&registry, &helper);
    let sources = each_source(&right, &address);
    for (what, with_source, named) in sources {
        let tag = unique_tag("svc");
        let service = registry.image(&tag);
        private_image(&mut made, &registry, &service, &format!("{what} {tag}\n"));
        docker(&["rmi", &dind, &helper]);
        let auth_config = match what {
            "runner file" => config_json.display().to_string(),
            _ => String::new(),
        };
        let config = format!(
            "image: {}\n{}dind:\n  image: {dind}\nhelper:\n  image: {helper}\n\
             registry:\n  auth_config: \"{auth_config}\"\n",
            crate::harness::JOB_IMAGE,
            crate::harness::ALL_MODES
        );
        let services = format!(r#"[{{"name":"{service}","command":["sleep","600"]}}]"#);
        let project = format!("88{:04}", std::process::id() % 10_000);
        let job = with_source(
            Job::with_config("dind", &config)
                .project(&project)
                .payload_services(&services, &[]),
        );
        let prepare = job.prepare();
        prepare.ok();
        for image in [&service, &dind, &helper] {
            let line = format!("executor: pulling image {image} with credentials from {named}");
            assert!(prepare.stderr.contains(&line), "{what}: {}", prepare.stderr);
        }
        assert!(!prepare.stderr.contains(&password()), "{}", prepare.stderr);
        let marker = job.run("build_script", "docker version --format ok");
        marker.ok();
        job.cleanup().ok();
        remove_kept(&job);
    }
    made.remove_and_check();
}
