//! Finding, watching and removing a job's resources by label (`design.md` rule 3).

use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::future::join_all;
use futures_util::StreamExt;

use super::bounded::{self, MAX_JOB_READ, PROBE_TIME};
use super::{is_conflict, is_forbidden, is_not_found, Engine};
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

impl std::ops::AddAssign for Removed {
    fn add_assign(&mut self, more: Removed) {
        self.containers += more.containers;
        self.networks += more.networks;
        self.volumes += more.volumes;
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

/// A label filter, `name=value`.
fn label_filter(label: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![label.to_string()])])
}

/// Passes over the job's resources before an object still in use counts as a failure.
const REMOVAL_PASSES: usize = 20;

/// What one removal found.
enum Removal {
    Removed,
    Gone,
    /// Still used: a container that was being created when its creator stopped (the engine
    /// finishes a create whose caller went away), or one being removed elsewhere.
    InUse(Failure),
}

/// Remove every container, network and volume labelled with the job key. Containers go first
/// (with their anonymous volumes: an image's `VOLUME` would otherwise leak), since networks and
/// volumes in use cannot be removed. Missing objects are not errors. A network or volume still
/// in use sends the removal round again, so a container that appeared late is found too.
pub async fn remove_job_resources(engine: &Engine, key: &str) -> Result<Removed, Failure> {
    remove_labelled(engine, &format!("{LABEL_JOB_KEY}={key}")).await
}

/// Remove every container, network and volume carrying `label` (`name=value`), as
/// [`remove_job_resources`] does for a job.
pub async fn remove_labelled(engine: &Engine, label: &str) -> Result<Removed, Failure> {
    remove_labelled_but(engine, label, None).await
}

