//! A job's [`Decision`] for one pipeline [`Context`], as GitLab decides it when it creates the
//! pipeline: `workflow:rules` first (no pipeline, no job), then the job's `rules:` (the first
//! rule that matches decides; none matching leaves the job out), else `only:`/`except:`
//! (GitLab's default `only: [branches, tags]` when a job has no rules and the pipeline no
//! `workflow:rules`), else the job's own `when:`.

use super::super::{Job, Pipeline, VariableInheritance};
use super::decision::{Cause, Decision, WorkflowDecision};
use super::glob::{self, RULES};
use super::only::{failing_only, matching_except};
use super::policy::{default_only, pipeline_ref};
use super::vars::{overlay, Layers};
use super::{AllowFailure, Rule, When};

/// The files changed, for `changes:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// Paths relative to the project root.
    Known(Vec<String>),
    /// Nothing to compare with (a new branch, a tag, no push event): GitLab then counts
    /// `changes:` as matched.
    Unknown,
    /// `compare_to:` names no branch, tag or commit; the message says so.
    BadRef(String),
}

/// What a decision is made against. Pure: the caller answers about files and changes.
pub struct Context<'a> {
    /// Predefined variables (`CI_COMMIT_BRANCH`, `CI_COMMIT_TAG`, `CI_PIPELINE_SOURCE`,
    /// `CI_PROJECT_PATH`, ...): the lowest layer. The ref and source `only:` matches come
    /// from here and `overrides`; `CI_PIPELINE_SOURCE` is `push` when unset.
    pub predefined: &'a [(String, String)],
    /// The person's variables (`--var`), over the file's as project variables are.
    pub overrides: &'a [(String, String)],
    /// Whether a glob (variables expanded) matches a file or directory of the project; use
    /// [`super::glob::matches`] with [`super::glob::RULES`] to match as GitLab does.
    pub exists: &'a dyn Fn(&str) -> bool,
    /// The changed files: against `compare_to` when given (expanded), else the pipeline's
    /// own change set.
    pub changes: &'a dyn Fn(Option<&str>) -> Changes,
}

