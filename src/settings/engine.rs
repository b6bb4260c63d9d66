//! `docker:`: which engine the driver drives and how it proves who it talks to. A `tcp://`
//! engine is reached over TLS with `docker.cert_path` (`ca.pem`, and the client's `cert.pem`
//! and `key.pem`), the server always verified against that CA alone; plain HTTP, where anyone
//! who reaches the port is root on the engine's host, only with `docker.insecure: true`. With
//! no `docker.host`, the driver's own `DOCKER_HOST`, `DOCKER_CERT_PATH` and
//! `DOCKER_TLS_VERIFY` decide, as for the Docker CLI (never a job's: those arrive prefixed).

use std::path::PathBuf;

use super::raw::RawDocker;
use super::validate::Invalid;
use super::DockerHost;

/// The Docker CLI's variables in the driver's own environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineEnv {
    pub host: Option<String>,
    pub cert_path: Option<String>,
    pub tls_verify: Option<String>,
    pub home: Option<String>,
    /// This host's `/etc/machine-id`, for the default `runner.manager_id`.
    pub machine_id: Option<String>,
}

impl EngineEnv {
    pub fn from_process() -> EngineEnv {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        EngineEnv {
            host: var("DOCKER_HOST"),
            cert_path: var("DOCKER_CERT_PATH"),
            tls_verify: var("DOCKER_TLS_VERIFY"),
            home: var("HOME"),
            machine_id: std::fs::read_to_string("/etc/machine-id")
                .ok()
                .map(|id| id.trim().to_string()),
        }
    }
}

/// `runner.manager_id`: as written (lower-case letters and digits, at most 16), or the first
/// 8 characters of the machine id; empty when neither says (no part in names).
pub(super) fn manager_id(raw: Option<&str>, env: &EngineEnv) -> Result<String, Invalid> {
    match raw {
        Some(id) => {
            let ok = id.len() <= 16
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !ok {
                return Err((
                    vec!["runner", "manager_id"],
                    format!(
                        "`{}` is not a manager id; write at most 16 lower-case letters and \
                         digits (\"\" for none)",
                        crate::outcome::one_line(id)
                    ),
                ));
            }
            Ok(id.to_string())
        }
        None => Ok(env
            .machine_id
            .as_deref()
            .filter(|id| id.len() >= 8 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|id| id[..8].to_ascii_lowercase())
            .unwrap_or_default()),
    }
}

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

pub(super) fn docker_host(raw: &RawDocker, env: &EngineEnv) -> Result<DockerHost, Invalid> {
    let insecure = raw.insecure.unwrap_or(false);
    match &raw.host {
        Some(text) => {
            let cert_path = raw
                .cert_path
                .as_ref()
                .map(|p| absolute_dir(p))
                .transpose()?;
            from_config(text, cert_path, insecure)
        }
        None => {
            if raw.cert_path.is_some() {
                return Err((
                    vec!["docker", "cert_path"],
                    "is for a tcp:// docker.host; name the engine in docker.host too".into(),
                ));
            }
            from_environment(env, insecure)
        }
    }
}

fn from_config(
    text: &str,
    cert_path: Option<PathBuf>,
    insecure: bool,
) -> Result<DockerHost, Invalid> {
    let host = parse(text).map_err(|m| (vec!["docker", "host"], m))?;
    match (host, cert_path) {
        (Parsed::Unix(path), None) => Ok(DockerHost::Unix(path)),
        (Parsed::Unix(_), Some(_)) => Err((
            vec!["docker", "cert_path"],
            "is for a tcp:// docker.host; a unix socket needs no certificates, leave it out".into(),
        )),
        (Parsed::Tcp(_), Some(dir)) if insecure => Err((
            vec!["docker", "insecure"],
            format!(
                "is true while docker.cert_path ({}) asks for TLS; leave insecure out to use TLS",
                dir.display()
            ),
        )),
        (Parsed::Tcp(addr), Some(dir)) => Ok(DockerHost::Tcp {
            addr,
            tls: Some(dir),
        }),
        (Parsed::Tcp(addr), None) if insecure => Ok(DockerHost::Tcp { addr, tls: None }),
        (Parsed::Tcp(addr), None) => Err((
            vec!["docker", "host"],
            format!(
                "`tcp://{addr}` without docker.cert_path is plain HTTP, which anyone who reaches \
                 the port can use as root on the engine's host; set docker.cert_path (a \
                 directory with ca.pem, cert.pem, key.pem) for TLS, or docker.insecure: true to \
                 accept that"
            ),
        )),
    }
}

