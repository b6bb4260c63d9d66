//! Warm sidecars (`dind.warm`), the pure part: what a warm set for a slot is named and holds,
//! what a job requires of one (its template), and how a job's plan reads once it adopts one.
//!
//! A warm set is a job's dind resources (sidecar, network, socket, certificate, builds and data
//! volumes) made for no job yet, right after the slot's previous job was cleaned up, so the
//! next job's prepare adopts a daemon that has already booted. Everything in it is new: no job
//! ever used its volumes. Its resources carry [`LABEL_WARM_KEY`] instead of a job key; the job
//! that adopts it renames the sidecar to its own sidecar name, and its job container carries
//! the warm key too, so cleanup and gc find the set from either.

use std::collections::BTreeMap;

use super::{
    ContainerSpec, Mount, Plan, VolumeSpec, LABEL_JOB_ID, LABEL_JOB_KEY, LABEL_PIPELINE_ID,
    NETWORK_VARIABLE,
};

/// Label of every resource of a warm set, and of the job container that adopted it.
pub const LABEL_WARM_KEY: &str = "io.executor.warm-key";
/// Label of a warm sidecar that holds a project layer cache: the cache volume's name.
pub const LABEL_WARM_CACHE: &str = "io.executor.warm-cache";
/// Label of a warm sidecar: the [`Plan::warm_template`] it was made for.
pub const LABEL_WARM_TEMPLATE: &str = "io.executor.warm-template";

/// A warm set to create.
#[derive(Debug, Clone)]
pub struct WarmSet {
    pub key: String,
    pub network: String,
    pub network_labels: BTreeMap<String, String>,
    /// Volumes to create; a project cache volume is not among them (it exists already).
    pub volumes: Vec<VolumeSpec>,
    /// Whoever removes this (never mounted) volume owns the set: the engine removes a volume
    /// once, so of a job adopting the set and anyone discarding it exactly one wins. (Renames
    /// are no such claim: the engine resolves a name to a container before renaming it, so two
    /// renames of one name can both land on the same container.)
    pub token: VolumeSpec,
    pub sidecar: ContainerSpec,
}

/// The name of the warm set `key`'s token volume.
pub fn warm_token_name(key: &str) -> String {
    format!("{key}-token")
}

/// The stem of a warm set's names: runner and slot (it belongs to no project or job yet), and
/// a nonce so a set made while an old one is still being removed never collides with it.
pub fn warm_key(runner_id: &str, manager_id: &str, slot: &str, nonce: &str) -> String {
    format!(
        "{}-c{slot}-w{nonce}",
        super::identity::runner_stem(runner_id, manager_id)
    )
}

/// A job resource's labels made a warm set's: those that name one job (its key, id and
/// pipeline) gone, the warm key added. Shared by warm sidecars and warm job sets.
pub fn warm_labels(labels: &BTreeMap<String, String>, key: &str) -> BTreeMap<String, String> {
    let mut labels = labels.clone();
    for job_only in [LABEL_JOB_KEY, LABEL_JOB_ID, LABEL_PIPELINE_ID] {
        labels.remove(job_only);
    }
    labels.insert(LABEL_WARM_KEY.into(), key.into());
    labels
}

/// The sidecar name of the warm set `key`.
pub fn warm_sidecar_name(key: &str) -> String {
    format!("{key}-dind")
}

