//! Starting the job's services and waiting for them as the docker executor does, only better:
//! every TCP port it waits for must answer (not just the first; which ports, `service_ports`
//! says), a HEALTHCHECK is honoured when the image has one, and the wait is bounded by
//! `services.wait_timeout`. A service that does not become ready gets a warning block with its
//! last log lines, and the job goes on. The service is the job's: the wait and its report end
//! by one deadline whatever its ports do.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::StreamExt;

use super::service_ports;
use crate::docker::{self, Engine};
use crate::outcome::{one_line, say, StageResult};
use crate::plan::{ContainerSpec, Plan};
use crate::settings::{DockerHost, Settings};

const POLL: Duration = Duration::from_millis(100);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const LOG_LINES: usize = 20;
/// Time for the report after `services.wait_timeout`: the ports still closed and the last log
/// lines. The whole wait of a service ends by its timeout plus this.
const REPORT_TIME: Duration = Duration::from_secs(3);
/// How long one port may take to answer in the report: a port that does not answer at once
/// is as good as closed there.
const REPORT_CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// The docker executor checks at most 20 exposed ports (`maxPortsCheck` in gitlab-runner's
/// `executors/docker`); so does the driver, the lowest 20 so the choice is the same every time.
/// A service exposing 65535 ports must not turn the wait into 65535 connects.
const MAX_PORTS: usize = 20;
/// Connects in flight at once in the report, so it takes a few connect timeouts, not one per port.
const PROBES_IN_FLIGHT: usize = 8;

/// Create and start every service of the plan, all at once. Every request is awaited even
/// when one fails: one abandoned mid-flight still completes in the engine after this process
/// is gone, and its container would appear behind cleanup's back.
pub async fn start(engine: &Engine, plan: &Plan) -> StageResult {
    let results = join_all(plan.services.iter().map(|s| async move {
        docker::create_container(engine, s).await?;
        docker::start_container(engine, &s.name).await
    }))
    .await;
    results.into_iter().collect()
}

/// Wait for every service at once; never fails the job.
pub async fn wait(engine: &Engine, settings: &Settings, plan: &Plan) {
    let timeout = settings.services_wait_timeout;
    if plan.services.is_empty() || timeout.is_zero() {
        return;
    }
    // Container addresses on the job's network are reachable from the engine's host, where
    // the driver usually runs; with a remote engine, from inside the job's network: from the
    // helper container (the admin's image), else the job container.
    let from = match settings.docker_host {
        DockerHost::Unix(_) => From::Here,
        DockerHost::Tcp { .. } => From::Inside(
            plan.helper
                .as_ref()
                .map_or(plan.job.name.clone(), |h| h.name.clone()),
        ),
    };
    join_all(
        plan.services
            .iter()
            .map(|s| wait_one(engine, s, timeout, &from)),
    )
    .await;
}

/// Where a service's ports are tried from.
enum From {
    /// This host, which reaches the containers' addresses (the engine is here).
    Here,
    /// Inside this container of the job's network, through the engine.
    Inside(String),
}

/// What one try of a port found.
#[derive(PartialEq, Eq)]
enum Tried {
    Open,
    Closed,
    /// The container has nothing to try a port with (neither bash nor nc).
    NoTool,
}

async fn wait_one(engine: &Engine, service: &ContainerSpec, timeout: Duration, from: &From) {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout + REPORT_TIME;
    let outcome = match tokio::time::timeout(timeout, ready(engine, service, from)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!(
            "not ready within services.wait_timeout ({} s){}",
            timeout.as_secs_f64(),
            closed_ports(engine, service, from, deadline).await
        )),
    };
    match outcome {
        Ok(how) => say(&format!(
            "service {} ({}) ready in {:.1} s: {how}",
            shown_name(service),
            service.image,
            started.elapsed().as_secs_f64()
        )),
        Err(why) => warn(engine, service, &why, deadline).await,
    }
}

/// Resolves when the service is ready; `Err` when it cannot become so (stopped, unhealthy).
async fn ready(engine: &Engine, service: &ContainerSpec, from: &From) -> Result<String, String> {
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
        let wanted = service_ports::wanted(service, &state)?;
        if wanted.ports.is_empty() {
            return Ok("no HEALTHCHECK and no exposed TCP port to wait for".into());
        }
        let Some(address) = state.address else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        let ports = checked(&wanted.ports);
        for port in ports {
            loop {
                match tries(engine, from, &address, *port, CONNECT_TIMEOUT).await {
                    Tried::Open => break,
                    Tried::Closed => tokio::time::sleep(POLL).await,
                    Tried::NoTool => {
                        return Ok("running (the engine is remote and the container that \
                                   would try its ports has neither bash nor nc)"
                            .into())
                    }
                }
            }
        }
        return Ok(format!(
            "TCP {} answer{}{}{}",
            list(ports),
            if ports.len() == 1 { "s" } else { "" },
            wanted.note(),
            unchecked(&wanted.ports, wanted.kind())
        ));
    }
}

