//! `extends:` as GitLab applies it (<https://docs.gitlab.com/ci/yaml/#extends>): before
//! `!reference` tags are resolved, on every top-level entry that is a mapping with `extends:`.
//!
//! A job's parents are merged in list order (a later parent wins), then the job's own keys win.
//! The merge is GitLab's "reverse deep merge": mappings merge key by key, everything else
//! (lists, scalars, and `!reference` tags, which are not resolved yet) is replaced whole.
//! GitLab allows 11 levels (a chain may pass through at most 10 ancestors that extend again).

use std::collections::HashMap;

use crate::yaml::{Mapping, Value};

use super::budget::Budget;
use super::values::{describe, strings};

/// GitLab's `MAX_NESTING_LEVELS`: an entry with more ancestors than this may not extend again.
const MAX_ANCESTORS: usize = 10;

/// A problem with the `extends:` of one top-level entry.
#[derive(Debug)]
pub(super) struct ExtendsError {
    pub entry: String,
    pub message: String,
}

/// The top-level mapping with every `extends:` applied; order and other entries are kept.
/// Every copy made is charged to `budget` first.
pub(super) fn apply(config: &Mapping, budget: &mut Budget) -> Result<Mapping, ExtendsError> {
    let mut extender = Extender {
        config,
        done: HashMap::new(),
        budget,
    };
    for name in config.keys().filter_map(Value::as_str) {
        extender.ensure(name, &mut Vec::new())?;
    }
    // Every entry is extended now: the merged ones move out, the rest are copied.
    let Extender { done, budget, .. } = extender;
    let mut done: HashMap<String, Value> = done.into_iter().map(|(k, (v, _))| (k, v)).collect();
    let mut out = Mapping::with_capacity(config.len());
    for (key, value) in config {
        let value = match key.as_str().and_then(|name| done.remove(name)) {
            Some(merged) => merged,
            None => {
                budget.charge_value(value).map_err(|message| ExtendsError {
                    entry: key.as_str().unwrap_or_default().to_string(),
                    message,
                })?;
                value.clone()
            }
        };
        budget.charge_value(key).map_err(|message| ExtendsError {
            entry: key.as_str().unwrap_or_default().to_string(),
            message,
        })?;
        out.insert(key.clone(), value);
    }
    Ok(out)
}

struct Extender<'a, 'b> {
    config: &'a Mapping,
    /// Entries already extended, with their height: a parent shared by many jobs is merged
    /// once, and the height keeps the depth limit exact for every chain through it.
    done: HashMap<String, (Value, usize)>,
    budget: &'b mut Budget,
}

impl Extender<'_, '_> {
    /// Make sure entry `name` has its parents merged in (in `done`) when it extends anything,
    /// and return its height: how many levels below it still use `extends:` (`None` when the
    /// entry itself does not). `chain` holds the entries that are extending it, innermost last.
    fn ensure(
        &mut self,
        name: &str,
        chain: &mut Vec<String>,
    ) -> Result<Option<usize>, ExtendsError> {
        let fail = |chain: &[String], message: String| ExtendsError {
            entry: chain.first().map_or(name, String::as_str).to_string(),
            message,
        };
        let too_deep = |chain: &[String]| {
            fail(
                chain,
                "`extends:` nests deeper than GitLab's 11 levels; flatten the chain".into(),
            )
        };
        if let Some((_, height)) = self.done.get(name) {
            // GitLab counts the ancestors of every entry that extends again.
            if chain.len() + height > MAX_ANCESTORS {
                return Err(too_deep(chain));
            }
            return Ok(Some(*height));
        }
        let config = self.config;
        let value = config.get(name).unwrap_or(&Value::Null);
        let Some(parents) = self.parents(name, value)? else {
            return Ok(None);
        };
        if chain.iter().any(|c| c == name) {
            let mut cycle = chain.clone();
            cycle.push(name.to_string());
            return Err(fail(
                chain,
                format!(
                    "circular `extends:` ({}); break the cycle",
                    cycle.join(" -> ")
                ),
            ));
        }
        if chain.len() > MAX_ANCESTORS {
            return Err(too_deep(chain));
        }
        let mut merged = Mapping::new();
        let mut height = 0;
        chain.push(name.to_string());
        for parent in &parents {
            if let Some(h) = self.ensure(parent, chain)? {
                height = height.max(h + 1);
            }
            let base = match self.done.get(parent.as_str()) {
                Some((merged, _)) => merged,
                None => config.get(parent.as_str()).unwrap_or(&Value::Null),
            };
            if let Value::Mapping(base) = base {
                deep_merge(&mut merged, base, self.budget).map_err(|m| fail(chain, m))?;
            }
        }
        chain.pop();
        if let Value::Mapping(own) = value {
            deep_merge(&mut merged, own, self.budget).map_err(|m| fail(chain, m))?;
        }
        self.done
            .insert(name.to_string(), (Value::Mapping(merged), height));
        Ok(Some(height))
    }

    /// The parents named by `extends:`, checked to exist and be mappings; `None` when the
    /// entry does not extend anything.
    fn parents(&self, name: &str, value: &Value) -> Result<Option<Vec<String>>, ExtendsError> {
        let fail = |message: String| ExtendsError {
            entry: name.to_string(),
            message,
        };
        let Some(extends) = value.as_mapping().and_then(|m| m.get("extends")) else {
            return Ok(None);
        };
        let parents = match extends {
            Value::String(parent) => vec![parent.clone()],
            list => strings(list).map_err(|m| {
                fail(format!(
                    "`extends:` {m}; name one job or list several, e.g. `extends: [.base]`"
                ))
            })?,
        };
        for parent in &parents {
            match self.config.get(parent.as_str()) {
                None => {
                    return Err(fail(format!(
                        "extends `{parent}`, which is not defined in this file; fix the name{}",
                        include_hint(self.config)
                    )))
                }
                Some(Value::Mapping(_)) => {}
                Some(other) => {
                    return Err(fail(format!(
                        "extends `{parent}`, which is {} and not a mapping of job keys; \
                         extend a job or a hidden `.template` job",
                        describe(other)
                    )))
                }
            }
        }
        Ok(Some(parents))
    }
}

/// Merge `over` into `base` the GitLab way: mappings key by key, anything else replaced.
/// Each copy is charged to `budget` before it is made.
pub(super) fn deep_merge(
    base: &mut Mapping,
    over: &Mapping,
    budget: &mut Budget,
) -> Result<(), String> {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Value::Mapping(inner)), Value::Mapping(over_inner)) => {
                deep_merge(inner, over_inner, budget)?
            }
            _ => {
                budget.charge_value(key)?;
                budget.charge_value(value)?;
                base.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(())
}

/// A hint for a name that may live in a file this parser does not read.
pub(super) fn include_hint(config: &Mapping) -> &'static str {
    if config.contains_key("include") {
        " (local runs do not read `include:` files, so a job defined there is unknown here)"
    } else {
        ""
    }
}
