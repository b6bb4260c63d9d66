//! What the engine knows about a job's containers hitting their limits: its `oom` events (one
//! for every process the kernel killed in a container's memory cgroup, whichever process it
//! was, while `OOMKilled` is set only when the container's main process died), and a
//! container's current and maximum pids. Read with a timeout and a bound on events, since a
//! busy engine may have many.

use std::time::Duration;

use bollard::models::EventMessageTypeEnum;
use bollard::query_parameters::{
    EventsOptionsBuilder, InspectContainerOptions, StatsOptionsBuilder,
};
use futures_util::StreamExt;

use super::Engine;

/// The most `oom` events read for one stage.
const MAX_EVENTS: usize = 256;
/// How long the engine may take to list them.
const ASK_TIME: Duration = Duration::from_secs(3);

/// A container of the job the kernel killed a process in, with its role label and memory
/// limit (bytes, 0 for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OomHit {
    pub name: String,
    pub role: String,
    pub memory: u64,
}

/// The most containers of one job whose events are asked for.
const MAX_CONTAINERS: usize = 64;

/// The containers (`all`: in any state, else running) with a name starting with `prefix`, as
/// (id, name), at most `max`; none when the engine does not answer in time.
async fn listed(engine: &Engine, prefix: &str, all: bool, max: usize) -> Vec<(String, String)> {
    let filters =
        std::collections::HashMap::from([("name".to_string(), vec![format!("^/{prefix}")])]);
    let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(all)
        .filters(&filters)
        .build();
    let Ok(Ok(list)) =
        tokio::time::timeout(ASK_TIME, engine.docker.list_containers(Some(options))).await
    else {
        return Vec::new();
    };
    list.into_iter()
        .filter_map(|c| {
            // The engine's filter is a pattern; the name itself is checked here.
            let name = c.names?.into_iter().next()?;
            let name = name.trim_start_matches('/').to_string();
            Some((c.id?, name)).filter(|(_, n)| n.starts_with(prefix))
        })
        .take(max)
        .collect()
}

/// The ids of the containers (any state) whose name starts with `prefix`.
async fn named(engine: &Engine, prefix: &str) -> Vec<String> {
    let found = listed(engine, prefix, true, MAX_CONTAINERS).await;
    found.into_iter().map(|(id, _)| id).collect()
}

/// Containers whose name starts with `prefix` (the job key and `-`) that had a process killed
/// for memory between `since` (unix seconds, nanoseconds) and now, each once. The engine is
/// asked for these containers' events alone, so other jobs' kills (a hostile job's hog may
/// cause thousands) neither use up the bound nor hide this job's.
pub async fn oom_since(engine: &Engine, prefix: &str, since: (i64, u32)) -> Vec<OomHit> {
    let containers = named(engine, prefix).await;
    if containers.is_empty() {
        return Vec::new();
    }
    let filters = std::collections::HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("event".to_string(), vec!["oom".to_string()]),
        ("container".to_string(), containers),
    ]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let until = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
    let options = EventsOptionsBuilder::new()
        .since(&format!("{}.{:09}", since.0, since.1))
        .until(&until)
        .filters(&filters)
        .build();
    let mut names: Vec<String> = Vec::new();
    let listing = async {
        let mut events = engine.docker.events(Some(options)).take(MAX_EVENTS);
        while let Some(Ok(event)) = events.next().await {
            if event.typ != Some(EventMessageTypeEnum::CONTAINER) {
                continue;
            }
            let name = event
                .actor
                .and_then(|a| a.attributes)
                .and_then(|mut a| a.remove("name"))
                .unwrap_or_default();
            if name.starts_with(prefix) && !names.contains(&name) {
                names.push(name);
            }
        }
    };
    // An engine that does not answer in time: no hits known, which only costs the line.
    let _ = tokio::time::timeout(ASK_TIME, listing).await;
    let mut hits = Vec::new();
    for name in names {
        let inspect = engine
            .docker
            .inspect_container(&name, None::<InspectContainerOptions>);
        let Ok(Ok(info)) = tokio::time::timeout(ASK_TIME, inspect).await else {
            continue;
        };
        let role = info
            .config
            .and_then(|c| c.labels)
            .and_then(|mut l| l.remove(crate::plan::LABEL_ROLE))
            .unwrap_or_default();
        let memory = info
            .host_config
            .and_then(|h| h.memory)
            .and_then(|m| u64::try_from(m).ok())
            .unwrap_or(0);
        hits.push(OomHit { name, role, memory });
    }
    hits
}

