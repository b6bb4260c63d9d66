//! What `executor doctor` asks the engine: its runtimes, whether an image is there, whether a
//! privileged container can start on this host.

use std::collections::BTreeMap;

use bollard::query_parameters::RemoveContainerOptionsBuilder;

use super::{is_not_found, Engine};
use crate::plan::{ContainerSpec, Role, LABEL_MANAGED, LABEL_ROLE};

/// Names of the OCI runtimes the engine has registered (e.g. `runc`, `sysbox-runc`).
pub async fn runtimes(engine: &Engine) -> Result<Vec<String>, String> {
    let info = engine.docker.info().await.map_err(|e| e.to_string())?;
    Ok(info
        .runtimes
        .map(|r| r.into_keys().collect())
        .unwrap_or_default())
}

/// What the engine says it enforces: (cgroup version, memory, swap, pids, CPU quota).
pub async fn limit_support(engine: &Engine) -> Result<(String, [bool; 4]), String> {
    let info = engine.docker.info().await.map_err(|e| e.to_string())?;
    let version = info
        .cgroup_version
        .map(|v| v.to_string())
        .unwrap_or_else(|| "?".into());
    let yes = |b: Option<bool>| b.unwrap_or(false);
    Ok((
        version,
        [
            yes(info.memory_limit),
            yes(info.swap_limit),
            yes(info.pids_limit),
            yes(info.cpu_cfs_quota),
        ],
    ))
}

/// The MTU the engine gives its default bridge (its `--mtu`), when it says.
pub async fn engine_mtu(engine: &Engine) -> Option<u32> {
    let options = None::<bollard::query_parameters::InspectNetworkOptions>;
    let bridge = engine
        .docker
        .inspect_network("bridge", options)
        .await
        .ok()?;
    bridge.options?.get(MTU_OPTION)?.parse().ok()
}

/// The bridge driver's MTU option.
pub const MTU_OPTION: &str = "com.docker.network.driver.mtu";

/// Whether the image is on the engine.
pub async fn image_present(engine: &Engine, image: &str) -> Result<bool, String> {
    match engine.docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// Start a privileged container from `image` running `true`, then remove it with its volumes.
pub async fn privileged_starts(engine: &Engine, image: &str, network: &str) -> Result<(), String> {
    let name = format!("executor-doctor-{}", std::process::id());
    let mut spec = ContainerSpec::tool(
        name.clone(),
        Role::Dind,
        image,
        "true".into(),
        network,
        Vec::new(),
        BTreeMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_ROLE.to_string(), "doctor".to_string()),
        ]),
    );
    spec.privileged = true;
    let started = async {
        super::create_container(engine, &spec)
            .await
            .map_err(|e| e.to_string())?;
        super::start_container(engine, &name)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let _ = engine.docker.remove_container(&name, Some(options)).await;
    started
}

/// The engine's bridge networks: for each, whether the driver made it (`io.executor.managed`).
/// Each takes one subnet of the engine's address pools.
pub async fn bridge_networks(engine: &Engine) -> Result<Vec<bool>, String> {
    let filters =
        std::collections::HashMap::from([("driver".to_string(), vec!["bridge".to_string()])]);
    let options = bollard::query_parameters::ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    let networks = engine
        .docker
        .list_networks(Some(options))
        .await
        .map_err(|e| e.to_string())?;
    Ok(networks
        .into_iter()
        .map(|n| n.labels.unwrap_or_default().contains_key(LABEL_MANAGED))
        .collect())
}
