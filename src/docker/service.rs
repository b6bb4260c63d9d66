//! What waiting for a service needs from the engine: its exposed TCP ports, its address on the
//! job's network, whether it runs, and its health when the image defines a check.

use bollard::models::HealthStatusEnum;
use bollard::query_parameters::InspectContainerOptions;

use super::Engine;
use crate::outcome::Failure;

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
    })
}
