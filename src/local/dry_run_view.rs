//! What `executor run JOB --dry-run` shows besides the plan: the job's scripts as they will
//! run, merged from `extends:`, anchors, `!reference` and `default:`, each line as written
//! (variables are not expanded, so no value is printed); and with `--json`, the plan's facts
//! and those scripts as one JSON document for tools (field names in `docs/local-runs.md`).

use std::fmt::Write;

use serde_json::{json, Value};

use super::gitlab_ci::rules::Decision;
use super::pipeline_view;
use crate::plan::{ContainerSpec, Mount, Plan};

/// The three scripts of a job, as the run will send them.
pub(super) struct Scripts<'a> {
    pub before_script: &'a [String],
    pub script: &'a [String],
    pub after_script: &'a [String],
}

impl Scripts<'_> {
    fn named(&self) -> [(&'static str, &[String]); 3] {
        [
            ("before_script", self.before_script),
            ("script", self.script),
            ("after_script", self.after_script),
        ]
    }
}

/// The scripts for a person: one section each, every entry a `- ` item (an entry that spans
/// lines, as a `|` block does, continues indented), none marked as `none`.
pub(super) fn scripts_text(scripts: &Scripts) -> String {
    let mut out = String::new();
    for (name, lines) in scripts.named() {
        if lines.is_empty() {
            let _ = writeln!(out, "{name}: none");
            continue;
        }
        let _ = writeln!(
            out,
            "{name}: (as written; variables are expanded by the shell)"
        );
        for entry in lines {
            let mut parts = entry.lines();
            let _ = writeln!(out, "  - {}", parts.next().unwrap_or_default());
            for more in parts {
                let _ = writeln!(out, "    {more}");
            }
        }
    }
    out
}

/// Which job, from which file, and whether this ref's pipeline has it.
pub(super) struct JobFacts<'a> {
    pub name: &'a str,
    pub file: &'a str,
    pub decision: &'a Decision,
}

/// Everything the text dry run shows, as JSON: the job and its decision, the plan's facts
/// (environment by variable name only), the stages and where each runs, and the scripts.
pub(super) fn job_json(
    job: &JobFacts,
    plan: &Plan,
    variables: &[&str],
    stages: &[(&str, &str)],
    scripts: &Scripts,
) -> Value {
    let decision = job.decision;
    let mut doc = json!({
        "format": pipeline_view::FORMAT,
        "job": job.name,
        "file": job.file,
        "runs": decision.runs,
        "why": decision.why(),
        "when": decision.when.to_string(),
        "start_in": decision.start_in,
        "allow_failure": pipeline_view::allow_failure_json(&decision.allow_failure),
        "mode": plan.mode.as_str(),
        "network": plan.network,
        "mtu": plan.mtu,
        "volumes": plan.volumes.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        "cache_dir_volume": plan.cache_dir_volume.name,
        "cache_volume": plan.cache_volume.as_ref().map(|v| v.name.as_str()),
        "tls": plan.tls.is_some(),
        "containers": plan.containers().map(container_json).collect::<Vec<_>>(),
        "notes": plan.ignored,
        "variables": variables,
        "stages": stages.iter().map(|(stage, runs_in)| json!({
            "name": stage,
            "runs_in": runs_in,
        })).collect::<Vec<_>>(),
    });
    for (key, lines) in scripts.named() {
        doc[key] = json!(lines);
    }
    doc
}

fn container_json(container: &ContainerSpec) -> Value {
    json!({
        "name": container.name,
        "role": container.role.as_str(),
        "image": container.image,
        "privileged": container.privileged,
        "user": container.user,
        "platform": container.platform,
        "runtime": container.runtime,
        "entrypoint": container.entrypoint,
        "command": container.cmd,
        "pull_policy": container.pull_policies.iter().map(|p| p.name()).collect::<Vec<_>>(),
        "ports": container.ports,
        "limits": container.limits.describe(),
        "network": container.network,
        "aliases": container.aliases,
        "env": container.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        "mounts": container.mounts.iter().map(mount_json).collect::<Vec<_>>(),
    })
}

fn mount_json(mount: &Mount) -> Value {
    let (kind, source, read_only) = match mount {
        Mount::Volume {
            name, read_only, ..
        } => ("volume", Some(name.as_str()), *read_only),
        Mount::Bind { source, .. } => ("bind", Some(source.as_str()), false),
        Mount::BindReadOnly { source, .. } => ("bind", Some(source.as_str()), true),
        Mount::HostDir { path } => ("host_dir", Some(path.as_str()), false),
        Mount::HostDirAt { source, .. } => ("host_dir", Some(source.as_str()), false),
        Mount::Tmpfs { .. } => ("tmpfs", None, false),
    };
    json!({
        "kind": kind,
        "source": source,
        "target": mount.target(),
        "read_only": read_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_read_as_written_one_item_per_entry() {
        let before = vec!["echo \"$TOKEN\"".to_string()];
        let script = vec![
            "make".to_string(),
            "if true; then\n  echo ok\nfi".to_string(),
        ];
        let text = scripts_text(&Scripts {
            before_script: &before,
            script: &script,
            after_script: &[],
        });
        insta::assert_snapshot!(text, @r#"
        before_script: (as written; variables are expanded by the shell)
          - echo "$TOKEN"
        script: (as written; variables are expanded by the shell)
          - make
          - if true; then
              echo ok
            fi
        after_script: none
        "#);
    }
}
