//! What waiting for a service needs from the engine: its exposed TCP ports (or the one its
//! `HEALTHCHECK_TCP_PORT` names), its address on the job's network, whether it runs, and its
//! health when the image defines a check. And what showing its output needs
//! (`CI_DEBUG_SERVICES`): the job's services, found by label, and their log streams.

use bollard::container::LogOutput;
use bollard::models::HealthStatusEnum;
use bollard::query_parameters::{InspectContainerOptions, LogsOptionsBuilder};
use futures_util::{Stream, StreamExt};

use super::Engine;
use crate::outcome::Failure;
use crate::plan::{Role, LABEL_JOB_KEY, LABEL_ROLE, LABEL_SERVICE};

/// A service container as readiness sees it.
#[derive(Debug, Clone)]
pub struct ServiceState {
    pub running: bool,
    /// The container's address on `network`.
    pub address: Option<String>,
    /// Exposed TCP ports, sorted.
    pub tcp_ports: Vec<u16>,
    /// `Some` when the image or container defines a HEALTHCHECK: `healthy`, `unhealthy`, ...
    pub health: Option<String>,
    /// The value of `HEALTHCHECK_TCP_PORT` in its environment (the job's service variables or
    /// the image's `ENV`): the docker executor's knob for the one port to wait for.
    pub healthcheck_port: Option<String>,
}

pub async fn service_state(
    engine: &Engine,
    name: &str,
    network: &str,
) -> Result<ServiceState, Failure> {
    let info = engine
        .docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
        .map_err(|e| Failure::system(format!("inspect service {name}"), e))?;
    let state = info.state.unwrap_or_default();
    let mut tcp_ports: Vec<u16> = info
        .config
        .as_ref()
        .and_then(|c| c.exposed_ports.clone())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.strip_suffix("/tcp").and_then(|n| n.parse().ok()))
        .collect();
    tcp_ports.sort_unstable();
    let has_check = info
        .config
        .as_ref()
        .and_then(|c| c.healthcheck.as_ref())
        .and_then(|h| h.test.as_ref())
        .is_some_and(|t| t.first().map(String::as_str) != Some("NONE") && !t.is_empty());
    let health = state
        .health
        .and_then(|h| h.status)
        .filter(|_| has_check)
        .map(|s| match s {
            HealthStatusEnum::HEALTHY => "healthy".to_string(),
            HealthStatusEnum::UNHEALTHY => "unhealthy".to_string(),
            HealthStatusEnum::STARTING => "starting".to_string(),
            other => other.to_string(),
        });
    // Any case, as the docker executor reads it.
    let healthcheck_port = info
        .config
        .as_ref()
        .and_then(|c| c.env.as_ref())
        .and_then(|env| {
            env.iter().find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.eq_ignore_ascii_case("HEALTHCHECK_TCP_PORT")
                    .then(|| value.to_string())
            })
        });
    let address = info
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| n.get(network).cloned())
        .and_then(|e| e.ip_address)
        .filter(|ip| !ip.is_empty());
    Ok(ServiceState {
        running: state.running.unwrap_or(false),
        address,
        tcp_ports,
        health,
        healthcheck_port,
    })
}

/// The job's service containers, by name, with the name their log lines carry; in the order
/// prepare made them. Only containers named as the plan names services (`{key}-svc{N}`, N
/// written plainly and below the runner's `services.max`) count: a socket job can label
/// containers of its own like ours, and name them after our services too.
pub async fn job_services(
    engine: &Engine,
    key: &str,
    max: usize,
) -> Result<Vec<(String, String)>, Failure> {
    let labels = [
        format!("{LABEL_JOB_KEY}={key}"),
        format!("{LABEL_ROLE}={}", Role::Service.as_str()),
    ];
    let stem = format!("{key}-svc");
    let mut found: Vec<(usize, String, String)> = super::dind::containers_labelled(engine, &labels)
        .await?
        .into_iter()
        .filter_map(|c| {
            let index = service_index(c.name.strip_prefix(&stem)?, max)?;
            let shown = c.labels.get(LABEL_SERVICE).cloned().unwrap_or_default();
            Some((index, c.name, shown))
        })
        .collect();
    found.sort();
    Ok(found
        .into_iter()
        .map(|(_, name, shown)| (name, shown))
        .collect())
}

/// `N` of a service named `{key}-svc{N}`: digits as the plan writes them (no sign, no leading
/// zero), below `max`.
fn service_index(suffix: &str, max: usize) -> Option<usize> {
    let index: usize = suffix.parse().ok()?;
    (index < max && index.to_string() == suffix).then_some(index)
}

/// What a container printed, stdout and stderr together, one chunk per log message (a line,
/// or part of a long one). From `since` (Unix seconds; each message then starts with its
/// RFC 3339 time and a space, for the caller to place it exactly), else from the start;
/// `follow` keeps it open for what comes, until the container stops or the caller drops it.
/// The caller bounds what it reads: the output is the job's.
pub fn service_log(
    engine: &Engine,
    name: &str,
    since: Option<i64>,
    follow: bool,
) -> impl Stream<Item = Result<Vec<u8>, String>> + use<> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .follow(follow)
        .timestamps(since.is_some())
        .since(since.and_then(|s| i32::try_from(s).ok()).unwrap_or(0))
        .build();
    engine
        .docker
        .logs(name, Some(options))
        .map(|chunk| chunk.map(LogOutput::into_bytes).map(|b| b.to_vec()))
        .map(|chunk| chunk.map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_names_the_plan_gives_are_services() {
        assert_eq!(super::service_index("0", 10), Some(0));
        assert_eq!(super::service_index("9", 10), Some(9));
        for other in ["10", "+1", "01", "1 ", "-1", "", "x"] {
            assert_eq!(super::service_index(other, 10), None, "{other}");
        }
    }
}