/// How a list of rules came out.
enum Outcome<'r> {
    Matched(&'r Rule),
    NoneMatched,
    Error(&'r Rule, String),
}

impl Pipeline {
    /// Whether `workflow:rules` create a pipeline in `cx`, and the global variables then.
    pub fn workflow(&self, cx: &Context) -> WorkflowDecision {
        let mut notes = Vec::new();
        let rules = match self.workflow.as_ref().and_then(|w| w.rules.as_ref()) {
            Some(rules) => rules,
            None => {
                return WorkflowDecision {
                    runs: true,
                    variables: self.variables.clone(),
                    cause: None,
                    notes,
                }
            }
        };
        let layers = Layers {
            layers: vec![cx.predefined, &self.variables, cx.overrides],
        };
        let (runs, cause, variables) = match first_match(rules, &layers, cx, &mut notes) {
            Outcome::Matched(rule) if rule.when == Some(When::Never) => {
                let cause = Cause::Workflow {
                    rule: Some(rule.describe("workflow:rules")),
                };
                (false, Some(cause), self.variables.clone())
            }
            Outcome::Matched(rule) => (true, None, overlay(&self.variables, &rule.variables)),
            Outcome::NoneMatched => (
                false,
                Some(Cause::Workflow { rule: None }),
                self.variables.clone(),
            ),
            Outcome::Error(rule, message) => {
                let rule = rule.describe("workflow:rules");
                let cause = Cause::RuleError { rule, message };
                (false, Some(cause), self.variables.clone())
            }
        };
        WorkflowDecision {
            runs,
            variables,
            cause,
            notes,
        }
    }

    /// Whether `job` is in the pipeline for `cx`, how, and why.
    pub fn decide(&self, job: &Job, cx: &Context) -> Decision {
        let workflow = self.workflow(cx);
        let mut notes = workflow.notes.clone();
        let variables = job_variables(job, &workflow.variables);
        let mut decision = Decision {
            runs: false,
            when: When::Never,
            start_in: None,
            allow_failure: own_allow_failure(job),
            variables,
            needs: None,
            cause: Cause::OwnWhen { when: job.when },
            notes: Vec::new(),
        };
        if let Some(cause) = workflow.cause {
            decision.cause = cause;
            decision.notes = notes;
            return decision;
        }
        let layers = Layers {
            layers: vec![cx.predefined, &decision.variables, cx.overrides],
        };
        if let Some(rules) = &job.rules {
            match first_match(rules, &layers, cx, &mut notes) {
                Outcome::Matched(rule) => {
                    let when = rule.when.unwrap_or(job.when);
                    decision.runs = when != When::Never;
                    decision.when = when;
                    decision.start_in = rule.start_in.clone();
                    if let Some(allow) = rule.allow_failure {
                        decision.allow_failure = AllowFailure::Bool(allow);
                    }
                    decision.variables = overlay(&decision.variables, &rule.variables);
                    decision.needs = rule.needs.clone();
                    decision.cause = Cause::Rule {
                        rule: rule.describe("rules"),
                        when,
                    };
                }
                Outcome::NoneMatched => {
                    decision.cause = Cause::NoRuleMatched { rules: rules.len() }
                }
                Outcome::Error(rule, message) => {
                    let rule = rule.describe("rules");
                    decision.cause = Cause::RuleError { rule, message };
                }
            }
            decision.notes = notes;
            return decision;
        }
        let has_workflow_rules = self.workflow.as_ref().is_some_and(|w| w.rules.is_some());
        let default_only = default_only();
        let only = match &job.only {
            Some(only) => Some(only),
            None if !has_workflow_rules => Some(&default_only),
            None => None,
        };
        let pipeline_ref = pipeline_ref(cx);
        let excluded = only
            .and_then(|p| failing_only(p, &pipeline_ref, &layers, cx, &mut notes))
            .map(|what| match job.only {
                Some(_) => Cause::Only { what },
                None => Cause::Only {
                    what: format!("{what} (GitLab's default `only:` for a job without rules)"),
                },
            })
            .or_else(|| {
                job.except
                    .as_ref()
                    .and_then(|p| matching_except(p, &pipeline_ref, &layers, cx, &mut notes))
                    .map(|what| Cause::Except { what })
            });
        match excluded {
            Some(cause) => decision.cause = cause,
            None => {
                decision.runs = true;
                decision.when = job.when;
                decision.start_in = job.start_in.clone();
                decision.cause = match (&job.only, &job.except) {
                    (None, None) => Cause::OwnWhen { when: job.when },
                    _ => Cause::Policies { when: job.when },
                };
            }
        }
        decision.notes = notes;
        decision
    }
}

/// The job's variables from the file: the global ones (with `workflow:rules` variables) it
/// inherits, then its own over them.
fn job_variables(job: &Job, root: &[(String, String)]) -> Vec<(String, String)> {
    let inherited: Vec<(String, String)> = root
        .iter()
        .filter(|(k, _)| match &job.inherit_variables {
            VariableInheritance::All => true,
            VariableInheritance::Only(names) => names.iter().any(|n| n == k),
        })
        .cloned()
        .collect();
    overlay(&inherited, &job.own_variables)
}

/// `allow_failure:` as the job says, or GitLab's default: true for a manual job only.
fn own_allow_failure(job: &Job) -> AllowFailure {
    match &job.allow_failure {
        Some(allow) => allow.clone(),
        None => AllowFailure::Bool(job.when == When::Manual),
    }
}

/// The first rule whose clauses all hold.
fn first_match<'r>(
    rules: &'r [Rule],
    layers: &Layers,
    cx: &Context,
    notes: &mut Vec<String>,
) -> Outcome<'r> {
    for rule in rules {
        match rule_holds(rule, layers, cx, notes) {
            Ok(true) => return Outcome::Matched(rule),
            Ok(false) => {}
            Err(message) => return Outcome::Error(rule, message),
        }
    }
    Outcome::NoneMatched
}

/// `if:`, `changes:` and `exists:` of one rule, in that order; a rule with none holds.
fn rule_holds(
    rule: &Rule,
    layers: &Layers,
    cx: &Context,
    notes: &mut Vec<String>,
) -> Result<bool, String> {
    if let Some(condition) = &rule.condition {
        if !condition.holds(&|name| layers.get(name)) {
            return Ok(false);
        }
    }
    if let Some(changes) = &rule.changes {
        let compare_to = changes
            .compare_to
            .as_deref()
            .map(|c| layers.expand_existing(c));
        let changed = match (cx.changes)(compare_to.as_deref()) {
            Changes::Known(paths) => paths,
            Changes::Unknown => {
                notes.push(format!(
                    "{}: no change set to compare with (a new branch, a tag, no push): \
                     `changes:` counts as matched, as on GitLab; set compare_to to compare",
                    rule.describe("rules")
                ));
                return exists_holds(rule, layers, cx, notes);
            }
            Changes::BadRef(message) => return Err(message),
        };
        let globs: Vec<String> = changes
            .paths
            .iter()
            .map(|p| layers.expand_existing(p))
            .collect();
        let any = changed
            .iter()
            .any(|path| globs.iter().any(|g| glob::matches(g, path, RULES)));
        if !any {
            return Ok(false);
        }
    }
    exists_holds(rule, layers, cx, notes)
}

fn exists_holds(
    rule: &Rule,
    layers: &Layers,
    cx: &Context,
    notes: &mut Vec<String>,
) -> Result<bool, String> {
    let Some(exists) = &rule.exists else {
        return Ok(true);
    };
    if let Some(project) = &exists.project {
        notes.push(format!(
            "{}: `exists:project: {project}` names another project, whose files a local run \
             cannot see: counted as not matching",
            rule.describe("rules")
        ));
        return Ok(false);
    }
    Ok(exists
        .paths
        .iter()
        .any(|p| (cx.exists)(&layers.expand_existing(p))))
}
