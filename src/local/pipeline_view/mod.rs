//! `executor run --dry-run` without a job: the whole pipeline for this ref, stage by stage,
//! each job with its image, Docker mode, services, `needs:`, `when:` and why it is left out
//! where it is, and the `include:` entries whose `rules:` left them out. Built once ([`View::build`]) and shown as text for a person ([`text`]) or as
//! one JSON document for tools ([`json`]). Variables appear by name only: values may be
//! secrets.

mod json;
mod missing;
mod mode;
mod text;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use super::decisions::RefFacts;
use super::expand;
use super::gitlab_ci::rules::Decision;
use super::gitlab_ci::{AllowFailure, Job, Need, Pipeline, When};
use super::include::Skipped;
use super::job::with_local_images;
use super::masking;
use crate::cli::RunArgs;
use crate::settings::Settings;

pub(super) use json::{allow_failure_json, FORMAT};
pub(super) use mode::Modes;

/// What the run would make of a job's decided variables (values as written).
pub(super) struct Resolved {
    /// Predefined, the file's, `--var` and `--mode`, layered and expanded as a run does.
    pub variables: Vec<(String, String)>,
    /// The Docker mode, or why prepare would refuse the job.
    pub mode: Result<String, String>,
}

/// [`Modes::resolve`] in a run, a stand-in in tests.
pub(super) type Resolve<'a> = dyn Fn(&[(String, String)]) -> Resolved + 'a;

/// The pipeline as this ref would get it.
#[derive(Debug)]
pub(super) struct View {
    pub file: String,
    pub reference: Reference,
    /// Top-level keywords a local run skips.
    pub ignored_global: Vec<String>,
    /// `include:` entries whose `rules:` left them out, in the order they were met.
    pub skipped_includes: Vec<Skipped>,
    /// Stages in the pipeline's order, those without jobs left out.
    pub stages: Vec<StageView>,
}

#[derive(Debug)]
pub(super) struct StageView {
    pub name: String,
    pub jobs: Vec<JobView>,
}

/// One job as it would run (or why it would not).
#[derive(Debug)]
pub(super) struct JobView {
    pub name: String,
    /// The file that defines it, and the line of its key when known.
    pub file: String,
    pub line: Option<usize>,
    pub runs: bool,
    /// The decision in one line: the rule (or `only`/`except`, or `workflow:rules`) that
    /// decided.
    pub why: String,
    pub when: When,
    pub start_in: Option<String>,
    pub allow_failure: AllowFailure,
    /// After `local.images` and `$VARIABLE` expansion; `None` when the job names none and
    /// gets the runner's default.
    pub image: Option<String>,
    /// The job's own keys a local run does not act on (the pipeline's are in
    /// [`View::ignored_global`]).
    pub ignored: Vec<String>,
    /// The image as written, when expansion changed it.
    pub image_as_written: Option<String>,
    /// The Docker mode, or why prepare would refuse the job.
    pub mode: Result<String, String>,
    /// Service images (after `local.images` and expansion) with their aliases.
    pub services: Vec<(String, Option<String>)>,
    /// The job's `needs:`, or the deciding rule's when it has one.
    pub needs: Option<Vec<Need>>,
    /// Whether [`JobView::needs`] came from the deciding rule.
    pub needs_from_rule: bool,
    pub dependencies: Option<Vec<String>>,
    /// Names of the variables the job gets from the file and its rules.
    pub variables: Vec<String>,
    /// What could not be checked as GitLab would, and `needs:`/`dependencies:` this ref's
    /// pipeline lacks, one line each.
    pub notes: Vec<String>,
}

impl View {
    /// The view of `pipeline` with its `decisions`; `resolve` answers for each job's decided
    /// variables ([`Modes::resolve`] in a run, a stand-in in tests).
    pub(super) fn build(
        pipeline: &Pipeline,
        decisions: &[(&Job, Decision)],
        reference: Reference,
        images: &BTreeMap<String, String>,
        resolve: &Resolve,
    ) -> View {
        let names: Vec<&str> = pipeline.jobs.iter().map(|j| j.name.as_str()).collect();
        let running: BTreeSet<&str> = decisions
            .iter()
            .filter(|(_, d)| d.runs)
            .map(|(job, _)| job.name.as_str())
            .collect();
        let stages = pipeline
            .stages
            .iter()
            .map(|stage| StageView {
                name: stage.clone(),
                jobs: decisions
                    .iter()
                    .filter(|(job, _)| &job.stage == stage)
                    .map(|(job, decision)| {
                        let writers = super::chain::dotenv_sources(job, pipeline);
                        let mut view = job_view(job, decision, images, resolve, &writers);
                        if view.runs {
                            view.notes.extend(missing::notes(&view, &names, &running));
                        }
                        view
                    })
                    .collect(),
            })
            .filter(|stage| !stage.jobs.is_empty())
            .collect();
        View {
            file: pipeline.file.clone(),
            reference,
            ignored_global: pipeline.ignored_global.clone(),
            skipped_includes: Vec::new(),
            stages,
        }
    }

    /// The view with the includes the file's `include:` rules left out.
    pub(super) fn with_skipped_includes(mut self, skipped: &[Skipped]) -> View {
        self.skipped_includes = skipped.to_vec();
        self
    }

