//! `only:` and `except:` (<https://docs.gitlab.com/ci/yaml/#only--except>): read as GitLab reads
//! them, and matched against the pipeline's ref and source.
//!
//! A policy is a list of refs, or a mapping of `refs:`, `variables:`, `changes:` and
//! `kubernetes: active`; it matches when every key written matches (`refs:` when any ref does,
//! `variables:` when any expression holds, `changes:` when any changed path matches a glob).

use crate::yaml::Value;

use super::super::values::{self, check_keys, describe};
use super::decide::Context;
use super::expression::Expression;
use super::pattern::Pattern;
use super::vars::Layers;
use super::Policy;

/// GitLab's `only:` when a job sets none (and neither it nor the pipeline has rules), and
/// the `refs:` of an `only:` mapping that sets no `refs:`.
pub const DEFAULT_ONLY_REFS: &[&str] = &["branches", "tags"];

/// `only:` or `except:`, named `key` in messages.
pub fn read_policy(value: &Value, key: &str) -> Result<Policy, String> {
    let mut policy = Policy {
        refs: Vec::new(),
        variables: Vec::new(),
        changes: Vec::new(),
        kubernetes: false,
        keys: Vec::new(),
    };
    match value {
        Value::Sequence(_) => {
            policy.refs = refs(value).map_err(|m| format!("`{key}:` {m}"))?;
            policy.keys.push("refs");
        }
        Value::Mapping(map) if !map.is_empty() => {
            check_keys(map, &["refs", "variables", "changes", "kubernetes"])
                .map_err(|m| format!("`{key}:` {m}"))?;
            if let Some(v) = map.get("refs") {
                policy.refs = refs(v).map_err(|m| format!("`{key}:refs` {m}"))?;
                policy.keys.push("refs");
            }
            if let Some(v) = map.get("variables") {
                policy.variables = expressions(v).map_err(|m| format!("`{key}:variables` {m}"))?;
                policy.keys.push("variables");
            }
            if let Some(v) = map.get("changes") {
                policy.changes = values::strings(v).map_err(|m| format!("`{key}:changes` {m}"))?;
                policy.keys.push("changes");
            }
            if let Some(v) = map.get("kubernetes") {
                if v.as_str() != Some("active") {
                    return Err(format!(
                        "`{key}:kubernetes` is {}; the only value is `active`",
                        describe(v)
                    ));
                }
                policy.kubernetes = true;
                policy.keys.push("kubernetes");
            }
            // GitLab merges its default `only:` under the mapping written.
            if key == "only" && policy.refs.is_empty() {
                policy.refs = DEFAULT_ONLY_REFS.iter().map(|r| r.to_string()).collect();
                policy.keys.insert(0, "refs");
            }
        }
        other => {
            return Err(format!(
                "`{key}:` is {}; GitLab wants a list of refs or a mapping with `refs:`, \
                 `variables:`, `changes:` or `kubernetes:` (\"has to be either an array of \
                 conditions or a hash\")",
                describe(other)
            ))
        }
    }
    Ok(policy)
}

/// Ref names, keywords and `/regex/`s; a regex must compile, as GitLab checks.
fn refs(value: &Value) -> Result<Vec<String>, String> {
    let list = values::strings(value)?;
    for item in &list {
        let (pattern, _) = split_project(item);
        if pattern.len() > 1 && pattern.starts_with('/') && pattern.ends_with('/') {
            Pattern::from_slashes(pattern)?;
        }
    }
    Ok(list)
}

fn expressions(value: &Value) -> Result<Vec<Expression>, String> {
    values::strings(value)?
        .iter()
        .map(|text| Expression::parse(text).map_err(|e| format!("has an {e}")))
        .collect()
}

/// `name@group/project` to its two parts.
fn split_project(item: &str) -> (&str, Option<&str>) {
    match item.split_once('@') {
        Some((pattern, project)) => (pattern, Some(project)),
        None => (item, None),
    }
}

/// What `only:refs` are matched against.
#[derive(Debug, Clone)]
pub struct PipelineRef {
    /// The branch or tag name; for a merge request pipeline, the source branch.
    pub name: String,
    pub kind: RefKind,
    /// `CI_PIPELINE_SOURCE`: `push`, `web`, `schedule`, `merge_request_event`, ...
    pub source: String,
    /// `CI_PROJECT_PATH`, for `ref@group/project`.
    pub project: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Branch,
    Tag,
    /// A merge request pipeline: neither `branches` nor `tags`, and names never match.
    MergeRequest,
}

impl PipelineRef {
    /// The first of `refs` that matches this pipeline, as GitLab's `only:refs` checks.
    pub fn first_match<'r>(&self, refs: &'r [String]) -> Option<&'r str> {
        refs.iter().map(String::as_str).find(|item| {
            let (pattern, project) = split_project(item);
            let project_ok = project.is_none_or(|p| self.project.as_deref() == Some(p));
            project_ok && self.matches(pattern)
        })
    }

    /// `branch `main` (push)`, for messages.
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            RefKind::Branch => "branch",
            RefKind::Tag => "tag",
            RefKind::MergeRequest => "merge request pipeline of",
        };
        format!("{kind} `{}` ({})", self.name, self.source)
    }

    fn matches(&self, pattern: &str) -> bool {
        // Sources lose an `_event` suffix and match singular or plural: `merge_request_event`
        // is `merge_requests`, `push` is `pushes`, `schedule` is `schedules`.
        let source = self.source.strip_suffix("_event").unwrap_or(&self.source);
        let keyword = match pattern {
            "tags" => self.kind == RefKind::Tag,
            "branches" => self.kind == RefKind::Branch,
            _ => pattern == source || pattern == plural(source),
        };
        if keyword {
            return true;
        }
        if self.kind == RefKind::MergeRequest {
            return false;
        }
        match Pattern::from_slashes(pattern) {
            Ok(Some(regex)) => regex.is_match(&self.name),
            _ => pattern == self.name,
        }
    }
}

/// English plurals as Rails makes them for GitLab's source names.
fn plural(word: &str) -> String {
    if word.ends_with("sh") || word.ends_with("ch") || word.ends_with('s') {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// GitLab's `only:` for a job without `rules:` in a pipeline without `workflow:rules`.
pub(super) fn default_only() -> Policy {
    Policy {
        refs: DEFAULT_ONLY_REFS.iter().map(|r| r.to_string()).collect(),
        variables: Vec::new(),
        changes: Vec::new(),
        kubernetes: false,
        keys: vec!["refs"],
    }
}

/// The ref and source `only:refs` match, from the predefined variables and overrides.
pub(super) fn pipeline_ref(cx: &Context) -> PipelineRef {
    let layers = Layers {
        layers: vec![cx.predefined, cx.overrides],
    };
    let get = |name: &str| layers.get(name).filter(|v| !v.is_empty());
    let source = get("CI_PIPELINE_SOURCE").unwrap_or("push").to_string();
    let (kind, name) = if let Some(tag) = get("CI_COMMIT_TAG") {
        (RefKind::Tag, tag)
    } else if source == "merge_request_event" {
        let branch = get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME").or(get("CI_COMMIT_REF_NAME"));
        (RefKind::MergeRequest, branch.unwrap_or_default())
    } else {
        let branch = get("CI_COMMIT_BRANCH").or(get("CI_COMMIT_REF_NAME"));
        (RefKind::Branch, branch.unwrap_or_default())
    };
    PipelineRef {
        name: name.to_string(),
        kind,
        source,
        project: get("CI_PROJECT_PATH").map(str::to_string),
    }
}
