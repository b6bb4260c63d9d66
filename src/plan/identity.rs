//! Who a job is: runner, project, concurrency slot and job id, from the job variables. Every
//! resource name derives from these, so each stage finds the job's resources without state,
//! and two jobs running at once never share a name.

use std::collections::BTreeMap;

use crate::env::{self, JobEnv};
use crate::settings::Mode;

use super::{
    VolumeSpec, LABEL_JOB_ID, LABEL_JOB_KEY, LABEL_MANAGED, LABEL_MODE, LABEL_PIPELINE_ID,
    LABEL_PROJECT_ID, LABEL_ROLE, LABEL_RUNNER_ID, LABEL_SLOT, ROLE_CACHE, ROLE_CACHE_DIR,
};

/// Longest id accepted; GitLab's ids are 64-bit integers (at most 20 digits).
const MAX_ID_LEN: usize = 20;

/// A problem with the job's input that retrying cannot fix: a build failure with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

/// The ids that name a job's resources. All are decimal numbers, so names stay short and safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobIdentity {
    pub runner_id: String,
    pub project_id: String,
    pub concurrent_id: String,
    pub job_id: String,
    pub pipeline_id: Option<String>,
}

impl JobIdentity {
    pub fn from_env(env: &JobEnv) -> Result<JobIdentity, PlanError> {
        Ok(JobIdentity {
            runner_id: id(env, env::CI_RUNNER_ID)?,
            project_id: id(env, env::CI_PROJECT_ID)?,
            concurrent_id: id(env, env::CI_CONCURRENT_ID)?,
            job_id: id(env, env::CI_JOB_ID)?,
            pipeline_id: env
                .job_var_non_empty(env::CI_PIPELINE_ID)
                .filter(|v| is_id(v))
                .map(str::to_string),
        })
    }

    /// The stem of every resource name and the value of [`LABEL_JOB_KEY`].
    pub fn key(&self) -> String {
        format!(
            "executor-r{}-p{}-c{}-j{}",
            self.runner_id, self.project_id, self.concurrent_id, self.job_id
        )
    }

    /// The job container's name, which `run` execs into without any saved state.
    pub fn job_container(&self) -> String {
        format!("{}-job", self.key())
    }

    /// The helper container's name, which `run` execs the predefined stages into.
    pub fn helper_container(&self) -> String {
        format!("{}-helper", self.key())
    }

    /// The project's kept `cache_dir` for this runner and slot: local caches survive between
    /// the project's jobs; one per slot, so two jobs never write one at once.
    pub fn cache_dir_volume(&self) -> VolumeSpec {
        let mut volume = self.cache_volume();
        volume.name = format!(
            "executor-r{}-p{}-c{}-cache",
            self.runner_id, self.project_id, self.concurrent_id
        );
        volume
            .labels
            .insert(LABEL_ROLE.to_string(), ROLE_CACHE_DIR.to_string());
        volume
    }

    /// The project's kept dind data for this runner and slot (`dind.cache: project`). One per
    /// slot: jobs of one slot never run at once, so two daemons never share it.
    pub fn cache_volume(&self) -> VolumeSpec {
        let labels = BTreeMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_RUNNER_ID.to_string(), self.runner_id.clone()),
            (LABEL_PROJECT_ID.to_string(), self.project_id.clone()),
            (LABEL_SLOT.to_string(), self.concurrent_id.clone()),
            (LABEL_ROLE.to_string(), ROLE_CACHE.to_string()),
        ]);
        VolumeSpec {
            name: format!(
                "executor-r{}-p{}-c{}-dind-cache",
                self.runner_id, self.project_id, self.concurrent_id
            ),
            labels,
        }
    }

    /// Labels every resource of this job carries.
    pub fn labels(&self, mode: Mode) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_JOB_KEY.to_string(), self.key()),
            (LABEL_JOB_ID.to_string(), self.job_id.clone()),
            (LABEL_PROJECT_ID.to_string(), self.project_id.clone()),
            (LABEL_RUNNER_ID.to_string(), self.runner_id.clone()),
            (LABEL_SLOT.to_string(), self.concurrent_id.clone()),
            (LABEL_MODE.to_string(), mode.as_str().to_string()),
        ]);
        if let Some(pipeline) = &self.pipeline_id {
            labels.insert(LABEL_PIPELINE_ID.to_string(), pipeline.clone());
        }
        labels
    }
}

fn id(env: &JobEnv, name: &str) -> Result<String, PlanError> {
    match env.job_var(name) {
        None | Some("") => Err(PlanError(format!(
            "CUSTOM_ENV_{name} is not set; executor's stages must be called by gitlab-runner's \
             custom executor, which sets it"
        ))),
        Some(value) if is_id(value) => Ok(value.to_string()),
        Some(value) => Err(PlanError(format!(
            "CUSTOM_ENV_{name}={} is not a number of at most {MAX_ID_LEN} digits",
            printable(value)
        ))),
    }
}

fn is_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_ID_LEN && value.bytes().all(|b| b.is_ascii_digit())
}

/// A user-supplied value made safe for a one-line message: control characters escaped and the
/// length capped, so hostile input cannot forge log lines or flood the log.
pub fn printable(value: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = value
        .chars()
        .take(MAX)
        .flat_map(char::escape_default)
        .collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    format!("`{out}`")
}
