//! The pipeline view for tools: one JSON document whose field names are stable (listed in
//! `docs/local-runs.md`). Absent facts are `null`, never left out, so a tool can tell "not
//! set" from "not known to this version".

use serde_json::{json, Value};

use super::{JobView, View};
use crate::local::gitlab_ci::{AllowFailure, Need};

/// The version of this document's shape; raised when a field changes meaning or goes away.
pub(in crate::local) const FORMAT: u32 = 1;

pub(in crate::local) fn render(view: &View, default_image: &str) -> Value {
    let (all, running) = view.counts();
    json!({
        "format": FORMAT,
        "file": view.file,
        "ref": {
            "kind": view.reference.kind,
            "name": view.reference.name,
            "source": view.reference.source,
        },
        "jobs": all,
        "running": running,
        "ignored_global": view.ignored_global,
        "skipped_includes": view.skipped_includes.iter().map(|skipped| json!({
            "include": skipped.include,
            "file": skipped.file,
            "line": skipped.line,
            "why": skipped.why,
        })).collect::<Vec<_>>(),
        "stages": view.stages.iter().map(|stage| json!({
            "name": stage.name,
            "jobs": stage.jobs.iter().map(|job| job_json(job, default_image)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn job_json(job: &JobView, default_image: &str) -> Value {
    let (mode, mode_error) = match &job.mode {
        Ok(mode) => (Some(mode.as_str()), None),
        Err(message) => (None, Some(message.as_str())),
    };
    json!({
        "name": job.name,
        "file": job.file,
        "line": job.line,
        "runs": job.runs,
        "why": job.why,
        "when": job.when.to_string(),
        "start_in": job.start_in,
        "allow_failure": allow_failure_json(&job.allow_failure),
        "image": job.image.as_deref().unwrap_or(default_image),
        "image_is_default": job.image.is_none(),
        "image_as_written": job.image_as_written,
        "mode": mode,
        "mode_error": mode_error,
        "services": job.services.iter().map(|(name, alias)| json!({
            "name": name,
            "alias": alias,
        })).collect::<Vec<_>>(),
        "needs": job.needs.as_ref().map(|needs| needs.iter().map(need_json).collect::<Vec<_>>()),
        "needs_from_rule": job.needs_from_rule,
        "dependencies": job.dependencies,
        "variables": job.variables,
        "ignored": job.ignored,
        "notes": job.notes,
    })
}

/// `true`/`false`, or the exit codes that may fail as a list.
pub(in crate::local) fn allow_failure_json(allow: &AllowFailure) -> Value {
    match allow {
        AllowFailure::Bool(b) => json!(b),
        AllowFailure::ExitCodes(codes) => json!({ "exit_codes": codes }),
    }
}

fn need_json(need: &Need) -> Value {
    json!({
        "job": need.job,
        "artifacts": need.artifacts,
        "optional": need.optional,
        "from": need.from,
        "parallel_matrix": need.matrix.is_some(),
        "matrix_jobs": need.matrix,
    })
}
