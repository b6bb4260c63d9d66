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

/// A registry that wants a login (`USER` and `password()`), and what this test made for it.
pub(crate) struct Private {
    pub registry: Registry,
    pub address: String,
    pub made: Made,
}

impl Private {
    pub(crate) fn start() -> Private {
        let registry = Registry::start_with_login(USER, &password());
        let address = registry.address();
        Private {
            registry,
            address,
            made: Made::default(),
        }
    }

    /// A new private image named after `label` (pushed, then off the engine): its name and
    /// the marker its `/marker` holds.
    pub(crate) fn image(&mut self, label: &str) -> (String, String) {
        let tag = unique_tag(label);
        let name = self.registry.image(&tag);
        let marker = format!("{label} {tag}");
        private_image(
            &mut self.made,
            &self.registry,
            &name,
            &format!("{marker}\n"),
        );
        (name, marker)
    }
}

/// The driver config naming `image`, with the runner's own login file `auth_config` ("" for
/// none).
pub(crate) fn config_naming(image: &str, auth_config: &str) -> String {
    format!("image: {image}\nregistry:\n  auth_config: \"{auth_config}\"\n")
}

/// A runner's login file (`config.json` in a directory of its own) holding `password`.
pub(crate) fn runner_file(address: &str, password: &str) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, auths(address, USER, password)).unwrap();
    (dir, file)
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

/// Prepare fails with `code`; then cleanup, and nothing left. Returns prepare's stderr and
/// its last line (the one the runner shows as the job's error).
#[track_caller]
pub(crate) fn failed_prepare(job: &Job, code: i32) -> (String, String) {
    let prepare = job.prepare();
    prepare.expect(code);
    job.cleanup().ok();
    remove_kept(job);
    let last = prepare.stderr.lines().last().unwrap_or_default();
    (prepare.stderr.clone(), last.to_string())
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
    let mut private = Private::start();
    let address = private.address.clone();
    let right = auths(&address, USER, &password());
    let (_dir, config_json) = runner_file(&address, &password());
    let sources = each_source(&right, &address);
    for (what, with_source, named) in sources {
        let (name, pushed) = private.image("auth");
        let auth_config = match what {
            "runner file" => config_json.display().to_string(),
            _ => String::new(),
        };
        let job = with_source(job(&config_naming(&name, &auth_config)));
        let (prepare, marker) = run_marker(&job);
        eprintln!("{prepare}");
        assert_eq!(marker, pushed, "{what}: {prepare}");
        let line = format!("executor: pulling image {name} with credentials from {named}");
        assert!(prepare.contains(&line), "{what}: {prepare}");
        assert!(!prepare.contains(&password()), "{prepare}");
    }
    private.made.remove_and_check();
}

