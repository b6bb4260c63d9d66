//! An `include:` value read as GitLab reads it: one entry or a list; a string is `remote:` when
//! it is an HTTP(S) URL and `local:` otherwise; a mapping names exactly one kind of file.
//! `$NAME` in locations is expanded from the variables GitLab allows there (project and
//! predefined ones), as the person's run provides them; but a `--var` value is never put into
//! the URL of a `remote:` or `template:` include (GitLab would allow it): it stands for a
//! project's CI/CD variable, which may be a secret, and the file decides where the URL points.

use crate::local::expand::{expand, references};
use crate::yaml::{Mapping, Value};

/// Every key GitLab accepts in an include entry.
const ALLOWED: &[&str] = &[
    "local",
    "file",
    "remote",
    "project",
    "ref",
    "integrity",
    "cache",
    "template",
    "artifact",
    "inputs",
    "job",
    "rules",
    "component",
];

/// The keys that say what kind of file an entry is; an entry has exactly one.
const KINDS: &[&str] = &[
    "local",
    "project",
    "remote",
    "template",
    "artifact",
    "component",
];

/// The most a location may hold once its variables are expanded.
const MAX_LOCATION: usize = 4096;

/// Where one included file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Location {
    /// A path in the project holding the including file; may hold `*`/`**`.
    Local(String),
    Remote {
        url: String,
        /// `integrity: sha256-<base64>`, checked against what is fetched.
        integrity: Option<String>,
    },
    /// A template name such as `Jobs/Build.gitlab-ci.yml`.
    Template(String),
    Project {
        /// `group/project`, lowercased as GitLab looks it up.
        project: String,
        /// `None` is the project's default branch.
        reference: Option<String>,
        file: String,
    },
}

/// The variables a location may use: every value, and the names of those the person gave
/// (`--var`), which no URL of another host may carry.
#[derive(Clone, Copy)]
pub(super) struct Vars<'a> {
    pub values: &'a [(String, String)],
    pub private: &'a [String],
}

/// One entry of `include:`, a `project:` entry once per `file:`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    pub location: Location,
    /// The location as written, before variables: what messages show (a variable may hold a
    /// secret) and what finds the entry's line.
    pub written: String,
    pub rules: Option<Value>,
    pub inputs: Option<Value>,
}

/// The entries of an `include:` value, in order. The error is a one-line message and the text
/// of the entry at fault, for finding its line.
pub(super) fn entries(value: &Value, vars: Vars) -> Result<Vec<Entry>, (String, String)> {
    let items: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Sequence(items) => items.iter().filter(|v| !v.is_null()).collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for item in items {
        let at = |message: String| (message, hint(item));
        match item {
            Value::String(text) => out.push(from_string(text, vars).map_err(at)?),
            Value::Mapping(map) => out.extend(from_mapping(map, vars).map_err(at)?),
            other => {
                return Err(at(format!(
                    "`include:` has {}, where a file name or a mapping such as `local: path.yml` \
                     goes",
                    describe(other)
                )))
            }
        }
    }
    Ok(out)
}

