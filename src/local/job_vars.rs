//! A local job's variables, built as gitlab-runner builds them: the predefined ones, the file's
//! (`variables:`, its rules', dotenv), the person's `--var`, then the image and services the
//! job names (`CI_JOB_IMAGE`, `CI_JOB_SERVICES`), each expanded against what came before.

use super::checkout::Checkout;
use super::expand;
use super::gitlab_ci::Job;
use super::image_names::{expand_checked, shown, Kind, Origins, Written};
use super::kept_vars;
use super::vars::{self, JobFacts, LocalIds};
use crate::payload::ServiceRequest;
use crate::settings::Local;

/// What a job's variables are made from.
pub(super) struct Given<'a> {
    /// The job, with `local.images` applied.
    pub job: &'a Job,
    pub checkout: &'a Checkout,
    pub ids: &'a LocalIds,
    pub local: &'a Local,
    /// The person's `--var`s (and `--mode`'s variable), in order.
    pub overrides: &'a [(String, String)],
    /// The image of a job without `image:`: the config's.
    pub default_image: &'a str,
    /// Jobs whose dotenv reports reach this one with values this run does not have.
    pub awaited: Awaited<'a>,
}

/// The jobs before this one whose dotenv reports set variables this run cannot know (a job run
/// alone, or any dry run): a name in `image:` or `services:` that uses an unset variable may
/// be waiting for one of them.
#[derive(Clone, Copy, Default)]
pub(super) struct Awaited<'a> {
    pub sources: &'a [String],
    /// A dry run shows such an image as written and leaves such a service out, with a note;
    /// a run refuses the image, naming the jobs, and skips the service as GitLab would.
    pub dry_run: bool,
}

impl Awaited<'_> {
    /// The jobs, as a message names them.
    fn named(&self) -> String {
        let names: Vec<String> = self.sources.iter().map(|n| format!("`{n}`")).collect();
        names.join(", ")
    }

    /// What a refusal of a name with the unset variables `unset` adds: where they may come from.
    fn hint(&self, unset: &[&str]) -> String {
        self.pointer(unset, "; or run")
    }

    /// `lead` and where the unset variables `unset` may come from, if jobs before write dotenv
    /// reports; else nothing.
    fn pointer(&self, unset: &[&str], lead: &str) -> String {
        match unset.is_empty() || self.sources.is_empty() {
            true => String::new(),
            false => format!(
                "{lead} with --needs: the dotenv report of {} may set it",
                self.named()
            ),
        }
    }

    /// The note of a dry run that shows `key: text` as written, or leaves it out.
    fn note(&self, key: &str, text: &str, unset: &[&str], as_written: bool) -> String {
        let names: Vec<String> = unset.iter().map(|n| format!("`{n}`")).collect();
        let what = match as_written {
            true => "is shown as written",
            false => "is left out of this dry run",
        };
        format!(
            "`{key}: {}` {what}: {} not set until the dotenv report of {}, which a run \
             with --needs passes on",
            shown(text, 200),
            names.join(", ") + if unset.len() == 1 { " is" } else { " are" },
            self.named()
        )
    }
}

