//! The parts of keywords a local run reads without acting on them (`image: kubernetes:`, a
//! service's `docker:`, `variables: {expand: false}`, ...), found in the values as written so
//! each can be named once, and the one line that names them all with their reasons.
//!
//! The values were read and checked before this looks at them: it only asks which keys are
//! there, and walks no deeper than the readers allowed.

use crate::yaml::Value;

use super::keywords::why_ignored;
use super::{Job, Pipeline};

/// The skipped parts (`parent:key` names of [`super::keywords::IGNORED_SUB_KEYS`]) that the
/// value of job or `default:` key `key` holds.
pub(super) fn sub_keys(key: &str, value: &Value) -> Vec<&'static str> {
    let mut found = Vec::new();
    match key {
        "image" if has(value, "kubernetes") => found.push("image:kubernetes"),
        "services" => {
            for service in items(value) {
                if has(service, "docker") {
                    found.push("services:docker");
                }
                if has(service, "kubernetes") {
                    found.push("services:kubernetes");
                }
                if let Some(variables) = service.as_mapping().and_then(|m| m.get("variables")) {
                    found.extend(raw_variables(variables));
                }
            }
        }
        "cache" => {
            let protected = |cache: &&Value| {
                let unprotect = cache.as_mapping().and_then(|m| m.get("unprotect"));
                unprotect.is_some_and(|v| !matches!(v, Value::Bool(true)))
            };
            if items(value).iter().any(protected) {
                found.push("cache:unprotect");
            }
        }
        "variables" => found.extend(raw_variables(value)),
        "rules" => {
            let mut rules = Vec::new();
            flatten(value, &mut rules);
            for (part, name) in [
                ("interruptible", "rules:interruptible"),
                ("start_in", "rules:start_in"),
            ] {
                if rules.iter().any(|rule| has(rule, part)) {
                    found.push(name);
                }
            }
        }
        _ => {}
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// The skipped parts of `workflow:`: `name:` (no `CI_PIPELINE_NAME`) and `auto_cancel:`,
/// its own or a rule's.
pub(super) fn workflow_keys(workflow: &Value) -> Vec<&'static str> {
    let mut found = Vec::new();
    if has(workflow, "auto_cancel") {
        found.push("workflow:auto_cancel");
    }
    if has(workflow, "name") {
        found.push("workflow:name");
    }
    let mut rules = Vec::new();
    if let Some(list) = workflow.as_mapping().and_then(|m| m.get("rules")) {
        flatten(list, &mut rules);
    }
    if rules.iter().any(|rule| has(rule, "auto_cancel")) {
        found.push("workflow:rules:auto_cancel");
    }
    found
}

/// `variables:expand` when a variable asks not to be expanded: a local run expands every
/// value (`crate::local::expand`), so `expand: false` is not honoured.
fn raw_variables(variables: &Value) -> Option<&'static str> {
    let raw = |value: &Value| {
        let expand = value.as_mapping().and_then(|m| m.get("expand"));
        matches!(expand, Some(Value::Bool(false)))
    };
    let map = variables.as_mapping()?;
    map.values().any(raw).then_some("variables:expand")
}

/// Whether `value` is a mapping with `key`.
fn has(value: &Value, key: &str) -> bool {
    value.as_mapping().is_some_and(|m| m.contains_key(key))
}

/// One mapping or a list of them (`cache:`, `services:`), as a list.
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(items) => items.iter().collect(),
        one => vec![one],
    }
}

/// The entries of a list of rules, nested lists (what `!reference` leaves) flattened. The
/// rules reader refused nesting deeper than GitLab's ten levels before this runs.
fn flatten<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Sequence(items) => items.iter().for_each(|item| flatten(item, out)),
        other => out.push(other),
    }
}

impl Pipeline {
    /// The keys of the pipeline and of `job` a local run does not act on, each once, the
    /// pipeline's first.
    pub fn ignored_keys<'a>(&'a self, job: &'a Job) -> Vec<&'a str> {
        let mut keys: Vec<&str> = Vec::new();
        for key in self.ignored_global.iter().chain(&job.ignored) {
            if !keys.contains(&key.as_str()) {
                keys.push(key);
            }
        }
        keys
    }

    /// The line a local run of `job` prints so nothing is silently dropped: every key of the
    /// pipeline and of the job it does not act on, each named once with its reason, or `None`
    /// when there is none.
    pub fn ignored_note(&self, job: &Job) -> Option<String> {
        ignored_line(&self.ignored_keys(job))
    }
}

/// `ignored in a local run: KEY (reason), ...` for `keys` in the order given, or `None` when
/// there is none. The pipeline view names the pipeline's keys with it too.
pub fn ignored_line(keys: &[&str]) -> Option<String> {
    if keys.is_empty() {
        return None;
    }
    let named: Vec<String> = keys
        .iter()
        .map(|key| match why_ignored(key) {
            Some(why) => format!("{key} ({why})"),
            None => key.to_string(),
        })
        .collect();
    Some(format!("ignored in a local run: {}", named.join(", ")))
}

/// The ignored keys a run of several jobs (`--needs`, `--stage`) has named so far: the note
/// says "in a local run", so each key is named once, by the first job that has it, not again
/// for every job.
#[derive(Debug, Default)]
pub struct NamedOnce {
    named: Vec<String>,
}

impl NamedOnce {
    /// [`Pipeline::ignored_note`] for `job` without the keys an earlier job named; `None` when
    /// nothing is left to name.
    pub fn note(&mut self, pipeline: &Pipeline, job: &Job) -> Option<String> {
        let fresh: Vec<&str> = pipeline
            .ignored_keys(job)
            .into_iter()
            .filter(|key| !self.named.iter().any(|n| n == key))
            .collect();
        self.named.extend(fresh.iter().map(|key| key.to_string()));
        ignored_line(&fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::NamedOnce;

    /// `--needs` and `--stage` run several jobs: a key they share is named by the first only.
    #[test]
    fn a_run_of_several_jobs_names_each_ignored_key_once() {
        let text = "workflow:\n  name: n\ndefault:\n  retry: 2\na:\n  script: x\n  \
                    timeout: 1h\nb:\n  script: x\nc:\n  script: x\n  tags: [t]\n  \
                    timeout: 2h\n";
        let pipeline = parse(text, ".gitlab-ci.yml").unwrap();
        let mut once = NamedOnce::default();
        let mut notes = Vec::new();
        for name in ["a", "b", "c", "a"] {
            notes.push(once.note(&pipeline, pipeline.job(name).unwrap()));
        }
        assert_eq!(
            notes,
            [
                Some(
                    "ignored in a local run: workflow:name (CI_PIPELINE_NAME is not set), retry \
                     (a failed job is not run again), timeout (a local run has no time limit; \
                     stop it with Ctrl-C)"
                        .to_string()
                ),
                None,
                Some(
                    "ignored in a local run: tags (no runner is picked: this machine runs the \
                     job)"
                        .to_string()
                ),
                None,
            ]
        );
        // A job run alone still names all of its keys.
        let alone = pipeline.ignored_note(pipeline.job("b").unwrap()).unwrap();
        assert!(
            alone.contains("workflow:name (") && alone.contains("retry ("),
            "{alone}"
        );
    }
}
