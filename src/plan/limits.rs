//! Each container's resource limits: the admin's `limits:` for its kind, or what the job asks
//! for by variable within its cap (`limits.max`, or the deciding policy rule's `max:`). A
//! request over the cap is refused before anything is made, never clamped; only the engine's
//! CPU count clamps, at prepare, with a line saying so.

use super::identity::{printable, PlanError};
use super::Role;
use crate::env::JobEnv;
use crate::payload::TrustedFacts;
use crate::settings::{human_size, parse_cpus, show_cpus, Caps, Settings, MIN_CPUS};

/// The variables a job may request with, by container kind: (CPUs, memory).
pub const JOB_REQUESTS: (&str, &str) = ("EXECUTOR_CPUS", "EXECUTOR_MEMORY");
pub const DIND_REQUESTS: (&str, &str) = ("EXECUTOR_DIND_CPUS", "EXECUTOR_DIND_MEMORY");
pub const SERVICE_REQUESTS: (&str, &str) = ("EXECUTOR_SERVICE_CPUS", "EXECUTOR_SERVICE_MEMORY");

/// Below this a service's or sidecar's own HEALTHCHECK interval is raised to it: a check every
/// millisecond is a process spawned a thousand times a second on the host.
pub const HEALTHCHECK_FLOOR_SECS: u64 = 1;

/// What the engine gets for one container; 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContainerLimits {
    /// Thousandths of a CPU.
    pub cpus: u64,
    pub memory: u64,
    pub pids: u64,
    pub shm_size: u64,
    pub nofile: u64,
    /// The image's HEALTHCHECK is switched off (job and helper containers); otherwise it is
    /// kept with its interval raised to [`HEALTHCHECK_FLOOR_SECS`].
    pub no_healthcheck: bool,
    /// The raised interval and start interval (ns) where the image's are below the floor;
    /// set at prepare from the image ([`ContainerLimits::with_image_health`]).
    pub health_intervals: Option<[i64; 2]>,
}

impl ContainerLimits {
    /// For `--dry-run` and prepare's lines: `cpus 2, memory 4.0 GiB, pids 4096`.
    pub fn describe(&self) -> String {
        let or_none = |n: u64, shown: String| if n == 0 { "none".into() } else { shown };
        let mut parts = vec![
            format!("cpus {}", or_none(self.cpus, show_cpus(self.cpus))),
            format!("memory {}", or_none(self.memory, human_size(self.memory))),
            format!("pids {}", or_none(self.pids, self.pids.to_string())),
        ];
        if self.shm_size != 0 {
            parts.push(format!("shm {}", human_size(self.shm_size)));
        }
        if self.nofile != 0 {
            parts.push(format!("nofile {}", self.nofile));
        }
        parts.push(match self.no_healthcheck {
            true => "image healthcheck off".into(),
            false => format!("image healthcheck at most every {HEALTHCHECK_FLOOR_SECS} s"),
        });
        parts.join(", ")
    }
}

impl ContainerLimits {
    /// Given the image's HEALTHCHECK intervals: those under the floor are raised to it. 0 is
    /// the engine's default; a negative one (a hand-made image config; the engine checks only
    /// a create's own values) the engine waits for not at all, so it is raised too.
    pub fn with_image_health(mut self, [interval, start]: [i64; 2]) -> ContainerLimits {
        let floor = (HEALTHCHECK_FLOOR_SECS * 1_000_000_000) as i64;
        let raise = |ns: i64| if ns != 0 && ns < floor { floor } else { ns };
        let raised = [raise(interval), raise(start)];
        self.health_intervals =
            (!self.no_healthcheck && raised != [interval, start]).then_some(raised);
        self
    }
}

/// The limits of a container of `role` for this job.
pub fn for_role(
    settings: &Settings,
    env: &JobEnv,
    facts: Option<&TrustedFacts>,
    role: Role,
) -> Result<ContainerLimits, PlanError> {
    let l = &settings.limits;
    let (caps, requests, kind) = match role {
        Role::Job => (l.job, Some(JOB_REQUESTS), "job"),
        Role::Dind => (l.dind, Some(DIND_REQUESTS), "dind"),
        Role::Service => (l.services, Some(SERVICE_REQUESTS), "services"),
        Role::Helper => (l.helper, None, "helper"),
    };
    let caps = match requests {
        Some(names) => requested(settings, env, facts, caps, names, kind)?,
        None => caps,
    };
    let shm = matches!(role, Role::Job | Role::Service);
    Ok(ContainerLimits {
        cpus: caps.cpus,
        memory: caps.memory,
        pids: caps.pids,
        shm_size: if shm { l.shm_size } else { 0 },
        // dockerd in the sidecar raises its own open-files limit; a lower one would starve it.
        nofile: if role == Role::Dind { 0 } else { l.nofile },
        no_healthcheck: matches!(role, Role::Job | Role::Helper),
        health_intervals: None,
    })
}

/// `caps` with the job's requests in place, each within its cap.
fn requested(
    settings: &Settings,
    env: &JobEnv,
    facts: Option<&TrustedFacts>,
    mut caps: Caps,
    (cpus_var, memory_var): (&str, &str),
    kind: &str,
) -> Result<Caps, PlanError> {
    let (cap, by) = super::policy::request_cap(settings, facts);
    if let Some(value) = env.job_var_non_empty(cpus_var) {
        let asked = parse_cpus(value)
            .map_err(|_| bad_value(cpus_var, value, "a number of CPUs, e.g. 0.5 or 2"))?;
        check(
            cpus_var,
            value,
            asked,
            cap.cpus,
            &format!("{by}.cpus"),
            kind,
            "cpus",
        )?;
        if asked != 0 && asked < MIN_CPUS {
            return Err(PlanError(format!(
                "{cpus_var}={} is under 0.01 CPUs, the least the kernel can hold; ask for more",
                printable(value)
            )));
        }
        caps.cpus = asked;
    }
    if let Some(value) = env.job_var_non_empty(memory_var) {
        let asked = crate::settings::parse_size(value)
            .map_err(|_| bad_value(memory_var, value, "a size, e.g. 512MiB or 2GiB"))?;
        check(
            memory_var,
            value,
            asked,
            cap.memory,
            &format!("{by}.memory"),
            kind,
            "memory",
        )?;
        if asked != 0 && asked < 6 << 20 {
            return Err(PlanError(format!(
                "{memory_var}={} is under 6 MiB, the least the engine accepts; ask for more",
                printable(value)
            )));
        }
        caps.memory = asked;
    }
    Ok(caps)
}

fn bad_value(variable: &str, value: &str, want: &str) -> PlanError {
    PlanError(format!(
        "{variable}={} is not {want}; fix the variable",
        printable(value)
    ))
}

/// A request over its cap (or for no limit at all where there is a cap) is refused.
fn check(
    variable: &str,
    value: &str,
    asked: u64,
    cap: u64,
    key: &str,
    kind: &str,
    what: &str,
) -> Result<(), PlanError> {
    if cap == 0 || (asked != 0 && asked <= cap) {
        return Ok(());
    }
    let shown_cap = match what {
        "cpus" => format!("{} CPUs", show_cpus(cap)),
        _ => human_size(cap),
    };
    let asked_for = if asked == 0 { " (no limit)" } else { "" };
    Err(PlanError(format!(
        "{variable}={}{asked_for} is over the cap of {shown_cap} per container for this job \
         ({key}); ask for at most that, or have the runner's admin raise {key} \
         (the {kind} limit without a request: limits.{kind}.{what})",
        printable(value)
    )))
}

#[cfg(test)]
mod tests;
