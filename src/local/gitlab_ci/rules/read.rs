//! The YAML of `rules:`, `workflow:`, a job's `when:` and `allow_failure:`, checked as GitLab
//! checks them. Messages are phrases that start with the key ("`rules[2]` has `when:` ..."):
//! the caller adds the file, line and job.

use crate::yaml::{Mapping, Value};

use super::super::values::{self, check_keys, describe};
use super::expression::Expression;
use super::{Rule, RuleChanges, RuleExists, When};

/// Where a list of rules sits: what each rule may hold differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesOf {
    Job,
    Workflow,
}

/// The keys a rule of a job and a rule of `workflow:` both take; each takes one more.
const SHARED_KEYS: [&str; 8] = [
    "if",
    "changes",
    "exists",
    "when",
    "start_in",
    "allow_failure",
    "variables",
    "needs",
];

impl RulesOf {
    fn keys(self) -> [&'static str; 9] {
        let own = match self {
            RulesOf::Job => "interruptible",
            RulesOf::Workflow => "auto_cancel",
        };
        let mut keys = [own; 9];
        keys[..8].copy_from_slice(&SHARED_KEYS);
        keys
    }

    fn whens(self) -> &'static [When] {
        match self {
            RulesOf::Job => &[
                When::OnSuccess,
                When::OnFailure,
                When::Always,
                When::Never,
                When::Manual,
                When::Delayed,
            ],
            RulesOf::Workflow => &[When::Always, When::Never],
        }
    }

    fn name(self) -> &'static str {
        match self {
            RulesOf::Job => "rules",
            RulesOf::Workflow => "workflow:rules",
        }
    }
}

/// GitLab flattens nested lists in `rules:` (what `!reference` leaves) up to this depth.
const MAX_NESTING: usize = 10;
/// The most paths GitLab takes in one `changes:` or `exists:`.
const MAX_PATHS: usize = 50;

/// A job's `rules:` or `workflow:rules`.
pub fn read_rules(value: &Value, of: RulesOf) -> Result<Vec<Rule>, String> {
    let Value::Sequence(items) = value else {
        return Err(format!(
            "`{}:` must be a list of rules, found {}; start each rule with `- `",
            of.name(),
            describe(value)
        ));
    };
    let flat = flatten_rules(items).map_err(|m| format!("`{}:` {m}", of.name()))?;
    if flat.is_empty() {
        return Err(format!(
            "`{}:` is an empty list, which GitLab rejects (\"rules config can't be blank\"); \
             remove it or add a rule",
            of.name()
        ));
    }
    flat.iter()
        .enumerate()
        .map(|(i, item)| {
            let list = of.name();
            rule(item, i + 1, of).map_err(|m| format!("`{list}[{}]` {m}", i + 1))
        })
        .collect()
}

/// The rules of a `rules:` list in order, nested lists (what `!reference` leaves) flattened as
/// GitLab flattens them; deeper nesting than GitLab takes is refused. Include rules use it too,
/// so both lists nest alike.
pub fn flatten_rules(items: &[Value]) -> Result<Vec<&Value>, String> {
    let mut flat = Vec::new();
    flatten(items, 1, &mut flat)?;
    Ok(flat)
}

fn flatten<'a>(items: &'a [Value], depth: usize, out: &mut Vec<&'a Value>) -> Result<(), String> {
    if depth > MAX_NESTING {
        return Err(format!(
            "nests lists deeper than {MAX_NESTING} levels, which GitLab rejects"
        ));
    }
    for item in items {
        match item {
            Value::Sequence(inner) => flatten(inner, depth + 1, out)?,
            other => out.push(other),
        }
    }
    Ok(())
}

fn rule(value: &Value, index: usize, of: RulesOf) -> Result<Rule, String> {
    let map = match value {
        Value::Mapping(map) if !map.is_empty() => map,
        other => {
            return Err(format!(
                "must be a mapping with `if:`, `changes:`, `exists:`, `when:`, ..., found {}",
                describe(other)
            ))
        }
    };
    check_keys(map, &of.keys())?;
    let condition = match set(map, "if") {
        None => None,
        Some(Value::String(text)) => {
            Some(Expression::parse(text).map_err(|e| format!("has `if:` with an {e}"))?)
        }
        Some(other) => {
            return Err(format!(
                "has `if:` {}, which must be an expression string",
                describe(other)
            ))
        }
    };
    let when = match set(map, "when") {
        None => None,
        Some(v) => Some(when_of(v, of.whens()).map_err(|m| format!("has `when:` {m}"))?),
    };
    let start_in = start_in(map, when)?;
    let allow_failure = match set(map, "allow_failure") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            return Err(format!(
                "has `allow_failure:` {}, which must be true or false",
                describe(other)
            ))
        }
    };
    let variables = match map.get("variables") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => values::variables(v).map_err(|m| format!("has invalid variables: {m}"))?,
    };
    Ok(Rule {
        index,
        condition,
        changes: set(map, "changes").map(changes).transpose()?,
        exists: set(map, "exists").map(exists).transpose()?,
        when,
        start_in,
        allow_failure,
        variables,
        needs: set(map, "needs").map(needs).transpose()?,
    })
}

