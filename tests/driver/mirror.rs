//! The managed registry mirror (`mirror.managed`): one pull-through cache the driver starts
//! for the engine and joins to every dind job's network, so a Docker Hub name two jobs build
//! `FROM` is fetched from the upstream once. The upstream is a registry container the test
//! starts on a network of its own, where the mirror is made (`mirror.network`); `executor gc`
//! empties the mirror past `mirror.max_size`.

use crate::harness::{docker, Job, ALL_MODES, BUSYBOX_IMAGE, DIND_IMAGE, JOB_IMAGE};
use crate::registry::{unique_tag, Made};
use crate::registry_container::RegistryContainer;

const RUNNER: &str = "931";
const MIRROR_IMAGE: &str = "executor-test/registry:1";

/// The mirror containers (with their data volumes) whose upstream is `upstream`, removed when
/// dropped, so a failed test leaves nothing either.
struct Mirrors {
    upstream: String,
}

impl Mirrors {
    fn names(&self) -> Vec<String> {
        docker(&[
            "ps",
            "-a",
            "--filter",
            "label=io.executor.mirror",
            "--format",
            "{{.Names}}",
        ])
        .split_whitespace()
        .filter(|name| {
            // Another test's mirror may be removed between the listing and this look: a
            // name that is gone is not this test's mirror.
            let env = std::process::Command::new("docker")
                .args(["inspect", "-f", "{{json .Config.Env}}", name])
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
                .unwrap_or_default();
            env.contains(&format!("REGISTRY_PROXY_REMOTEURL={}", self.upstream))
        })
        .map(String::from)
        .collect()
    }
}

impl Drop for Mirrors {
    fn drop(&mut self) {
        for name in self.names() {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-fv", &name])
                .output();
            let _ = std::process::Command::new("docker")
                .args(["volume", "rm", &format!("{name}-data")])
                .output();
        }
    }
}

