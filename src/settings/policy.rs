//! Who may use which mode and image, validated from `policy:` in the config. The decision is
//! made on trusted facts of the job (`JOB_RESPONSE_FILE`, which job variables cannot override);
//! see `crate::plan::policy`.

use super::glob::Glob;
use super::raw::{RawPolicy, RawRule};
use super::{Invalid, Mode};

/// The admin's policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Checked in order; the first rule whose `match` fits the job decides.
    pub rules: Vec<Rule>,
    /// Modes of a job no rule matches; `None` means `mode.allowed`.
    pub default_modes: Option<Vec<Mode>>,
    /// Job images a job may use; `None` means any.
    pub job_images: Option<Vec<Glob>>,
    /// Sidecar images a job may pick with `EXECUTOR_DIND_IMAGE`; empty means only `dind.image`.
    pub dind_images: Vec<Glob>,
}

/// One rule: conditions on trusted facts (all must hold) and the modes they grant.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `policy.rules[N]`, for messages.
    pub name: String,
    pub projects: Vec<Glob>,
    pub project_ids: Vec<u64>,
    pub protected: Option<bool>,
    pub runner_tags: Vec<String>,
    pub modes: Vec<Mode>,
    /// Mode of a job that does not ask for one; else `mode.default` if granted, else the first.
    pub default: Option<Mode>,
    /// The most its jobs may request per container (`max:`), instead of `limits.max`.
    pub max: Option<super::MaxCaps>,
}

impl Rule {
    /// Whether the rule asks anything of the job at all (a rule without conditions matches
    /// every job, trusted facts or not).
    pub fn needs_facts(&self) -> bool {
        !self.projects.is_empty()
            || !self.project_ids.is_empty()
            || self.protected.is_some()
            || !self.runner_tags.is_empty()
    }
}

pub(super) fn validate(
    raw: Option<RawPolicy>,
    allowed: &[Mode],
    max: super::MaxCaps,
) -> Result<Policy, Invalid> {
    let Some(raw) = raw else {
        return Ok(Policy::default());
    };
    let rules = raw
        .rules
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, rule)| validate_rule(i, rule, allowed, max))
        .collect::<Result<Vec<_>, _>>()?;
    let default_modes = match raw.default_modes {
        Some(list) => Some(offered(
            list,
            allowed,
            "policy.default_modes",
            vec!["policy", "default_modes"],
        )?),
        None => None,
    };
    Ok(Policy {
        rules,
        default_modes,
        job_images: raw
            .job_images
            .map(|list| globs(list, vec!["policy", "job_images"]))
            .transpose()?,
        dind_images: globs(
            raw.dind_images.unwrap_or_default(),
            vec!["policy", "dind_images"],
        )?,
    })
}

fn validate_rule(
    index: usize,
    raw: RawRule,
    allowed: &[Mode],
    max: super::MaxCaps,
) -> Result<Rule, Invalid> {
    let name = format!("policy.rules[{index}]");
    let at = || vec!["policy", "rules"];
    let when = raw.when.unwrap_or_default();
    let Some(modes) = raw.modes else {
        return Err((at(), format!("{name} needs `modes:`, the modes it grants")));
    };
    let modes = offered(modes, allowed, &format!("{name}.modes"), at())?;
    let default = raw.default.map(Mode::from);
    if let Some(d) = default.filter(|d| !modes.contains(d)) {
        return Err((at(), format!("{name}.default `{d}` is not in its modes")));
    }
    let projects = globs(when.projects.unwrap_or_default(), at())
        .map_err(|(k, m)| (k, format!("{name}.match.projects: {m}")))?;
    // Keys the rule leaves out keep `limits.max`'s.
    let rule_max = raw
        .max
        .map(|m| super::limits::max(Some(m), max, at()))
        .transpose()
        .map_err(|(k, m)| (k, format!("{name}.max: {m}")))?;
    Ok(Rule {
        name,
        projects,
        project_ids: when.project_ids.unwrap_or_default(),
        protected: when.protected,
        runner_tags: when.runner_tags.unwrap_or_default(),
        modes,
        default,
        max: rule_max,
    })
}

/// Modes a policy grants must be ones the runner offers at all.
fn offered(
    list: Vec<super::raw::RawModeName>,
    allowed: &[Mode],
    what: &str,
    key: Vec<&'static str>,
) -> Result<Vec<Mode>, Invalid> {
    let modes: Vec<Mode> = list.into_iter().map(Mode::from).collect();
    // Every job gets some mode; "no Docker" is `none`, not an empty list.
    if modes.is_empty() {
        return Err((
            key,
            format!("{what} is empty; list at least one mode (`none` for no Docker)"),
        ));
    }
    if let Some(m) = modes.iter().find(|m| !allowed.contains(m)) {
        return Err((
            key,
            format!("{what} grants `{m}`, which is not in mode.allowed"),
        ));
    }
    Ok(modes)
}

fn globs(list: Vec<String>, key: Vec<&'static str>) -> Result<Vec<Glob>, Invalid> {
    list.iter()
        .map(|p| Glob::new(p).map_err(|m| (key.clone(), m)))
        .collect()
}
