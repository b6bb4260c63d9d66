//! A second Docker engine reached only over TCP with TLS: `executor-test/dind:1` run
//! privileged on the test engine, its daemon serving `tcp://0.0.0.0:2376` with `--tlsverify`
//! and certificates the test makes (a CA, a server certificate for `127.0.0.1`, a client
//! certificate), published on loopback only. The images a job needs are loaded into it.
//! Removed, with everything in it, when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;

use crate::harness::{docker, Bounded};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The test host's runc wrapper for privileged containers (`scripts/engine-up`), if any.
const SHIM: &str = "/usr/local/libexec/executor-test/runc-no-sys-resource";

/// A CA that signs the engine's and the clients' certificates.
pub struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = params(Vec::new(), name, Duration::from_secs(3600), 7 * 24 * 3600);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate and key (PEM) for `names`, valid from an hour ago for `seconds` more
    /// (negative: expired that long ago).
    pub fn leaf(
        &self,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        seconds: i64,
    ) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names = names.iter().map(|n| n.to_string()).collect();
        let mut params = params(names, "executor test", Duration::from_secs(7200), seconds);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A `docker.cert_path` directory: this CA's `ca.pem` and, with `client`, a client pair.
    pub fn client_dir(&self, client: Option<(String, String)>) -> TempDir {
        let dir = TempDir::new().unwrap();
        std::fs::write(dir.path().join("ca.pem"), &self.pem).unwrap();
        if let Some((cert, key)) = client {
            std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
            std::fs::write(dir.path().join("key.pem"), key).unwrap();
        }
        dir
    }
}

fn params(names: Vec<String>, cn: &str, back: Duration, seconds: i64) -> CertificateParams {
    let mut params = CertificateParams::new(names).unwrap();
    let now = SystemTime::now();
    params.not_before = (now - back).into();
    params.not_after = if seconds >= 0 {
        (now + Duration::from_secs(seconds as u64)).into()
    } else {
        (now - Duration::from_secs(seconds.unsigned_abs())).into()
    };
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
}

pub struct RemoteEngine {
    pub name: String,
    pub port: u16,
    pub ca: Ca,
    /// The client's `docker.cert_path`: the CA, a valid client certificate.
    pub client: TempDir,
    _server: TempDir,
}

impl RemoteEngine {
    /// The engine, answering, with `images` (on the test engine) loaded into it.
    pub fn start(images: &[&str]) -> RemoteEngine {
        let ca = Ca::new("executor test remote CA");
        let server = TempDir::new().unwrap();
        let (cert, key) = ca.leaf(
            &["127.0.0.1", "engine.test"],
            ExtendedKeyUsagePurpose::ServerAuth,
            7 * 24 * 3600,
        );
        std::fs::write(server.path().join("ca.pem"), &ca.pem).unwrap();
        std::fs::write(server.path().join("cert.pem"), cert).unwrap();
        std::fs::write(server.path().join("key.pem"), key).unwrap();
        let client = ca.client_dir(Some(ca.leaf(
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            7 * 24 * 3600,
        )));
        let name = format!(
            "executor-test-remote-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--privileged",
            "--name",
            &name,
            "--label",
            "executor-test=1",
            "-p",
            "127.0.0.1::2376",
            "-v",
            &format!("{}:/tls:ro", server.path().display()),
        ]
        .map(String::from)
        .to_vec();
        // Privileged containers inside it (a dind job's sidecar) need the host's capability
        // shim too, where the host has one (test-host.md).
        let shim = Path::new(SHIM).exists();
        if shim {
            args.extend(["-v".into(), format!("{SHIM}:/usr/local/bin/runc-shim:ro")]);
        }
        args.extend(
            [
                crate::harness::DIND_IMAGE,
                "dockerd",
                "--host=unix:///var/run/docker.sock",
                "--host=tcp://0.0.0.0:2376",
                "--tlsverify",
                "--tlscacert=/tls/ca.pem",
                "--tlscert=/tls/cert.pem",
                "--tlskey=/tls/key.pem",
            ]
            .map(String::from),
        );
        if shim {
            args.extend([
                "--add-runtime=no-sys-resource=/usr/local/bin/runc-shim".into(),
                "--default-runtime=no-sys-resource".into(),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        docker(&args);
        let published = docker(&["port", &name, "2376/tcp"]);
        let port = published
            .lines()
            .find_map(|l| l.strip_prefix("127.0.0.1:"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("engine {name} published no loopback port: {published}"));
        let engine = RemoteEngine {
            name,
            port,
            ca,
            client,
            _server: server,
        };
        engine.wait_until_it_answers();
        for image in images {
            engine.load(image);
        }
        engine
    }

    pub fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    pub fn cert_path(&self) -> PathBuf {
        self.client.path().to_path_buf()
    }

    /// The driver's `docker:` section for this engine with the certificates in `dir`.
    pub fn config(&self, dir: &Path) -> String {
        format!(
            "docker:\n  host: {}\n  cert_path: {}\n",
            self.host(),
            dir.display()
        )
    }

    /// The Docker CLI, against this engine over TLS.
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .args(self.cli_flags())
            .args(args)
            .bounded_output()
            .unwrap()
    }

    fn cli_flags(&self) -> Vec<String> {
        let dir = self.client.path().display().to_string();
        vec![
            "--tlsverify".into(),
            format!("--tlscacert={dir}/ca.pem"),
            format!("--tlscert={dir}/cert.pem"),
            format!("--tlskey={dir}/key.pem"),
            "-H".into(),
            self.host(),
        ]
    }

    fn wait_until_it_answers(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if self
                .docker(&["version", "--format", "{{.Server.Version}}"])
                .status
                .success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let logs = Command::new("docker")
            .args(["logs", "--tail", "30", &self.name])
            .bounded_output()
            .unwrap();
        panic!(
            "engine {} did not answer:\n{}",
            self.name,
            String::from_utf8_lossy(&logs.stderr)
        );
    }

    /// `image` from the test engine, loaded into this one.
    fn load(&self, image: &str) {
        let flags = self.cli_flags().join(" ");
        let out = Command::new("sh")
            .args([
                "-c",
                &format!("docker save '{image}' | docker {flags} load -q"),
            ])
            .bounded_output()
            .unwrap();
        assert!(
            out.status.success(),
            "loading {image}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Names of this engine's containers, volumes and networks that carry `label`.
    pub fn labelled(&self, label: &str) -> String {
        let mut all = String::new();
        for kind in [
            &["ps", "-aq"][..],
            &["volume", "ls", "-q"],
            &["network", "ls", "-q"],
        ] {
            let mut args: Vec<&str> = kind.to_vec();
            args.extend(["--filter", label]);
            all.push_str(&String::from_utf8_lossy(&self.docker(&args).stdout));
        }
        all.trim().to_string()
    }
}

impl Drop for RemoteEngine {
    fn drop(&mut self) {
        // The engine's data is an anonymous volume of the container: -v takes it too.
        let _ = Command::new("docker")
            .args(["rm", "-fv", &self.name])
            .bounded_output();
    }
}