/// `map[key]` unless it is missing or null: GitLab treats a null value as not written.
pub fn set<'m>(map: &'m Mapping, key: &str) -> Option<&'m Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// `start_in:` goes with `when: delayed`, and only with it.
fn start_in(map: &Mapping, when: Option<When>) -> Result<Option<String>, String> {
    match (set(map, "start_in"), when) {
        (Some(Value::String(s)), Some(When::Delayed)) if !s.trim().is_empty() => {
            Ok(Some(s.clone()))
        }
        (Some(Value::Number(n)), Some(When::Delayed)) => Ok(Some(n.to_string())),
        (_, Some(When::Delayed)) => {
            Err("has `when: delayed` without a `start_in:` duration such as `30 minutes`".into())
        }
        (Some(_), _) => Err("has `start_in:`, which only goes with `when: delayed`".into()),
        (None, _) => Ok(None),
    }
}

/// A `when:` name among `allowed`.
pub(super) fn when_of(value: &Value, allowed: &[When]) -> Result<When, String> {
    let names: Vec<&str> = allowed.iter().map(|w| w.name()).collect();
    let found = match value {
        Value::String(s) => When::from_name(s).filter(|w| allowed.contains(w)),
        _ => None,
    };
    found.ok_or_else(|| format!("{}; use one of {}", describe(value), names.join(", ")))
}

/// `changes:` as a list of paths, or `{paths:, compare_to:}`.
fn changes(value: &Value) -> Result<RuleChanges, String> {
    match value {
        Value::Sequence(_) => Ok(RuleChanges {
            paths: paths(value).map_err(|m| format!("has `changes:` {m}"))?,
            compare_to: None,
        }),
        Value::Mapping(map) => {
            check_keys(map, &["paths", "compare_to"]).map_err(|m| format!("has `changes:` {m}"))?;
            let paths = match map.get("paths") {
                Some(v) => paths(v).map_err(|m| format!("has `changes:paths` {m}"))?,
                None => return Err("has `changes:` without `paths:`".into()),
            };
            let compare_to = match map.get("compare_to") {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => {
                    return Err(format!(
                        "has `changes:compare_to` {}, which must be a branch, tag or commit",
                        describe(other)
                    ))
                }
            };
            Ok(RuleChanges { paths, compare_to })
        }
        other => Err(format!(
            "has `changes:` {}, which must be a list of paths or a mapping with `paths:`",
            describe(other)
        )),
    }
}

/// `exists:` as one path, a list, or `{paths:, project:, ref:}`.
fn exists(value: &Value) -> Result<RuleExists, String> {
    let fail = |m: String| format!("has `exists:` {m}");
    match value {
        Value::String(s) => Ok(RuleExists {
            paths: vec![s.clone()],
            project: None,
        }),
        Value::Sequence(_) => Ok(RuleExists {
            paths: paths(value).map_err(fail)?,
            project: None,
        }),
        Value::Mapping(map) => {
            check_keys(map, &["paths", "project", "ref"]).map_err(fail)?;
            let paths = match map.get("paths") {
                Some(v) => paths(v).map_err(|m| format!("has `exists:paths` {m}"))?,
                None => return Err("has `exists:` without `paths:`".into()),
            };
            let text = |key: &str| match map.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(format!(
                    "has `exists:{key}` {}, which must be a string",
                    describe(other)
                )),
            };
            let project = text("project")?;
            if text("ref")?.is_some() && project.is_none() {
                return Err("has `exists:ref` without `exists:project`".into());
            }
            Ok(RuleExists { paths, project })
        }
        other => Err(fail(format!(
            "{}, which must be a path, a list of paths or a mapping with `paths:`",
            describe(other)
        ))),
    }
}

/// A list of at most [`MAX_PATHS`] path strings.
fn paths(value: &Value) -> Result<Vec<String>, String> {
    let list = values::strings(value)?;
    if list.len() > MAX_PATHS {
        return Err(format!(
            "lists {} paths; GitLab takes at most {MAX_PATHS}",
            list.len()
        ));
    }
    Ok(list)
}

/// `needs:` of a rule, read as a job's `needs:` is (GitLab builds both with `Entry::Needs`,
/// a rule's with `allowed_needs: [job]`): job names, or mappings with `job:` and its
/// `artifacts:`, `optional:` and `parallel:`, which keep their meaning; lists inside the list
/// count as their entries. A need of another project or pipeline GitLab refuses in a rule.
fn needs(value: &Value) -> Result<Vec<super::super::Need>, String> {
    let needs =
        super::super::needs::needs(value).map_err(|m| format!("has invalid `needs:`: {m}"))?;
    match needs.iter().find(|n| n.from.is_some()) {
        Some(need) => Err(format!(
            "has a `needs:` entry `{}` from another project or pipeline, which GitLab allows \
             only in a job's own `needs:`",
            need.job
        )),
        None => Ok(needs),
    }
}
