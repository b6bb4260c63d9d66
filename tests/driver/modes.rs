//! Whole jobs in each mode: prepare, several stages, cleanup.

use crate::harness::{docker, Job, BUSYBOX_IMAGE};

/// Stage that leaves state in the builds dir and writes a Dockerfile needing no base image,
/// so it builds the same on the host engine and on an empty dind daemon.
const GET_SOURCES: &str = r#"echo "checked out" > state.txt
mkdir -p ctx && cp /bin/busybox ctx/busybox
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "echo", "built-image-ran"]\n' > ctx/Dockerfile"#;

fn build_and_run(tag: &str) -> String {
    format!(
        r#"test "$(cat state.txt)" = "checked out"
docker info --format 'server {{{{.ServerVersion}}}}'
docker build -q -t {tag} ctx
docker run --rm {tag}"#
    )
}

#[test]
fn dind_job_builds_and_runs_images_in_its_own_daemon() {
    let job = Job::new("dind");
    job.config().ok();
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains("dind daemon answered"),
        "{}",
        prepared.stderr
    );
    job.run("prepare_script", "echo preparing").ok();
    job.run("get_sources", GET_SOURCES).ok();

    let tag = format!("executor-e2e:{}", job.job_id);
    let script = format!(
        "{}\n\
         docker ps -a --format '{{{{.Names}}}}' > inner.txt\n\
         if grep -q '{container}' inner.txt; then echo 'host engine visible'; exit 9; fi\n\
         docker run --rm -v \"$CI_PROJECT_DIR:/src\" {tag} /bin/busybox cat /src/state.txt\n\
         ls -l /var/run/docker.sock",
        build_and_run(&tag),
        container = job.container(),
    );
    let built = job.run("build_script", &script);
    built.ok();
    assert!(built.stdout.contains("built-image-ran"), "{}", built.stdout);
    assert!(
        built.stdout.contains("checked out"),
        "builds dir shared with dind: {}",
        built.stdout
    );
    // The image lives in the sidecar's daemon only.
    assert!(docker(&["images", "-q", &tag]).trim().is_empty());

    job.run("after_script", "echo after").ok();
    job.run("step_release", "echo any stage name works").ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

#[test]
fn socket_job_uses_the_host_engine() {
    let job = Job::new("socket");
    job.prepare().ok();
    job.run("get_sources", GET_SOURCES).ok();
    let tag = format!("executor-e2e:{}", job.job_id);
    let script = format!(
        "{}\n\
         docker rmi {tag}\n\
         docker ps --format '{{{{.Names}}}}' | grep -x '{container}'\n\
         docker run --rm {BUSYBOX_IMAGE} echo busybox-ran\n\
         docker run -d --label io.executor.job-key=$EXECUTOR_JOB_KEY {BUSYBOX_IMAGE} sleep 300",
        build_and_run(&tag),
        container = job.container(),
    );
    let built = job.run("build_script", &script);
    built.ok();
    assert!(built.stdout.contains("built-image-ran"), "{}", built.stdout);
    assert!(
        built.stdout.contains(&job.container()),
        "sees its own container on the host"
    );
    assert!(built.stdout.contains("busybox-ran"));
    // The sibling the job left running carries the job's key, so cleanup takes it along (with
    // the job and helper containers).
    let cleaned = job.cleanup();
    cleaned.ok();
    assert!(
        cleaned.stderr.contains("removed 3 containers"),
        "{}",
        cleaned.stderr
    );
    job.assert_nothing_left();
}

#[test]
fn none_job_has_no_docker() {
    let job = Job::new("none");
    job.prepare().ok();
    job.run(
        "build_script",
        "test ! -e /var/run/docker.sock\ntest -z \"${DOCKER_HOST:-}\"",
    )
    .ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A job written for gitlab-runner's docker executor, with its own `DOCKER_HOST` and
/// `DOCKER_TLS_CERTDIR`, runs `docker info` through them; returns the stage's stdout. The
/// evidence that it reached the right daemon: the daemon's name is the job's own sidecar's
/// host name, not the host engine's.
fn docker_executor_style_job(mode: &str, host: &str, certdir: &str, first: &str) -> String {
    let job = Job::new(mode)
        .var("DOCKER_HOST", host)
        .var("DOCKER_TLS_CERTDIR", certdir);
    job.prepare().ok();
    let body = format!("{first}\ndocker info --format 'daemon {{{{.Name}}}}'");
    let out = job.run("build_script", &body);
    out.ok();
    let sidecar = format!("{}-dind", job.key());
    let hostname = docker(&["inspect", "--format", "{{.Config.Hostname}}", &sidecar]);
    assert!(
        out.stdout
            .contains(&format!("daemon {}\n", hostname.trim())),
        "not the sidecar's daemon ({}): {}",
        hostname.trim(),
        out.stdout
    );
    let host_name = docker(&["info", "--format", "{{.Name}}"]);
    assert_ne!(hostname.trim(), host_name.trim());
    job.cleanup().ok();
    job.assert_nothing_left();
    out.stdout.clone()
}

/// A job written for gitlab-runner's docker executor with plain TCP keeps working.
#[test]
fn dind_job_with_plain_tcp_docker_host() {
    let stdout = docker_executor_style_job("", "tcp://docker:2375", "", "echo \"$DOCKER_HOST\"");
    assert!(stdout.contains("tcp://docker:2375"));
}

/// ... and so does one that uses dind's default TLS on port 2376.
#[test]
fn dind_job_with_tls_docker_host() {
    docker_executor_style_job(
        "dind",
        "tcp://docker:2376",
        "/certs",
        "ls /certs/client/ca.pem",
    );
}

/// The per-job network and the inner daemon take the configured MTU (by default the host
/// engine's), so downloads inside dind do not hang on a smaller path MTU.
#[test]
fn dind_mtu_reaches_the_network_the_job_and_the_inner_daemon() {
    let config =
        "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n  mtu: 1400\n";
    let job = Job::with_config("dind", config);
    job.prepare().ok();
    let network = docker(&[
        "network",
        "inspect",
        &job.key(),
        "--format",
        "{{index .Options \"com.docker.network.driver.mtu\"}}",
    ]);
    assert_eq!(network.trim(), "1400");
    let out = job.run(
        "build_script",
        "cat /sys/class/net/eth0/mtu\n\
         docker network inspect bridge --format 'inner {{index .Options \"com.docker.network.driver.mtu\"}}'",
    );
    out.ok();
    assert!(
        out.stdout.contains("1400\n") && out.stdout.contains("inner 1400"),
        "{}",
        out.stdout
    );
    job.cleanup().ok();
    job.assert_nothing_left();

    // Without dind.mtu: the host engine's MTU.
    let job = Job::new("none");
    job.prepare().ok();
    let host = docker(&[
        "network",
        "inspect",
        "bridge",
        "--format",
        "{{index .Options \"com.docker.network.driver.mtu\"}}",
    ]);
    let mine = docker(&[
        "network",
        "inspect",
        &job.key(),
        "--format",
        "{{index .Options \"com.docker.network.driver.mtu\"}}",
    ]);
    assert_eq!(mine.trim(), host.trim());
    job.cleanup().ok();
    job.assert_nothing_left();
}
