//! `artifacts:` (<https://docs.gitlab.com/ci/yaml/#artifacts>) and `cache:`
//! (<https://docs.gitlab.com/ci/yaml/#cache>): the files a job hands to later jobs and keeps
//! between runs. A local run moves them itself (`crate::local::carry`, `crate::local::cache`);
//! the keys that only mean something to a GitLab server (`expire_in`, `expose_as`, reports
//! other than `dotenv`, ...) are kept in `ignored` so the run can name them.

use crate::yaml::{Mapping, Value};

use super::keywords::why_ignored;
use super::values::{check_keys, describe, strings};

/// The keys of `artifacts:` GitLab documents; those a local run skips are in
/// [`super::keywords::IGNORED_SUB_KEYS`] as `artifacts:KEY`.
pub(super) const ARTIFACTS_KEYS: &[&str] = &[
    "paths",
    "exclude",
    "untracked",
    "when",
    "reports",
    "name",
    "expire_in",
    "expose_as",
    "public",
    "access",
];

/// The one report a local run reads: its variables reach the jobs that take the artifacts.
pub(super) const DOTENV: &str = "dotenv";

/// The keys of one `cache:` GitLab documents (`cache:unprotect` is skipped, see
/// [`super::keywords::IGNORED_SUB_KEYS`]).
pub(super) const CACHE_KEYS: &[&str] = &[
    "key",
    "paths",
    "untracked",
    "policy",
    "when",
    "fallback_keys",
    "unprotect",
];

/// When files are kept: `on_success` (the default), `on_failure` or `always`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    OnSuccess,
    OnFailure,
    Always,
}

impl Keep {
    /// Whether a job that ended with `passed` keeps its files.
    pub fn after(self, passed: bool) -> bool {
        match self {
            Keep::OnSuccess => passed,
            Keep::OnFailure => !passed,
            Keep::Always => true,
        }
    }
}

/// `artifacts:` of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifacts {
    /// `paths:`, relative to the project dir, with GitLab's globs (`*`, `**`, `?`, `[...]`).
    pub paths: Vec<String>,
    /// `exclude:`: matched files left out.
    pub exclude: Vec<String>,
    /// `untracked:`: also every file the checkout did not have.
    pub untracked: bool,
    pub when: Keep,
    /// `reports:dotenv:` files: `KEY=VALUE` lines that become variables of later jobs.
    pub dotenv: Vec<String>,
    /// Keys a local run does not act on (`expire_in`, `reports:junit`, ...), sorted.
    pub ignored: Vec<String>,
}

/// `cache:policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachePolicy {
    Pull,
    Push,
    PullPush,
    /// A value with variables, as written (`$POLICY`, GitLab 16.1:
    /// <https://docs.gitlab.com/ci/caching/#use-a-variable-to-control-a-jobs-cache-policy>):
    /// the runner expands it when the job runs ([`crate::local::cache::policy`]).
    Variable(String),
}

/// `cache:key`: a name (variables allowed), or `files:` with an optional `prefix:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheKey {
    Name(String),
    Files {
        files: Vec<String>,
        prefix: Option<String>,
    },
}

/// One cache of a job (`cache:` may list up to four).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    pub key: CacheKey,
    pub paths: Vec<String>,
    pub untracked: bool,
    pub policy: CachePolicy,
    pub when: Keep,
    /// `fallback_keys:`: keys tried in order when the key has no cache yet.
    pub fallback_keys: Vec<String>,
}

/// GitLab's limit on the number of caches of one job.
const MAX_CACHES: usize = 4;

/// `artifacts:`.
pub(super) fn artifacts(value: &Value) -> Result<Artifacts, String> {
    let map = mapping(
        value,
        "`paths:`, `exclude:`, `untracked:`, `when:` and `reports:`",
    )?;
    check_keys(map, ARTIFACTS_KEYS)?;
    // Every report but dotenv is named one by one (`artifacts:reports:junit`), below.
    let mut ignored: Vec<String> = ARTIFACTS_KEYS
        .iter()
        .filter(|k| **k != "reports" && map.contains_key(**k))
        .map(|k| format!("artifacts:{k}"))
        .filter(|k| why_ignored(k).is_some())
        .collect();
    let mut dotenv = Vec::new();
    match map.get("reports") {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(reports)) => {
            for (kind, files) in reports {
                match kind.as_str() {
                    Some(DOTENV) => {
                        dotenv = one_or_list(files).map_err(|m| format!("`reports:dotenv` {m}"))?
                    }
                    Some(other) => ignored.push(format!("artifacts:reports:{other}")),
                    None => return Err(format!("`reports:` has the key {}", describe(kind))),
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "`reports:` must be a mapping, found {}",
                describe(other)
            ))
        }
    }
    ignored.sort();
    Ok(Artifacts {
        paths: list(map, "paths")?,
        exclude: list(map, "exclude")?,
        untracked: flag(map, "untracked")?,
        when: keep(map.get("when"))?,
        dotenv,
        ignored,
    })
}

