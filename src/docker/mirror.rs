//! The managed registry mirror (`mirror.managed`): one pull-through cache registry per engine
//! and upstream, which the driver starts on first need, reuses for every dind job, and joins
//! to each dind job's network under [`ALIAS`], so the inner daemons reach it and nothing else
//! of another job. It is not any job's: it carries no job key (cleanup leaves it), it keeps its
//! data on a volume of its own, and `executor gc` empties it past `mirror.max_size`. It only
//! ever proxies its upstream's public images: it holds no credentials, so a private image
//! fails there and the inner daemon then asks the registry itself, with the job's login.

use std::collections::HashMap;

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount as DockerMount, MountType,
    NetworkConnectRequest, VolumeCreateRequest,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, InspectContainerOptions};

use super::Engine;
use crate::outcome::Failure;
use crate::settings::Mirror;

pub use crate::plan::mirror::ALIAS;
use crate::plan::mirror::PORT;
/// On the mirror's container and volume: the upstream's short hash.
pub const LABEL_MIRROR: &str = "io.executor.mirror";
/// Where the registry keeps its data.
const DATA_DIR: &str = "/var/lib/registry";

/// The mirror's container name for `upstream` (its volume adds `-data`): one per upstream, so
/// runners of one engine with other upstreams keep apart.
pub fn name(mirror: &Mirror) -> String {
    // FNV-1a: a stable short name, not a secret.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in mirror.upstream.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    format!("executor-mirror-{hash:08x}")
}

/// The mirror running, made if missing, then joined to `network` (a dind job's) as [`ALIAS`].
/// `image_id` is the mirror image's, checked by prepare like every image it runs.
pub async fn attach(
    engine: &Engine,
    mirror: &Mirror,
    image_id: &str,
    network: &str,
) -> Result<(), Failure> {
    let name = name(mirror);
    let mut tries = 2;
    loop {
        ensure_running(engine, mirror, &name, image_id).await?;
        let request = NetworkConnectRequest {
            container: name.clone(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(vec![ALIAS.to_string()]),
                ..Default::default()
            }),
        };
        tries -= 1;
        match engine.docker.connect_network(network, request).await {
            Ok(()) => return Ok(()),
            // Joined already (a prepare attempt before this one).
            Err(e) if super::is_conflict(&e) || already_joined(&e) => return Ok(()),
            // `executor gc` emptied it between the two calls: made again, once.
            Err(e) if tries > 0 && super::is_not_found(&e) => continue,
            Err(e) => {
                return Err(Failure::system(
                    format!("join the registry mirror {name} to network {network}"),
                    e,
                ))
            }
        }
    }
}

fn already_joined(e: &BollardError) -> bool {
    matches!(e, BollardError::DockerResponseServerError { message, .. }
        if message.contains("already exists in network"))
}

