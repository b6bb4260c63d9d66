//! `pull_policy` against a real registry: Debian's `docker-registry` (installed by
//! `scripts/test-images`), one process per test on a free loopback port, which the host engine
//! treats as an insecure registry and so reaches over plain HTTP. The images are tiny (busybox
//! plus a marker file) and carry a unique tag; each test removes every image it made.
//! Whether the driver asked the registry is read from the registry's own access log.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::harness::{build_image, docker, Bounded, Call, Job, BUSYBOX_IMAGE};

const REGISTRY: &str = "/usr/bin/docker-registry";
const REPO: &str = "executor-test/pulled";

/// A registry of the test's own, its storage and access log in a temp dir; killed when dropped.
struct Registry {
    child: Option<Child>,
    dir: TempDir,
    port: u16,
}

impl Registry {
    /// Start one; a port taken between choosing and binding it makes the registry exit, and
    /// another port is tried.
    fn start() -> Registry {
        assert!(
            std::path::Path::new(REGISTRY).exists(),
            "{REGISTRY} is missing; run scripts/test-images"
        );
        for _ in 0..3 {
            if let Some(registry) = Registry::try_start() {
                return registry;
            }
        }
        panic!("the registry did not start on any of three ports");
    }

    fn try_start() -> Option<Registry> {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: executor-test\n",
            dir.path().join("storage").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(REGISTRY)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut registry = Registry {
            child: Some(child),
            dir,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if registry.answers() {
                return Some(registry);
            }
            let child = registry.child.as_mut().unwrap();
            if child.try_wait().unwrap().is_some() {
                eprintln!("registry on port {port} exited:\n{}", registry.log());
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the registry on port {port} did not answer /v2/ in 20 s:\n{}",
            registry.log()
        );
    }

    /// Whether `GET /v2/` answers 200.
    fn answers(&self) -> bool {
        let addr = ([127, 0, 0, 1], self.port).into();
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        if stream
            .write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut head = [0u8; 64];
        let n = stream.read(&mut head).unwrap_or(0);
        let head = String::from_utf8_lossy(&head[..n]);
        head.split_whitespace().nth(1) == Some("200")
    }

    /// The name of the test repository's image with `tag` on this registry.
    fn image(&self, tag: &str) -> String {
        format!("127.0.0.1:{}/{REPO}:{tag}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// How many times the manifest of `tag` was asked for (a pull; a push only puts it).
    fn manifest_requests(&self, tag: &str) -> usize {
        let path = format!("/v2/{REPO}/manifests/{tag} ");
        self.log()
            .lines()
            .filter(|l| l.contains(&path) && (l.contains("\"GET ") || l.contains("\"HEAD ")))
            .count()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every image name and id a test made on the host engine; removed at the end, and by `Drop`
/// when the test fails first. Never panics in `Drop`.
#[derive(Default)]
struct Made(Vec<String>);

impl Made {
    fn add(&mut self, name_or_id: &str) {
        self.0.push(name_or_id.to_string());
    }

    fn remove(&mut self) {
        for image in self.0.drain(..).rev() {
            let _ = Command::new("docker")
                .args(["rmi", "-f", &image])
                .bounded_output();
        }
    }

    /// Remove them all and prove that none is left.
    #[track_caller]
    fn remove_and_check(&mut self) {
        let made = self.0.clone();
        self.remove();
        for image in made {
            assert!(!on_engine(&image), "image {image} remained on the engine");
        }
    }
}

impl Drop for Made {
    /// A panic here while a failed test unwinds would abort the whole run.
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.remove()));
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A tag no other test, run or earlier killed run has used.
fn unique_tag(what: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{what}-{}-{n}-{now}", std::process::id())
}

/// Build `name`: busybox with `/marker` holding `marker`; its id. Both are `made`.
fn build(made: &mut Made, name: &str, marker: &str) -> String {
    made.add(name);
    build_image(
        name,
        &format!("FROM {BUSYBOX_IMAGE}\nCOPY marker /marker\n"),
        &[("marker", marker)],
    );
    let id = docker(&["image", "inspect", "--format", "{{.Id}}", name])
        .trim()
        .to_string();
    made.add(&id);
    id
}

/// [`build`] `name` and push it to its registry; its id.
fn build_and_push(made: &mut Made, name: &str, marker: &str) -> String {
    let id = build(made, name, marker);
    docker(&["push", "-q", name]);
    id
}

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
    let volume = format!("{slot_stem}-cache");
    docker(&["volume", "rm", "-f", &volume]);
    let left = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=^{volume}$"),
    ]);
    assert!(left.trim().is_empty(), "left behind: {left}");
}

fn on_engine(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .bounded_output()
        .unwrap()
        .status
        .success()
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
        line.contains("does not exist or cannot be pulled"),
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
        line.contains("does not exist or cannot be pulled"),
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
                    .ends_with("check that its registry is up and the Docker engine can reach it"),
            "{line}"
        );
    }
    for image in [&missing, &dind, &gone] {
        assert!(!on_engine(image), "{image} is on the engine");
    }
    made.remove_and_check();
}

fn doctor(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("executor.yaml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["--config", &path.display().to_string(), "doctor"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .bounded_output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
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
            "FAIL  job image {missing} is missing and cannot be pulled: image {missing} does not exist"
        )),
        "{out}"
    );
    made.remove_and_check();
}