/// `cache:`: one mapping or a list of them (an empty one means no cache).
pub(super) fn caches(value: &Value) -> Result<Vec<Cache>, String> {
    let found = match value {
        Value::Null => Vec::new(),
        Value::Sequence(items) => items.iter().map(cache).collect::<Result<Vec<_>, _>>()?,
        single => vec![cache(single)?],
    };
    if found.len() > MAX_CACHES {
        return Err(format!(
            "lists {} caches; GitLab allows at most {MAX_CACHES}",
            found.len()
        ));
    }
    Ok(found.into_iter().flatten().collect())
}

/// One cache; `None` for an empty mapping (`cache: {}` turns a default cache off).
fn cache(value: &Value) -> Result<Option<Cache>, String> {
    let map = mapping(value, "`key:`, `paths:`, `policy:` ...")?;
    if map.is_empty() {
        return Ok(None);
    }
    check_keys(map, CACHE_KEYS)?;
    let key = match map.get("key") {
        None | Some(Value::Null) => CacheKey::Name("default".into()),
        Some(Value::String(name)) => CacheKey::Name(name.clone()),
        Some(Value::Number(n)) => CacheKey::Name(n.to_string()),
        Some(Value::Mapping(key)) => {
            check_keys(key, &["files", "prefix"]).map_err(|m| format!("`key:` {m}"))?;
            let files = list(key, "files")?;
            if files.is_empty() || files.len() > 2 {
                return Err("`key:files` must list one or two files".into());
            }
            let prefix = match key.get("prefix") {
                None => None,
                Some(Value::String(p)) => Some(p.clone()),
                Some(other) => {
                    return Err(format!(
                        "`key:prefix` must be a string, found {}",
                        describe(other)
                    ))
                }
            };
            CacheKey::Files { files, prefix }
        }
        Some(other) => {
            return Err(format!(
                "`key:` must be a string or `files:`, found {}",
                describe(other)
            ))
        }
    };
    let policy = match map.get("policy") {
        None => CachePolicy::PullPush,
        Some(Value::String(p)) => match p.as_str() {
            "pull" => CachePolicy::Pull,
            "push" => CachePolicy::Push,
            "pull-push" => CachePolicy::PullPush,
            // GitLab leaves the check of such a value to the runner.
            other if other.contains('$') => CachePolicy::Variable(other.to_string()),
            other => {
                return Err(format!(
                    "`policy:` is `{other}`; use pull, push, pull-push or a `$VARIABLE` \
                     holding one of them"
                ))
            }
        },
        Some(other) => {
            return Err(format!(
                "`policy:` must be pull, push or pull-push, found {}",
                describe(other)
            ))
        }
    };
    Ok(Some(Cache {
        key,
        paths: list(map, "paths")?,
        untracked: flag(map, "untracked")?,
        policy,
        when: keep(map.get("when"))?,
        fallback_keys: list(map, "fallback_keys")?,
    }))
}

fn mapping<'v>(value: &'v Value, keys: &str) -> Result<&'v Mapping, String> {
    match value {
        Value::Mapping(map) => Ok(map),
        other => Err(format!(
            "must be a mapping with {keys}, found {}",
            describe(other)
        )),
    }
}

fn list(map: &Mapping, key: &str) -> Result<Vec<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(value) => strings(value).map_err(|m| format!("`{key}:` {m}")),
    }
}

fn one_or_list(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(one) => Ok(vec![one.clone()]),
        other => strings(other),
    }
}

fn flag(map: &Mapping, key: &str) -> Result<bool, String> {
    match map.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!(
            "`{key}:` must be true or false, found {}",
            describe(other)
        )),
    }
}

fn keep(value: Option<&Value>) -> Result<Keep, String> {
    match value.map(|v| (v, v.as_str())) {
        None => Ok(Keep::OnSuccess),
        Some((_, Some("on_success"))) => Ok(Keep::OnSuccess),
        Some((_, Some("on_failure"))) => Ok(Keep::OnFailure),
        Some((_, Some("always"))) => Ok(Keep::Always),
        Some((v, _)) => Err(format!(
            "`when:` is {}; use on_success, on_failure or always",
            describe(v)
        )),
    }
}

#[cfg(test)]
mod tests;