/// Some text of an entry as written, to find its line by: the string, or a mapping's first.
fn hint(item: &Value) -> String {
    match item {
        Value::String(text) => text.clone(),
        Value::Mapping(map) => map
            .values()
            .find_map(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

fn from_string(text: &str, vars: Vars) -> Result<Entry, String> {
    let location = expanded(text, vars)?;
    let location = if is_url(&location) {
        no_private_value(text, vars)?;
        Location::Remote {
            url: location,
            integrity: None,
        }
    } else if location.contains("://") {
        return Err(format!(
            "include `{text}` is a URL local runs cannot fetch; use an http:// or https:// URL"
        ));
    } else {
        Location::Local(location)
    };
    Ok(Entry {
        location,
        written: text.to_string(),
        rules: None,
        inputs: None,
    })
}

fn from_mapping(map: &Mapping, vars: Vars) -> Result<Vec<Entry>, String> {
    let keys: Vec<&str> = map.keys().filter_map(Value::as_str).collect();
    if let Some(unknown) = keys.iter().find(|k| !ALLOWED.contains(k)) {
        return Err(format!(
            "an `include:` entry has the unknown key `{unknown}`; the keys are `{}`",
            ALLOWED.join("`, `")
        ));
    }
    let kinds: Vec<&str> = KINDS.iter().copied().filter(|k| keys.contains(k)).collect();
    let kind = match kinds.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "an `include:` entry ({}) names no file; give it one of `{}`",
                keys.join(", "),
                KINDS.join("`, `")
            ))
        }
        _ => {
            return Err(format!(
                "an `include:` entry has `{}`; each entry takes only one of them",
                kinds.join("` and `")
            ))
        }
    };
    let text = |key: &str| -> Result<Option<String>, String> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) if key == "ref" => Ok(Some(n.to_string())),
            Some(other) => Err(format!(
                "`include: {key}:` is {}; it takes a string",
                describe(other)
            )),
        }
    };
    let required = |key: &str| -> Result<String, String> {
        text(key)?.ok_or_else(|| format!("`include: {key}:` is empty; give it a file name"))
    };
    let with = |location: Location, written: String| Entry {
        location,
        written,
        rules: map.get("rules").cloned(),
        inputs: map.get("inputs").cloned(),
    };
    let entry =
        match kind {
            "local" => {
                let path = required("local")?;
                with(Location::Local(expanded(&path, vars)?), path)
            }
            "remote" => {
                let url = required("remote")?;
                no_private_value(&url, vars)?;
                let location = Location::Remote {
                    url: expanded(&url, vars)?,
                    integrity: text("integrity")?,
                };
                with(location, url)
            }
            "template" => {
                let name = required("template")?;
                no_private_value(&name, vars)?;
                with(Location::Template(expanded(&name, vars)?), name)
            }
            "project" => return project(map, vars, required("project")?, text("ref")?, with),
            "component" => {
                return Err(format!(
                "`include: component: {}` is a CI/CD component, which local runs do not support \
                 yet; include the component's template with `project:` and `file:` instead",
                text("component")?.unwrap_or_default()
            ))
            }
            _ => return Err(
                "`include: artifact:` only works in child pipelines, which local runs do not run"
                    .to_string(),
            ),
        };
    Ok(vec![entry])
}

/// A `project:` entry: one entry for each of its `file:` names.
fn project(
    map: &Mapping,
    vars: Vars,
    project: String,
    reference: Option<String>,
    with: impl Fn(Location, String) -> Entry,
) -> Result<Vec<Entry>, String> {
    let files: Vec<String> = match map.get("file") {
        Some(Value::String(file)) => vec![file.clone()],
        Some(Value::Sequence(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(file) => Ok(file.clone()),
                other => Err(format!(
                    "`include: file:` of project `{project}` lists {}; list file names",
                    describe(other)
                )),
            })
            .collect::<Result<_, _>>()?,
        None | Some(Value::Null) | Some(Value::Sequence(_)) => {
            return Err(format!(
                "`include: project: {project}` has no `file:`; name the file(s) to include"
            ))
        }
        Some(other) => {
            return Err(format!(
                "`include: file:` of project `{project}` is {}; give a file name or a list",
                describe(other)
            ))
        }
    };
    let name = expanded(&project, vars)?.to_lowercase();
    let reference = match reference {
        Some(r) => Some(expanded(&r, vars)?).filter(|r| !r.is_empty()),
        None => None,
    };
    files
        .into_iter()
        .map(|file| {
            let location = Location::Project {
                project: name.clone(),
                reference: reference.clone(),
                file: expanded(&file, vars)?.trim_start_matches('/').to_string(),
            };
            Ok(with(location, file))
        })
        .collect()
}

pub(super) fn is_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["http://", "https://"].iter().any(|scheme| {
        lower
            .strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    })
}

/// Refuse a URL location that would carry a `--var` value (see the module's doc).
fn no_private_value(text: &str, vars: Vars) -> Result<(), String> {
    match references(text)
        .into_iter()
        .find(|name| vars.private.iter().any(|p| p == name))
    {
        Some(name) => Err(format!(
            "include `{text}` would put `{name}`, a --var value, into the URL of another host; \
             a local run never sends a --var value there (it may be a secret, and the file \
             chose the host): write that part of the URL out"
        )),
        None => Ok(()),
    }
}

fn expanded(text: &str, vars: Vars) -> Result<String, String> {
    let lookup = |name: &str| {
        vars.values
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    expand(text, lookup, MAX_LOCATION).ok_or_else(|| {
        format!("include `{text}` expands to more than {MAX_LOCATION} bytes; check its variables")
    })
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}
