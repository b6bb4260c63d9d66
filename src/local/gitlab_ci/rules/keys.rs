//! A job's `when:` and `allow_failure:`, and `workflow:`: read as GitLab reads them, with
//! messages that start with the key.

use crate::yaml::Value;

use super::super::values::{check_keys, describe};
use super::read::{read_rules, when_of, RulesOf};
use super::{AllowFailure, When, Workflow};

/// A job's own `when:`: `never` is refused outside `rules:`, as GitLab refuses it.
pub fn read_job_when(value: &Value) -> Result<When, String> {
    const JOB: &[When] = &[
        When::OnSuccess,
        When::OnFailure,
        When::Always,
        When::Manual,
        When::Delayed,
    ];
    if value.as_str() == Some("never") {
        return Err(
            "`when:` is `never`, which GitLab refuses outside `rules:` (\"when should be one of: \
             on_success, on_failure, always, manual, delayed\"); use `rules: [{when: never}]`, \
             or start the job's name with a dot to hide it"
                .into(),
        );
    }
    when_of(value, JOB).map_err(|m| format!("`when:` is {m}"))
}

/// `allow_failure:`: a boolean, or `exit_codes:` (one code or a list).
pub fn read_allow_failure(value: &Value) -> Result<AllowFailure, String> {
    read_allow_failure_value(value).map_err(|m| format!("`allow_failure:` {m}"))
}

fn read_allow_failure_value(value: &Value) -> Result<AllowFailure, String> {
    let code = |v: &Value| {
        v.as_i64()
            .ok_or_else(|| format!("{} is not an exit code", describe(v)))
    };
    match value {
        Value::Bool(b) => Ok(AllowFailure::Bool(*b)),
        Value::Mapping(map) => {
            check_keys(map, &["exit_codes"])?;
            let codes = match map.get("exit_codes") {
                Some(Value::Sequence(items)) if !items.is_empty() => {
                    items.iter().map(code).collect::<Result<_, _>>()?
                }
                Some(single @ Value::Number(_)) => vec![code(single)?],
                _ => return Err("needs `exit_codes:` with a code or a list of codes".into()),
            };
            Ok(AllowFailure::ExitCodes(codes))
        }
        other => Err(format!(
            "must be true, false or a mapping with `exit_codes:`, found {}",
            describe(other)
        )),
    }
}

/// `workflow:`: `rules:`, `name:` and `auto_cancel:` (which a local run has no use for).
pub fn read_workflow(value: &Value) -> Result<Workflow, String> {
    let fail = |m: String| format!("`workflow:` {m}");
    let Value::Mapping(map) = value else {
        return Err(fail(format!(
            "must be a mapping with `rules:` and/or `name:`, found {}",
            describe(value)
        )));
    };
    check_keys(map, &["rules", "name", "auto_cancel"]).map_err(fail)?;
    let name = match map.get("name") {
        None => None,
        Some(Value::String(s)) if s.chars().count() <= 255 => Some(s.clone()),
        Some(Value::String(_)) => {
            return Err(fail("has a `name:` longer than 255 characters".into()))
        }
        Some(other) => {
            return Err(fail(format!(
                "has `name:` {}, which must be a string",
                describe(other)
            )))
        }
    };
    let rules = match map.get("rules") {
        None => None,
        Some(v) => Some(read_rules(v, RulesOf::Workflow)?),
    };
    Ok(Workflow { name, rules })
}