/// As [`remove_labelled`]; with `kept`, the networks are left and their ids added to it as
/// soon as they are listed (so a removal that fails later still says which they are).
/// Removing a bridge network takes the engine ~0.2 s, which a caller can hand to a process of
/// its own ([`remove_networks`]); by id, not by label: a retried prepare of the same job makes
/// a new network with the same label.
pub async fn remove_labelled_but(
    engine: &Engine,
    label: &str,
    mut kept: Option<&mut Vec<String>>,
) -> Result<Removed, Failure> {
    let mut removed = Removed::default();
    let mut pass = 0;
    loop {
        pass += 1;
        // The three lists at once: a prepare's first step is this look, and on a remote
        // engine each request is a round trip.
        let (containers, networks, volumes) = futures_util::join!(
            list_containers(engine, label),
            list_networks(engine, label),
            list_volumes(engine, label)
        );
        let (mut networks, volumes) = (networks?, volumes?);
        if let Some(kept) = kept.as_deref_mut() {
            for id in std::mem::take(&mut networks) {
                if !kept.contains(&id) {
                    kept.push(id);
                }
            }
        }
        removed.containers += count(remove_all(engine, containers?, remove_container).await)?;
        let networks = remove_all(engine, networks, remove_network).await;
        let volumes = remove_all(engine, volumes, remove_volume).await;
        let in_use = networks
            .iter()
            .chain(&volumes)
            .any(|r| matches!(r, Ok(Removal::InUse(_))));
        if !in_use || pass == REMOVAL_PASSES {
            removed.networks += count(networks)?;
            removed.volumes += count(volumes)?;
            return Ok(removed);
        }
        removed.networks += networks
            .iter()
            .filter(|r| matches!(r, Ok(Removal::Removed)))
            .count();
        removed.volumes += volumes
            .iter()
            .filter(|r| matches!(r, Ok(Removal::Removed)))
            .count();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Remove networks by id (ones [`remove_labelled_but`] kept), going round again while one is
/// still in use, as [`remove_labelled`] does. Returns how many were removed.
pub async fn remove_networks(engine: &Engine, ids: &[String]) -> Result<usize, Failure> {
    let mut left = ids.to_vec();
    let mut removed = 0;
    for pass in 1..=REMOVAL_PASSES {
        let trying = std::mem::take(&mut left);
        let results = remove_all(engine, trying.clone(), remove_network).await;
        let mut in_use = Vec::new();
        for (id, result) in trying.into_iter().zip(results) {
            match result? {
                Removal::Removed => removed += 1,
                Removal::Gone => {}
                Removal::InUse(failure) if pass == REMOVAL_PASSES => return Err(failure),
                Removal::InUse(_) => in_use.push(id),
            }
        }
        if in_use.is_empty() {
            break;
        }
        left = in_use;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(removed)
}

async fn remove_all<'a, F, Fut>(
    engine: &'a Engine,
    ids: Vec<String>,
    remove: F,
) -> Vec<Result<Removal, Failure>>
where
    F: Fn(&'a Engine, String) -> Fut,
    Fut: std::future::Future<Output = Result<Removal, Failure>>,
{
    join_all(ids.into_iter().map(|id| remove(engine, id))).await
}

/// How many were removed; the first failure (an object still in use counts as one) wins.
fn count(results: Vec<Result<Removal, Failure>>) -> Result<usize, Failure> {
    let mut n = 0;
    for result in results {
        match result? {
            Removal::Removed => n += 1,
            Removal::Gone => {}
            Removal::InUse(failure) => return Err(failure),
        }
    }
    Ok(n)
}

/// Remove the job's networks other than `keep`: ones a killed earlier attempt created after
/// this attempt had removed its leftovers. Returns how many.
pub async fn remove_other_networks(
    engine: &Engine,
    key: &str,
    keep: &str,
) -> Result<usize, Failure> {
    let others: Vec<String> = list_networks(engine, &format!("{LABEL_JOB_KEY}={key}"))
        .await?
        .into_iter()
        .filter(|id| id != keep)
        .collect();
    count(remove_all(engine, others, remove_network).await)
}

/// Force-remove one container by name (a stale one in the way of a create).
pub async fn remove_container_named(engine: &Engine, name: &str) -> Result<(), Failure> {
    count(vec![remove_container(engine, name.to_string()).await]).map(|_| ())
}

async fn list_containers(engine: &Engine, label: &str) -> Result<Vec<String>, Failure> {
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&label_filter(label))
        .build();
    let list = engine.docker.list_containers(Some(options)).await;
    let list = list.map_err(|e| Failure::system("list the job's containers", e))?;
    Ok(list.into_iter().filter_map(|c| c.id).collect())
}

async fn list_networks(engine: &Engine, label: &str) -> Result<Vec<String>, Failure> {
    let options = ListNetworksOptionsBuilder::default()
        .filters(&label_filter(label))
        .build();
    let list = engine.docker.list_networks(Some(options)).await;
    let list = list.map_err(|e| Failure::system("list the job's networks", e))?;
    Ok(list.into_iter().filter_map(|n| n.id).collect())
}

async fn list_volumes(engine: &Engine, label: &str) -> Result<Vec<String>, Failure> {
    let options = ListVolumesOptionsBuilder::default()
        .filters(&label_filter(label))
        .build();
    let list = engine.docker.list_volumes(Some(options)).await;
    let list = list.map_err(|e| Failure::system("list the job's volumes", e))?;
    Ok(list
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect())
}

async fn remove_container(engine: &Engine, id: String) -> Result<Removal, Failure> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match engine.docker.remove_container(&id, Some(options)).await {
        // Another caller (a concurrent cleanup or gc) is already removing it: that is done
        // too, once it is gone.
        Err(e) if is_conflict(&e) => Ok(removed_elsewhere(engine, &id, e).await),
        result => removal(result, &format!("remove container {id}")),
    }
}

/// Wait until a container another caller is removing is gone: the networks and volumes it
/// holds can go only then, and removing a container with many files in its anonymous
/// volumes takes seconds (longer than the passes of [`remove_labelled`] wait for an object in
/// use). Bounded by `docker.timeout`; past it, the container counts as still in use.
async fn removed_elsewhere(engine: &Engine, id: &str, conflict: BollardError) -> Removal {
    let deadline = tokio::time::Instant::now() + engine.timeout;
    loop {
        match container_running(engine, id).await {
            Ok(None) => return Removal::Gone,
            Ok(Some(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            _ => {
                return Removal::InUse(Failure::system(format!("remove container {id}"), conflict))
            }
        }
    }
}

async fn remove_network(engine: &Engine, id: String) -> Result<Removal, Failure> {
    let mut result = engine.docker.remove_network(&id).await;
    // The managed registry mirror is on every dind job's network and not the job's: it
    // leaves, and the network goes.
    if matches!(&result, Err(e) if is_conflict(e) || is_forbidden(e))
        && super::mirror::leave_all(engine, &id).await
    {
        result = engine.docker.remove_network(&id).await;
    }
    removal(result, &format!("remove network {id}"))
}

async fn remove_volume(engine: &Engine, name: String) -> Result<Removal, Failure> {
    let options = RemoveVolumeOptionsBuilder::default().force(true).build();
    let result = engine.docker.remove_volume(&name, Some(options)).await;
    removal(result, &format!("remove volume {name}"))
}

/// Sort an engine answer: done, already gone (404), still in use (403 active endpoints, 409).
fn removal(result: Result<(), bollard::errors::Error>, doing: &str) -> Result<Removal, Failure> {
    match result {
        Ok(()) => Ok(Removal::Removed),
        Err(e) if is_not_found(&e) => Ok(Removal::Gone),
        Err(e) if is_conflict(&e) || is_forbidden(&e) => {
            Ok(Removal::InUse(Failure::system(doing, e)))
        }
        Err(e) => Err(Failure::system(doing, e)),
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

/// The container's state as the engine names it (`created`, `running`, `exited`, ...); `None`
/// when it does not exist.
pub async fn container_status(engine: &Engine, name: &str) -> Result<Option<String>, Failure> {
    match engine
        .docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
    {
        Ok(info) => Ok(Some(
            info.state
                .and_then(|s| s.status)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        )),
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

/// The last `lines` lines of a container's output, for failure reports. What a container
/// prints is the job's: at most [`MAX_JOB_READ`] bytes within [`PROBE_TIME`] are read (one
/// endless line would otherwise all be held here), made printable, and a cut says so. Our
/// containers have no TTY, so the engine sends logs in frames of at most one log message
/// (16 KiB in the json-file and local drivers), and bollard never holds more than a frame.
pub async fn logs_tail(engine: &Engine, name: &str, lines: usize) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let stream = engine
        .docker
        .logs(name, Some(options))
        .map(|chunk| chunk.map(LogOutput::into_bytes));
    let deadline = tokio::time::Instant::now() + PROBE_TIME;
    bounded::collect(stream, MAX_JOB_READ, deadline)
        .await
        .shown()
}
