//! Starting the job's services and waiting for them as the docker executor does, only better:
//! every exposed TCP port must answer (not just the first), a HEALTHCHECK is honoured when the
//! image has one, and the wait is bounded by `services.wait_timeout`. A service that does not
//! become ready gets a warning block with its last log lines, and the job goes on.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::future::{join_all, try_join_all};

use crate::docker::{self, Engine};
use crate::outcome::{say, StageResult};
use crate::plan::{ContainerSpec, Plan};
use crate::settings::{DockerHost, Settings};

const POLL: Duration = Duration::from_millis(100);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const LOG_LINES: usize = 20;

/// Create and start every service of the plan.
pub async fn start(engine: &Engine, plan: &Plan) -> StageResult {
    try_join_all(plan.services.iter().map(|s| async move {
        docker::create_container(engine, s).await?;
        docker::start_container(engine, &s.name).await
    }))
    .await?;
    Ok(())
}

/// Wait for every service at once; never fails the job.
pub async fn wait(engine: &Engine, settings: &Settings, plan: &Plan) {
    let timeout = settings.services_wait_timeout;
    if plan.services.is_empty() || timeout.is_zero() {
        return;
    }
    // Container addresses on the job's network are reachable from the engine's host, where
    // the driver usually runs; from elsewhere only the health check and liveness are known.
    let local = matches!(settings.docker_host, DockerHost::Unix(_));
    join_all(
        plan.services
            .iter()
            .map(|s| wait_one(engine, s, timeout, local)),
    )
    .await;
}

async fn wait_one(engine: &Engine, service: &ContainerSpec, timeout: Duration, local: bool) {
    let started = Instant::now();
    let outcome = match tokio::time::timeout(timeout, ready(engine, service, local)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!(
            "not ready within services.wait_timeout ({} s){}",
            timeout.as_secs_f64(),
            closed_ports(engine, service, local).await
        )),
    };
    match outcome {
        Ok(how) => say(&format!(
            "service {} ({}) ready in {:.1} s: {how}",
            shown_name(service),
            service.image,
            started.elapsed().as_secs_f64()
        )),
        Err(why) => warn(engine, service, &why).await,
    }
}

/// Resolves when the service is ready; `Err` when it cannot become so (stopped, unhealthy).
async fn ready(engine: &Engine, service: &ContainerSpec, local: bool) -> Result<String, String> {
    loop {
        let state = docker::service::service_state(engine, &service.name, &service.network)
            .await
            .map_err(|e| e.to_string())?;
        if !state.running {
            return Err("its container stopped".into());
        }
        match state.health.as_deref() {
            Some("healthy") => return Ok("its HEALTHCHECK reports healthy".into()),
            Some("unhealthy") => return Err("its HEALTHCHECK reports unhealthy".into()),
            Some(_) => {
                tokio::time::sleep(POLL).await;
                continue;
            }
            None => {}
        }
        if state.tcp_ports.is_empty() {
            return Ok("no HEALTHCHECK and no exposed TCP port to wait for".into());
        }
        if !local {
            return Ok(
                "running (the engine is remote, its ports cannot be checked from here)".into(),
            );
        }
        let Some(address) = state.address else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        for port in &state.tcp_ports {
            while !answers(&address, *port, CONNECT_TIMEOUT).await {
                tokio::time::sleep(POLL).await;
            }
        }
        return Ok(format!(
            "TCP {} answer{}",
            list(&state.tcp_ports),
            if state.tcp_ports.len() == 1 { "s" } else { "" }
        ));
    }
}

async fn answers(address: &str, port: u16, limit: Duration) -> bool {
    let Ok(ip) = address.parse::<std::net::IpAddr>() else {
        return false;
    };
    let connect = tokio::net::TcpStream::connect(SocketAddr::new(ip, port));
    matches!(tokio::time::timeout(limit, connect).await, Ok(Ok(_)))
}

/// After a timeout: which exposed ports still do not answer, for the warning.
async fn closed_ports(engine: &Engine, service: &ContainerSpec, local: bool) -> String {
    let Ok(state) = docker::service::service_state(engine, &service.name, &service.network).await
    else {
        return String::new();
    };
    let (Some(address), true) = (state.address, local) else {
        return String::new();
    };
    let mut closed = Vec::new();
    for port in state.tcp_ports {
        if !answers(&address, port, Duration::from_millis(300)).await {
            closed.push(port);
        }
    }
    if closed.is_empty() {
        String::new()
    } else {
        format!("; TCP {} did not answer", list(&closed))
    }
}

fn list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the log names a service: its first alias, as the job knows it.
fn shown_name(service: &ContainerSpec) -> &str {
    service
        .aliases
        .first()
        .map(String::as_str)
        .unwrap_or(&service.name)
}

/// The docker executor's warning block: the job continues, the log says why it may fail.
async fn warn(engine: &Engine, service: &ContainerSpec, why: &str) {
    let logs = docker::logs_tail(engine, &service.name, LOG_LINES).await;
    let mut block = format!(
        "*********\n*** WARNING: service {} ({}) probably did not start properly: {why}\n\
         *** The job goes on; its first use of the service may fail.\n\
         Last {LOG_LINES} log lines of {}:\n",
        shown_name(service),
        service.image,
        service.name
    );
    for line in logs.lines() {
        block.push_str(&format!("  {line}\n"));
    }
    block.push_str("*********");
    eprintln!("{block}");
}
