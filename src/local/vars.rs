//! The variables of a local run: the predefined ones a job commonly reads (from the checkout
//! where possible), then the file's, then `--var` overrides, each layered over the ones before
//! it with [`super::expand::layer`].

use std::time::{SystemTime, UNIX_EPOCH};

use super::checkout::Checkout;

/// The gitlab-runner version a local run stands in for.
pub const LOCAL_RUNNER_VERSION: &str = "17.11.0";

/// Ids that name a local job's resources, the payload's facts; the person's `--var
/// CI_JOB_ID=...` and friends override them, a `.gitlab-ci.yml`'s `variables:` never do.
pub struct LocalIds {
    pub runner_id: String,
    pub project_id: String,
    pub job_id: String,
    pub project_path: String,
}

impl LocalIds {
    /// Runner 0 marks local runs; the project id is stable per checkout; the job id is unique
    /// per run (milliseconds plus pid), so two runs at once never share a name.
    pub fn new(checkout: &Checkout) -> LocalIds {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        LocalIds {
            runner_id: "0".into(),
            project_id: (fnv1a(checkout.root.to_string_lossy().as_bytes()) % 1_000_000_000)
                .to_string(),
            job_id: format!(
                "{}{:05}",
                millis % 10_000_000_000_000,
                std::process::id() % 100_000
            ),
            project_path: format!("local/{}", checkout.name),
        }
    }

    /// These ids with the person's `--var` overrides of them applied.
    pub fn overridden(mut self, overrides: &[(String, String)]) -> LocalIds {
        for (key, value) in overrides {
            let slot = match key.as_str() {
                "CI_RUNNER_ID" => &mut self.runner_id,
                "CI_PROJECT_ID" => &mut self.project_id,
                "CI_JOB_ID" => &mut self.job_id,
                "CI_PROJECT_PATH" => &mut self.project_path,
                _ => continue,
            };
            *slot = value.clone();
        }
        self
    }
}

/// What the predefined variables are made from.
pub struct JobFacts<'a> {
    pub job_name: &'a str,
    pub stage: &'a str,
    pub builds_dir: &'a str,
    pub image: &'a str,
}

/// Predefined variables, as gitlab-runner and GitLab would set them for this job.
pub fn predefined(facts: &JobFacts, checkout: &Checkout, ids: &LocalIds) -> Vec<(String, String)> {
    let path = ids.project_path.clone();
    let project_dir = format!("{}/{path}", facts.builds_dir.trim_end_matches('/'));
    let sha = checkout.sha.clone().unwrap_or_else(|| "0".repeat(40));
    let branch = checkout.branch.clone().unwrap_or_else(|| "local".into());
    let pairs = [
        ("CI", "true".to_string()),
        ("GITLAB_CI", "true".into()),
        ("CI_SERVER", "yes".into()),
        ("CI_JOB_NAME", facts.job_name.into()),
        ("CI_JOB_STAGE", facts.stage.into()),
        ("CI_JOB_ID", ids.job_id.clone()),
        ("CI_JOB_IMAGE", facts.image.into()),
        ("CI_JOB_STATUS", "running".into()),
        ("CI_PIPELINE_ID", ids.job_id.clone()),
        ("CI_PIPELINE_SOURCE", "local".into()),
        ("CI_RUNNER_ID", ids.runner_id.clone()),
        // No runner here: the version whose helper image (`helper.image`'s default) a local
        // run uses. `--var CI_RUNNER_VERSION=...` picks another.
        ("CI_RUNNER_VERSION", LOCAL_RUNNER_VERSION.into()),
        ("CI_CONCURRENT_ID", "0".into()),
        ("CI_CONCURRENT_PROJECT_ID", "0".into()),
        ("CI_PROJECT_ID", ids.project_id.clone()),
        ("CI_PROJECT_NAME", checkout.name.clone()),
        ("CI_PROJECT_NAMESPACE", "local".into()),
        ("CI_PROJECT_PATH", path.clone()),
        ("CI_PROJECT_PATH_SLUG", slug(&path)),
        ("CI_BUILDS_DIR", facts.builds_dir.into()),
        ("CI_PROJECT_DIR", project_dir),
        ("CI_COMMIT_SHA", sha.clone()),
        ("CI_COMMIT_SHORT_SHA", sha.chars().take(8).collect()),
        ("CI_COMMIT_REF_NAME", branch.clone()),
        ("CI_COMMIT_REF_SLUG", slug(&branch)),
        ("CI_COMMIT_BRANCH", branch),
        ("CI_SHARED_ENVIRONMENT", "true".into()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Parse `--var KEY=VALUE`.
pub fn parse_override(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("--var {text}: write it as KEY=VALUE"))?;
    let valid = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "--var {key}=...: `{key}` is not a variable name (letters, digits, _)"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// GitLab's slug: lowercase, non-alphanumerics to `-`, trimmed, at most 63 characters.
fn slug(text: &str) -> String {
    let mapped: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    mapped.trim_matches('-').to_string()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_must_be_key_equals_value() {
        assert_eq!(parse_override("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(
            parse_override("EMPTY="),
            Ok(("EMPTY".into(), String::new()))
        );
        assert!(parse_override("novalue").is_err());
        assert!(parse_override("1X=y").is_err());
        assert!(parse_override("A-B=y").is_err());
    }

    #[test]
    fn slugs_are_gitlab_shaped() {
        assert_eq!(slug("Feature/My_Branch!"), "feature-my-branch");
    }
}
