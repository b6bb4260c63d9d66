//! The dind sidecar's and the job's Docker environment, and the names the driver's TLS
//! certificates carry: pure functions of the job's variables.

use crate::env::{self, JobEnv};

use super::{
    printable_value, PlanError, DIND_CERT_DIR, DIND_CLIENT_CERTS, DIND_SOCKET, DIND_TLS_HOST,
};

/// The job container reaches the sidecar through the shared socket, or with `dind.tls` at
/// `tcp://docker:2376` with the driver's client certificates. The job's own `DOCKER_HOST`
/// (exported by the stage script) still wins, so jobs written for gitlab-runner's docker
/// executor (`tcp://docker:2375` or `:2376`) keep working. For `:2376` the docker:cli image's
/// entrypoint would also turn on TLS verification; stages run through exec, not the
/// entrypoint, so do what it would have done.
pub(super) fn job_docker_env(env: &JobEnv, tls: bool) -> Vec<(String, String)> {
    let host = if tls {
        DIND_TLS_HOST.to_string()
    } else {
        format!("unix://{DIND_SOCKET}")
    };
    let mut vars = vec![("DOCKER_HOST".to_string(), host)];
    if tls || job_wants_tls(env) {
        vars.push(("DOCKER_TLS_VERIFY".into(), "1".into()));
        vars.push(("DOCKER_CERT_PATH".into(), DIND_CLIENT_CERTS.into()));
    }
    vars
}

fn job_wants_tls(env: &JobEnv) -> bool {
    env.job_var("DOCKER_HOST")
        .is_some_and(|h| h.trim_end_matches('/').ends_with(":2376"))
}

/// The sidecar's environment: where to put its socket, plus the job's own dind knobs, as
/// gitlab-runner passes job variables to services. Nothing else of the job's (no tokens).
/// docker:dind makes its own certificates at every boot (seconds of RSA key generation) unless
/// told not to: a job that asks for no TLS, and with `dind.tls` the driver's are there already.
pub(super) fn sidecar_env(env: &JobEnv, tls: bool) -> Vec<(String, String)> {
    let mut vars = vec![("DOCKER_HOST".to_string(), format!("unix://{DIND_SOCKET}"))];
    let certdir = if tls {
        Some(DIND_CERT_DIR)
    } else {
        match env.job_var(env::DOCKER_TLS_CERTDIR) {
            Some(dir) => Some(dir),
            // The image's default (TLS, certificates made at boot) for a job asking for :2376.
            None if job_wants_tls(env) => None,
            None => Some(""),
        }
    };
    if let Some(dir) = certdir {
        vars.push((env::DOCKER_TLS_CERTDIR.to_string(), dir.to_string()));
    }
    if let Some(value) = env.job_var(env::DOCKER_TLS_SAN) {
        vars.push((env::DOCKER_TLS_SAN.to_string(), value.to_string()));
    }
    vars
}

/// The job's `DOCKER_TLS_SAN` entries for the driver's server certificate, as docker:dind
/// reads them: `DNS:name` and `IP:addr`, comma or space separated; a bare entry is taken as a
/// name or an address as it parses. Anything else is the job's mistake, found before prepare
/// creates anything.
pub(super) fn tls_sans(env: &JobEnv) -> Result<Vec<String>, PlanError> {
    env.job_var(env::DOCKER_TLS_SAN)
        .unwrap_or("")
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|san| {
            let value = san
                .strip_prefix("DNS:")
                .or_else(|| san.strip_prefix("IP:"))
                .unwrap_or(san);
            let valid = value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:*".contains(c));
            if valid && !value.is_empty() {
                Ok(value.to_string())
            } else {
                Err(PlanError(format!(
                    "CUSTOM_ENV_{}: entry {} is not DNS:name or IP:address",
                    env::DOCKER_TLS_SAN,
                    printable_value(san)
                )))
            }
        })
        .collect()
}
