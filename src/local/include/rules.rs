//! `rules:` on an `include:` entry, decided as GitLab decides them while it reads the includes
//! (<https://docs.gitlab.com/ci/yaml/includes/#use-rules-with-include>): the first rule whose
//! `if:`, `exists:` and `changes:` all hold decides; its `when: never` leaves the file out and
//! anything else takes it; no rule matching leaves the file out. An entry may only write `if`,
//! `exists`, `changes` and `when` (`never` or `always`), as GitLab allows.
//!
//! The clauses are decided by the job rules' own reader and evaluator (`gitlab_ci::rules`):
//! the entry's rules become the `rules:` of a stand-in job, and that job's decision is the
//! entry's. So an expression, a glob, `exists:` or `changes:` (with `compare_to:`) means exactly
//! what it means on a job, and is refused with the same message.
//!
//! Variables: GitLab decides include rules with only what a pipeline has before any file is
//! read: the project's and the pipeline's predefined variables and the project, group,
//! instance, trigger, schedule and manual-run ones (`--var` here). GitLab's include docs say a
//! global `variables:` section and job variables cannot be used there, so a file's
//! `variables:` are not seen, however early they are written; nor are the predefined variables
//! a job or a runner sets (`CI_JOB_*`, `CI_PROJECT_DIR`, ...) or the persisted ones
//! (`CI_PIPELINE_ID`, ...), which rules never see.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::local::gitlab_ci::rules::{
    flatten_rules, glob, Cause, Changes, Context, Decision, When,
};
use crate::local::gitlab_ci::{parse_merged, Origins};
use crate::yaml::{Mapping, Value};

use super::{Hooks, Verdict};

/// The keys GitLab accepts in a rule of an include entry.
const KEYS: &[&str] = &["if", "exists", "changes", "when"];
/// The `when:` values GitLab accepts there.
const WHENS: &[&str] = &["never", "always"];
/// The stand-in job the rules are read into; its name is taken out of the reader's messages.
const STAND_IN: &str = "include-entry";

/// Predefined variables a job, a runner or a persisted pipeline gives, which include rules
/// never see: by prefix, then by name.
const JOB_LEVEL_PREFIXES: &[&str] = &["CI_JOB_", "CI_RUNNER_", "CI_CONCURRENT_", "CI_NODE_"];
const JOB_LEVEL_NAMES: &[&str] = &[
    "CI_BUILDS_DIR",
    "CI_PROJECT_DIR",
    "CI_SHARED_ENVIRONMENT",
    "CI_DISPOSABLE_ENVIRONMENT",
    "CI_PIPELINE_ID",
    "CI_PIPELINE_URL",
    "CI_REGISTRY_USER",
    "CI_REGISTRY_PASSWORD",
    "CI_REPOSITORY_URL",
    "CI_DEPLOY_USER",
    "CI_DEPLOY_PASSWORD",
    "CI_DEPENDENCY_PROXY_USER",
    "CI_DEPENDENCY_PROXY_PASSWORD",
];

/// The files and folders of another project's folder, relative to it.
pub type ListPaths = Box<dyn Fn(&Path) -> Vec<String> + Send + Sync>;
/// The changed files against `compare_to:` (`None`: the pipeline's own change set).
pub type ChangedFiles = Box<dyn Fn(Option<&str>) -> Changes + Send + Sync>;

/// What include rules are decided against: the run's own facts (`decisions::RefFacts` makes
/// them), the same ones its jobs are decided against.
pub struct RuleFacts {
    /// The project's root: `exists:` of an entry in one of its files looks at `paths`.
    pub root: PathBuf,
    /// The predefined variables of this ref's pipeline; job-level ones are left out here.
    pub predefined: Vec<(String, String)>,
    /// The person's `--var`s, which stand for project and pipeline variables.
    pub overrides: Vec<(String, String)>,
    /// The project's files and the folders holding them, relative to `root`.
    pub paths: Vec<String>,
    /// The same for another project's folder (a clone named in `local.projects`), whose files
    /// an entry in one of its files checks with `exists:`.
    pub paths_of: ListPaths,
    /// The changed files (`compare_to:` when given), as a job's `changes:` get them.
    pub changes: ChangedFiles,
}

/// The [`Hooks`] of a run: include rules decided against [`RuleFacts`].
pub struct IncludeRules {
    facts: RuleFacts,
    /// Folders of other projects listed so far, by path.
    listed: Mutex<HashMap<PathBuf, Vec<String>>>,
}

