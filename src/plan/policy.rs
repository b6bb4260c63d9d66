//! The admin's policy applied to one job: which modes it may use and which images, decided on
//! trusted facts only (`design.md` rule 6). Job variables may *request* a mode or a dind image;
//! only the config and `JOB_RESPONSE_FILE` can *grant* one.

use super::identity::{printable, PlanError};
use crate::env::JobEnv;
use crate::payload::TrustedFacts;
use crate::settings::{Glob, MaxCaps, Mode, Rule, Settings};

/// The job variable with which a job may pick its sidecar image among `policy.dind_images`.
pub const DIND_IMAGE_VARIABLE: &str = "EXECUTOR_DIND_IMAGE";

/// The modes granted to a job and by what.
struct Grant<'a> {
    modes: &'a [Mode],
    default: Option<Mode>,
    by: &'a str,
}

/// The mode the job gets: the one it asks for when granted, else its default.
pub fn choose_mode(
    settings: &Settings,
    env: &JobEnv,
    facts: Option<&TrustedFacts>,
) -> Result<Mode, PlanError> {
    let grant = grant(settings, facts);
    let variable = &settings.mode_variable;
    let list = |modes: &[Mode]| {
        modes
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(value) = env.job_var_non_empty(variable) else {
        let default = grant
            .default
            .or(Some(settings.mode_default).filter(|m| grant.modes.contains(m)))
            .unwrap_or(grant.modes[0]);
        return Ok(default);
    };
    let shown = printable(value);
    let mode = Mode::parse(value).ok_or_else(|| {
        PlanError(format!(
            "{variable}={shown} is not a Docker mode; set it to one of: {}",
            list(&settings.modes_allowed)
        ))
    })?;
    if !settings.modes_allowed.contains(&mode) {
        return Err(PlanError(format!(
            "{variable}={shown} is not allowed on this runner; allowed modes: {}",
            list(&settings.modes_allowed)
        )));
    }
    if !grant.modes.contains(&mode) {
        return Err(PlanError(format!(
            "{variable}={shown} is not allowed for {} by {}; allowed for this job: {}{}",
            describe(facts),
            grant.by,
            list(grant.modes),
            untrusted_hint(settings, facts)
        )));
    }
    Ok(mode)
}

/// The first rule that fits decides; a rule with conditions never fits without trusted facts.
fn grant<'a>(settings: &'a Settings, facts: Option<&TrustedFacts>) -> Grant<'a> {
    let policy = &settings.policy;
    let fits = |rule: &Rule| !rule.needs_facts() || facts.is_some_and(|f| rule_fits(rule, f));
    if let Some(rule) = policy.rules.iter().find(|r| fits(r)) {
        return Grant {
            modes: &rule.modes,
            default: rule.default,
            by: &rule.name,
        };
    }
    match &policy.default_modes {
        Some(modes) if !modes.is_empty() => Grant {
            modes,
            default: None,
            by: "policy.default_modes",
        },
        _ => Grant {
            modes: &settings.modes_allowed,
            default: None,
            by: "mode.allowed",
        },
    }
}

/// The most this job may request per container, and the key that sets it: the deciding
/// rule's `max:`, else `limits.max`. Decided on trusted facts, as the modes are.
pub fn request_cap(settings: &Settings, facts: Option<&TrustedFacts>) -> (MaxCaps, String) {
    let fits = |rule: &Rule| !rule.needs_facts() || facts.is_some_and(|f| rule_fits(rule, f));
    match settings.policy.rules.iter().find(|r| fits(r)) {
        Some(Rule {
            max: Some(max),
            name,
            ..
        }) => (*max, format!("{name}.max")),
        _ => (settings.limits.max, "limits.max".into()),
    }
}

fn rule_fits(rule: &Rule, facts: &TrustedFacts) -> bool {
    let project = rule.projects.is_empty()
        || facts
            .project_path
            .as_deref()
            .is_some_and(|p| rule.projects.iter().any(|g| g.matches(p)));
    let id = rule.project_ids.is_empty()
        || facts
            .project_id
            .is_some_and(|id| rule.project_ids.contains(&id));
    // A ref GitLab did not call protected is not protected.
    let protected = rule
        .protected
        .is_none_or(|want| facts.protected.unwrap_or(false) == want);
    let tags = rule.runner_tags.is_empty()
        || facts
            .runner_tags
            .as_ref()
            .is_some_and(|have| rule.runner_tags.iter().all(|t| have.contains(t)));
    project && id && protected && tags
}

fn describe(facts: Option<&TrustedFacts>) -> String {
    match facts {
        None => "this job".into(),
        Some(f) => {
            let project = f.project_path.as_deref().unwrap_or("an unknown project");
            let protected = if f.protected == Some(true) {
                "a protected"
            } else {
                "an unprotected"
            };
            format!("project {project} on {protected} ref")
        }
    }
}

fn untrusted_hint(settings: &Settings, facts: Option<&TrustedFacts>) -> &'static str {
    if facts.is_none() && settings.policy.rules.iter().any(Rule::needs_facts) {
        "; policy rules were not applied because the runner gave no JOB_RESPONSE_FILE \
         (gitlab-runner 14.1 or newer provides it)"
    } else {
        ""
    }
}

/// The job image must be on `policy.job_images` when that list exists.
pub fn check_job_image(settings: &Settings, image: &str) -> Result<(), PlanError> {
    match &settings.policy.job_images {
        Some(globs) if !globs.iter().any(|g| g.matches(image)) => Err(PlanError(format!(
            "image {} is not allowed by policy.job_images ({}); use an allowed image",
            printable(image),
            join(globs)
        ))),
        _ => Ok(()),
    }
}

/// A service's image goes through the same gate as the job's (`policy.job_images`).
pub fn check_service_image(settings: &Settings, image: &str) -> Result<(), PlanError> {
    check_job_image(settings, image).map_err(|e| PlanError(format!("service {}", e.0)))
}

/// The sidecar image: `dind.image`, or the job's pick among `policy.dind_images`.
pub fn dind_image(settings: &Settings, env: &JobEnv) -> Result<String, PlanError> {
    let Some(wanted) = env.job_var_non_empty(DIND_IMAGE_VARIABLE) else {
        return Ok(settings.dind_image.clone());
    };
    let globs = &settings.policy.dind_images;
    let name_like = !wanted.chars().any(char::is_whitespace);
    if name_like && (wanted == settings.dind_image || globs.iter().any(|g| g.matches(wanted))) {
        return Ok(wanted.to_string());
    }
    let allowed = if globs.is_empty() {
        "this runner lets jobs use only dind.image".to_string()
    } else {
        format!("allowed: {}", join(globs))
    };
    Err(PlanError(format!(
        "{DIND_IMAGE_VARIABLE}={} is not allowed by policy.dind_images; {allowed}",
        printable(wanted)
    )))
}

fn join(globs: &[Glob]) -> String {
    globs
        .iter()
        .map(Glob::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