/// Without a login, or with a wrong password: the job's error (exit 1), one line naming the
/// image, the registry and which source was tried; no password in it.
#[test]
fn a_refused_login_is_the_jobs_error_naming_registry_and_source() {
    let mut private = Private::start();
    let address = private.address.clone();
    let (name, _) = private.image("refused");
    let config = config_naming(&name, "");

    let wrong = job(&config).var(
        "DOCKER_AUTH_CONFIG",
        &auths(&address, USER, "wrong-password-5b1e"),
    );
    let (stderr, last) = failed_prepare(&wrong, 1);
    assert!(
        last.contains(&format!("registry {address} refused"))
            && last.contains(&name)
            && last.contains("the job's DOCKER_AUTH_CONFIG"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-password-5b1e"), "{stderr}");

    let (stderr, last) = failed_prepare(&job(&config), 1);
    assert!(
        last.contains(&format!("registry {address} refused")) && last.contains("no credentials"),
        "{stderr}"
    );

    // The right login, a tag the registry lacks: the engine says "not found" (as it does for
    // a registry's `denied`); the line still names the registry and the source tried.
    let missing = private.registry.image(&unique_tag("absent"));
    let absent = job(&config_naming(&missing, ""))
        .var("DOCKER_AUTH_CONFIG", &auths(&address, USER, &password()));
    let (stderr, last) = failed_prepare(&absent, 1);
    assert!(
        last.contains(&format!("{missing} is not in registry {address}"))
            && last.contains("or credentials from the job's DOCKER_AUTH_CONFIG may not read it"),
        "{stderr}"
    );
    assert!(!stderr.contains(&password()), "{stderr}");
    assert!(!on_engine(&name));
    private.made.remove_and_check();
}

/// A registry that does not answer: a system failure (exit 2, the runner retries), naming it.
#[test]
fn a_registry_that_does_not_answer_is_a_system_failure() {
    let mut registry = Registry::start_with_login(USER, &password());
    let address = registry.address();
    registry.stop();
    let name = registry.image(&unique_tag("down"));
    let job = job(&config_naming(&name, "")).payload_registry_login(&address);
    let (stderr, last) = failed_prepare(&job, 2);
    assert!(
        last.contains(&format!(
            "from registry {address} with credentials from the job payload"
        )),
        "{stderr}"
    );
}

/// The job's `DOCKER_AUTH_CONFIG` comes before the runner's: a wrong password in the runner's
/// file does not stop a job that brings the right one.
#[test]
fn the_jobs_docker_auth_config_comes_before_the_runners() {
    let mut private = Private::start();
    let address = private.address.clone();
    let (_dir, config_json) = runner_file(&address, "stale-password");
    let (name, pushed) = private.image("order");
    let config = config_naming(&name, &config_json.display().to_string());
    let job = job(&config).var("DOCKER_AUTH_CONFIG", &auths(&address, USER, &password()));
    let (prepare, marker) = run_marker(&job);
    assert_eq!(marker, pushed);
    assert!(
        prepare.contains("with credentials from the job's DOCKER_AUTH_CONFIG"),
        "{prepare}"
    );
    private.made.remove_and_check();
}

/// A credential helper the runner's config names is run (`docker-credential-test`, a script
/// on the driver's PATH); one the job's `DOCKER_AUTH_CONFIG` names never is.
#[test]
fn only_the_runners_credential_helpers_are_run() {
    let mut private = Private::start();
    let address = private.address.clone();
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

    // The job's config names the helper: not run, so no credentials, and the registry refuses.
    let (name, pushed) = private.image("helper");
    let config = config_naming(&name, "");
    let jobs = job(&config)
        .env("PATH", &path)
        .var("DOCKER_AUTH_CONFIG", &helpers);
    let (stderr, _) = failed_prepare(&jobs, 1);
    assert!(
        stderr.contains("the job's DOCKER_AUTH_CONFIG names credential helpers"),
        "{stderr}"
    );
    assert!(!ran.exists(), "the job's helper was run");

    // The runner's config names it: run with the registry on stdin, and the pull works.
    let file = bin.path().join("config.json");
    std::fs::write(&file, &helpers).unwrap();
    let config = config_naming(&name, &file.display().to_string());
    let runners = job(&config).env("PATH", &path);
    let (prepare, marker) = run_marker(&runners);
    assert_eq!(marker, pushed, "{prepare}");
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap().trim(),
        format!("get {address}")
    );
    private.made.remove_and_check();
}

/// An image from GitLab's registry that another job pulled is on the engine; under
/// `if-not-present` a job whose own login does not reach it is refused (its error), and one
/// whose login does runs it without pulling again.
#[test]
fn a_private_image_on_the_engine_serves_only_jobs_whose_login_reaches_it() {
    let mut private = Private::start();
    let address = private.address.clone();
    let (name, pushed) = private.image("shared");
    let config = config_naming(&name, "");

    let first = job(&config).payload_registry_login(&address);
    let (_, marker) = run_marker(&first);
    assert_eq!(marker, pushed);
    assert!(on_engine(&name));

    let other = job(&config).var(
        "DOCKER_AUTH_CONFIG",
        &auths(&address, USER, "another-projects-token"),
    );
    let (stderr, last) = failed_prepare(&other, 1);
    assert!(
        last.contains(&format!(
            "image {name} is on this engine, but registry {address}"
        )),
        "{stderr}"
    );

    let again = job(&config).payload_registry_login(&address);
    let (prepare, marker) = run_marker(&again);
    assert_eq!(marker, pushed);
    assert!(!prepare.contains("pulling image"), "{prepare}");
    private.made.remove_and_check();
}

/// The runner's own login for the registry comes before the payload's for pulls, but it does
/// not vouch for a job: under `if-not-present` the engine's copy of a private image is checked
/// with the job's own payload login, which here is another project's token and is refused.
#[test]
fn a_runners_login_does_not_skip_the_private_image_check() {
    let mut private = Private::start();
    let address = private.address.clone();
    let (_dir, config_json) = runner_file(&address, &password());
    let (name, pushed) = private.image("vouch");
    let config = config_naming(&name, &config_json.display().to_string());

    let first = job(&config).payload_registry_login(&address);
    let (_, marker) = run_marker(&first);
    assert_eq!(marker, pushed);

    let other = job(&config).payload_registry_token(&address, "glcbt-another-projects-token");
    let (stderr, _) = failed_prepare(&other, 1);
    assert!(
        stderr.contains(&format!(
            "image {name} is on this engine, but registry {address} does not let this job read \
             it with credentials from the job payload"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("another-projects"), "{stderr}");
    private.made.remove_and_check();
}

/// A service image, the helper image and the dind sidecar's image from a registry that wants
/// a login, through each credential source: the same pull as the job image's, and the prepare
/// lines name the source for each.
#[test]
fn a_private_service_helper_and_dind_image_are_pulled_with_each_credential_source() {
    let mut private = Private::start();
    let address = private.address.clone();
    let right = auths(&address, USER, &password());
    let (_dir, config_json) = runner_file(&address, &password());
    let dind = private.registry.image(&unique_tag("dind"));
    private.made.add(&dind);
    docker(&["tag", crate::harness::DIND_IMAGE, &dind]);
    push_as(&private.registry, &dind);
    let helper = private.registry.image(&unique_tag("helper"));
    private.made.add(&helper);
    docker(&["tag", crate::harness::JOB_IMAGE, &helper]);
    push_as(&private.registry, &helper);
    let sources = each_source(&right, &address);
    for (what, with_source, named) in sources {
        let (service, _) = private.image("svc");
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
    private.made.remove_and_check();
}
