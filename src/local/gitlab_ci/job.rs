//! One job, from its mapping (after `extends:` and `!reference`) to a [`Job`]: keys checked
//! against GitLab's keyword list, `default:` and global variables applied as `inherit:` allows,
//! `rules:`/`only:`/`except:`/`when:` read (`control.rs`), and the keys a local run skips
//! collected so the caller can report them.

use std::collections::BTreeSet;

use crate::yaml::{Mapping, Value};

use super::error::{GitlabCiError, Locator};
use super::globals::Defaults;
use super::keywords::{is_ignored_job_key, suggest, DEFAULT_KEYS, USED_JOB_KEYS};
use super::needs;
use super::values::{self, check_keys, describe};
use super::{artifacts, control, ignored as skipped};
use super::{Job, VariableInheritance};

/// What every job is read against.
pub(super) struct Context<'a> {
    pub at: &'a Locator<'a>,
    pub stages: &'a [String],
    pub defaults: &'a Defaults,
    pub variables: &'a [(String, String)],
}

/// Read job `name`.
pub(super) fn build(name: &str, value: &Value, cx: &Context) -> Result<Job, GitlabCiError> {
    let at = cx.at;
    let Value::Mapping(map) = value else {
        return Err(at.top_error(
            name,
            format!(
                "job `{name}` must be a mapping of job keys, found {}; \
                 indent its keys under it, or start its name with a dot to hide it",
                describe(value)
            ),
        ));
    };
    check_job_keys(name, map, at)?;
    let fail =
        |key: &str, m: String| at.key_error(name, key, format!("job `{name}`: `{key}:` {m}"));

    let inherit = Inherit::read(map.get("inherit")).map_err(|m| fail("inherit", m))?;
    let stage = stage(map, cx.stages).map_err(|m| fail("stage", m))?;
    // A key written with no value (`artifacts:` and nothing after it) is one GitLab treats as
    // not written: `Gitlab::Config::Entry::Factory#create!` makes a nil value an
    // `Unspecified` entry, which takes the `default:` value as an absent key does.
    let given = |key: &str| map.get(key).filter(|v| !v.is_null());
    let image = match given("image") {
        Some(v) => Some(values::image(v).map_err(|m| fail("image", m))?),
        None => inherit.default.then_default("image", &cx.defaults.image),
    };
    let services = match given("services") {
        Some(v) => values::services(v).map_err(|m| fail("services", m))?,
        None => inherit
            .default
            .then_default("services", &cx.defaults.services)
            .unwrap_or_default(),
    };
    let script_of = |key: &str, default: &Option<Vec<String>>| match given(key) {
        Some(v) => values::script(v).map_err(|m| fail(key, m)),
        None => Ok(inherit
            .default
            .then_default(key, default)
            .unwrap_or_default()),
    };
    let before_script = script_of("before_script", &cx.defaults.before_script)?;
    let after_script = script_of("after_script", &cx.defaults.after_script)?;
    let script = script_of("script", &None)?;
    let runs_elsewhere = map.contains_key("trigger") || map.contains_key("run");
    if script.is_empty() && !runs_elsewhere {
        let what = if map.contains_key("script") {
            "an empty"
        } else {
            "no"
        };
        return Err(at.key_error(
            name,
            "script",
            format!("job `{name}` has {what} `script:`; give it commands to run, or start its name with a dot to hide it"),
        ));
    }

    let own = match map.get("variables") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => values::variables(v)
            .map_err(|m| at.key_error(name, "variables", format!("job `{name}`: {m}")))?,
    };
    let mut variables: Vec<(String, String)> = cx
        .variables
        .iter()
        .filter(|(k, _)| inherit.variables.allows(k))
        .cloned()
        .collect();
    for (key, value) in &own {
        match variables.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.clone(),
            None => variables.push((key.clone(), value.clone())),
        }
    }
    let control = control::read(name, map, at)?;
    let needs = match map.get("needs") {
        None | Some(Value::Null) => None,
        Some(v) => Some(needs::needs(v).map_err(|m| fail("needs", m))?),
    };
    let dependencies = match map.get("dependencies") {
        None | Some(Value::Null) => None,
        Some(v) => Some(needs::dependencies(v).map_err(|m| fail("dependencies", m))?),
    };
    let artifacts = match given("artifacts") {
        Some(v) => Some(artifacts::artifacts(v).map_err(|m| fail("artifacts", m))?),
        None => inherit
            .default
            .then_default("artifacts", &cx.defaults.artifacts),
    };
    let cache = match given("cache") {
        Some(v) => artifacts::caches(v).map_err(|m| fail("cache", m))?,
        None => inherit
            .default
            .then_default("cache", &cx.defaults.cache)
            .unwrap_or_default(),
    };

    let ignored = ignored_keys(map, &inherit, cx.defaults, artifacts.as_ref());
    Ok(Job {
        name: name.to_string(),
        stage,
        image,
        variables,
        before_script,
        script,
        after_script,
        services,
        own_variables: own,
        inherit_variables: match inherit.variables {
            Filter::All => VariableInheritance::All,
            Filter::Only(names) => VariableInheritance::Only(names),
        },
        when: control.when,
        start_in: control.start_in,
        allow_failure: control.allow_failure,
        rules: control.rules,
        needs,
        dependencies,
        only: control.only,
        except: control.except,
        artifacts,
        cache,
        ignored,
        line: at.top_line(name),
        file: at.top_file(name).to_string(),
        // Shared among the file's jobs by the caller.
        text: Default::default(),
    })
}

