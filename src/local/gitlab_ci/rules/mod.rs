//! Whether a job runs, as GitLab decides it: `rules:`, `only:`/`except:` and `workflow:rules`
//! (<https://docs.gitlab.com/ci/jobs/job_rules/>, <https://docs.gitlab.com/ci/yaml/#only--except>,
//! <https://docs.gitlab.com/ci/yaml/workflow/>). Pure code: the project's files and changes
//! come from the caller through [`Context`].
//!
//! - [`expression`]: the `rules:if` language (`lexer`, `parser`, `pattern` for regexes);
//! - [`glob`]: path globs as `changes:` and `exists:` match them;
//! - `read`, `keys` and `policy`: the YAML of `rules:`, `when:`, `allow_failure:`,
//!   `only:`/`except:`, `workflow:` checked as GitLab checks it;
//! - `decide` (with `only` and `vars`): a job's [`Decision`] for a [`Context`].

mod decide;
mod decision;
mod expression;
pub mod glob;
mod keys;
mod lexer;
mod only;
mod parser;
mod pattern;
mod policy;
mod read;
mod vars;

#[cfg(test)]
mod tests;

use std::fmt;

pub use decide::{Changes, Context};
pub use decision::{Cause, Decision, WorkflowDecision};
pub use expression::{Expression, ExpressionError};
pub(super) use keys::{read_allow_failure, read_job_when, read_workflow};
pub(super) use policy::read_policy;
pub(crate) use read::flatten_rules;
pub(super) use read::{read_rules, set, RulesOf};

/// `when:` of a job or a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    OnSuccess,
    OnFailure,
    Always,
    Manual,
    Delayed,
    /// Only in `rules:` and `workflow:rules`; GitLab refuses it on a job.
    Never,
}

impl When {
    pub fn name(self) -> &'static str {
        match self {
            When::OnSuccess => "on_success",
            When::OnFailure => "on_failure",
            When::Always => "always",
            When::Manual => "manual",
            When::Delayed => "delayed",
            When::Never => "never",
        }
    }

    fn from_name(name: &str) -> Option<When> {
        [
            When::OnSuccess,
            When::OnFailure,
            When::Always,
            When::Manual,
            When::Delayed,
            When::Never,
        ]
        .into_iter()
        .find(|w| w.name() == name)
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A job's `allow_failure:`: `true`/`false`, or `exit_codes:` that may fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowFailure {
    Bool(bool),
    ExitCodes(Vec<i64>),
}

/// One entry of `rules:` (or `workflow:rules`), with its 1-based place in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub index: usize,
    /// `if:`.
    pub condition: Option<Expression>,
    /// `changes:` paths (globs, `$VARS` expanded when evaluated) and `compare_to:`.
    pub changes: Option<RuleChanges>,
    /// `exists:` paths (globs); `exists: project:` cannot be checked locally.
    pub exists: Option<RuleExists>,
    pub when: Option<When>,
    /// `start_in:`, with `when: delayed`.
    pub start_in: Option<String>,
    pub allow_failure: Option<bool>,
    /// `variables:` the job gets when this rule decides, over its own.
    pub variables: Vec<(String, String)>,
    /// `needs:` that replace the job's when this rule decides.
    pub needs: Option<Vec<super::Need>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleChanges {
    pub paths: Vec<String>,
    pub compare_to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleExists {
    pub paths: Vec<String>,
    /// `project:` (and `ref:`): files of another project, which a local run cannot see.
    pub project: Option<String>,
}

/// `only:` or `except:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Branch or tag names, `/regex/`, keywords (`branches`, `tags`, `merge_requests`, ...),
    /// each maybe with `@project/path`.
    pub refs: Vec<String>,
    /// `variables:` expressions: the policy matches when any holds.
    pub variables: Vec<Expression>,
    /// `changes:` globs.
    pub changes: Vec<String>,
    /// `kubernetes: active`.
    pub kubernetes: bool,
    /// The keys written (`refs`, `variables`, ...), for messages; a plain list is `refs`.
    pub keys: Vec<&'static str>,
}

/// `workflow:`: whether the pipeline is created at all, and its name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Workflow {
    pub name: Option<String>,
    pub rules: Option<Vec<Rule>>,
}

impl Rule {
    /// The rule in a few words for messages: `rules[2]: if: $X == "y"`, its other clauses
    /// when it has no `if:`, or just `rules[3]` when it has no condition at all.
    pub fn describe(&self, list: &str) -> String {
        let mut parts = Vec::new();
        if let Some(condition) = &self.condition {
            parts.push(format!("if: {}", condition.text()));
        }
        if let Some(changes) = &self.changes {
            parts.push(format!("changes: {}", short_list(&changes.paths)));
        }
        if let Some(exists) = &self.exists {
            parts.push(format!("exists: {}", short_list(&exists.paths)));
        }
        match parts.is_empty() {
            true => format!("{list}[{}]", self.index),
            false => format!("{list}[{}]: {}", self.index, parts.join(", ")),
        }
    }
}

/// `a, b, c` or `a, b, c and 4 more`.
fn short_list(items: &[String]) -> String {
    const SHOWN: usize = 3;
    let shown = items[..items.len().min(SHOWN)].join(", ");
    match items.len().saturating_sub(SHOWN) {
        0 => shown,
        n => format!("{shown} and {n} more"),
    }
}
