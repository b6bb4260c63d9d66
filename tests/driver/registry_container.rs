//! A registry in a container (`executor-test/registry:1`, built by `scripts/test-images`), for
//! the tests whose registry a job's inner daemon must reach: the test connects it to the job's
//! network under a name of its choosing. It lives on a network of its own that the test made
//! (never the engine's default bridge, where any container could reach it), published on
//! loopback only, for the host engine's pushes. Removed with its network when dropped.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempDir;

use crate::harness::{docker, Bounded};

const IMAGE: &str = "executor-test/registry:1";

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct RegistryContainer {
    pub name: String,
    /// The network made for it alone (the container's name plus `-net`).
    pub network: String,
    /// Its port on the host's loopback.
    pub port: u16,
    _auth: Option<TempDir>,
}

impl RegistryContainer {
    /// One that lets anyone in, or only `login` (user, password).
    pub fn start(login: Option<(&str, &str)>) -> RegistryContainer {
        let name = format!(
            "executor-test-registry-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let network = format!("{name}-net");
        docker(&["network", "create", "--label", "executor-test=1", &network]);
        let mut args = vec![
            "run".to_string(),
            "-d".into(),
            "--name".into(),
            name.clone(),
            "--network".into(),
            network.clone(),
            "-p".into(),
            "127.0.0.1::5000".into(),
        ];
        let auth = login.map(|(user, password)| {
            let dir = TempDir::new().unwrap();
            let made = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .bounded_output()
                .expect("htpasswd is missing; run scripts/test-images");
            std::fs::write(dir.path().join("htpasswd"), made.stdout).unwrap();
            args.extend([
                "-v".into(),
                format!("{}:/auth:ro", dir.path().display()),
                "-e".into(),
                "REGISTRY_AUTH=htpasswd".into(),
                "-e".into(),
                "REGISTRY_AUTH_HTPASSWD_REALM=executor-test".into(),
                "-e".into(),
                "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd".into(),
            ]);
            dir
        });
        args.push(IMAGE.into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        docker(&args);
        let published = docker(&["port", &name, "5000/tcp"]);
        let port = published
            .lines()
            .find_map(|l| l.strip_prefix("127.0.0.1:"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("registry {name} published no loopback port: {published}"));
        let registry = RegistryContainer {
            name,
            network,
            port,
            _auth: auth,
        };
        registry.wait_until_it_answers();
        registry
    }

    fn wait_until_it_answers(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            let addr = ([127, 0, 0, 1], self.port).into();
            if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1))
                .is_ok()
                && self.log().contains("listening on")
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("registry {} did not answer:\n{}", self.name, self.log());
    }

    /// `127.0.0.1:PORT`, as the host engine reaches it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its address on its own network, where a container the driver starts there (the
    /// managed mirror, with `mirror.network`) reaches it.
    pub fn network_ip(&self) -> String {
        let format = format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
            self.network
        );
        docker(&["inspect", "-f", &format, &self.name])
            .trim()
            .to_string()
    }

    /// Join `network` under `alias` (a job's network, for its inner daemon).
    pub fn join(&self, network: &str, alias: &str) {
        docker(&["network", "connect", "--alias", alias, network, &self.name]);
    }

    /// Leave `network` again, before the job's cleanup removes it.
    pub fn leave(&self, network: &str) {
        docker(&["network", "disconnect", "-f", network, &self.name]);
    }

    /// What it logged: its access log among it.
    pub fn log(&self) -> String {
        let out = Command::new("docker")
            .args(["logs", &self.name])
            .bounded_output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for RegistryContainer {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-fv", &self.name])
            .bounded_output();
        // Anything a failed test left joined to it goes too, so the network can.
        let _ = Command::new("docker")
            .args(["network", "rm", &self.network])
            .bounded_output();
    }
}
