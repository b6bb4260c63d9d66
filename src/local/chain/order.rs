//! The order of a `--needs` run and whose artifacts each job takes (pure).
//!
//! A need, or a `dependencies:` name, stands for the jobs GitLab expands it to
//! ([`Need::expand`]): a job `parallel:` made into several is all of them, or with the need's
//! own `parallel: matrix:` exactly the combinations it names.

use crate::local::gitlab_ci::{Job, Need, Pipeline};

/// How many of the jobs `parallel:` made an error lists before saying how many more there are.
const LISTED: usize = 6;

/// The jobs `executor run TARGET --needs` runs: every job `target` needs or depends on,
/// transitively, each after the jobs it needs (in the order they are written), then `target`.
/// Notes name the needs a local run skips: `optional:` ones missing from the file, and those
/// of another project or pipeline. A non-optional need missing from the file (a job, or a
/// combination of a need's `parallel: matrix:`), or a cycle, is an error naming the jobs.
pub fn needs_order(
    pipeline: &Pipeline,
    target: &str,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut walk = Walk {
        pipeline,
        names: pipeline.jobs.iter().map(|j| j.name.as_str()).collect(),
        done: Vec::new(),
        notes: Vec::new(),
    };
    walk.visit(target, &mut Vec::new())?;
    Ok((walk.done, walk.notes))
}

struct Walk<'p> {
    pipeline: &'p Pipeline,
    /// Every job of the file, what needs expand among.
    names: Vec<&'p str>,
    done: Vec<String>,
    notes: Vec<String>,
}

impl Walk<'_> {
    fn visit(&mut self, name: &str, path: &mut Vec<String>) -> Result<(), String> {
        if self.done.iter().any(|d| d == name) {
            return Ok(());
        }
        if path.iter().any(|p| p == name) {
            path.push(name.to_string());
            return Err(format!(
                "`needs:` go round in a circle: {}",
                path.join(" → ")
            ));
        }
        let job = self.pipeline.job(name).map_err(|e| e.to_string())?;
        path.push(name.to_string());
        for need in prerequisites(job, &self.names, &mut self.notes)? {
            self.visit(&need, path)?;
        }
        path.pop();
        self.done.push(name.to_string());
        Ok(())
    }
}

/// The jobs `job` needs or depends on, as the file's jobs they stand for, in order, each once.
/// Needs a local run skips add notes; a non-optional one the file lacks is an error.
fn prerequisites(
    job: &Job,
    names: &[&str],
    notes: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let mut found: Vec<String> = Vec::new();
    let needs = job.needs.iter().flatten();
    for need in needs.clone() {
        match &need.from {
            Some(place) => notes.push(format!(
                "`{}` needs `{}` of {place}, which a local run cannot fetch; skipped",
                job.name, need.job
            )),
            None => add(job, need, names, &mut found, notes)?,
        }
    }
    for dependency in job.dependencies.iter().flatten() {
        // A name `needs:` wrote is done (an optional need of it may have been skipped).
        if needs.clone().all(|n| &n.job != dependency) {
            add(job, &Need::plain(dependency), names, &mut found, notes)?;
        }
    }
    Ok(found)
}

/// Add the jobs `need` (of `job`) stands for to `found`, each once.
fn add(
    job: &Job,
    need: &Need,
    names: &[&str],
    found: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let expanded = need.expand(names);
    for unknown in &expanded.unknown {
        if !need.optional {
            return Err(missing(job, need, unknown, &expanded.made));
        }
        notes.push(format!(
            "`{}` needs `{unknown}` (optional), which is not in the file; skipped",
            job.name
        ));
    }
    for name in expanded.jobs {
        if !found.contains(&name) {
            found.push(name);
        }
    }
    Ok(())
}

/// The error for a need of `job` naming `unknown`, which the file lacks; `made` are the jobs
/// `parallel:` made of the needed job. GitLab refuses such a pipeline ("undefined need").
fn missing(job: &Job, need: &Need, unknown: &str, made: &[String]) -> String {
    if need.matrix.is_none() || made.is_empty() {
        return format!(
            "job `{}` needs `{unknown}`, which is not a job of the file; fix `needs:`/`dependencies:` or mark it `optional: true`",
            job.name
        );
    }
    let place = match job.line {
        Some(line) => format!("{}:{line}", job.file),
        None => job.file.clone(),
    };
    let listed: Vec<String> = made.iter().take(LISTED).map(|m| format!("`{m}`")).collect();
    let more = match made.len().saturating_sub(LISTED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "job `{}` ({place}) needs `{unknown}` by its `parallel: matrix:`, a combination `parallel:` does not make of `{}`; it makes {}{more}; name one of those (values in the order `{}` writes its variables) or mark the need `optional: true`",
        job.name,
        need.job,
        listed.join(", "),
        need.job
    )
}

/// A stage's jobs (`jobs`, in file order) reordered so a job runs after those of them it
/// needs: each job's `needs:` order, kept to the stage's jobs, each once.
pub fn stage_order(pipeline: &Pipeline, jobs: &[String]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for job in jobs {
        let before = needs_order(pipeline, job).map_or_else(|_| vec![job.clone()], |(o, _)| o);
        for name in before {
            if jobs.contains(&name) && !order.contains(&name) {
                order.push(name);
            }
        }
    }
    order
}

/// The jobs among `ran` (names of jobs that ran, in order) whose artifacts `job` receives,
/// as GitLab decides: `dependencies:` when set; else `needs:` entries with `artifacts: true`;
/// else every job of an earlier stage. A name stands for the jobs GitLab expands it to
/// ([`Need::expand`]).
pub fn sources<'r>(job: &Job, ran: &'r [String], pipeline: &Pipeline) -> Vec<&'r str> {
    let names: Vec<&str> = pipeline.jobs.iter().map(|j| j.name.as_str()).collect();
    let stage_of = |name: &str| {
        let stage = pipeline
            .jobs
            .iter()
            .find(|j| j.name == name)
            .map(|j| j.stage.as_str());
        stage.and_then(|s| pipeline.stages.iter().position(|p| p == s))
    };
    let own = stage_of(&job.name);
    let taken: Option<Vec<String>> = match (&job.dependencies, &job.needs) {
        (Some(dependencies), _) => Some(
            dependencies
                .iter()
                .flat_map(|d| Need::plain(d).expand(&names).jobs)
                .collect(),
        ),
        (None, Some(needs)) => Some(
            needs
                .iter()
                .filter(|n| n.artifacts && n.from.is_none())
                .flat_map(|n| n.expand(&names).jobs)
                .collect(),
        ),
        (None, None) => None,
    };
    ran.iter()
        .map(String::as_str)
        .filter(|name| match &taken {
            Some(taken) => taken.iter().any(|t| t == name),
            None => matches!((stage_of(name), own), (Some(theirs), Some(own)) if theirs < own),
        })
        .collect()
}

/// The jobs whose dotenv reports (`artifacts:reports:dotenv`) reach `job` once every job before
/// it has run: those of [`sources`] that write one, in file order. Their variables are unknown
/// until they run, so a job that names one in `image:` or `services:` can only be shown.
pub fn dotenv_sources(job: &Job, pipeline: &Pipeline) -> Vec<String> {
    let all: Vec<String> = pipeline.jobs.iter().map(|j| j.name.clone()).collect();
    let writes_dotenv = |name: &str| {
        pipeline
            .job(name)
            .is_ok_and(|j| j.artifacts.as_ref().is_some_and(|a| !a.dotenv.is_empty()))
    };
    sources(job, &all, pipeline)
        .into_iter()
        .filter(|name| *name != job.name && writes_dotenv(name))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests;
