//! `parallel:` (<https://docs.gitlab.com/ci/yaml/#parallel>): one job becomes several, named
//! and numbered as GitLab's `Ci::Config::Normalizer` names them.
//!
//! - `parallel: N` (1 to 200) makes `name 1/N` ... `name N/N`;
//! - `parallel: matrix:` makes, for each entry in turn, one job per combination of its values
//!   (the first variable varying slowest), named `name: [v1, v2]` with the values in the order
//!   of the entry's keys, each job's matrix variables replacing the job's own; at most 200 in
//!   all.
//!
//! Every job made gets `CI_NODE_INDEX` (1-based, across the whole matrix) and `CI_NODE_TOTAL`,
//! as GitLab's predefined variables: a `variables:` entry of the same name wins over them.

use crate::yaml::{Mapping, Value};

use super::values::describe;
use super::Job;

/// GitLab's `Entry::Product::Parallel::PARALLEL_LIMIT`.
pub(super) const MAX_JOBS: usize = 200;

/// The jobs `job` becomes with its `parallel:` value; messages read after "`parallel:` ".
/// `copies` is told how many copies of the job are about to be made, before they are, and may
/// refuse them.
pub(super) fn expand(
    job: Job,
    parallel: Option<&Value>,
    copies: impl FnOnce(usize) -> Result<(), String>,
) -> Result<Vec<Job>, String> {
    let Some(parallel) = parallel else {
        return Ok(vec![job]);
    };
    let runs: Vec<(String, Vec<(String, String)>)> = match parallel {
        Value::Null => return Ok(vec![job]),
        Value::Number(n) => {
            let total = n
                .as_u64()
                .filter(|n| (1..=MAX_JOBS as u64).contains(n))
                .ok_or_else(|| {
                    format!(
                        "must be a whole number from 1 to {MAX_JOBS}, GitLab's limit, found `{n}`"
                    )
                })? as usize;
            (1..=total)
                .map(|i| (format!("{} {i}/{total}", job.name), Vec::new()))
                .collect()
        }
        Value::Mapping(map) => matrix(map)?
            .into_iter()
            .map(|vars| (matrix_name(&job.name, &vars), vars))
            .collect(),
        other => {
            return Err(format!(
                "must be a number of jobs or a mapping with `matrix:`, found {}",
                describe(other)
            ))
        }
    };
    let total = runs.len();
    copies(total - 1)?;
    Ok(runs
        .into_iter()
        .enumerate()
        .map(|(index, (name, vars))| {
            let mut run = job.clone();
            run.name = name;
            let node = [
                ("CI_NODE_INDEX".to_string(), (index + 1).to_string()),
                ("CI_NODE_TOTAL".to_string(), total.to_string()),
            ];
            // Both the merged list and the job's own (which rules layer over the global
            // variables again) get them.
            for list in [&mut run.variables, &mut run.own_variables] {
                set_matrix(list, &vars, &node);
            }
            run
        })
        .collect())
}

/// The matrix's values over `list`'s, then the node variables first where `list` does not
/// set them itself.
fn set_matrix(
    list: &mut Vec<(String, String)>,
    vars: &[(String, String)],
    node: &[(String, String); 2],
) {
    for (key, value) in vars {
        match list.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.clone(),
            None => list.push((key.clone(), value.clone())),
        }
    }
    for (at, (key, value)) in node.iter().enumerate() {
        if !list.iter().any(|(k, _)| k == key) {
            list.insert(at.min(list.len()), (key.clone(), value.clone()));
        }
    }
}

/// The name of the job a matrix combination makes of `base`: `base: [v1, v2]`, the values in
/// the order their variables are written.
fn matrix_name(base: &str, vars: &[(String, String)]) -> String {
    let values: Vec<&str> = vars.iter().map(|(_, v)| v.as_str()).collect();
    format!("{base}: [{}]", values.join(", "))
}