impl IncludeRules {
    pub fn new(mut facts: RuleFacts) -> IncludeRules {
        facts.predefined.retain(|(name, _)| !job_level(name));
        IncludeRules {
            facts,
            listed: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `pattern` (variables expanded) names a file or folder under `root`; `None` is
    /// a file with no project on this machine (a remote file, a template, a project fetched
    /// from the API), where nothing exists.
    fn exists(&self, root: Option<&Path>, pattern: &str) -> bool {
        let pattern = pattern.trim_start_matches('/');
        let matches =
            |paths: &[String]| paths.iter().any(|p| glob::matches(pattern, p, glob::RULES));
        match root {
            None => false,
            Some(root) if root == self.facts.root => matches(&self.facts.paths),
            Some(root) => {
                let mut listed = self.listed.lock().unwrap_or_else(|e| e.into_inner());
                let paths = listed
                    .entry(root.to_path_buf())
                    .or_insert_with(|| (self.facts.paths_of)(root));
                matches(paths)
            }
        }
    }
}

impl Hooks for IncludeRules {
    fn include_passes(&self, rules: &Value, exists_root: Option<&Path>) -> Result<Verdict, String> {
        check(rules)?;
        let decision = decide(rules, &self.facts, &|p| self.exists(exists_root, p))?;
        let mut notes = decision.notes;
        if exists_root.is_none() && mentions_exists(rules) {
            notes.push(
                "`exists:` of an include in a file from outside the project (remote, template, \
                 or a project not in local.projects) matches nothing here"
                    .to_string(),
            );
        }
        match decision.cause {
            Cause::RuleError { rule, message } => {
                Err(format!("{rule} cannot be evaluated: {message}"))
            }
            // No `when:` is GitLab's "take it", not a job's `on_success`.
            Cause::Rule {
                rule,
                when: When::OnSuccess,
            } => Ok(Verdict {
                taken: true,
                why: format!("included by {rule}"),
                notes,
            }),
            cause => Ok(Verdict {
                taken: decision.runs,
                why: cause.to_string(),
                notes,
            }),
        }
    }
}

fn job_level(name: &str) -> bool {
    JOB_LEVEL_PREFIXES.iter().any(|p| name.starts_with(p)) || JOB_LEVEL_NAMES.contains(&name)
}

/// What GitLab refuses in include rules but accepts in a job's: other keys, other `when:`s,
/// and `!reference`, which GitLab does not resolve in include rules.
fn check(rules: &Value) -> Result<(), String> {
    let reference = |at: &str| {
        format!(
            "{at} holds a `!reference` (or another tag), which GitLab does not resolve in \
             include rules; write the rules out"
        )
    };
    let items = match rules {
        Value::Sequence(items) => items,
        Value::Tagged(_) => return Err(reference("`rules:`")),
        _ => return Err("must be a list of rules such as `- if: $CI_COMMIT_TAG`".into()),
    };
    let flat = flatten_rules(items)?;
    for (i, rule) in flat.into_iter().enumerate() {
        let at = format!("`rules[{}]`", i + 1);
        if has_tag(rule) {
            return Err(reference(&at));
        }
        let Value::Mapping(map) = rule else {
            return Err(format!(
                "{at} must be a mapping with `if:`, `exists:`, `changes:` or `when:`"
            ));
        };
        for key in map.keys() {
            match key.as_str() {
                Some(k) if KEYS.contains(&k) => {}
                _ => {
                    return Err(format!(
                        "{at} has the key `{}`, which include rules do not take; use only `{}`",
                        key.as_str().unwrap_or("?"),
                        KEYS.join("`, `")
                    ))
                }
            }
        }
        match map.get("when") {
            None | Some(Value::Null) => {}
            Some(Value::String(w)) if WHENS.contains(&w.as_str()) => {}
            Some(other) => {
                let shown = other
                    .as_str()
                    .map_or("that".to_string(), |w| format!("`{w}`"));
                return Err(format!(
                    "{at} has `when:` {shown}; an include is either taken or not, so use \
                     `when: always` or `when: never`"
                ));
            }
        }
    }
    Ok(())
}

fn has_tag(value: &Value) -> bool {
    match value {
        Value::Tagged(_) => true,
        Value::Sequence(items) => items.iter().any(has_tag),
        Value::Mapping(map) => map.iter().any(|(k, v)| has_tag(k) || has_tag(v)),
        _ => false,
    }
}

fn mentions_exists(rules: &Value) -> bool {
    match rules {
        Value::Sequence(items) => items.iter().any(mentions_exists),
        Value::Mapping(map) => map.get("exists").is_some_and(|v| !v.is_null()),
        _ => false,
    }
}

/// The decision of a stand-in job whose `rules:` are `rules`, against `facts`.
fn decide(
    rules: &Value,
    facts: &RuleFacts,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Decision, String> {
    let mut job = Mapping::new();
    job.insert(Value::from("script"), Value::from("true"));
    job.insert(Value::from("rules"), rules.clone());
    let mut config = Mapping::new();
    config.insert(Value::from(STAND_IN), Value::Mapping(job));
    let pipeline = parse_merged(config, &Origins::default(), STAND_IN, "").map_err(|e| {
        let prefix = format!("job `{STAND_IN}`: ");
        let message = e.message();
        message.strip_prefix(&prefix).unwrap_or(message).to_string()
    })?;
    let changes = |compare_to: Option<&str>| (facts.changes)(compare_to);
    let cx = Context {
        predefined: &facts.predefined,
        overrides: &facts.overrides,
        exists,
        changes: &changes,
    };
    let job = pipeline
        .jobs
        .first()
        .ok_or_else(|| "could not be read".to_string())?;
    Ok(pipeline.decide(job, &cx))
}