/// The blob digests the upstream served, one entry per fetch.
fn blob_fetches(upstream: &RegistryContainer) -> Vec<String> {
    upstream
        .log()
        .lines()
        .filter(|l| l.contains("\"GET /v2/library/executor-mirrored/blobs/sha256:"))
        .filter_map(|l| l.split("/blobs/").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// One dind job building `FROM` the Docker Hub name; what its build said, after its cleanup.
fn build_in_a_dind_job(config: &str, tag: &str) -> String {
    let job = Job::with_config("dind", config).runner(RUNNER);
    job.prepare().ok();
    let out = job.run(
        "build_script",
        &format!(
            "docker info --format '{{{{json .RegistryConfig.Mirrors}}}}'\n\
             printf 'FROM executor-mirrored:{tag}\\nLABEL built=yes\\n' | docker build -q - >/dev/null && echo built\n\
             # A job cannot write into the cache every job reads.\n\
             wget -q -O- --post-data '' http://executor-mirror:5000/v2/library/poisoned/blobs/uploads/ \
             >/dev/null 2>&1 && echo upload-accepted || echo upload-refused"
        ),
    );
    out.ok();
    job.cleanup().ok();
    job.assert_nothing_left();
    out.stdout.clone()
}

#[test]
fn two_dind_jobs_fetch_a_docker_hub_base_from_the_upstream_once_and_gc_bounds_the_mirror() {
    let upstream = RegistryContainer::start(None);
    let upstream_url = format!("http://{}:5000", upstream.network_ip());
    let mirrors = Mirrors {
        upstream: upstream_url.clone(),
    };
    let mut made = Made::default();
    let tag = unique_tag("mirror");
    let pushed = format!("{}/library/executor-mirrored:{tag}", upstream.address());
    made.add(&pushed);
    docker(&["tag", BUSYBOX_IMAGE, &pushed]);
    docker(&["push", "-q", &pushed]);
    docker(&["rmi", &pushed]);
    let config = format!(
        "image: {JOB_IMAGE}\n{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n\
         mirror:\n  managed: true\n  image: {MIRROR_IMAGE}\n  upstream: {upstream_url}\n  max_size: 1KiB\n  \
         network: {}\n",
        upstream.network
    );

    let mut after_first = Vec::new();
    for round in ["first", "second"] {
        let said = build_in_a_dind_job(&config, &tag);
        if round == "first" {
            after_first = blob_fetches(&upstream);
        }
        for want in [
            "[\"http://executor-mirror:5000/\"]",
            "built",
            "upload-refused",
        ] {
            assert!(said.contains(want), "{round} job: {want:?}:\n{said}");
        }
        let running = mirrors.names();
        assert_eq!(
            running.len(),
            1,
            "{round} job: one mirror kept: {running:?}"
        );
    }
    // The second job fetched nothing from the upstream. The first fetched each blob once into
    // the cache; distribution 2.x (this image, `registry:2`) also streams a blob's first miss
    // to its client with a second fetch of its own, so at most twice, never more.
    let fetches = blob_fetches(&upstream);
    assert_eq!(fetches, after_first, "the second job reached the upstream");
    let mut once = fetches.clone();
    once.sort();
    once.dedup();
    assert!(
        !once.is_empty(),
        "the mirror fetched nothing:\n{}",
        upstream.log()
    );
    for blob in &once {
        let times = fetches.iter().filter(|f| *f == blob).count();
        assert!(times <= 2, "{blob} fetched {times} times: {fetches:?}");
    }

    // doctor shows it; gc past the 1 KiB cap removes it with its data.
    let name = mirrors.names().remove(0);
    let job = Job::with_config("dind", &config).runner(RUNNER);
    let (_, doctor) = crate::harness::doctor(&config);
    assert!(
        doctor.contains(&format!("mirror {name} ({upstream_url}):")) && doctor.contains("running"),
        "{doctor}"
    );
    // --drop-caches also takes the jobs' idle cache_dir volumes (runner 931 is this test's).
    let gc = job.call(&["gc", "--runner-id", RUNNER, "--drop-caches"]);
    gc.ok();
    assert!(
        gc.stderr.contains(&format!("emptied mirror {name}"))
            && gc.stderr.contains("over mirror.max_size"),
        "{}",
        gc.stderr
    );
    assert!(mirrors.names().is_empty(), "gc left the mirror");
    crate::harness::assert_volume_gone(&format!("{name}-data"));
    made.remove_and_check();
}

/// The mirror's name for `config`, as `executor doctor` announces it.
fn announced_name(config: &str) -> String {
    let (_, doctor) = crate::harness::doctor(config);
    doctor
        .split("mirror: managed, ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("doctor names no mirror:\n{doctor}"))
        .to_string()
}

/// A container or volume someone made under the mirror's names without the driver's label.
struct Impostor(String);

impl Drop for Impostor {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-fv", &self.0])
            .output();
        let _ = std::process::Command::new("docker")
            .args(["volume", "rm", &self.0])
            .output();
    }
}

/// prepare fails (system failure) naming `what`, and the job leaves nothing.
fn refused(config: &str, what: &str) {
    let job = Job::with_config("dind", config).runner(RUNNER);
    let prepare = job.prepare();
    prepare.expect(2);
    assert!(
        prepare.stderr.contains(&format!(
            "{what} on the engine is not the driver's registry mirror"
        )),
        "{}",
        prepare.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A container named like the mirror but not labelled as the driver's (a socket job could
/// make one ahead of the driver) is never joined to a dind job's network, nor is such a data
/// volume served from; the driver's own mirror filters reverse paths.
#[test]
fn only_the_drivers_own_mirror_is_used_and_it_checks_reverse_paths() {
    let upstream = format!("http://impostor-{}.invalid:5000", std::process::id());
    let mirrors = Mirrors {
        upstream: upstream.clone(),
    };
    let config = format!(
        "image: {JOB_IMAGE}\n{ALL_MODES}dind:\n  image: {DIND_IMAGE}\n\
         mirror:\n  managed: true\n  image: {MIRROR_IMAGE}\n  upstream: {upstream}\n"
    );
    let name = announced_name(&config);
    let runner_label = format!("io.executor.runner-id={RUNNER}");

    // An admin's mirror.network that is not there: refused before anything is made for it.
    let missing = format!("executor-test-no-net-{}", std::process::id());
    let job = Job::with_config("dind", &format!("{config}  network: {missing}\n")).runner(RUNNER);
    let prepare = job.prepare();
    prepare.expect(2);
    assert!(
        prepare.stderr.contains(&format!(
            "mirror.network `{missing}` is not a network on the engine"
        )),
        "{}",
        prepare.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
    assert!(mirrors.names().is_empty(), "a mirror was made");
    crate::harness::assert_volume_gone(&format!("{name}-data"));

    let container = Impostor(name.clone());
    docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        &runner_label,
        BUSYBOX_IMAGE,
        "sleep",
        "600",
    ]);
    refused(&config, &name);
    let networks = docker(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &name,
    ]);
    assert_eq!(networks.trim(), "bridge", "the impostor was joined");
    drop(container);

    let volume = Impostor(format!("{name}-data"));
    docker(&["volume", "create", "--label", &runner_label, &volume.0]);
    refused(&config, &volume.0);
    assert!(mirrors.names().is_empty(), "a mirror was made on it");
    drop(volume);

    let job = Job::with_config("dind", &config).runner(RUNNER);
    job.prepare().ok();
    let sysctls = docker(&["inspect", "-f", "{{json .HostConfig.Sysctls}}", &name]);
    for want in [
        "\"net.ipv4.conf.all.rp_filter\":\"1\"",
        "\"net.ipv4.conf.default.rp_filter\":\"1\"",
        "\"net.ipv4.ip_forward\":\"0\"",
    ] {
        assert!(sysctls.contains(want), "{want}: {sysctls}");
    }
    job.cleanup().ok();
    job.assert_nothing_left();
    assert_eq!(mirrors.names(), vec![name]);
}