    /// How many jobs there are, and how many of them are in this ref's pipeline.
    pub(super) fn counts(&self) -> (usize, usize) {
        let jobs = self.stages.iter().flat_map(|s| &s.jobs);
        let all = jobs.clone().count();
        (all, jobs.filter(|j| j.runs).count())
    }
}

/// The view of one job. A name that uses a variable no one set yet, when jobs before it write
/// dotenv reports (`writers`), is shown as written with a note: the value may come from them.
fn job_view(
    job: &Job,
    decision: &Decision,
    images: &BTreeMap<String, String>,
    resolve: &Resolve,
    writers: &[String],
) -> JobView {
    let mapped = with_local_images(job, images);
    let resolved = resolve(&decision.variables);
    let lookup = |name: &str| {
        resolved
            .variables
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // Past the bound a run refuses the job; the view shows the text as written.
    let mut notes = decision.notes.clone();
    let mut expanded = |text: &str| match awaited_note(text, lookup, writers) {
        Some(note) => {
            notes.push(note);
            text.to_string()
        }
        None => expand::expand(text, lookup, expand::MAX_VALUE).unwrap_or(text.into()),
    };
    let written = mapped.image.map(|i| i.name);
    let image = written.as_deref().map(&mut expanded);
    let services = mapped
        .services
        .into_iter()
        .map(|s| (expanded(&s.name), s.alias))
        .collect();
    let (needs, needs_from_rule) = match &decision.needs {
        Some(needs) => (Some(needs.clone()), true),
        None => (job.needs.clone(), false),
    };
    JobView {
        name: job.name.clone(),
        file: job.file.clone(),
        line: job.line,
        runs: decision.runs,
        why: decision.why(),
        when: decision.when,
        start_in: decision.start_in.clone(),
        allow_failure: decision.allow_failure.clone(),
        ignored: job.ignored.clone(),
        image_as_written: written.filter(|w| image.as_ref() != Some(w)),
        image,
        mode: resolved.mode.clone(),
        services,
        needs,
        needs_from_rule,
        dependencies: job.dependencies.clone(),
        variables: decision.variables.iter().map(|(k, _)| k.clone()).collect(),
        notes,
    }
}

/// A note when `text` uses variables `lookup` has no value for and jobs before it write dotenv
/// reports (`writers`): the view then shows it as written.
fn awaited_note<'v>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'v str>,
    writers: &[String],
) -> Option<String> {
    let unset = expand::unset_references(text, lookup);
    if unset.is_empty() || writers.is_empty() {
        return None;
    }
    let quoted = |names: &mut dyn Iterator<Item = &str>| -> String {
        names
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(format!(
        "{} {} not set until the dotenv report of {}: shown as written",
        quoted(&mut unset.iter().copied()),
        if unset.len() == 1 { "is" } else { "are" },
        quoted(&mut writers.iter().map(String::as_str))
    ))
}

/// Print the view of `pipeline` for this ref, with the includes `skipped` by their rules:
/// text, or JSON with `--json`.
pub(super) fn show(
    settings: &Settings,
    args: &RunArgs,
    facts: &RefFacts,
    pipeline: &Pipeline,
    decisions: &[(&Job, Decision)],
    skipped: &[Skipped],
) -> i32 {
    let modes = Modes::new(settings, facts, args);
    let resolve = |variables: &[(String, String)]| modes.resolve(variables);
    let view = View::build(
        pipeline,
        decisions,
        reference(&facts.variables()),
        &settings.local.images,
        &resolve,
    )
    .with_skipped_includes(skipped);
    // `--var` values the file put in images, aliases or rule text are not shown.
    let secrets = masking::secrets(facts.overrides());
    if args.json {
        let mut doc = json::render(&view, &settings.image);
        masking::json(&mut doc, &secrets);
        println!("{doc:#}");
    } else {
        // Job and stage names and rule text come from the checkout.
        let text = masking::text(&text::render(&view, &settings.image), &secrets);
        print!("{}", crate::outcome::shown_lines(&text));
    }
    0
}

/// What the decisions were made for: a branch, a tag or (a detached checkout with neither)
/// the ref's name, and the pipeline source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reference {
    /// `branch`, `tag` or `ref`.
    pub kind: &'static str,
    pub name: String,
    /// `CI_PIPELINE_SOURCE`: `push` unless the person's `--var` says otherwise.
    pub source: String,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.kind, self.name, self.source)
    }
}

/// The [`Reference`] of these variables (the checkout's, with the person's `--var`s over
/// them).
fn reference(variables: &[(String, String)]) -> Reference {
    let get = |key: &str| {
        variables
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let source = get("CI_PIPELINE_SOURCE").unwrap_or_else(|| "push".into());
    let (kind, name) = match (get("CI_COMMIT_TAG"), get("CI_COMMIT_BRANCH")) {
        (Some(tag), _) => ("tag", tag),
        (None, Some(branch)) => ("branch", branch),
        (None, None) => (
            "ref",
            get("CI_COMMIT_REF_NAME").unwrap_or_else(|| "unknown".into()),
        ),
    };
    Reference { kind, name, source }
}
