//! What [`super::decide`] answers: whether a job is in the pipeline for this ref, with what
//! `when:`, `allow_failure:` and variables, and why, in one line for a person.

use std::fmt;

use super::{AllowFailure, When};

/// Whether a job is in the pipeline, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The job is in the pipeline (it may still be `manual`, `delayed` or `on_failure`).
    pub runs: bool,
    /// The `when:` it runs with; `never` when it does not run.
    pub when: When,
    /// `start_in:` of a `delayed` job.
    pub start_in: Option<String>,
    pub allow_failure: AllowFailure,
    /// The job's variables from the file after `workflow:rules` and `rules:` variables, in
    /// place of [`super::super::Job::variables`] when it runs (values as written).
    pub variables: Vec<(String, String)>,
    /// `needs:` of the rule that decided, replacing the job's own.
    pub needs: Option<Vec<super::super::Need>>,
    pub cause: Cause,
    /// What a local run could not check as GitLab would (no change set known,
    /// `kubernetes: active`, `exists: project:`), one line each.
    pub notes: Vec<String>,
}

/// What decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// `workflow:rules` create no pipeline for this ref: the rule that said `never` (its
    /// description), or `None` when none matched.
    Workflow { rule: Option<String> },
    /// A rule matched: its description (`rules[2]: if: ...`) and `when:`.
    Rule { rule: String, when: When },
    /// `rules:` are there and none matched.
    NoRuleMatched { rules: usize },
    /// A rule could not be evaluated (GitLab fails the pipeline: "Failed to parse rule").
    RuleError { rule: String, message: String },
    /// `only:` did not match: which key, and how.
    Only { what: String },
    /// `except:` matched: which key, and how.
    Except { what: String },
    /// `only:`/`except:` let the job in (GitLab's default `only:` included).
    Policies { when: When },
    /// No `rules:`, `only:` or `except:` apply: the job's own `when:`.
    OwnWhen { when: When },
}

impl Decision {
    /// One line: why the job runs or not, naming the rule that decided.
    pub fn why(&self) -> String {
        self.cause.to_string()
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Workflow { rule: Some(rule) } => write!(
                f,
                "excluded: no pipeline for this ref, {rule} (when: never)"
            ),
            Cause::Workflow { rule: None } => {
                f.write_str("excluded: no pipeline for this ref, no workflow:rules entry matched")
            }
            Cause::Rule { rule, when } if *when == When::Never => {
                write!(f, "excluded by {rule} (when: never)")
            }
            Cause::Rule { rule, when } => write!(f, "included by {rule} (when: {when})"),
            Cause::NoRuleMatched { rules } => {
                let s = if *rules == 1 { "" } else { "s" };
                write!(f, "excluded: no rule matched ({rules} rule{s})")
            }
            Cause::RuleError { rule, message } => {
                write!(f, "excluded: {rule} cannot be evaluated: {message}")
            }
            Cause::Only { what } => write!(f, "excluded by only:{what}"),
            Cause::Except { what } => write!(f, "excluded by except:{what}"),
            Cause::Policies { when } => write!(f, "included by only/except (when: {when})"),
            Cause::OwnWhen { when } => write!(f, "included: no rules (when: {when})"),
        }
    }
}

/// Whether `workflow:rules` create a pipeline for this ref, and the variables they add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowDecision {
    pub runs: bool,
    /// The global variables with the matching workflow rule's variables over them.
    pub variables: Vec<(String, String)>,
    /// Set when no pipeline is created.
    pub cause: Option<Cause>,
    pub notes: Vec<String>,
}