fn from_environment(env: &EngineEnv, insecure: bool) -> Result<DockerHost, Invalid> {
    let text = env.host.as_deref().unwrap_or(DEFAULT_HOST);
    let host = parse(text).map_err(|m| {
        (
            vec!["docker", "host"],
            format!("is not set, and DOCKER_HOST in the driver's environment: {m}"),
        )
    })?;
    let wants_tls = env.tls_verify.is_some() || env.cert_path.is_some();
    match host {
        Parsed::Unix(path) => Ok(DockerHost::Unix(path)),
        Parsed::Tcp(addr) if wants_tls => {
            // The Docker CLI's default place for the certificates.
            let dir =
                match (&env.cert_path, &env.home) {
                    (Some(dir), _) => PathBuf::from(dir),
                    (None, Some(home)) => PathBuf::from(home).join(".docker"),
                    (None, None) => return Err((
                        vec!["docker", "cert_path"],
                        "is not set, DOCKER_TLS_VERIFY asks for TLS and neither DOCKER_CERT_PATH \
                         nor HOME says where the certificates are; set docker.host and \
                         docker.cert_path"
                            .into(),
                    )),
                };
            if insecure {
                return Err((
                    vec!["docker", "insecure"],
                    "is true while DOCKER_TLS_VERIFY or DOCKER_CERT_PATH in the driver's \
                     environment asks for TLS; leave insecure out to use TLS"
                        .into(),
                ));
            }
            Ok(DockerHost::Tcp {
                addr,
                tls: Some(dir),
            })
        }
        Parsed::Tcp(addr) if insecure => Ok(DockerHost::Tcp { addr, tls: None }),
        Parsed::Tcp(addr) => Err((
            vec!["docker", "host"],
            format!(
                "is not set, and DOCKER_HOST=tcp://{addr} in the driver's environment is plain \
                 HTTP, which anyone who reaches the port can use as root on the engine's host; \
                 set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, or docker.insecure: true to \
                 accept that"
            ),
        )),
    }
}

enum Parsed {
    Unix(PathBuf),
    Tcp(String),
}

fn parse(text: &str) -> Result<Parsed, String> {
    if let Some(path) = text.strip_prefix("unix://").filter(|p| p.starts_with('/')) {
        return Ok(Parsed::Unix(PathBuf::from(path)));
    }
    let addr = text.strip_prefix("tcp://").map(|a| a.trim_end_matches('/'));
    if let Some(addr) = addr.filter(|a| host_and_port(a)) {
        return Ok(Parsed::Tcp(addr.to_string()));
    }
    Err(format!(
        "`{}` is not unix:///absolute/path or tcp://host:port",
        crate::outcome::one_line(text)
    ))
}

/// `host:port`, `[v6]:port`: the port a number, the host plain (no path, user or space).
fn host_and_port(addr: &str) -> bool {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_[]:".contains(c));
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
}

fn absolute_dir(text: &str) -> Result<PathBuf, Invalid> {
    if !text.starts_with('/') {
        return Err((
            vec!["docker", "cert_path"],
            format!(
                "`{}` is not an absolute path; write the directory holding ca.pem, cert.pem \
                 and key.pem",
                crate::outcome::one_line(text)
            ),
        ));
    }
    Ok(PathBuf::from(text))
}

#[cfg(test)]
mod tests;
