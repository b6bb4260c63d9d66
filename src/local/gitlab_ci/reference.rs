//! `!reference [entry, key, ...]` tags (<https://docs.gitlab.com/ci/yaml/yaml_optimization/#reference-tags>).
//!
//! GitLab resolves them after `extends:` has been applied, against the whole top-level config,
//! so a reference to `.setup.script` sees what `.setup` inherits. A referenced value may hold
//! references itself, up to 10 levels; a chain that comes back to itself is an error. A list
//! pulled into a script stays a nested list here; script reading flattens it in place.

use crate::yaml::{node_cost, Mapping, TaggedValue, Value, NODE_BYTES};

use super::budget::Budget;
use super::extends::include_hint;

/// How many references may be followed inside one another, as GitLab documents.
const MAX_NESTING: usize = 10;

/// A reference that cannot be resolved, with the top-level entry (and its key) it sits in.
#[derive(Debug)]
pub(super) struct ReferenceError {
    pub entry: String,
    pub key: Option<String>,
    pub message: String,
}

/// The config with every `!reference` replaced by the value it points at. A reference copies
/// what it points at, so each value made is charged to `budget` first: ten references to ten
/// references to ... grow tenfold a level.
pub(super) fn resolve_all(
    config: &Mapping,
    budget: &mut Budget,
) -> Result<Mapping, ReferenceError> {
    let mut out = Mapping::with_capacity(config.len());
    for (entry, value) in config {
        let entry_name = entry.as_str().unwrap_or_default().to_string();
        let fail = |key: Option<&Value>| {
            let entry = entry_name.clone();
            let key = key.and_then(Value::as_str).map(str::to_string);
            move |message| ReferenceError {
                entry,
                key,
                message,
            }
        };
        budget.charge_value(entry).map_err(fail(None))?;
        let resolved = match value {
            // Resolve key by key so an error can name the key (and so its line).
            Value::Mapping(keys) => {
                budget.charge(NODE_BYTES).map_err(fail(None))?;
                let mut resolved = Mapping::with_capacity(keys.len());
                for (key, value) in keys {
                    budget.charge_value(key).map_err(fail(Some(key)))?;
                    let value =
                        resolve(value, config, &mut Vec::new(), budget).map_err(fail(Some(key)))?;
                    resolved.insert(key.clone(), value);
                }
                Value::Mapping(resolved)
            }
            other => resolve(other, config, &mut Vec::new(), budget).map_err(fail(None))?,
        };
        out.insert(entry.clone(), resolved);
    }
    Ok(out)
}

/// `value` with its references resolved; `chain` holds the references being followed.
fn resolve(
    value: &Value,
    config: &Mapping,
    chain: &mut Vec<Vec<String>>,
    budget: &mut Budget,
) -> Result<Value, String> {
    if !matches!(value, Value::Tagged(_)) {
        budget.charge(node_cost(value))?;
    }
    match value {
        Value::Tagged(tagged) => resolve_tag(tagged, config, chain, budget),
        Value::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(resolve(item, config, chain, budget)?);
            }
            Ok(Value::Sequence(out))
        }
        Value::Mapping(map) => {
            let mut out = Mapping::with_capacity(map.len());
            for (key, value) in map {
                budget.charge_value(key)?;
                out.insert(key.clone(), resolve(value, config, chain, budget)?);
            }
            Ok(Value::Mapping(out))
        }
        scalar => Ok(scalar.clone()),
    }
}

fn resolve_tag(
    tagged: &TaggedValue,
    config: &Mapping,
    chain: &mut Vec<Vec<String>>,
    budget: &mut Budget,
) -> Result<Value, String> {
    if tagged.tag != "reference" {
        return Err(format!(
            "the YAML tag `{}` is unknown to GitLab; use only `!reference` tags",
            tagged.tag
        ));
    }
    let path = path_of(&tagged.value)?;
    let shown = show(&path);
    if chain.contains(&path) {
        return Err(format!(
            "`{shown}` is part of a circular chain of references; break the cycle"
        ));
    }
    if chain.len() >= MAX_NESTING {
        return Err(format!(
            "`{shown}` nests references deeper than GitLab's {MAX_NESTING} levels; \
             reference the value directly"
        ));
    }
    let target = lookup(&path, config)?;
    chain.push(path);
    let resolved = resolve(target, config, chain, budget);
    chain.pop();
    resolved
}

/// The path written in the tag: a non-empty list of strings.
fn path_of(value: &Value) -> Result<Vec<String>, String> {
    let path: Option<Vec<String>> = match value {
        Value::Sequence(items) if !items.is_empty() => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => None,
    };
    path.ok_or_else(|| {
        "a `!reference` must be a list of names; write it as `!reference [job, key]`".into()
    })
}

/// The raw (not yet resolved) value at `path`.
fn lookup<'a>(path: &[String], config: &'a Mapping) -> Result<&'a Value, String> {
    let shown = show(path);
    let mut current = config.get(path[0].as_str()).ok_or_else(|| {
        format!(
            "`{shown}` points at `{}`, which is not defined in this file; fix the name{}",
            path[0],
            include_hint(config)
        )
    })?;
    for (depth, step) in path.iter().enumerate().skip(1) {
        current = current
            .as_mapping()
            .and_then(|map| map.get(step.as_str()))
            .ok_or_else(|| {
                format!(
                    "`{shown}` could not be found: `{}` has no key `{step}`; fix the path",
                    path[..depth].join(".")
                )
            })?;
    }
    Ok(current)
}

fn show(path: &[String]) -> String {
    format!("!reference [{}]", path.join(", "))
}