/// A job's variables: what its scripts see, and what the driver sees.
pub(super) struct Built {
    /// The job's: the file's values win over the predefined ones, as on GitLab.
    pub variables: Vec<(String, String)>,
    /// The driver's (`CUSTOM_ENV_*`): the run's own ids and project directory, whatever the
    /// file sets ([`kept_vars`]).
    pub runner: Vec<(String, String)>,
    /// Predefined variables the file set, each with a note that reads after "job `NAME` ".
    pub set_by_file: Vec<(&'static str, String)>,
    /// What a person should know of the job's image and services (one left out, one shown
    /// as written), each with the job's key it is about (`image`, `services`).
    pub notes: Vec<(&'static str, String)>,
}

/// Why a job cannot run: a one-line message, and the job's key to point at (`image`,
/// `services`, `variables`).
#[derive(Debug)]
pub(super) struct Refused {
    pub key: &'static str,
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn refused(key: &'static str) -> impl Fn(String) -> Refused {
    move |message| Refused { key, message }
}

/// The job's variables with the builds directory `builds_dir`. Messages read after
/// "job `NAME`: ".
pub(super) fn build(given: &Given, builds_dir: &str) -> Result<Built, Refused> {
    let job = given.job;
    let facts = JobFacts {
        job_name: &job.name,
        stage: &job.stage,
        builds_dir,
        image: "",
    };
    let predefined = vars::predefined(&facts, given.checkout, given.ids, given.local);
    let mut variables = predefined.clone();
    expand::layer(&mut variables, &job.variables).map_err(refused("variables"))?;
    expand::layer(&mut variables, given.overrides).map_err(refused("variables"))?;
    let kept = kept_vars::keep(&mut variables, &predefined, given.overrides);
    let origins = Origins {
        person: given.overrides,
        file: &job.variables,
    };
    let mut notes = Vec::new();
    let image = match job.image.as_ref().filter(|i| !i.name.is_empty()) {
        Some(image) => {
            let written = Written {
                key: "image",
                text: &image.name,
                kind: Kind::Image,
                fix: "image",
            };
            let unset = unset(&image.name, &variables);
            if given.awaited.dry_run && !unset.is_empty() && !given.awaited.sources.is_empty() {
                let note = given.awaited.note("image", &image.name, &unset, true);
                notes.push(("image", note));
                expand::literal(&image.name)
            } else {
                let hint = given.awaited.hint(&unset);
                let checked = expand_checked(&written, &variables, &origins)
                    .map_err(|message| message + &hint);
                expand::literal(&checked.map_err(refused("image"))?)
            }
        }
        // The config's, or none (the driver's default) when `image:` is written empty.
        None => match job.image {
            Some(_) => String::new(),
            None => given.default_image.to_string(),
        },
    };
    let services = services(
        &job.services,
        &variables,
        &origins,
        &given.awaited,
        &mut notes,
    )
    .map_err(refused("services"))?;
    let made = [
        ("CI_JOB_IMAGE".to_string(), image),
        (
            "CI_JOB_SERVICES".to_string(),
            expand::literal(&services_json(&services)),
        ),
    ];
    // Both sides get them: the driver creates what they name.
    let mut runner = kept.runner;
    expand::layer(&mut runner, &made).map_err(refused("variables"))?;
    expand::layer(&mut variables, &made).map_err(refused("variables"))?;
    Ok(Built {
        variables,
        runner,
        set_by_file: kept.set_by_file,
        notes,
    })
}

/// The names `text` refers to that have no value (unset or empty) in `vars`.
fn unset<'t>(text: &'t str, vars: &[(String, String)]) -> Vec<&'t str> {
    expand::unset_references(text, |n| expand::last(vars, n))
}

/// The job's services with their names and aliases expanded and checked, and their other
/// values (entrypoint, command, variables, pull policy) expanded, one value at a time: a value
/// with a `"` in it once broke the JSON that `CI_JOB_SERVICES` carries, and the services went
/// missing without a word.
fn services(
    services: &[ServiceRequest],
    vars: &[(String, String)],
    origins: &Origins,
    awaited: &Awaited,
    notes: &mut Vec<(&'static str, String)>,
) -> Result<Vec<ServiceRequest>, String> {
    let lookup = |name: &str| expand::last(vars, name);
    let plain = |text: &String| {
        expand::expand(text, lookup, expand::MAX_VALUE).ok_or_else(|| {
            format!(
                "a value of service `{}` expands to more than {} MiB; look for `$NAME` \
                 references that repeat",
                text.chars().take(40).collect::<String>(),
                expand::MAX_VALUE >> 20
            )
        })
    };
    let list = |items: &Option<Vec<String>>| -> Result<Option<Vec<String>>, String> {
        items
            .as_ref()
            .map(|items| items.iter().map(plain).collect())
            .transpose()
    };
    let mut out = Vec::with_capacity(services.len());
    for service in services {
        // A name that expands to nothing, with no alias, makes no service on GitLab: the
        // Docker executor creates one per alias, and `SplitNameAndVersion` gives an empty
        // name none (gitlab-runner `executors/docker/services.go`). With an alias it is an
        // error there ("invalid service image name"), as `expand_checked` makes it here.
        let nothing = |text: &str| {
            expand::expand(text, lookup, expand::MAX_VALUE).is_some_and(|v| v.is_empty())
        };
        let mut waiting = unset(&service.name, vars);
        waiting.extend(
            service
                .alias
                .as_deref()
                .map(|a| unset(a, vars))
                .unwrap_or_default(),
        );
        if awaited.dry_run && !waiting.is_empty() && !awaited.sources.is_empty() {
            let note = awaited.note("services: name", &service.name, &waiting, false);
            notes.push(("services", note));
            continue;
        }
        if nothing(&service.name) && service.alias.as_deref().is_none_or(nothing) {
            let note = format!(
                "`services: name: {}` expands to nothing, so no service starts, as on GitLab{}",
                shown(&service.name, 200),
                awaited.pointer(&waiting, "; run")
            );
            notes.push(("services", note));
            continue;
        }
        let name = Written {
            key: "services: name",
            text: &service.name,
            kind: Kind::Image,
            fix: "services",
        };
        let mut expanded = service.clone();
        let hint = awaited.hint(&waiting);
        expanded.name = expand_checked(&name, vars, origins).map_err(|m| m + &hint)?;
        expanded.alias = match service.alias.as_deref() {
            // A name written as it is goes as it is: the plan checks it.
            Some(alias) if !expand::references(alias).is_empty() => {
                let written = Written {
                    key: "services: alias",
                    text: alias,
                    kind: Kind::Aliases,
                    fix: "services",
                };
                Some(expand_checked(&written, vars, origins).map_err(|m| m + &hint)?)
            }
            other => other.map(str::to_string),
        };
        expanded.entrypoint = list(&service.entrypoint)?;
        expanded.command = list(&service.command)?;
        for (_, value) in &mut expanded.variables {
            *value = plain(value)?;
        }
        for policy in &mut expanded.pull_policy {
            *policy = plain(policy)?;
        }
        out.push(expanded);
    }
    Ok(out)
}

/// `CI_JOB_SERVICES` as gitlab-runner writes it: a JSON array of the job's services, an empty
/// string when it has none.
fn services_json(services: &[ServiceRequest]) -> String {
    if services.is_empty() {
        return String::new();
    }
    let list: Vec<serde_json::Value> = services
        .iter()
        .map(|s| {
            let variables: Vec<serde_json::Value> = s
                .variables
                .iter()
                .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                .collect();
            serde_json::json!({
                "name": s.name,
                "alias": s.alias.clone().unwrap_or_default(),
                "entrypoint": s.entrypoint,
                "command": s.command,
                "variables": variables,
                "ports": s.ports.iter().map(|p| serde_json::json!({
                    "number": p.number, "protocol": p.protocol, "name": p.name,
                })).collect::<Vec<_>>(),
                "pull_policy": s.pull_policy,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

#[cfg(test)]
mod tests;
