//! Readers for the value shapes GitLab accepts: scripts, variables, images, lists of names.
//!
//! They know nothing of jobs or lines: each returns the problem as a message fragment that reads
//! after "`key` ", and the caller adds the file, line, job and key.

use crate::yaml::{Mapping, Value};

use super::Image;
use crate::payload::ServiceRequest;

/// The keys of a variable's long form; `expand: false` is reported, not honoured
/// ([`super::keywords::IGNORED_SUB_KEYS`]).
pub(super) const VARIABLE_KEYS: &[&str] = &["value", "description", "expand", "options"];

/// The keys of an `image:` mapping (`kubernetes:` is reported, not acted on).
pub(super) const IMAGE_KEYS: &[&str] =
    &["name", "entrypoint", "docker", "pull_policy", "kubernetes"];

/// The keys of a `services:` entry (`docker:` and `kubernetes:` are reported, not acted on).
pub(super) const SERVICE_KEYS: &[&str] = &[
    "name",
    "alias",
    "entrypoint",
    "command",
    "variables",
    "ports",
    "pull_policy",
    "docker",
    "kubernetes",
];

/// GitLab flattens nested script lists up to this depth and rejects deeper ones
/// (<https://docs.gitlab.com/ci/yaml/script/#split-long-commands>).
const MAX_SCRIPT_NESTING: usize = 10;

/// A script: one string, or a list of strings and nested lists (flattened in order). A nested
/// list is also what a `!reference` to another script leaves behind.
pub(super) fn script(value: &Value) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    match value {
        Value::String(s) => lines.push(s.clone()),
        Value::Sequence(items) => flatten(items, 1, &mut lines)?,
        other => {
            return Err(format!(
                "must be a string or a list of strings, found {}",
                describe(other)
            ))
        }
    }
    Ok(lines)
}

fn flatten(items: &[Value], depth: usize, out: &mut Vec<String>) -> Result<(), String> {
    if depth > MAX_SCRIPT_NESTING {
        return Err(format!(
            "nests lists deeper than {MAX_SCRIPT_NESTING} levels, which GitLab rejects"
        ));
    }
    for item in items {
        match item {
            Value::String(s) => out.push(s.clone()),
            Value::Sequence(inner) => flatten(inner, depth + 1, out)?,
            // GitLab rejects `- 1` or `- true` in a script rather than guessing a string.
            other => {
                return Err(format!(
                    "must hold only strings, found {}; quote it",
                    describe(other)
                ))
            }
        }
    }
    Ok(())
}

/// A `variables:` mapping, in file order, values as written (not expanded). Messages are
/// whole phrases ("`variables:` must be ...", "variable `A` must be ...").
pub(super) fn variables(value: &Value) -> Result<Vec<(String, String)>, String> {
    let Value::Mapping(map) = value else {
        return Err(format!(
            "`variables:` must be a mapping of names to values, found {}",
            describe(value)
        ));
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        let Value::String(name) = name else {
            return Err(format!(
                "`variables:` has a name that is not a string ({}); quote it",
                describe(name)
            ));
        };
        let value = variable_value(value).map_err(|m| format!("variable `{name}` {m}"))?;
        out.push((name.clone(), value));
    }
    Ok(out)
}

/// A variable's value: a scalar, or the long form `{value, description, expand, options}`.
/// A name with nothing after it (`VAR:`) is the empty string: GitLab reads it as the long
/// form without `value:` (`Entry::ComposableHash` builds each entry from `config || {}`, and
/// `Entry::Variable::ComplexVariable#value` is `config_value.to_s`). (In `rules:variables`
/// GitLab takes no long form, so it refuses `VAR:` there; a local run reads it as empty.)
fn variable_value(value: &Value) -> Result<String, String> {
    if let Some(text) = scalar_text(value) {
        return Ok(text);
    }
    if value.is_null() {
        return Ok(String::new());
    }
    let Value::Mapping(map) = value else {
        return Err(format!(
            "must be a string, a number, a boolean or a mapping with `value:`, found {}",
            describe(value)
        ));
    };
    check_keys(map, VARIABLE_KEYS)?;
    match map.get("value") {
        // A variable with only a `description:` is a prefilled-form entry with an empty value.
        None => Ok(String::new()),
        Some(v) => scalar_text(v).ok_or_else(|| {
            format!(
                "has a `value:` that must be a string, a number or a boolean, found {}",
                describe(v)
            )
        }),
    }
}

