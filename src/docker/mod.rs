//! The thin adapter over bollard: the only module that names it. One short async function per
//! Docker operation; errors become [`Failure::System`] named by their verb, and 404 is handled
//! on purpose where "already gone" means done.

mod bounded;
mod cgroup_usage;
mod create;
mod dialer;
pub mod dind;
mod exec;
mod exec_input;
mod exec_read;
mod exec_steps;
pub mod host_task;
pub mod limit_hits;
pub mod mirror;
mod options;
pub mod probe;
mod pull;
mod query;
mod raw;
pub mod service;
pub mod sweep;
mod tls_peer;
mod tls_transport;

use bollard::errors::Error as BollardError;
use bollard::Docker;

use crate::outcome::Failure;
use crate::settings::{DockerHost, Settings};

pub use bounded::{MAX_JOB_READ, PROBE_TIME};
pub use create::{
    create_container, create_network, create_volume, ensure_image, image_facts, image_health,
    start_container, ImageFacts,
};
pub use exec::{exec_output, exec_script, exec_status, exec_status_as_root, signal_all, OpenLine};
pub use exec_input::exec_with_input;
pub use exec_read::exec_read;
pub use pull::Pulls;
pub use query::{
    container_running, container_status, logs_tail, remove_container_named, remove_job_resources,
    remove_labelled, remove_labelled_but, remove_networks, remove_other_networks, wait_until_exit,
    Removed,
};

/// A connection to the engine.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    host: String,
    /// `docker.cert_path` of a TLS engine, for what a TLS failure names.
    tls: Option<std::path::PathBuf>,
    /// The TLS engine's certificate, once a handshake verified it.
    peer: Option<tls_peer::Seen>,
    /// How `raw`'s bounded requests reach the engine.
    dialer: dialer::Dialer,
    /// `docker.timeout`: how long one request may take to answer.
    timeout: std::time::Duration,
}

impl Engine {
    /// Connect without a round trip; the first request shows whether the engine answers.
    pub fn connect(settings: &Settings) -> Result<Engine, Failure> {
        let timeout = settings.docker_timeout.as_secs().max(1);
        let host = settings.docker_host.to_string();
        let mut peer = None;
        let mut dialer = None;
        let docker = match &settings.docker_host {
            DockerHost::Unix(path) => Docker::connect_with_unix(
                &path.to_string_lossy(),
                timeout,
                bollard::API_DEFAULT_VERSION,
            ),
            DockerHost::Tcp { addr, tls: None } => Docker::connect_with_http(
                &format!("tcp://{addr}"),
                timeout,
                bollard::API_DEFAULT_VERSION,
            ),
            DockerHost::Tcp {
                addr,
                tls: Some(dir),
            } => {
                let (docker, seen, config) = tls_transport::connect(addr, dir, timeout)?;
                peer = Some(seen);
                dialer = Some(dialer::Dialer::Tls {
                    addr: addr.clone(),
                    config,
                });
                Ok(docker)
            }
        }
        .map_err(|e| unreachable_engine(&host, None, e))?;
        let tls = match &settings.docker_host {
            DockerHost::Tcp { tls, .. } => tls.clone(),
            DockerHost::Unix(_) => None,
        };
        let dialer = dialer.unwrap_or_else(|| match &settings.docker_host {
            DockerHost::Unix(path) => dialer::Dialer::Unix(path.display().to_string()),
            DockerHost::Tcp { addr, .. } => dialer::Dialer::Tcp(addr.clone()),
        });
        Ok(Engine {
            docker,
            host,
            tls,
            peer,
            dialer,
            timeout: std::time::Duration::from_secs(timeout),
        })
    }

    /// Agree on the API version with the engine once.
    /// bollard 0.21 sends unversioned paths (bollard#736), so the engine answers in its own
    /// newest API; negotiating keeps the client honest once that is fixed upstream.
    pub async fn negotiate(self) -> Result<Engine, Failure> {
        let Engine {
            docker,
            host,
            tls,
            peer,
            dialer,
            timeout,
        } = self;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| unreachable_engine(&host, tls.as_deref(), e))?;
        Ok(Engine {
            docker,
            host,
            tls,
            peer,
            dialer,
            timeout,
        })
    }

    /// Whether the engine is reached by a Unix socket on this machine: only then are its
    /// volumes' mountpoints paths here.
    pub fn is_local(&self) -> bool {
        matches!(self.dialer, dialer::Dialer::Unix(_))
    }

    /// Which engine this is, for the log: a request of its own, so it can run alongside others.
    pub async fn about(&self) -> Result<String, Failure> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|e| unreachable_engine(&self.host, self.tls.as_deref(), e))?;
        Ok(format!(
            "Docker engine {} (API {}) at {}",
            version.version.as_deref().unwrap_or("?"),
            self.docker.client_version(),
            self.host
        ))
    }

    /// The engine's own platform, `os/arch` (`linux/amd64`); `None` when it does not say.
    pub async fn native_platform(&self) -> Option<String> {
        let version = self.docker.version().await.ok()?;
        let (os, arch) = (version.os?, version.arch?);
        (!os.is_empty() && !arch.is_empty()).then(|| format!("{os}/{arch}"))
    }

    /// How many CPUs the engine has (`NCPU`); `None` when it does not say.
    pub async fn cpu_count(&self) -> Option<u64> {
        let info = self.docker.info().await.ok()?;
        info.ncpu
            .and_then(|n| u64::try_from(n).ok())
            .filter(|&n| n > 0)
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// How the driver reaches the engine, for `executor doctor`: the socket, plain HTTP, or
    /// TLS with the names of the certificate the engine showed (after a request).
    pub fn connection(&self) -> String {
        if self.host.starts_with("unix://") {
            return format!(
                "unix socket {} (the engine is on this host)",
                &self.host[7..]
            );
        }
        let Some(seen) = &self.peer else {
            return format!(
                "{} over plain HTTP, no TLS (docker.insecure): anyone who reaches the port is \
                 root on the engine's host",
                self.host
            );
        };
        let names = seen
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|der| tls_peer::describe(der)))
            .unwrap_or_else(|| "no certificate seen yet".into());
        format!(
            "{} over TLS, verified against {}: the engine's certificate names {names}",
            self.host,
            self.tls
                .as_deref()
                .map(|d| d.join("ca.pem").display().to_string())
                .unwrap_or_default()
        )
    }
}

fn unreachable_engine(host: &str, tls: Option<&std::path::Path>, e: BollardError) -> Failure {
    if let Some(line) = tls.and_then(|dir| tls_transport::explain(&e, host, dir)) {
        return Failure::System(line);
    }
    Failure::System(format!(
        "cannot reach the Docker engine at {host} ({e}); check docker.host in the config and that the engine runs"
    ))
}

/// Whether an engine error says the object does not exist.
fn is_not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Whether an engine error is a conflict, e.g. removal already in progress.
fn is_conflict(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

/// Whether an engine error refuses the request as not allowed now (a network with endpoints).
fn is_forbidden(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 403,
            ..
        }
    )
}
