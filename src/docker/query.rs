//! Finding, watching and removing a job's resources by label (`design.md` rule 3).

use std::collections::HashMap;

use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::future::join_all;
use futures_util::StreamExt;

use super::{gone_is_ok, is_conflict, is_not_found, Engine};
use crate::outcome::Failure;
use crate::plan::LABEL_JOB_KEY;

/// What a removal pass found and removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
}

impl Removed {
    pub fn is_empty(&self) -> bool {
        *self == Removed::default()
    }
}

impl std::fmt::Display for Removed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {}, {}",
            plural(self.containers, "container"),
            plural(self.networks, "network"),
            plural(self.volumes, "volume")
        )
    }
}

fn job_filter(key: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{LABEL_JOB_KEY}={key}")])])
}

/// Remove every container, network and volume labelled with the job key. Containers go first
/// (with their anonymous volumes: an image's `VOLUME` would otherwise leak), since networks and
/// volumes in use cannot be removed. Missing objects are not errors.
pub async fn remove_job_resources(engine: &Engine, key: &str) -> Result<Removed, Failure> {
    let mut removed = Removed::default();
    let containers = engine
        .docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&job_filter(key))
                .build(),
        ))
        .await
        .map_err(|e| Failure::system("list the job's containers", e))?;
    let names: Vec<String> = containers.into_iter().filter_map(|c| c.id).collect();
    for result in join_all(names.iter().map(|id| remove_container(engine, id))).await {
        removed.containers += usize::from(result?);
    }

    let networks = engine
        .docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&job_filter(key))
                .build(),
        ))
        .await
        .map_err(|e| Failure::system("list the job's networks", e))?;
    for network in networks.into_iter().filter_map(|n| n.id) {
        let result = engine.docker.remove_network(&network).await;
        removed.networks += usize::from(gone_is_ok(result, &format!("remove network {network}"))?);
    }

    let volumes = engine
        .docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&job_filter(key))
                .build(),
        ))
        .await
        .map_err(|e| Failure::system("list the job's volumes", e))?;
    let names: Vec<String> = volumes
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect();
    for result in join_all(names.iter().map(|name| remove_volume(engine, name))).await {
        removed.volumes += usize::from(result?);
    }
    Ok(removed)
}

async fn remove_container(engine: &Engine, id: &str) -> Result<bool, Failure> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match engine.docker.remove_container(id, Some(options)).await {
        // Another caller (a concurrent cleanup) is already removing it: that is done too.
        Err(e) if is_conflict(&e) => Ok(false),
        result => gone_is_ok(result, &format!("remove container {id}")),
    }
}

/// Remove a volume; a volume still held by a container being removed elsewhere gets a few
/// short retries before it counts as a failure.
async fn remove_volume(engine: &Engine, name: &str) -> Result<bool, Failure> {
    let options = || Some(RemoveVolumeOptionsBuilder::default().force(true).build());
    let mut attempt = 0;
    loop {
        match engine.docker.remove_volume(name, options()).await {
            Err(e) if is_conflict(&e) && attempt < 20 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            result => return gone_is_ok(result, &format!("remove volume {name}")),
        }
    }
}

/// Whether the container exists and runs: `None` when it does not exist.
pub async fn container_running(engine: &Engine, name: &str) -> Result<Option<bool>, Failure> {
    match engine
        .docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
    {
        Ok(info) => Ok(Some(info.state.and_then(|s| s.running).unwrap_or(false))),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(Failure::system(format!("inspect container {name}"), e)),
    }
}

/// Resolves when the container stops (or cannot be watched); used to stop waiting for a
/// sidecar that died instead of waiting out the whole timeout.
pub async fn wait_until_exit(engine: &Engine, name: &str) -> String {
    let options = WaitContainerOptionsBuilder::default()
        .condition("not-running")
        .build();
    let mut stream = engine.docker.wait_container(name, Some(options));
    match stream.next().await {
        Some(Ok(r)) => format!("exited with code {}", r.status_code),
        // bollard reports a non-zero exit as an error (design.md, library notes).
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => {
            format!("exited with code {code}")
        }
        Some(Err(e)) => format!("could not be watched ({e})"),
        None => "stopped".to_string(),
    }
}

/// The last `lines` lines of a container's output, for failure reports.
pub async fn logs_tail(engine: &Engine, name: &str, lines: usize) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = engine.docker.logs(name, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text
}