/// The names of the jobs a `parallel: matrix:` value would make of a job called `base`, in
/// GitLab's order: what a `needs:` entry's own `parallel: matrix:` names (GitLab's normalizer
/// runs the need's matrix through the same naming). Messages read after "`parallel:` ".
pub(super) fn matrix_names(base: &str, parallel: &Value) -> Result<Vec<String>, String> {
    let Value::Mapping(map) = parallel else {
        return Err(format!(
            "must be a mapping with `matrix:`, found {}",
            describe(parallel)
        ));
    };
    Ok(matrix(map)?
        .iter()
        .map(|vars| matrix_name(base, vars))
        .collect())
}

/// Whether `job` is one of the jobs `parallel:` makes of a job called `base`.
pub(super) fn made_from(job: &str, base: &str) -> bool {
    let Some(rest) = job.strip_prefix(base) else {
        return false;
    };
    if rest.starts_with(": [") && rest.ends_with(']') {
        return true;
    }
    let numbered = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    rest.strip_prefix(' ')
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(i, n)| numbered(i) && numbered(n))
}

/// The variables of every job of `parallel: {matrix: [...]}`, in GitLab's order.
fn matrix(map: &Mapping) -> Result<Vec<Vec<(String, String)>>, String> {
    for key in map.keys() {
        if key.as_str() != Some("matrix") {
            return Err(format!(
                "has the unknown key {}; write `parallel: N` or `parallel: {{matrix: [...]}}`",
                describe(key)
            ));
        }
    }
    let entries = match map.get("matrix") {
        Some(Value::Sequence(entries)) => entries,
        None => return Err("needs `matrix:`, a list of mappings of variables to values".into()),
        Some(other) => {
            return Err(format!(
                "`matrix` must be a list of mappings of variables to values, found {}",
                describe(other)
            ))
        }
    };
    let mut read = Vec::with_capacity(entries.len());
    let mut count = 0usize;
    for (index, entry) in entries.iter().enumerate() {
        let entry =
            matrix_entry(entry).map_err(|m| format!("`matrix` entry {}: {m}", index + 1))?;
        let jobs = entry
            .iter()
            .map(|(_, values)| values.len())
            .fold(1usize, usize::saturating_mul);
        count = count.saturating_add(jobs);
        read.push(entry);
    }
    if count > MAX_JOBS {
        return Err(format!(
            "`matrix` makes {count} jobs, more than GitLab's limit of {MAX_JOBS}; split it"
        ));
    }
    if count == 0 {
        return Err("`matrix` makes no jobs; give each variable at least one value".into());
    }
    let mut jobs = Vec::with_capacity(count);
    for entry in read {
        // Ruby's `values[0].product(*values[1..])`: the first variable varies slowest.
        let mut combinations: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for (name, values) in &entry {
            combinations = combinations
                .into_iter()
                .flat_map(|done| {
                    values.iter().map(move |value| {
                        let mut next = done.clone();
                        next.push((name.clone(), value.clone()));
                        next
                    })
                })
                .collect();
        }
        jobs.extend(combinations.into_iter().filter(|c| c.len() == entry.len()));
    }
    Ok(jobs)
}

/// One entry: variable names (strings or whole numbers) to a value or a list of values.
fn matrix_entry(entry: &Value) -> Result<Vec<(String, Vec<String>)>, String> {
    let Value::Mapping(map) = entry else {
        return Err(format!(
            "must be a mapping of variables to values, found {}",
            describe(entry)
        ));
    };
    if map.is_empty() {
        return Err("needs at least one variable".into());
    }
    map.iter()
        .map(|(name, values)| {
            let name = text(name).ok_or_else(|| {
                format!("has a variable name that is not text ({})", describe(name))
            })?;
            let values = match values {
                Value::Sequence(items) => items
                    .iter()
                    .map(|item| text(item).ok_or(item))
                    .collect::<Result<Vec<_>, _>>(),
                one => text(one).map(|t| vec![t]).ok_or(one),
            }
            .map_err(|bad| {
                format!(
                    "variable `{name}` must be a string, a whole number or a list of them, \
                     found {}; quote it",
                    describe(bad)
                )
            })?;
            Ok((name, values))
        })
        .collect()
}

/// A string or a whole number, as text (GitLab's `validate_alphanumeric`).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}
