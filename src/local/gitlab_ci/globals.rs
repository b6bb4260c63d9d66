//! The pipeline-wide keywords: `stages:`, `variables:`, `workflow:`, `default:` and the deprecated
//! top-level `image:`/`before_script:`/`after_script:`/`services:`/`cache:`, each read once
//! (after `extends:` and `!reference` are resolved) so every job applies the same values.

use crate::yaml::{Mapping, Value};

use super::error::{GitlabCiError, Locator};
use super::ignored;
use super::keywords::{DEFAULT_KEYS, DEPRECATED_GLOBALS};
use super::rules::{read_workflow, Workflow};
use super::values::{self, check_keys, describe};
use super::Image;
use crate::payload::ServiceRequest;

/// GitLab's stages when `stages:` is not written.
const DEFAULT_STAGES: &[&str] = &[".pre", "build", "test", "deploy", ".post"];

/// What a job gets from `default:` (or a deprecated global) for each key it does not set.
#[derive(Debug, Default)]
pub(super) struct Defaults {
    pub image: Option<Image>,
    pub before_script: Option<Vec<String>>,
    pub after_script: Option<Vec<String>>,
    pub services: Option<Vec<ServiceRequest>>,
    pub artifacts: Option<super::Artifacts>,
    pub cache: Option<Vec<super::Cache>>,
    /// Default keys that are set but that a local run ignores (`tags`, `retry`, ...).
    pub ignored: Vec<&'static str>,
    /// Skipped parts of the default keys that are read (`image:kubernetes`, ...), each with
    /// its key: a job that sets the key itself, or does not inherit it, has none of them.
    pub ignored_parts: Vec<(&'static str, &'static str)>,
}

/// `stages:`, with `.pre` first and `.post` last as GitLab always has them.
pub(super) fn stages(config: &Mapping, at: &Locator) -> Result<Vec<String>, GitlabCiError> {
    let Some(value) = config.get("stages") else {
        return Ok(DEFAULT_STAGES.iter().map(|s| s.to_string()).collect());
    };
    let mut stages = values::strings(value)
        .map_err(|m| at.top_error("stages", format!("`stages:` {m}; list stage names")))?;
    if !stages.iter().any(|s| s == ".pre") {
        stages.insert(0, ".pre".into());
    }
    if !stages.iter().any(|s| s == ".post") {
        stages.push(".post".into());
    }
    Ok(stages)
}

/// Top-level `variables:`, in file order.
pub(super) fn variables(
    config: &Mapping,
    at: &Locator,
) -> Result<Vec<(String, String)>, GitlabCiError> {
    match config.get("variables") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(value) => values::variables(value).map_err(|m| at.top_error("variables", m)),
    }
}

/// `workflow:`, when written.
pub(super) fn workflow(config: &Mapping, at: &Locator) -> Result<Option<Workflow>, GitlabCiError> {
    match config.get("workflow") {
        None => Ok(None),
        Some(value) => read_workflow(value)
            .map(Some)
            .map_err(|m| at.top_error("workflow", m)),
    }
}

/// What a local run skips of the top-level keywords, in file order: parts of `workflow:` and
/// `variables:` it does not act on, and `include:` when this file was read without its
/// includes ([`super::parse`] of a file that has one; the driver resolves them first).
pub(super) fn ignored(config: &Mapping) -> Vec<String> {
    let mut found = Vec::new();
    for (key, value) in config {
        match key.as_str() {
            Some("include") => found.push("include"),
            Some("workflow") => found.extend(ignored::workflow_keys(value)),
            Some("variables") => found.extend(ignored::sub_keys("variables", value)),
            _ => {}
        }
    }
    found.into_iter().map(str::to_string).collect()
}

/// `default:` merged over the deprecated globals, key by key.
pub(super) fn defaults(config: &Mapping, at: &Locator) -> Result<Defaults, GitlabCiError> {
    let empty = Mapping::new();
    let default = match config.get("default") {
        None | Some(Value::Null) => &empty,
        Some(Value::Mapping(map)) => map,
        Some(other) => {
            return Err(at.top_error(
                "default",
                format!(
                    "`default:` must be a mapping of job keys, found {}",
                    describe(other)
                ),
            ))
        }
    };
    check_keys(default, DEFAULT_KEYS)
        .map_err(|m| at.top_error("default", format!("`default:` {m}")))?;

    let mut defaults = Defaults::default();
    for key in DEFAULT_KEYS {
        let (value, in_default) = match (default.get(*key), config.get(*key)) {
            (Some(v), _) => (v, true),
            (None, Some(v)) if DEPRECATED_GLOBALS.contains(key) => (v, false),
            _ => continue,
        };
        // Point at the line the value is written on: under `default:` or at the top level.
        let fail = |m: String| match in_default {
            true => at.key_error("default", key, format!("`default:{key}` {m}")),
            false => at.top_error(key, format!("`{key}:` {m}")),
        };
        let parts = ignored::sub_keys(key, value).into_iter();
        defaults
            .ignored_parts
            .extend(parts.map(|part| (*key, part)));
        match *key {
            "image" => defaults.image = Some(values::image(value).map_err(fail)?),
            "before_script" => defaults.before_script = Some(values::script(value).map_err(fail)?),
            "after_script" => defaults.after_script = Some(values::script(value).map_err(fail)?),
            "services" => defaults.services = Some(values::services(value).map_err(fail)?),
            "artifacts" => {
                defaults.artifacts = Some(super::artifacts::artifacts(value).map_err(fail)?)
            }
            "cache" => defaults.cache = Some(super::artifacts::caches(value).map_err(fail)?),
            _ => defaults.ignored.push(key),
        }
    }
    Ok(defaults)
}
