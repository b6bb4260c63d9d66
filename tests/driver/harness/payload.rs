//! The job payload the runner writes (`JOB_RESPONSE_FILE`): what GitLab says of the job.

use super::CANARY;

/// The job payload the runner writes; `None` in `raw` builds it from the fields.
#[derive(Clone)]
pub struct Payload {
    pub runner_id: String,
    pub project_id: String,
    pub project_path: String,
    pub protected: Option<bool>,
    /// Extra `variables` entries (JSON objects), after the predefined ones.
    pub variables: Vec<String>,
    /// The `services` array (JSON), if any.
    pub services: Option<String>,
    /// The `image` object (JSON), if any: the job's entrypoint and docker options.
    pub image: Option<String>,
    /// The `credentials` array (JSON), if any: GitLab's registry login.
    pub credentials: Option<String>,
    /// A payload written as is instead (broken ones, for hostile tests).
    pub raw: Option<String>,
    /// Write none and leave `JOB_RESPONSE_FILE` unset (a runner older than 14.1).
    pub absent: bool,
}

impl Payload {
    pub(super) fn json(&self, job_id: &str) -> String {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let var = |k: &str, v: &str, masked: bool| {
            format!(
                r#"{{"key": "{k}", "value": "{v}", "public": {}, "masked": {masked}}}"#,
                !masked
            )
        };
        let mut variables = vec![
            var("CI_JOB_ID", job_id, false),
            var("CI_PROJECT_ID", &self.project_id, false),
            var("CI_RUNNER_ID", &self.runner_id, false),
            var("CI_PIPELINE_ID", "5", false),
            var("CI_PROJECT_PATH", &self.project_path, false),
            var("CI_JOB_TOKEN", &format!("glcbt-{CANARY}"), true),
            var("MASKED_PASSWORD", CANARY, true),
        ];
        variables.extend(self.variables.iter().cloned());
        let protected = self
            .protected
            .map(|p| format!(r#", "protected": {p}"#))
            .unwrap_or_default();
        format!(
            r#"{{"id": {job_id}, "token": "glcbt-{CANARY}",
               "job_info": {{"project_id": {}, "project_full_path": "{}"}},
               "git_info": {{"repo_url": "https://gitlab-ci-token:{CANARY}@gitlab.example.com/{}.git"{protected}}},
               "variables": [{}], "services": {}, "image": {}, "credentials": {}}}"#,
            self.project_id,
            self.project_path,
            self.project_path,
            variables.join(", "),
            self.services.as_deref().unwrap_or("[]"),
            self.image.as_deref().unwrap_or("null"),
            self.credentials.as_deref().unwrap_or("[]")
        )
    }
}
