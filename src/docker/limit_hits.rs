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

/// Containers whose name starts with `prefix` (the job key and `-`) that had a process killed
/// for memory between `since` (unix seconds, nanoseconds) and now, each once.
pub async fn oom_since(engine: &Engine, prefix: &str, since: (i64, u32)) -> Vec<OomHit> {
    let filters = std::collections::HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("event".to_string(), vec!["oom".to_string()]),
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
        let Ok(info) = engine
            .docker
            .inspect_container(&name, None::<InspectContainerOptions>)
            .await
        else {
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