/// The container's processes now and its pids limit, from the engine's one-shot stats.
pub async fn pids(engine: &Engine, name: &str) -> Option<(u64, u64)> {
    let options = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(true)
        .build();
    let ask = async {
        let mut stats = engine.docker.stats(name, Some(options));
        stats.next().await?.ok()
    };
    let stats = tokio::time::timeout(ASK_TIME, ask).await.ok()??;
    let p = stats.pids_stats?;
    Some((p.current?, p.limit?))
}

/// The most containers one usage report covers (a socket job can name containers after its
/// own job key on the host engine; they are reported, never more than this).
const MAX_REPORTED: usize = 16;

/// One container's use of its limits, from the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub name: String,
    pub role: String,
    /// The most memory it held (cgroup v1, or v2's `memory.peak` when read from the cgroup's
    /// files); `None` where neither gives one.
    pub memory_peak: Option<u64>,
    pub memory_now: u64,
    pub memory_limit: u64,
    /// CPU time used, in nanoseconds.
    pub cpu_ns: u64,
    /// Its CPU limit in billionths of a CPU (0: none).
    pub nano_cpus: u64,
}

/// The usage of every running container named after `key` (the job key and `-`).
pub async fn usage(engine: &Engine, key: &str) -> Vec<Usage> {
    let running = listed(engine, &format!("{key}-"), false, MAX_REPORTED).await;
    let each = running.into_iter().map(|(_, name)| one(engine, name));
    let mut found: Vec<Usage> = futures_util::future::join_all(each)
        .await
        .into_iter()
        .flatten()
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

async fn one(engine: &Engine, name: String) -> Option<Usage> {
    let options = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(true)
        .build();
    let ask = async {
        let info = engine
            .docker
            .inspect_container(&name, None::<InspectContainerOptions>)
            .await
            .ok()?;
        // On this host the cgroup's files answer at once; the engine's stats at its next tick.
        let local = engine
            .is_local()
            .then(|| info.id.as_deref().and_then(super::cgroup_usage::read))
            .flatten();
        let read = match local {
            Some(read) => read,
            None => {
                let mut stats = engine.docker.stats(&name, Some(options));
                from_stats(stats.next().await?.ok()?)
            }
        };
        Some((info, read))
    };
    let (info, read) = tokio::time::timeout(ASK_TIME, ask).await.ok()??;
    let host = info.host_config.unwrap_or_default();
    let positive = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    Some(Usage {
        role: info
            .config
            .and_then(|c| c.labels)
            .and_then(|mut l| l.remove(crate::plan::LABEL_ROLE))
            .unwrap_or_default(),
        name,
        memory_peak: read.memory_peak.filter(|&m| m > 0),
        memory_now: read.memory_now,
        memory_limit: positive(host.memory),
        cpu_ns: read.cpu_ns,
        nano_cpus: positive(host.nano_cpus),
    })
}

fn from_stats(stats: bollard::models::ContainerStatsResponse) -> super::cgroup_usage::Read {
    let memory = stats.memory_stats.unwrap_or_default();
    super::cgroup_usage::Read {
        memory_peak: memory.max_usage,
        memory_now: memory.usage.unwrap_or(0),
        cpu_ns: stats
            .cpu_stats
            .and_then(|c| c.cpu_usage)
            .and_then(|u| u.total_usage)
            .unwrap_or(0),
    }
}
