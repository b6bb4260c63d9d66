//! dind's extras (issue 6): driver-made TLS, the project layer cache; warm sidecars are in
//! `warm_adopt.rs` and `warm.rs`. Each test uses its own projects or concurrency slot, so tests
//! running at once never share a cache or a warm sidecar.

use crate::harness::{docker, labelled, Job, DIND_IMAGE, JOB_IMAGE};

pub fn config(extra: &str) -> String {
    format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{extra}")
}

/// A job written for gitlab-runner's docker executor (`tcp://docker:2376`, certificates in
/// `/certs`) works with `dind.tls`; the job sees the client set only. A plain job next to it
/// uses the socket, and its sidecar made no certificates at all.
#[test]
fn tls_job_and_plain_job_both_pass() {
    let job = Job::with_config("dind", &config("  tls: true\n"))
        .var("DOCKER_HOST", "tcp://docker:2376")
        .var("DOCKER_TLS_CERTDIR", "/certs");
    job.prepare().ok();
    let out = job.run(
        "build_script",
        r#"echo "host=$DOCKER_HOST verify=$DOCKER_TLS_VERIFY path=$DOCKER_CERT_PATH"
echo "client: $(ls /certs/client | tr '\n' ' ')"
test ! -e /certs/server && test ! -e /certs/ca && echo "no server or CA key here"
docker version --format 'server {{.Server.Version}}'
openssl x509 -in /certs/client/ca.pem -noout -subject"#,
    );
    out.ok();
    for want in [
        "host=tcp://docker:2376 verify=1 path=/certs/client",
        "client: ca.pem cert.pem key.pem",
        "no server or CA key here",
        "server ",
        "executor dind CA",
    ] {
        assert!(out.stdout.contains(want), "{want}: {}", out.stdout);
    }
    job.cleanup().ok();
    job.assert_nothing_left();

    let plain = Job::with_config("dind", &config(""));
    plain.prepare().ok();
    let out = plain.run(
        "build_script",
        "echo \"host=$DOCKER_HOST\"\n\
         echo \"certs: $(ls /certs/client | wc -l)\"\n\
         docker version --format 'server {{.Server.Version}}'",
    );
    out.ok();
    assert!(
        out.stdout
            .contains("host=unix:///var/run/dind/docker.sock\ncerts: 0\nserver "),
        "{}",
        out.stdout
    );
    plain.cleanup().ok();
    plain.assert_nothing_left();
}

/// Builds a small image (busybox, about 2 MB) in the job's daemon: a layer cache of a few MB.
pub const BUILD_CACHED: &str = r#"mkdir -p ctx && cp /bin/busybox ctx/busybox
printf 'FROM scratch\nCOPY busybox /bin/busybox\n' > ctx/Dockerfile
docker build -q -t cached-image:1 ctx"#;

pub const LOOK_FOR_IT: &str = r#"if docker image inspect cached-image:1 >/dev/null 2>&1; then
  echo "found the earlier image"
else
  echo "no earlier image"
fi"#;

fn cached_job(project: &str, extra: &str) -> Job {
    Job::with_config("dind", &config(&format!("  cache: project\n{extra}")))
        .project(project)
        .var("CI_CONCURRENT_ID", "41")
}

pub fn whole_job(job: &Job, script: &str) -> String {
    job.prepare().ok();
    let out = job.run("build_script", script);
    out.ok();
    let cleaned = job.cleanup();
    cleaned.ok();
    job.assert_nothing_left();
    format!("{}{}", out.stdout, cleaned.stderr)
}

fn cache_volume(project: &str) -> String {
    format!("{}-p{project}-c41-dind-cache", crate::harness::stem("900"))
}

/// Whether a volume of exactly this name exists.
pub fn volume_exists(name: &str) -> bool {
    !docker(&["volume", "ls", "-q", "--filter", &format!("name=^{name}$")])
        .trim()
        .is_empty()
}

/// A cached project sees its earlier image in its next job; another project does not; a cache
/// over its cap is dropped after its job; gc reports caches with their size.
#[test]
fn a_project_cache_survives_its_jobs_and_no_other_project_sees_it() {
    let (mine, other, small) = ("7801", "7802", "7803");
    let first = whole_job(&cached_job(mine, ""), BUILD_CACHED);
    assert!(first.contains("layer cache"), "{first}");
    assert!(volume_exists(&cache_volume(mine)));

    let again = whole_job(&cached_job(mine, ""), LOOK_FOR_IT);
    assert!(again.contains("found the earlier image"), "{again}");
    let elsewhere = whole_job(&cached_job(other, ""), LOOK_FOR_IT);
    assert!(elsewhere.contains("no earlier image"), "{elsewhere}");

    let report = Job::with_config("", &config("  cache: project\n")).call(&[
        "gc",
        "--dry-run",
        "--runner-id",
        "900",
    ]);
    report.ok();
    assert!(
        report
            .stderr
            .contains(&format!("cache {}: ", cache_volume(mine))),
        "{}",
        report.stderr
    );

    let capped = whole_job(&cached_job(small, "  cache_max_size: 1MiB\n"), BUILD_CACHED);
    assert!(capped.contains("over dind.cache_max_size"), "{capped}");
    assert!(!volume_exists(&cache_volume(small)));

    for project in [mine, other] {
        docker(&["volume", "rm", &cache_volume(project)]);
    }
    for project in [mine, other, small] {
        docker(&[
            "volume",
            "rm",
            &format!("{}-p{project}-c41-cache", crate::harness::stem("900")),
        ]);
    }
    assert_eq!(labelled("io.executor.slot=41"), Vec::<String>::new());
}
