//! What dind's extras need from the engine: files put into a created container, renaming,
//! graceful stops, the containers holding a volume, and the warm sidecars of a slot.

use std::collections::HashMap;

use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, ListVolumesOptionsBuilder,
    RenameContainerOptionsBuilder, StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};

use super::{is_not_found, remove_labelled_but, Engine, Removed};
use crate::outcome::Failure;
use crate::plan::warm::LABEL_WARM_KEY;
use crate::plan::{LABEL_JOB_KEY, LABEL_ROLE, LABEL_RUNNER_ID, ROLE_CACHE, ROLE_CACHE_DIR};
use crate::tls::CertFile;

/// A container as a list shows it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub labels: HashMap<String, String>,
    pub running: bool,
    /// Unix seconds.
    pub created: i64,
    /// The id of the image it runs.
    pub image_id: String,
}

/// Write `files` under `base` in a created (not yet started) container, in one tar upload;
/// paths inside mounted volumes land in the volumes.
pub async fn put_files(
    engine: &Engine,
    container: &str,
    base: &str,
    files: &[CertFile],
) -> Result<(), Failure> {
    let mut archive = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.contents.len() as u64);
        header.set_mode(file.mode);
        header.set_mtime(0);
        header.set_cksum();
        archive
            .append_data(&mut header, file.path, file.contents.as_bytes())
            .map_err(|e| Failure::System(format!("pack files for {container}: {e}")))?;
    }
    let bytes = archive
        .into_inner()
        .map_err(|e| Failure::System(format!("pack files for {container}: {e}")))?;
    let options = UploadToContainerOptionsBuilder::default()
        .path(base)
        .build();
    engine
        .docker
        .upload_to_container(container, Some(options), bollard::body_full(bytes.into()))
        .await
        .map_err(|e| Failure::system(format!("put files into {container}:{base}"), e))
}

/// Rename a container; `Ok(false)` when it no longer exists.
pub async fn rename_container(engine: &Engine, from: &str, to: &str) -> Result<bool, Failure> {
    let options = RenameContainerOptionsBuilder::default().name(to).build();
    match engine.docker.rename_container(from, options).await {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(Failure::system(format!("rename container {from}"), e)),
    }
}

/// Stop a container gracefully, killing it after `grace_secs`; a missing one is stopped.
pub async fn stop_container(engine: &Engine, name: &str, grace_secs: i32) -> Result<(), Failure> {
    let options = StopContainerOptionsBuilder::default().t(grace_secs).build();
    match engine.docker.stop_container(name, Some(options)).await {
        Err(e) if !is_not_found(&e) => Err(Failure::system(format!("stop container {name}"), e)),
        _ => Ok(()),
    }
}

/// Containers carrying every label in `labels` (`name` or `name=value`).
pub async fn containers_labelled(
    engine: &Engine,
    labels: &[String],
) -> Result<Vec<Listed>, Failure> {
    list(
        engine,
        HashMap::from([("label".to_string(), labels.to_vec())]),
    )
    .await
}

/// Containers that mount the named volume, running or not.
pub async fn volume_holders(engine: &Engine, volume: &str) -> Result<Vec<Listed>, Failure> {
    list(
        engine,
        HashMap::from([("volume".to_string(), vec![volume.to_string()])]),
    )
    .await
}

async fn list(
    engine: &Engine,
    filters: HashMap<String, Vec<String>>,
) -> Result<Vec<Listed>, Failure> {
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let list = engine.docker.list_containers(Some(options)).await;
    let list = list.map_err(|e| Failure::system("list containers", e))?;
    Ok(list
        .into_iter()
        .map(|c| Listed {
            name: c
                .names
                .and_then(|n| n.into_iter().next())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default(),
            labels: c.labels.unwrap_or_default(),
            running: c.state.is_some_and(|s| s.to_string() == "running"),
            created: c.created.unwrap_or(0),
            image_id: c.image_id.unwrap_or_default(),
        })
        .collect())
}

/// Where the container's mount at `target` keeps its data on the engine's host.
pub async fn mount_source(
    engine: &Engine,
    container: &str,
    target: &str,
) -> Result<Option<String>, Failure> {
    let info = engine
        .docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .await
        .map_err(|e| Failure::system(format!("inspect container {container}"), e))?;
    Ok(info
        .mounts
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.destination.as_deref() == Some(target))
        .and_then(|m| m.source))
}