async fn tries(engine: &Engine, from: &From, address: &str, port: u16, limit: Duration) -> Tried {
    // The engine's answer, but an address is all that goes into the command below.
    let Ok(ip) = address.parse::<std::net::IpAddr>() else {
        return Tried::Closed;
    };
    let open = match from {
        From::Here => {
            let connect = tokio::net::TcpStream::connect(SocketAddr::new(ip, port));
            matches!(tokio::time::timeout(limit, connect).await, Ok(Ok(_)))
        }
        From::Inside(container) => {
            let seconds = limit.as_secs().max(1);
            let script = format!(
                "if command -v bash >/dev/null 2>&1; then \
                 exec timeout {seconds} bash -c 'exec 3<>/dev/tcp/{ip}/{port}' 2>/dev/null; \
                 elif command -v nc >/dev/null 2>&1; then exec nc -z -w {seconds} {ip} {port}; \
                 else exit 97; fi"
            );
            let cmd = vec!["/bin/sh".into(), "-c".into(), script];
            // The container may be the job's: its answer is bounded in time and size.
            match docker::exec_output(engine, container, cmd, limit + Duration::from_secs(2)).await
            {
                Ok((0, _)) => true,
                Ok((97, _)) => return Tried::NoTool,
                _ => false,
            }
        }
    };
    if open {
        Tried::Open
    } else {
        Tried::Closed
    }
}

/// The exposed ports that are waited for: the lowest [`MAX_PORTS`] (`ports` is sorted).
fn checked(ports: &[u16]) -> &[u16] {
    &ports[..ports.len().min(MAX_PORTS)]
}

/// For a message: how many of the `kind` (exposed, listed) ports were not checked, if any.
fn unchecked(ports: &[u16], kind: &str) -> String {
    match ports.len() {
        n if n > MAX_PORTS => format!(" (the lowest {MAX_PORTS} of {n} {kind} ports)"),
        _ => String::new(),
    }
}

/// After a timeout: which exposed ports still do not answer, for the warning. Probed a few at
/// a time and given up at `deadline`: a service can make every connect hang until it times out.
async fn closed_ports(
    engine: &Engine,
    service: &ContainerSpec,
    from: &From,
    deadline: tokio::time::Instant,
) -> String {
    let state = docker::service::service_state(engine, &service.name, &service.network);
    let Ok(Ok(state)) = tokio::time::timeout_at(deadline, state).await else {
        return String::new();
    };
    let Ok(wanted) = service_ports::wanted(service, &state) else {
        return String::new();
    };
    let Some(address) = state.address else {
        return String::new();
    };
    let address = &address;
    let mut probes = futures_util::stream::iter(checked(&wanted.ports))
        .map(|port| async move {
            let tried = tries(engine, from, address, *port, REPORT_CONNECT_TIMEOUT).await;
            (*port, tried == Tried::Open)
        })
        .buffer_unordered(PROBES_IN_FLIGHT);
    let (mut closed, mut late) = (Vec::new(), false);
    loop {
        match tokio::time::timeout_at(deadline, probes.next()).await {
            Ok(Some((port, false))) => closed.push(port),
            Ok(Some((_, true))) => {}
            Ok(None) => break,
            Err(_) => {
                late = true;
                break;
            }
        }
    }
    closed.sort_unstable();
    let mut report = String::new();
    if !closed.is_empty() {
        report = format!("; TCP {} did not answer{}", list(&closed), wanted.note());
    }
    if late {
        report.push_str("; the other ports were not checked in time");
    }
    if !report.is_empty() {
        report.push_str(&unchecked(&wanted.ports, wanted.kind()));
    }
    report
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
/// `why` may hold an engine's error text, so it is made one line; the logs are the job's and
/// come with their control characters escaped already (`bounded::printable_log`).
async fn warn(engine: &Engine, service: &ContainerSpec, why: &str, deadline: tokio::time::Instant) {
    let logs = docker::logs_tail(engine, &service.name, LOG_LINES);
    let logs = tokio::time::timeout_at(deadline, logs)
        .await
        .unwrap_or_else(|_| "[… not read: the wait's deadline passed]".into());
    let why = one_line(why);
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

#[cfg(test)]
mod tests {
    use super::{checked, unchecked, MAX_PORTS};

    #[test]
    fn at_most_the_lowest_twenty_ports_are_waited_for() {
        let all: Vec<u16> = (1..=65535).collect();
        assert_eq!(checked(&all), &all[..MAX_PORTS]);
        assert_eq!(
            unchecked(&all, "exposed"),
            " (the lowest 20 of 65535 exposed ports)"
        );
        assert_eq!(checked(&all[..3]), &[1, 2, 3]);
        assert_eq!(unchecked(&all[..20], "listed"), "");
    }
}