impl Plan {
    /// What a sidecar must be for this job to adopt it: image, privileges, runtime, command,
    /// environment, mounts (named by role, with a project cache by its full name, so a cache
    /// is never adopted across projects), network MTU and TLS. `None` outside dind mode.
    pub fn warm_template(&self) -> Option<String> {
        let sidecar = self.sidecar.as_ref()?;
        let key = self.identity.key();
        let mounts: Vec<(String, String)> = sidecar
            .mounts
            .iter()
            .map(|m| match m {
                Mount::Volume { name, target, .. } => (
                    name.strip_prefix(&key).unwrap_or(name).to_string(),
                    target.clone(),
                ),
                other => (format!("{other:?}"), other.target().to_string()),
            })
            .collect();
        let template = serde_json::json!({
            "image": sidecar.image,
            "privileged": sidecar.privileged,
            "runtime": sidecar.runtime,
            "cmd": sidecar.cmd,
            "env": sidecar.env,
            "mounts": mounts,
            "mtu": self.mtu,
            // Name resolution from `container:`: a sidecar made under other settings resolves
            // names differently, so it is not adopted.
            "extra_hosts": sidecar.options.extra_hosts,
            "dns": sidecar.options.dns,
            "dns_search": sidecar.options.dns_search,
            "tls": self.tls.as_ref().map(|t| &t.extra_sans),
            // Limits are fixed at create: a job asking for others (EXECUTOR_DIND_*) starts cold.
            "limits": [
                sidecar.limits.cpus,
                sidecar.limits.memory,
                sidecar.limits.pids,
                sidecar.limits.shm_size,
                sidecar.limits.nofile,
            ],
        });
        Some(template.to_string())
    }

    /// The warm set this job's sidecar would be, named `key` (see [`warm_key`]).
    pub fn warm_set(&self, key: &str) -> Option<WarmSet> {
        let template = self.warm_template()?;
        let job_key = self.identity.key();
        let relabel = |labels: &BTreeMap<String, String>| warm_labels(labels, key);
        let rename = |name: &str| match name.strip_prefix(&job_key) {
            Some(suffix) => format!("{key}{suffix}"),
            None => name.to_string(),
        };
        let mut sidecar = self.sidecar.clone()?;
        sidecar.name = warm_sidecar_name(key);
        sidecar.network = key.to_string();
        sidecar.labels = relabel(&sidecar.labels);
        sidecar.labels.insert(LABEL_WARM_TEMPLATE.into(), template);
        for mount in &mut sidecar.mounts {
            if let Mount::Volume { name, .. } = mount {
                *name = rename(name);
            }
        }
        // The sidecar's volumes only: the job container's are the same ones.
        let volumes = self
            .volumes
            .iter()
            .map(|v| VolumeSpec {
                name: rename(&v.name),
                labels: relabel(&v.labels),
            })
            .collect();
        let mut token_labels = relabel(&self.network_labels);
        token_labels.insert(super::LABEL_ROLE.into(), "warm-token".into());
        Some(WarmSet {
            key: key.to_string(),
            network: key.to_string(),
            network_labels: relabel(&self.network_labels),
            volumes,
            token: VolumeSpec {
                name: warm_token_name(key),
                labels: token_labels,
            },
            sidecar,
        })
    }

    /// This plan once it adopts the warm set `key`: the job container joins the set's network
    /// and mounts its volumes, and nothing but the job container is left to create.
    pub fn adopt(&self, key: &str) -> Plan {
        let job_key = self.identity.key();
        let mut plan = self.clone();
        plan.network = key.to_string();
        plan.volumes.clear();
        let containers = std::iter::once(&mut plan.job)
            .chain(plan.helper.as_mut())
            .chain(plan.services.iter_mut());
        for container in containers {
            container.network = key.to_string();
            container.labels.insert(LABEL_WARM_KEY.into(), key.into());
            for (name, value) in &mut container.env {
                if name == NETWORK_VARIABLE {
                    *value = key.to_string();
                }
            }
            // Only the set's own volumes: a per-job cache_dir stays the job's.
            for mount in &mut container.mounts {
                if let Mount::Volume { name, .. } = mount {
                    let in_set = self.volumes.iter().any(|v| v.name == *name);
                    if let Some(suffix) = name.strip_prefix(&job_key).filter(|_| in_set) {
                        *name = format!("{key}{suffix}");
                    }
                }
            }
        }
        plan
    }
}