/// The named volume `container` mounts at `target`; `None` when the container does not exist
/// or mounts no volume there.
pub async fn mounted_volume(
    engine: &Engine,
    container: &str,
    target: &str,
) -> Result<Option<String>, Failure> {
    let info = match engine
        .docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .await
    {
        Ok(info) => info,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(Failure::system(format!("inspect container {container}"), e)),
    };
    Ok(info
        .mounts
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.destination.as_deref() == Some(target))
        .and_then(|m| m.name))
}

/// The labels of a container, `None` when it does not exist.
pub async fn labels_of(
    engine: &Engine,
    name: &str,
) -> Result<Option<HashMap<String, String>>, Failure> {
    match engine
        .docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
    {
        Ok(info) => Ok(Some(info.config.and_then(|c| c.labels).unwrap_or_default())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(Failure::system(format!("inspect container {name}"), e)),
    }
}

/// Remove a job's resources and any warm set it adopted (found from its job container's label
/// or its renamed sidecar), so a job that adopted one leaves as little as one that did not.
pub async fn remove_job(engine: &Engine, key: &str) -> Result<Removed, Failure> {
    remove_job_but(engine, key, None).await
}

/// As [`remove_job`]; with `kept`, the networks are left and their ids added to it (also
/// when the removal fails later), as [`remove_labelled_but`] does.
pub async fn remove_job_but(
    engine: &Engine,
    key: &str,
    mut kept: Option<&mut Vec<String>>,
) -> Result<Removed, Failure> {
    let (job, sidecar) = (format!("{key}-job"), format!("{key}-dind"));
    let (job, sidecar) = futures_util::join!(labels_of(engine, &job), labels_of(engine, &sidecar));
    let mut labels = vec![format!("{LABEL_JOB_KEY}={key}")];
    let mut warm_keys = Vec::new();
    for found in [job?, sidecar?].into_iter().flatten() {
        warm_keys.extend(found.get(LABEL_WARM_KEY).cloned());
    }
    warm_keys.sort();
    warm_keys.dedup();
    labels.extend(warm_keys.iter().map(|w| format!("{LABEL_WARM_KEY}={w}")));
    let mut removed = Removed::default();
    for label in labels {
        removed += remove_labelled_but(engine, &label, kept.as_deref_mut()).await?;
    }
    Ok(removed)
}

/// Whether volume `name` exists (an engine that does not answer counts as no).
pub async fn volume_exists(engine: &Engine, name: &str) -> bool {
    engine.docker.inspect_volume(name).await.is_ok()
}

/// Remove one volume by name; `Ok(false)` when it was already gone.
pub async fn remove_volume_named(engine: &Engine, name: &str) -> Result<bool, Failure> {
    match engine
        .docker
        .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(Failure::system(format!("remove volume {name}"), e)),
    }
}

/// A project layer cache volume, as `doctor` and `gc` report it.
#[derive(Debug, Clone)]
pub struct CacheVolume {
    pub name: String,
    pub labels: HashMap<String, String>,
    /// Where the engine keeps its data, on the engine's host.
    pub mountpoint: String,
    /// Names of the containers using it.
    pub holders: Vec<String>,
}

/// Every kept project volume (dind layer caches and `cache_dir` volumes), with the containers
/// that hold it.
pub async fn cache_volumes(
    engine: &Engine,
    runner_id: Option<&str>,
) -> Result<Vec<CacheVolume>, Failure> {
    let mut caches = Vec::new();
    for role in [ROLE_CACHE, ROLE_CACHE_DIR] {
        let mut labels = vec![format!("{LABEL_ROLE}={role}")];
        if let Some(id) = runner_id {
            labels.push(format!("{LABEL_RUNNER_ID}={id}"));
        }
        let filters = HashMap::from([("label".to_string(), labels)]);
        let options = ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let list = engine.docker.list_volumes(Some(options)).await;
        let list = list.map_err(|e| Failure::system("list volumes", e))?;
        for v in list.volumes.unwrap_or_default() {
            let holders = volume_holders(engine, &v.name).await?;
            caches.push(CacheVolume {
                holders: holders.into_iter().map(|h| h.name).collect(),
                name: v.name,
                labels: v.labels,
                mountpoint: v.mountpoint,
            });
        }
    }
    Ok(caches)
}
