//! The job's `pull_policy:` for its image and for each service (`image: pull_policy:`,
//! `services: - pull_policy:`): policies tried in order, as gitlab-runner's docker executor
//! tries them, and only those the runner allows (`allowed_pull_policies`). As there, a job's
//! list keeps the allowed ones; a list with none of them is refused.

use super::PlanError;
use crate::settings::{PullPolicy, Settings};

/// The policies `what` (`image`, `service NAME`) asked for, allowed ones only, in order;
/// empty when it asked for none (the runner's `pull_policy` then).
pub fn policies(
    settings: &Settings,
    what: &str,
    asked: &[String],
) -> Result<Vec<PullPolicy>, PlanError> {
    let mut parsed = Vec::new();
    for name in asked {
        let policy = PullPolicy::parse(name.trim()).ok_or_else(|| {
            PlanError(format!(
                "{what}: pull_policy {} is not a pull policy; use always, if-not-present or never",
                super::printable_value(name)
            ))
        })?;
        if !parsed.contains(&policy) {
            parsed.push(policy);
        }
    }
    let allowed: Vec<PullPolicy> = parsed
        .iter()
        .copied()
        .filter(|p| settings.allowed_pull_policies.contains(p))
        .collect();
    if allowed.is_empty() && !parsed.is_empty() {
        return Err(PlanError(format!(
            "{what}: pull_policy {} is not allowed on this runner (allowed_pull_policies: {}); \
             use one of those or leave pull_policy out",
            names(&parsed),
            names(&settings.allowed_pull_policies)
        )));
    }
    Ok(allowed)
}

fn names(policies: &[PullPolicy]) -> String {
    let names: Vec<&str> = policies.iter().map(|p| p.name()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::policies;
    use crate::settings::{PullPolicy, Settings};

    fn asked(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_jobs_list_within_the_runners() {
        let settings = Settings::from_text(
            "pull_policy: if-not-present\nallowed_pull_policies: [if-not-present, always]\n",
            "t",
        )
        .unwrap();
        assert_eq!(policies(&settings, "image", &[]).unwrap(), []);
        assert_eq!(
            policies(
                &settings,
                "image",
                &asked(&["always", "if-not-present", "always"])
            )
            .unwrap(),
            [PullPolicy::Always, PullPolicy::IfNotPresent]
        );
        assert_eq!(
            policies(&settings, "image", &asked(&["never", "always"])).unwrap(),
            [PullPolicy::Always]
        );
        let refused = policies(&settings, "service db", &asked(&["never"]))
            .unwrap_err()
            .0;
        assert_eq!(
            refused,
            "service db: pull_policy never is not allowed on this runner (allowed_pull_policies: \
             if-not-present, always); use one of those or leave pull_policy out"
        );
        let unknown = policies(&settings, "image", &asked(&["sometimes\n"]))
            .unwrap_err()
            .0;
        assert!(
            unknown.starts_with("image: pull_policy `sometimes\\n` is not a pull policy"),
            "{unknown}"
        );
    }

    #[test]
    fn by_default_only_the_runners_own_policy_is_allowed() {
        let settings = Settings::from_text("", "t").unwrap();
        assert_eq!(settings.allowed_pull_policies, [PullPolicy::IfNotPresent]);
        assert!(policies(&settings, "image", &asked(&["always"])).is_err());
        let bad = Settings::from_text("pull_policy: always\nallowed_pull_policies: [never]\n", "t");
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("does not list pull_policy `always`"));
    }
}
