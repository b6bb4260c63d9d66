//! A registry of a test's own for the pull tests: Debian's `docker-registry` (installed by
//! `scripts/test-images`) on a free loopback port, which the host engine treats as an insecure
//! registry and so reaches over plain HTTP; and the tiny images (busybox plus a marker file,
//! each with a unique tag) the tests push to it, removed again at the end.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::harness::{build_image, docker, Bounded, BUSYBOX_IMAGE};

const REGISTRY: &str = "/usr/bin/docker-registry";
const REPO: &str = "executor-test/pulled";

/// A registry of the test's own, its storage and access log in a temp dir; killed when dropped.
pub struct Registry {
    child: Option<Child>,
    dir: TempDir,
    port: u16,
}

impl Registry {
    /// Start one; a port taken between choosing and binding it makes the registry exit, and
    /// another port is tried.
    pub fn start() -> Registry {
        Registry::start_with(None)
    }

    /// One that lets only `user` with `password` in (htpasswd, bcrypt: `htpasswd` comes with
    /// apache2-utils, installed by `scripts/test-images`).
    pub fn start_with_login(user: &str, password: &str) -> Registry {
        Registry::start_with(Some((user, password)))
    }

    fn start_with(login: Option<(&str, &str)>) -> Registry {
        assert!(
            std::path::Path::new(REGISTRY).exists(),
            "{REGISTRY} is missing; run scripts/test-images"
        );
        for _ in 0..3 {
            if let Some(registry) = Registry::try_start(login) {
                return registry;
            }
        }
        panic!("the registry did not start on any of three ports");
    }

    fn try_start(login: Option<(&str, &str)>) -> Option<Registry> {
        let dir = tempfile::tempdir().unwrap();
        let auth = match login {
            Some((user, password)) => {
                let htpasswd = dir.path().join("htpasswd");
                let made = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .bounded_output()
                    .expect("htpasswd is missing; run scripts/test-images");
                assert!(made.status.success(), "htpasswd failed");
                std::fs::write(&htpasswd, made.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: executor-test\n    path: {}\n",
                    htpasswd.display()
                )
            }
            None => String::new(),
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: executor-test\n{auth}",
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

    /// `host:port`, as images and credentials name it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Whether `GET /v2/` answers (200, or 401 asking for a login).
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
        matches!(head.split_whitespace().nth(1), Some("200" | "401"))
    }

    /// The name of the test repository's image with `tag` on this registry.
    pub fn image(&self, tag: &str) -> String {
        format!("127.0.0.1:{}/{REPO}:{tag}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// How many times the manifest of `tag` was asked for (a pull; a push only puts it).
    pub fn manifest_requests(&self, tag: &str) -> usize {
        let path = format!("/v2/{REPO}/manifests/{tag} ");
        self.log()
            .lines()
            .filter(|l| l.contains(&path) && (l.contains("\"GET ") || l.contains("\"HEAD ")))
            .count()
    }

    pub fn stop(&mut self) {
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
pub struct Made(Vec<String>);

impl Made {
    pub fn add(&mut self, name_or_id: &str) {
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
    pub fn remove_and_check(&mut self) {
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
pub fn unique_tag(what: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{what}-{}-{n}-{now}", std::process::id())
}

/// Build `name`: busybox with `/marker` holding `marker`; its id. Both are `made`.
pub fn build(made: &mut Made, name: &str, marker: &str) -> String {
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
pub fn build_and_push(made: &mut Made, name: &str, marker: &str) -> String {
    let id = build(made, name, marker);
    docker(&["push", "-q", name]);
    id
}

/// Whether the host engine has `image` (a name or an id).
pub fn on_engine(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .bounded_output()
        .unwrap()
        .status
        .success()
}
