//! A stage that ran into a limit says so: one line per container of the job the kernel killed
//! a process in for memory during the stage (from the engine's `oom` events, certain), after
//! prepare and after every stage, passed or failed (a service killed for memory under a stage
//! that passes is still worth knowing); and, for a failed stage, one for the stage's own
//! container when it ends at its pids limit (inferred from its process count, so the line says
//! "probably"). Each names the limit's key and what raises it. Never read from the job: only
//! the engine's events and stats.

use crate::docker::{self, Engine};
use crate::env::JobEnv;
use crate::outcome::say;
use crate::settings::human_size;

/// The config key part and the job variable that raises a kind's memory.
fn kind_of(role: &str) -> (&'static str, Option<&'static str>, &'static str) {
    match role {
        "dind" => ("dind", Some("EXECUTOR_DIND_MEMORY"), "the dind sidecar"),
        "service" => ("services", Some("EXECUTOR_SERVICE_MEMORY"), "a service"),
        "helper" => ("helper", None, "the helper container"),
        _ => ("job", Some("EXECUTOR_MEMORY"), "the job container"),
    }
}

/// What set a memory limit: the job's own request (`variable`, when the job set it) or the
/// admin's key.
fn memory_key(kind: &str, variable: Option<&str>, env: &JobEnv) -> String {
    match variable {
        Some(v) if env.job_var_non_empty(v).is_some() => format!("the job's {v}"),
        _ => format!("limits.{kind}.memory"),
    }
}

/// Say what limits a failed stage ran into; whether the kernel killed anything for memory
/// under a limit of the job's own (which makes the failure the job's, even if the container
/// went with it).
pub async fn report(
    engine: &Engine,
    env: &JobEnv,
    key: &str,
    container: &str,
    in_helper: bool,
    since: (i64, u32),
) -> bool {
    let (killed_for_memory, pids) = futures_util::join!(
        memory_hits(engine, env, key, since),
        docker::limit_hits::pids(engine, container),
    );
    if let Some((current, limit)) = pids {
        // A fork that failed leaves the count at the limit while the stage's leftovers live.
        if limit > 0 && current + limit / 20 + 1 >= limit {
            let kind = if in_helper { "helper" } else { "job" };
            say(&format!(
                "container {container} runs {current} processes, at or near its pids limit of {limit} \
                 (limits.{kind}.pids): the stage probably failed to start more; no job \
                 variable raises it, the runner's admin can raise limits.{kind}.pids"
            ));
        }
    }
    killed_for_memory
}

/// One line per container of the job `key` the kernel killed a process in for memory since
/// `since`; whether any of them had a limit of the job's own (without one the host ran out).
pub async fn memory_hits(engine: &Engine, env: &JobEnv, key: &str, since: (i64, u32)) -> bool {
    let prefix = format!("{key}-");
    let hits = docker::limit_hits::oom_since(engine, &prefix, since).await;
    for hit in &hits {
        let (kind, variable, what) = kind_of(&hit.role);
        let limit = match hit.memory {
            0 => "no memory limit of its own (the host ran out)".to_string(),
            bytes => format!(
                "its memory limit of {} ({})",
                human_size(bytes),
                memory_key(kind, variable, env)
            ),
        };
        let raise = match variable {
            Some(v) => format!("the job may ask for more with {v}, up to its cap"),
            None => format!("the runner's admin can raise limits.{kind}.memory"),
        };
        say(&format!(
            "container {} ({what}) reached {limit} and the kernel killed a process in it; {raise}",
            hit.name
        ));
    }
    hits.iter().any(|h| h.memory != 0)
}

/// Why the container `name` died, when the kernel killed a process in it for memory since
/// `since` and it had a limit of its own: that limit is too small for it, which retrying cannot
/// change (without a limit of its own the host ran out, which is no one job's failure).
pub async fn too_little_memory(
    engine: &Engine,
    env: &JobEnv,
    name: &str,
    since: (i64, u32),
) -> Option<String> {
    let hits = docker::limit_hits::oom_since(engine, name, since).await;
    let hit = hits.iter().find(|h| h.name == name && h.memory != 0)?;
    let (kind, variable, _) = kind_of(&hit.role);
    let raise = match variable {
        Some(v) => format!("the job may ask for more with {v}, up to its cap"),
        None => format!("the runner's admin can raise limits.{kind}.memory"),
    };
    Some(format!(
        "its memory limit of {} ({}) is too small for it; {raise}",
        human_size(hit.memory),
        memory_key(kind, variable, env)
    ))
}

/// The stage after which the runner sends no more of the job's scripts: the usage report goes
/// with it (cleanup's output never reaches the job log).
pub const LAST_STAGE: &str = "cleanup_file_variables";

/// One line per container of the job: its peak memory and CPU time against its limits, as
/// the engine measured them, to size `limits:` and the job's requests by.
pub async fn usage_report(engine: &Engine, key: &str) {
    for u in docker::limit_hits::usage(engine, key).await {
        let (kind, _, what) = kind_of(&u.role);
        let memory = match u.memory_peak {
            Some(peak) => format!("peak memory {}", human_size(peak)),
            None => format!(
                "memory now {} (no peak kept: cgroup v2)",
                human_size(u.memory_now)
            ),
        };
        let memory_limit = match u.memory_limit {
            0 => "no limit".to_string(),
            bytes => format!("{} (limits.{kind}.memory)", human_size(bytes)),
        };
        let cpu_limit = match u.nano_cpus {
            0 => "no limit".to_string(),
            n => format!(
                "{} CPUs (limits.{kind}.cpus)",
                crate::settings::show_cpus(n / 1_000_000)
            ),
        };
        say(&format!(
            "usage of {} ({what}): {memory} of {memory_limit}; CPU time {:.1} s, limit {cpu_limit}",
            u.name,
            u.cpu_ns as f64 / 1e9
        ));
    }
}
