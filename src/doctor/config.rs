//! `executor doctor` on the config itself, before the engine is asked: the modes offered, the
//! policy one line a rule, and the settings that give jobs more than an admin may want.

use super::{container, Findings, Level};
use crate::settings::{Mode, Policy, Settings};

pub(super) fn config(out: &mut Findings, s: &Settings, source: &str) {
    let modes: Vec<&str> = s.modes_allowed.iter().map(|m| m.as_str()).collect();
    out.say(
        Level::Ok,
        &format!(
            "config {source}: modes {} (default {}, chosen by job variable {})",
            modes.join(", "),
            s.mode_default,
            s.mode_variable
        ),
    );
    for line in describe_policy(&s.policy) {
        out.say(Level::Info, &line);
    }
    if socket_for_everyone(s) {
        out.say(
            Level::Warn,
            "socket mode is open to every project: any job that sets the mode variable to socket \
             gets root on this host; grant it to trusted projects only (policy.rules) or keep it \
             on a runner of its own",
        );
    }
    container::config(out, s);
    if !s.payload_required {
        out.say(
            Level::Warn,
            "payload.required is false: without a job payload, job variables name the job's \
             resources, so a job can reach another project's caches by copying its ids",
        );
    }
}

/// Whether a job of any project may have socket mode: a rule that names no project (only a
/// kind of ref or runner tags, which every project has) grants it, or the modes of a job no
/// rule fits include it.
fn socket_for_everyone(s: &Settings) -> bool {
    let any_project =
        |r: &&crate::settings::Rule| r.projects.is_empty() && r.project_ids.is_empty();
    if s.policy
        .rules
        .iter()
        .filter(any_project)
        .any(|r| r.modes.contains(&Mode::Socket))
    {
        return true;
    }
    // A rule without conditions fits every job, so the fallback is never reached.
    let fallback_reached = s.policy.rules.iter().all(|r| r.needs_facts());
    let fallback = s.policy.default_modes.as_ref().unwrap_or(&s.modes_allowed);
    fallback_reached && fallback.contains(&Mode::Socket)
}

/// The resolved policy, one line a rule.
fn describe_policy(policy: &Policy) -> Vec<String> {
    let list = |m: &[Mode]| m.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
    let mut lines = Vec::new();
    for rule in &policy.rules {
        let mut when = Vec::new();
        if !rule.projects.is_empty() {
            let globs: Vec<String> = rule.projects.iter().map(|g| g.to_string()).collect();
            when.push(format!("project {}", globs.join(" or ")));
        }
        if !rule.project_ids.is_empty() {
            let ids: Vec<String> = rule.project_ids.iter().map(|i| i.to_string()).collect();
            when.push(format!("project id {}", ids.join(" or ")));
        }
        if let Some(p) = rule.protected {
            when.push(
                if p {
                    "protected ref"
                } else {
                    "unprotected ref"
                }
                .into(),
            );
        }
        if !rule.runner_tags.is_empty() {
            when.push(format!("runner tags {}", rule.runner_tags.join(" and ")));
        }
        let when = if when.is_empty() {
            "every job".into()
        } else {
            when.join(", ")
        };
        lines.push(format!(
            "policy {}: {when} may use {}",
            rule.name,
            list(&rule.modes)
        ));
    }
    match &policy.default_modes {
        Some(m) => lines.push(format!("policy: any other job may use {}", list(m))),
        None if !policy.rules.is_empty() => {
            lines.push("policy: any other job may use mode.allowed".into())
        }
        None => lines.push("policy: none; every job may use mode.allowed".into()),
    }
    if let Some(globs) = &policy.job_images {
        let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
        lines.push(format!(
            "policy: job images must match {}",
            globs.join(", ")
        ));
    }
    lines
}
