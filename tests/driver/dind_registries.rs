//! What the runner's admin gives a job's Docker: the inner daemon's registry mirrors and
//! insecure registries (`dind.registry_mirrors`, `dind.insecure_registries`), and with
//! `dind.login` a Docker client already logged in with the job's own logins, in dind and in
//! socket mode. The registries are containers the test starts and joins to the job's network
//! (the inner daemon's only way out here), or, for the host engine, on loopback.

use crate::harness::{docker, Job, ALL_MODES, BUSYBOX_IMAGE, CANARY, DIND_IMAGE, JOB_IMAGE};
use crate::registry::{on_engine, unique_tag, Made};
use crate::registry_container::RegistryContainer;

const USER: &str = "gitlab-ci-token";

/// The job's token, which the payload's login carries and the registry takes.
fn token() -> String {
    format!("glcbt-{CANARY}")
}

/// Push `image` to `registry` as `name` from the host engine (with a client config of its own
/// for a registry that wants a login); the tag is removed from the engine again.
fn push(made: &mut Made, image: &str, name: &str, login: bool, registry: &RegistryContainer) {
    made.add(name);
    docker(&["tag", image, name]);
    let config = tempfile::tempdir().unwrap();
    if login {
        let auth = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("printf %s '{USER}:{}' | base64 -w0", token()),
            ])
            .output()
            .unwrap();
        let auth = String::from_utf8(auth.stdout).unwrap();
        std::fs::write(
            config.path().join("config.json"),
            format!(
                r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
                registry.address()
            ),
        )
        .unwrap();
    }
    let config = config.path().display().to_string();
    docker(&["--config", &config, "push", "-q", name]);
    docker(&["rmi", name]);
}

/// No secret of the job in what `docker inspect` shows of any of its containers (environment,
/// labels, mounts, command).
#[track_caller]
fn no_secret_in_any_container(job: &Job) {
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=io.executor.job-key={}", job.key()),
    ]);
    let ids: Vec<&str> = ids.split_whitespace().collect();
    assert!(ids.len() >= 2, "{ids:?}");
    for id in ids {
        let inspected = docker(&["inspect", id]);
        assert!(
            !inspected.contains(CANARY),
            "container {id} shows the job's token"
        );
    }
}

/// dind: the inner daemon pulls a Docker Hub name through the admin's mirror, trusts the
/// admin's insecure registry, and the job pushes to GitLab's registry (a registry wanting the
/// job's token) without a `docker login` line; no container shows the token.
#[test]
fn the_inner_daemon_gets_the_mirror_the_insecure_registry_and_the_jobs_login() {
    let mirror = RegistryContainer::start(None);
    let gitlab = RegistryContainer::start(Some((USER, &token())));
    let mut made = Made::default();
    let tag = unique_tag("dind");
    let hub_name = format!("executor-mirrored:{tag}");
    push(
        &mut made,
        BUSYBOX_IMAGE,
        &format!("{}/library/{hub_name}", mirror.address()),
        false,
        &mirror,
    );
    let config = format!(
        "image: {JOB_IMAGE}\n{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  login: true\n  \
         registry_mirrors: [\"http://mirror.test:5000\"]\n  \
         insecure_registries: [\"registry.test:5000\"]\n"
    );
    let job = Job::with_config("dind", &config).payload_registry_login("registry.test:5000");
    job.prepare().ok();
    mirror.join(&job.key(), "mirror.test");
    gitlab.join(&job.key(), "registry.test");
    let out = job.run(
        "build_script",
        &format!(
            "docker info --format '{{{{json .RegistryConfig.Mirrors}}}}'\n\
             docker pull -q {hub_name}\n\
             docker tag {hub_name} registry.test:5000/pushed:{tag}\n\
             docker push -q registry.test:5000/pushed:{tag} && echo pushed-without-login\n\
             stat -c 'config %a' \"$DOCKER_CONFIG/config.json\""
        ),
    );
    out.ok();
    for want in [
        "[\"http://mirror.test:5000/\"]",
        "pushed-without-login",
        "config 600",
    ] {
        assert!(out.stdout.contains(want), "{want:?}:\n{}", out.stdout);
    }
    assert!(
        mirror
            .log()
            .contains(&format!("/v2/library/executor-mirrored/manifests/{tag}")),
        "the mirror was not asked:\n{}",
        mirror.log()
    );
    assert!(
        gitlab
            .log()
            .contains(&format!("PUT /v2/pushed/manifests/{tag}")),
        "{}",
        gitlab.log()
    );
    no_secret_in_any_container(&job);
    mirror.leave(&job.key());
    gitlab.leave(&job.key());
    job.cleanup().ok();
    job.assert_nothing_left();
    made.remove_and_check();
}