/// Every key must be one GitLab knows: a typo such as `scirpt` is an error there too.
fn check_job_keys(name: &str, map: &Mapping, at: &Locator) -> Result<(), GitlabCiError> {
    for key in map.keys() {
        let Some(key) = key.as_str() else {
            return Err(at.top_error(
                name,
                format!(
                    "job `{name}` has a key that is not a string ({}); fix it",
                    describe(key)
                ),
            ));
        };
        if USED_JOB_KEYS.contains(&key) || is_ignored_job_key(key) {
            continue;
        }
        let fix = match suggest(key) {
            Some(known) => format!("did you mean `{known}`?"),
            None => "remove it or fix its name (https://docs.gitlab.com/ci/yaml/)".into(),
        };
        return Err(at.key_error(
            name,
            key,
            format!("job `{name}` has the unknown key `{key}`, which GitLab rejects; {fix}"),
        ));
    }
    Ok(())
}

/// The keys of the job a local run skips, sorted, each once: its own ignored keys and the
/// skipped parts of the values it uses (`image:kubernetes`, `artifacts:expire_in`, ...), and
/// those of the `default:` keys it inherits and does not set itself.
fn ignored_keys(
    map: &Mapping,
    inherit: &Inherit,
    defaults: &Defaults,
    artifacts: Option<&super::Artifacts>,
) -> Vec<String> {
    let mut ignored: BTreeSet<&str> = BTreeSet::new();
    for (key, value) in map {
        let Some(key) = key.as_str() else { continue };
        if is_ignored_job_key(key) {
            ignored.insert(key);
        }
        ignored.extend(skipped::sub_keys(key, value));
    }
    // A key written with no value takes the default, as an absent one does (see `build`).
    let inherited =
        |key: &str| map.get(key).is_none_or(Value::is_null) && inherit.default.allows(key);
    ignored.extend(
        defaults
            .ignored
            .iter()
            .filter(|k| inherit.default.allows(k)),
    );
    ignored.extend(
        defaults
            .ignored_parts
            .iter()
            .filter(|(key, _)| inherited(key))
            .map(|(_, part)| *part),
    );
    let mut ignored: BTreeSet<String> = ignored.into_iter().map(str::to_string).collect();
    // The job's own `artifacts:` or the default's: the parts only a GitLab server acts on.
    ignored.extend(artifacts.iter().flat_map(|a| a.ignored.iter().cloned()));
    ignored.into_iter().collect()
}

/// `stage:` (GitLab's default is `test`), which must be one of the pipeline's stages.
fn stage(map: &Mapping, stages: &[String]) -> Result<String, String> {
    let stage = match map.get("stage") {
        None => "test".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("must be a stage name, found {}", describe(other))),
    };
    if !stages.contains(&stage) {
        return Err(format!(
            "is `{stage}`, which is not one of the pipeline's stages ({}); \
             add it to `stages:` or pick one of them",
            stages.join(", ")
        ));
    }
    Ok(stage)
}

/// `inherit:` (<https://docs.gitlab.com/ci/yaml/#inherit>): which defaults and global
/// variables the job takes.
struct Inherit {
    default: Filter,
    variables: Filter,
}

/// `true` (everything, the default), `false` (nothing) or a list of names.
enum Filter {
    All,
    Only(Vec<String>),
}

impl Filter {
    fn read(value: Option<&Value>, names: Option<&[&str]>) -> Result<Filter, String> {
        match value {
            None | Some(Value::Bool(true)) => Ok(Filter::All),
            Some(Value::Bool(false)) => Ok(Filter::Only(Vec::new())),
            Some(list) => {
                let list = values::strings(list).map_err(|m| format!("{m}, or true/false"))?;
                if let Some(names) = names {
                    if let Some(unknown) = list.iter().find(|k| !names.contains(&k.as_str())) {
                        return Err(format!(
                            "lists `{unknown}`, which is not a `default:` key; use {}",
                            names.join(", ")
                        ));
                    }
                }
                Ok(Filter::Only(list))
            }
        }
    }

    fn allows(&self, name: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Only(names) => names.iter().any(|n| n == name),
        }
    }

    /// The default for `key`, when this filter lets the job inherit it.
    fn then_default<T: Clone>(&self, key: &str, default: &Option<T>) -> Option<T> {
        default.clone().filter(|_| self.allows(key))
    }
}

impl Inherit {
    fn read(value: Option<&Value>) -> Result<Inherit, String> {
        let empty = Mapping::new();
        let map = match value {
            None | Some(Value::Null) => &empty,
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                return Err(format!(
                    "must be a mapping with `default:` and/or `variables:`, found {}",
                    describe(other)
                ))
            }
        };
        check_keys(map, &["default", "variables"])?;
        Ok(Inherit {
            default: Filter::read(map.get("default"), Some(DEFAULT_KEYS))
                .map_err(|m| format!("`default` {m}"))?,
            variables: Filter::read(map.get("variables"), None)
                .map_err(|m| format!("`variables` {m}"))?,
        })
    }
}