async fn ensure_running(
    engine: &Engine,
    mirror: &Mirror,
    name: &str,
    image_id: &str,
) -> Result<(), Failure> {
    let running = match engine
        .docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
    {
        Ok(info) => {
            let labels = info.config.as_ref().and_then(|c| c.labels.as_ref());
            ours(name, labels)?;
            info.state.and_then(|s| s.running).unwrap_or(false)
        }
        Err(e) if super::is_not_found(&e) => {
            create(engine, mirror, name, image_id).await?;
            false
        }
        Err(e) => {
            return Err(Failure::system(
                format!("inspect the registry mirror {name}"),
                e,
            ))
        }
    };
    if running {
        return Ok(());
    }
    match engine.docker.start_container(name, None).await {
        Ok(()) => Ok(()),
        // Started by another prepare meanwhile (304).
        Err(BollardError::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        Err(e) => Err(Failure::system(
            format!("start the registry mirror {name}"),
            e,
        )),
    }
}

/// A container or volume named like the mirror but not labelled as the driver's is someone
/// else's (made by hand, or by a socket job ahead of the driver): it would sit on every dind
/// job's network, or serve its own blobs as the mirror's, so it is never used.
fn ours(name: &str, labels: Option<&HashMap<String, String>>) -> Result<(), Failure> {
    let wanted = name.trim_end_matches("-data");
    match labels.and_then(|l| l.get(LABEL_MIRROR)) {
        Some(value) if value == wanted => Ok(()),
        _ => Err(Failure::System(format!(
            "{name} on the engine is not the driver's registry mirror (no label \
             {LABEL_MIRROR}={wanted}); remove it (docker rm -f / docker volume rm) or set \
             mirror.managed: false"
        ))),
    }
}

/// The admin's `mirror.network` is there, checked before anything is made for the mirror.
async fn network_exists(engine: &Engine, network: &str) -> Result<(), Failure> {
    let options = bollard::query_parameters::InspectNetworkOptions::default();
    match engine.docker.inspect_network(network, Some(options)).await {
        Ok(_) => Ok(()),
        Err(e) if super::is_not_found(&e) => Err(Failure::System(format!(
            "mirror.network `{network}` is not a network on the engine; create it (docker \
             network create) or leave mirror.network out for the default bridge"
        ))),
        Err(e) => Err(Failure::system(format!("inspect network {network}"), e)),
    }
}

/// Its data volume and container; another prepare making them at the same moment is fine.
async fn create(
    engine: &Engine,
    mirror: &Mirror,
    name: &str,
    image_id: &str,
) -> Result<(), Failure> {
    let labels = HashMap::from([
        (crate::plan::LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_MIRROR.to_string(), name.to_string()),
    ]);
    network_exists(engine, &mirror.network).await?;
    let volume = format!("{name}-data");
    // Creating a volume that exists returns the one there, with its own labels.
    let made = engine
        .docker
        .create_volume(VolumeCreateRequest {
            name: Some(volume.clone()),
            labels: Some(labels.clone()),
            ..Default::default()
        })
        .await
        .map_err(|e| Failure::system(format!("create volume {volume}"), e))?;
    ours(&volume, Some(&made.labels))?;
    let body = ContainerCreateBody {
        image: Some(image_id.to_string()),
        env: Some(vec![
            format!("REGISTRY_PROXY_REMOTEURL={}", mirror.upstream),
            format!("REGISTRY_HTTP_ADDR=:{PORT}"),
            format!("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY={DATA_DIR}"),
            // Every dind job can reach it: none may delete what another job's daemon pulls.
            "REGISTRY_STORAGE_DELETE_ENABLED=false".to_string(),
        ]),
        labels: Some(labels),
        host_config: Some(HostConfig {
            mounts: Some(vec![DockerMount {
                typ: Some(MountType::VOLUME),
                source: Some(volume),
                target: Some(DATA_DIR.to_string()),
                ..Default::default()
            }]),
            // It sits on every dind job's network: it must never route between them.
            // Strict reverse-path filtering: a packet that claims a source address of
            // another job's network must arrive on that network's interface.
            sysctls: Some(HashMap::from([
                ("net.ipv4.ip_forward".to_string(), "0".to_string()),
                ("net.ipv6.conf.all.forwarding".to_string(), "0".to_string()),
                ("net.ipv4.conf.all.rp_filter".to_string(), "1".to_string()),
                (
                    "net.ipv4.conf.default.rp_filter".to_string(),
                    "1".to_string(),
                ),
            ])),
            // Where its upstream is reachable: the registry exits at start without it.
            network_mode: Some(mirror.network.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    match engine.docker.create_container(Some(options), body).await {
        Ok(_) => Ok(()),
        Err(e) if super::is_conflict(&e) => Ok(()),
        Err(e) => Err(Failure::system(
            format!("create the registry mirror {name}"),
            e,
        )),
    }
}

/// Before a job's network goes: every managed mirror on it leaves (a network with a container
/// on it cannot be removed). Whether one did.
pub async fn leave_all(engine: &Engine, network: &str) -> bool {
    let Ok(info) = engine
        .docker
        .inspect_network(
            network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
    else {
        return false;
    };
    let mirrors: Vec<String> = info
        .containers
        .unwrap_or_default()
        .into_values()
        .filter_map(|c| c.name)
        .filter(|name| name.starts_with("executor-mirror-"))
        .collect();
    for name in &mirrors {
        let request = bollard::models::NetworkDisconnectRequest {
            container: name.clone(),
            force: Some(true),
        };
        let _ = engine.docker.disconnect_network(network, request).await;
    }
    !mirrors.is_empty()
}

/// A managed mirror on the engine: its name, what it caches, whether it runs, and where its
/// data volume is.
pub struct Found {
    pub name: String,
    pub upstream: String,
    pub running: bool,
    pub mountpoint: Option<String>,
}

impl Found {
    /// Its data's size, measured as the layer caches are (bounded in time; on this host's
    /// disk or through the engine).
    pub async fn size(
        &self,
        engine: &Engine,
        settings: &crate::settings::Settings,
    ) -> Result<u64, crate::disk::Unmeasured> {
        let volume = format!("{}-data", self.name);
        let mountpoint = self.mountpoint.as_deref().unwrap_or_default();
        super::host_task::measure_volume(engine, settings, &volume, mountpoint).await
    }
}

/// Every managed mirror on the engine (one per upstream any runner used).
pub async fn find_all(engine: &Engine) -> Result<Vec<Found>, Failure> {
    let containers = super::dind::containers_labelled(engine, &[LABEL_MIRROR.to_string()]).await?;
    let mut found = Vec::new();
    for c in containers {
        let name = c.name.clone();
        if !name.starts_with("executor-mirror-") {
            continue;
        }
        let info = match engine
            .docker
            .inspect_container(&name, None::<InspectContainerOptions>)
            .await
        {
            Ok(info) => info,
            // Removed since it was listed.
            Err(e) if super::is_not_found(&e) => continue,
            Err(e) => {
                return Err(Failure::system(
                    format!("inspect the registry mirror {name}"),
                    e,
                ))
            }
        };
        let running = info.state.and_then(|s| s.running).unwrap_or(false);
        let upstream = info
            .config
            .and_then(|c| c.env)
            .unwrap_or_default()
            .iter()
            .find_map(|e| e.strip_prefix("REGISTRY_PROXY_REMOTEURL="))
            .map(crate::outcome::one_line)
            .unwrap_or_default();
        let mountpoint = engine
            .docker
            .inspect_volume(&format!("{name}-data"))
            .await
            .ok()
            .map(|v| v.mountpoint);
        found.push(Found {
            name,
            upstream,
            running,
            mountpoint,
        });
    }
    Ok(found)
}

/// Remove a mirror and its data (gc, past `mirror.max_size`): the next dind job makes it
/// again, empty. Whether it was there.
pub async fn remove(engine: &Engine, name: &str) -> Result<bool, Failure> {
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let container = match engine.docker.remove_container(name, Some(options)).await {
        Ok(()) => true,
        Err(e) if super::is_not_found(&e) => false,
        Err(e) => {
            return Err(Failure::system(
                format!("remove the registry mirror {name}"),
                e,
            ))
        }
    };
    let volume = super::dind::remove_volume_named(engine, &format!("{name}-data")).await?;
    Ok(container || volume)
}

#[cfg(test)]
mod tests {
    use crate::settings::Settings;

    #[test]
    fn one_mirror_per_upstream() {
        let hub = Settings::from_text("mirror:\n  managed: true\n", "t").unwrap();
        let other =
            Settings::from_text("mirror:\n  upstream: http://upstream.internal:5000\n", "t")
                .unwrap();
        let (a, b) = (super::name(&hub.mirror), super::name(&other.mirror));
        assert!(a.starts_with("executor-mirror-") && a.len() == "executor-mirror-".len() + 8);
        assert_ne!(a, b);
        assert_eq!(a, super::name(&hub.mirror));
    }
}