/// socket mode: the job's client pushes through the host engine with the job's login, without
/// `docker login`; without `dind.login` the same push is refused; the host's own Docker client
/// configuration is never written.
#[test]
fn the_jobs_login_works_in_socket_mode_and_only_when_the_admin_turns_it_on() {
    let gitlab = RegistryContainer::start(Some((USER, &token())));
    let registry = gitlab.address();
    let host_config = std::path::Path::new("/root/.docker/config.json");
    let before = std::fs::read_to_string(host_config).ok();
    let mut made = Made::default();
    let tag = unique_tag("socket");
    let pushed = format!("{registry}/pushed:{tag}");
    made.add(&pushed);
    let script = format!(
        "docker tag {BUSYBOX_IMAGE} {pushed}\n\
         docker push -q {pushed} >/dev/null 2>&1 && echo pushed || echo refused\n\
         docker rmi -f {pushed} >/dev/null"
    );
    for (login, want) in [(false, "refused"), (true, "pushed")] {
        let config = format!("image: {JOB_IMAGE}\n{ALL_MODES}dind:\n  login: {login}\n");
        let job = Job::with_config("socket", &config).payload_registry_login(&registry);
        job.prepare().ok();
        let out = job.run("build_script", &script);
        out.ok();
        assert_eq!(out.stdout.trim(), want, "login: {login}");
        if login {
            no_secret_in_any_container(&job);
        }
        job.cleanup().ok();
        job.assert_nothing_left();
    }
    assert!(
        gitlab
            .log()
            .contains(&format!("PUT /v2/pushed/manifests/{tag}")),
        "{}",
        gitlab.log()
    );
    assert_eq!(std::fs::read_to_string(host_config).ok(), before);
    assert!(!on_engine(&pushed));
    made.remove_and_check();
}

/// README "Scaling out": layers kept in a registry instead of on a host. One dind job builds
/// with the README's script and pushes its cache image; the next runs in a fresh sidecar with no
/// layers of its own (`dind.cache: none`, as on another engine host) and reuses the layers
/// through `--cache-from`: its expensive step does not run again.
#[test]
fn a_fresh_sidecar_reuses_layers_through_a_registry_cache_image() {
    let gitlab = RegistryContainer::start(Some((USER, &token())));
    let mut made = Made::default();
    let tag = unique_tag("cachefrom");
    push(
        &mut made,
        BUSYBOX_IMAGE,
        &format!("{}/base:{tag}", gitlab.address()),
        true,
        &gitlab,
    );
    let config = format!(
        "image: {JOB_IMAGE}\n{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n  cache: none\n  \
         login: true\n  insecure_registries: [\"registry.test:5000\"]\n"
    );
    let image = format!("registry.test:5000/project-{tag}");
    // The README's three lines, with a build context whose one step says when it runs.
    let script = format!(
        "mkdir -p ctx && printf 'FROM registry.test:5000/base:{tag}\\nRUN echo expensive-step-ran-$((6 * 7))\\n' > ctx/Dockerfile\n\
         docker pull \"$CI_REGISTRY_IMAGE:cache\" || true\n\
         docker build --cache-from \"$CI_REGISTRY_IMAGE:cache\" --build-arg BUILDKIT_INLINE_CACHE=1 -t \"$CI_REGISTRY_IMAGE:cache\" ctx\n\
         docker push \"$CI_REGISTRY_IMAGE:cache\""
    );
    // Docker's classic builder, this dind image's default. (Its BuildKit, Docker 20.10's, asks
    // a registry over HTTPS even when the daemon lists it as insecure, and the test registry
    // speaks HTTP: BuildKit's inline cache is not tried here.)
    let mut outputs = Vec::new();
    for _ in 0..2 {
        let job = Job::with_config("dind", &config)
            .payload_registry_login("registry.test:5000")
            .var("CI_REGISTRY_IMAGE", &image)
            .var("DOCKER_BUILDKIT", "0");
        job.prepare().ok();
        gitlab.join(&job.key(), "registry.test");
        let out = job.run("build_script", &script);
        gitlab.leave(&job.key());
        job.cleanup().ok();
        job.assert_nothing_left();
        out.ok();
        outputs.push(format!("{}{}", out.stdout, out.stderr));
    }
    assert!(
        outputs[0].contains("expensive-step-ran-42"),
        "the first build did not run its step:\n{}",
        outputs[0]
    );
    assert!(
        !outputs[1].contains("expensive-step-ran-42") && outputs[1].contains("Using cache"),
        "the second job's fresh sidecar ran the step again:\n{}",
        outputs[1]
    );
    assert!(
        gitlab
            .log()
            .contains(&format!("PUT /v2/project-{tag}/manifests/cache")),
        "{}",
        gitlab.log()
    );
    made.remove_and_check();
}
