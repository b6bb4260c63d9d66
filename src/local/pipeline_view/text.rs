//! The pipeline view for a person: a header, then each stage with its jobs, one detail per
//! line, so `grep` finds a job's image or mode.

use std::fmt::Write;

use super::{JobView, View};
use crate::local::gitlab_ci::{ignored_line, AllowFailure, Need};

/// The whole view as text, ending in a newline.
pub(in crate::local) fn render(view: &View, default_image: &str) -> String {
    let mut out = String::new();
    let (all, running) = view.counts();
    let _ = writeln!(
        out,
        "pipeline from {} for {}: {running} of {all} jobs run (dry run: nothing is started)",
        view.file, view.reference
    );
    // With their reasons, as a run names them.
    let ignored: Vec<&str> = view.ignored_global.iter().map(String::as_str).collect();
    if let Some(line) = ignored_line(&ignored) {
        let _ = writeln!(out, "{line}");
    }
    // One line each, worded as an excluded job's.
    for skipped in &view.skipped_includes {
        let _ = writeln!(out, "{skipped}");
    }
    for stage in &view.stages {
        let _ = writeln!(out, "stage {}:", stage.name);
        for job in &stage.jobs {
            job_lines(&mut out, job, default_image);
        }
    }
    out
}

fn job_lines(out: &mut String, job: &JobView, default_image: &str) {
    // The decision's line starts with `included` or `excluded` already.
    let _ = writeln!(out, "  {}: {}", job.name, job.why);
    let mut detail = |key: &str, value: String| {
        let _ = writeln!(out, "    {key}: {value}");
    };
    let image = match &job.image {
        Some(image) => match &job.image_as_written {
            Some(written) => format!("{image} (from {written})"),
            None => image.clone(),
        },
        None => format!("{default_image} (the runner's default)"),
    };
    detail("image", image);
    detail(
        "mode",
        match &job.mode {
            Ok(mode) => mode.clone(),
            Err(message) => format!("refused: {message}"),
        },
    );
    if !job.services.is_empty() {
        let services: Vec<String> = job
            .services
            .iter()
            .map(|(name, alias)| match alias {
                Some(alias) => format!("{name} as {alias}"),
                None => name.clone(),
            })
            .collect();
        detail("services", services.join(", "));
    }
    detail("needs", needs_text(job));
    if let Some(dependencies) = &job.dependencies {
        let shown = match dependencies.is_empty() {
            true => "none (no artifacts)".to_string(),
            false => dependencies.join(", "),
        };
        detail("dependencies", shown);
    }
    let when = match &job.start_in {
        Some(start_in) => format!("{} (start_in: {start_in})", job.when),
        None => job.when.to_string(),
    };
    detail("when", when);
    detail("allow_failure", allow_failure_text(&job.allow_failure));
    if !job.variables.is_empty() {
        detail("variables", job.variables.join(", "));
    }
    let place = match job.line {
        Some(line) => format!("{}:{line}", job.file),
        None => job.file.clone(),
    };
    let ignored: Vec<&str> = job.ignored.iter().map(String::as_str).collect();
    if let Some(line) = ignored_line(&ignored) {
        let reasons = line
            .strip_prefix("ignored in a local run: ")
            .unwrap_or(&line);
        detail("ignored", reasons.to_string());
    }
    detail("defined in", place);
    for note in &job.notes {
        detail("note", note.clone());
    }
}

/// `needs:` in one line: each job with what is not GitLab's default about it.
fn needs_text(job: &JobView) -> String {
    let Some(needs) = &job.needs else {
        return "the earlier stages (no needs:)".into();
    };
    if needs.is_empty() {
        return "none: starts at once (needs: [])".into();
    }
    let list: Vec<String> = needs.iter().flat_map(need_text).collect();
    let from_rule = if job.needs_from_rule {
        " (from the deciding rule)"
    } else {
        ""
    };
    format!("{}{from_rule}", list.join(", "))
}

/// A need as the jobs it names, each with what is not GitLab's default about the need: one
/// job, or each combination its `parallel: matrix:` names (`build: [aws, app1]`).
fn need_text(need: &Need) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(from) = &need.from {
        notes.push(format!("from {from}"));
    }
    if !need.artifacts {
        notes.push("no artifacts".to_string());
    }
    if need.optional {
        notes.push("optional".to_string());
    }
    let named = match &need.matrix {
        Some(names) => names.clone(),
        None => vec![need.job.clone()],
    };
    named
        .into_iter()
        .map(|job| match notes.is_empty() {
            true => job,
            false => format!("{job} ({})", notes.join(", ")),
        })
        .collect()
}

pub(super) fn allow_failure_text(allow: &AllowFailure) -> String {
    match allow {
        AllowFailure::Bool(b) => b.to_string(),
        AllowFailure::ExitCodes(codes) => {
            let codes: Vec<String> = codes.iter().map(i64::to_string).collect();
            format!("exit codes {}", codes.join(", "))
        }
    }
}
