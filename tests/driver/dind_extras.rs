//! dind's extras (issue 6): driver-made TLS, the project layer cache, warm sidecars. Each test
//! uses its own projects or concurrency slot, so tests running at once never share a cache or
//! a warm sidecar.

use crate::harness::{docker, labelled, Job, DIND_IMAGE, JOB_IMAGE};
use crate::warm::{cleanup_warming, prepare_adopting};

fn config(extra: &str) -> String {
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

const LOOK_FOR_IT: &str = r#"if docker image inspect cached-image:1 >/dev/null 2>&1; then
  echo "found the earlier image"
else
  echo "no earlier image"
fi"#;

fn cached_job(project: &str, extra: &str) -> Job {
    Job::with_config("dind", &config(&format!("  cache: project\n{extra}")))
        .project(project)
        .var("CI_CONCURRENT_ID", "41")
}

fn whole_job(job: &Job, script: &str) -> String {
    job.prepare().ok();
    let out = job.run("build_script", script);
    out.ok();
    let cleaned = job.cleanup();
    cleaned.ok();
    job.assert_nothing_left();
    format!("{}{}", out.stdout, cleaned.stderr)
}

fn cache_volume(project: &str) -> String {
    format!("executor-r900-p{project}-c41-dind-cache")
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
            &format!("executor-r900-p{project}-c41-cache"),
        ]);
    }
    assert_eq!(labelled("io.executor.slot=41"), Vec::<String>::new());
}

fn warm_job() -> Job {
    Job::with_config("dind", &config("  warm: true\n")).var("CI_CONCURRENT_ID", "42")
}

fn warm_sidecars() -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--filter",
        "label=io.executor.warm-key",
        "--filter",
        "label=io.executor.slot=42",
        "--format",
        "{{.ID}} {{.Names}} {{.State}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// After a dind job, a fresh sidecar waits for the slot's next job, which adopts it; a warm
/// sidecar that died or aged out is replaced; gc removes warm sidecars once `dind.warm` is off.
#[test]
fn a_warm_sidecar_is_adopted_and_a_fresh_one_started() {
    let first = warm_job();
    let prepared = first.prepare();
    prepared.ok();
    assert!(!prepared.stderr.contains("adopted"), "{}", prepared.stderr);
    first.run("build_script", BUILD_CACHED).ok();
    cleanup_warming(&first);
    first.assert_nothing_left();
    let warm = warm_sidecars();
    assert_eq!(warm.len(), 1, "{warm:?}");
    let warm_id = warm[0].split(' ').next().unwrap().to_string();

    let second = warm_job();
    prepare_adopting(&second);
    let sidecar = docker(&[
        "inspect",
        "--format",
        "{{.Id}}",
        &format!("{}-dind", second.key()),
    ]);
    assert!(sidecar.starts_with(&warm_id), "{sidecar} vs {warm_id}");
    // Fresh: nothing of the first job's daemon is in it.
    let out = second.run(
        "build_script",
        "echo \"images=$(docker images -q | wc -l) containers=$(docker ps -aq | wc -l)\"\n\
         test -z \"$(ls -A \"$CI_PROJECT_DIR\")\" && echo 'empty builds dir'",
    );
    out.ok();
    assert!(
        out.stdout
            .contains("images=0 containers=0\nempty builds dir"),
        "{}",
        out.stdout
    );
    second.cleanup().ok();
    second.assert_nothing_left();
    let warm = warm_sidecars();
    assert_eq!(warm.len(), 1, "{warm:?}");
    assert!(!warm[0].starts_with(&warm_id), "a new one: {warm:?}");

    // A warm sidecar that died is not adopted but replaced.
    let dead_id = warm[0].split(' ').next().unwrap().to_string();
    docker(&["kill", &dead_id]);
    let third = warm_job();
    let prepared = third.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains("is not running: replacing it"),
        "{}",
        prepared.stderr
    );
    third
        .run("build_script", "docker info >/dev/null && echo cold works")
        .ok();
    third.cleanup().ok();
    third.assert_nothing_left();
    let warm = warm_sidecars();
    assert_eq!(warm.len(), 1, "{warm:?}");
    assert!(warm[0].ends_with("running"), "{warm:?}");

    // One older than dind.warm_max_age is not adopted either.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let aged = Job::with_config("dind", &config("  warm: true\n  warm_max_age: 2s\n"))
        .var("CI_CONCURRENT_ID", "42");
    let prepared = aged.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains("is older than dind.warm_max_age: replacing it"),
        "{}",
        prepared.stderr
    );
    aged.cleanup().ok();
    aged.assert_nothing_left();

    // With dind.warm off, gc removes what is left.
    let gc = Job::with_config("", &config("")).call(&["gc", "--runner-id", "900"]);
    gc.ok();
    assert!(gc.stderr.contains("dind.warm is off"), "{}", gc.stderr);
    docker(&["volume", "rm", "executor-r900-p77-c42-cache"]);
    assert_eq!(labelled("io.executor.slot=42"), Vec::<String>::new());
}

/// `dind.warm` with `dind.cache: project`: the sidecar the first job's cleanup warms runs on the
/// project's layer cache, so the slot's next job of that project adopts it and finds the
/// earlier image; a job of another project in that slot does not adopt it (it would see the
/// first project's images) and starts cold on a cache of its own.
#[test]
fn a_warm_sidecar_keeps_its_projects_layer_cache_and_no_other_project_adopts_it() {
    let job = |project: &str| {
        Job::with_config("dind", &config("  cache: project\n  warm: true\n"))
            .project(project)
            .var("CI_CONCURRENT_ID", "44")
    };
    let (mine, other) = ("7811", "7812");
    let first = whole_job(&job(mine), BUILD_CACHED);
    assert!(first.contains("started warm sidecar"), "{first}");

    let second = job(mine);
    prepare_adopting(&second);
    let out = second.run("build_script", LOOK_FOR_IT);
    out.ok();
    assert!(
        out.stdout.contains("found the earlier image"),
        "{}",
        out.stdout
    );
    second.cleanup().ok();
    second.assert_nothing_left();

    let elsewhere = job(other);
    let prepared = elsewhere.prepare();
    prepared.ok();
    assert!(
        !prepared.stderr.contains("adopted"),
        "another project adopted the warm sidecar: {}",
        prepared.stderr
    );
    let out = elsewhere.run("build_script", LOOK_FOR_IT);
    out.ok();
    assert!(out.stdout.contains("no earlier image"), "{}", out.stdout);
    elsewhere.cleanup().ok();
    elsewhere.assert_nothing_left();

    // With dind.warm off, gc removes the warm sidecar; the kept volumes go by name (not
    // `gc --drop-caches`, which would take the caches of tests running alongside).
    let gc =
        Job::with_config("", &config("  cache: project\n")).call(&["gc", "--runner-id", "900"]);
    gc.ok();
    for project in [mine, other] {
        for kind in ["cache", "dind-cache"] {
            docker(&[
                "volume",
                "rm",
                &format!("executor-r900-p{project}-c44-{kind}"),
            ]);
        }
    }
    assert_eq!(labelled("io.executor.slot=44"), Vec::<String>::new());
}