/// The string form GitLab gives a scalar variable value (`3.10` is the number 3.1, as there).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An `image:`: a name, or `{name, entrypoint, docker, pull_policy, kubernetes}`.
pub(super) fn image(value: &Value) -> Result<Image, String> {
    match value {
        Value::String(name) if !name.trim().is_empty() => Ok(Image {
            name: name.clone(),
            entrypoint: None,
            user: None,
            platform: None,
            pull_policy: Vec::new(),
        }),
        Value::Mapping(map) => {
            check_keys(map, IMAGE_KEYS)?;
            let name = match map.get("name") {
                Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
                _ => return Err("needs a `name:` string".into()),
            };
            let entrypoint = match map.get("entrypoint") {
                None => None,
                Some(v) => Some(strings(v).map_err(|m| format!("`entrypoint` {m}"))?),
            };
            let (user, platform) = match map.get("docker") {
                None => (None, None),
                Some(docker) => docker_options(docker)?,
            };
            Ok(Image {
                name,
                entrypoint,
                user,
                platform,
                pull_policy: pull_policy(map).map_err(|m| format!("`pull_policy` {m}"))?,
            })
        }
        other => Err(format!(
            "must be an image name or a mapping with `name:`, found {}",
            describe(other)
        )),
    }
}

/// `pull_policy:` of an image or a service: one name or a list of names.
fn pull_policy(map: &Mapping) -> Result<Vec<String>, String> {
    match map.get("pull_policy") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(name)) => Ok(vec![name.clone()]),
        Some(other) => strings(other),
    }
}

/// `image: docker: {user, platform}`; `user` may be a name or a number.
fn docker_options(value: &Value) -> Result<(Option<String>, Option<String>), String> {
    let Value::Mapping(map) = value else {
        return Err(format!(
            "`docker` must be a mapping, found {}",
            describe(value)
        ));
    };
    check_keys(map, &["user", "platform"]).map_err(|m| format!("`docker` {m}"))?;
    let user = match map.get("user") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(format!(
                "`docker: user` must be a name or a number, found {}",
                describe(other)
            ))
        }
    };
    let platform = match map.get("platform") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(format!(
                "`docker: platform` must be a string, found {}",
                describe(other)
            ))
        }
    };
    Ok((user, platform))
}

/// `services:`: a list of image names or mappings with `name:` (and `alias`, `entrypoint`,
/// `command`, `variables`), in the shape the runner hands a driver.
pub(super) fn services(value: &Value) -> Result<Vec<ServiceRequest>, String> {
    let Value::Sequence(items) = value else {
        return Err(format!(
            "must be a list of services, found {}",
            describe(value)
        ));
    };
    items.iter().map(service).collect()
}

fn service(value: &Value) -> Result<ServiceRequest, String> {
    match value {
        Value::String(name) if !name.trim().is_empty() => Ok(ServiceRequest {
            name: name.clone(),
            ..ServiceRequest::default()
        }),
        Value::Mapping(map) => {
            check_keys(map, SERVICE_KEYS)?;
            let name = match map.get("name") {
                Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
                _ => return Err("has a service without a `name:` string".into()),
            };
            let list = |key: &str| match map.get(key) {
                None => Ok(None),
                Some(v) => strings(v)
                    .map(Some)
                    .map_err(|m| format!("service {name}: `{key}` {m}")),
            };
            let alias = match map.get("alias") {
                None => None,
                Some(Value::String(a)) => Some(a.clone()),
                Some(other) => {
                    return Err(format!(
                        "service {name}: `alias` must be a string, found {}",
                        describe(other)
                    ))
                }
            };
            let variables = match map.get("variables") {
                None | Some(Value::Null) => Vec::new(),
                Some(v) => variables(v).map_err(|m| format!("service {name}: {m}"))?,
            };
            let ports = match map.get("ports") {
                None => Vec::new(),
                Some(v) => super::ports::ports(&name, v)?,
            };
            Ok(ServiceRequest {
                entrypoint: list("entrypoint")?,
                command: list("command")?,
                pull_policy: pull_policy(map)
                    .map_err(|m| format!("service {name}: `pull_policy` {m}"))?,
                name,
                alias,
                variables,
                ports,
            })
        }
        other => Err(format!(
            "must list image names or mappings with `name:`, found {}",
            describe(other)
        )),
    }
}

/// A flat list of strings (`stages:`, `entrypoint:`, `extends:` lists, `inherit:` lists).
pub(super) fn strings(value: &Value) -> Result<Vec<String>, String> {
    let Value::Sequence(items) = value else {
        return Err(format!(
            "must be a list of strings, found {}",
            describe(value)
        ));
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "must be a list of strings, found {} in it",
                describe(other)
            )),
        })
        .collect()
}

/// Reject keys outside `allowed`, naming the first one.
pub(super) fn check_keys(map: &Mapping, allowed: &[&str]) -> Result<(), String> {
    for key in map.keys() {
        match key {
            Value::String(k) if allowed.contains(&k.as_str()) => {}
            other => {
                return Err(format!(
                    "has an unknown key {}; use {}",
                    describe(other),
                    allowed.join(", ")
                ))
            }
        }
    }
    Ok(())
}

/// A short description of a value for messages: its kind and, for scalars, the value itself.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("a boolean (`{b}`)"),
        Value::Number(n) => format!("a number (`{n}`)"),
        Value::String(s) => format!("`{s}`"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a `{}` tag", t.tag),
    }
}
