//! Who a job is: runner, project, concurrency slot and job id. Every resource name derives from
//! these, so each stage finds the job's resources without state, and two jobs running at once
//! never share a name.
//!
//! Only the driver's config and the payload in `JOB_RESPONSE_FILE` are trusted: a job may
//! define `CI_PROJECT_ID`, `CI_JOB_ID` or `CI_RUNNER_ID` itself, and gitlab-runner then hands the
//! driver the job's value. So the job id, project, runner, pipeline and whether the ref is
//! protected come from the payload; a job variable that disagrees is ignored and named. The
//! slot (`CI_CONCURRENT_ID`) has no trusted source: whatever it keys must stay safe when a job
//! forges it (the job id in every job name, the project in every kept volume's name).

use std::collections::BTreeMap;

use crate::env::{self, JobEnv};
use crate::payload::TrustedFacts;
use crate::settings::{Mode, Settings};

use super::{
    VolumeSpec, LABEL_JOB_ID, LABEL_JOB_KEY, LABEL_MANAGED, LABEL_MANAGER_ID, LABEL_MODE,
    LABEL_PIPELINE_ID, LABEL_PROJECT_ID, LABEL_PROTECTED, LABEL_ROLE, LABEL_RUNNER_ID, LABEL_SLOT,
    ROLE_CACHE, ROLE_CACHE_DIR,
};

/// Longest id accepted; GitLab's ids are 64-bit integers (at most 20 digits).
const MAX_ID_LEN: usize = 20;

/// The first gitlab-runner that writes `JOB_RESPONSE_FILE`.
pub const MIN_RUNNER_VERSION: &str = "14.1";

/// A problem with the job's input that retrying cannot fix: a build failure with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

/// The ids that name a job's resources. All are decimal numbers, so names stay short and safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobIdentity {
    pub runner_id: String,
    /// The runner manager (`runner.manager_id`, by default this host's machine id): since
    /// GitLab 16.2 several managers can share one runner id, each counting slots from 0, so
    /// it is part of every name, or their kept volumes and warm sets would be one another's.
    /// Empty: no part of its own (names as before managers were told apart).
    pub manager_id: String,
    pub project_id: String,
    /// Untrusted: any job can set it (see the module comment).
    pub concurrent_id: String,
    pub job_id: String,
    pub pipeline_id: Option<String>,
    /// Whether the job's ref is protected, as the payload says (`false` when it does not say).
    /// Kept volumes are separate for protected refs, so an unprotected branch never writes
    /// what a protected job later restores or builds on.
    pub protected: bool,
}

/// An identity and the job variables it ignored because they disagree with the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub identity: JobIdentity,
    /// One line per ignored variable (names only, never values), or one saying there was no
    /// payload to check them against.
    pub ignored: Vec<String>,
}

impl JobIdentity {
    /// The job's identity from the payload (and `runner_id` from the config when set). Without
    /// a payload only `payload.required: false` lets job variables name the job.
    pub fn resolve(
        settings: &Settings,
        env: &JobEnv,
        facts: Option<&TrustedFacts>,
    ) -> Result<Resolved, PlanError> {
        let Some(facts) = facts else {
            if settings.payload_required {
                return Err(PlanError(format!(
                    "JOB_RESPONSE_FILE is not set: executor needs gitlab-runner \
                     {MIN_RUNNER_VERSION} or later, whose job payload names the job; upgrade the \
                     runner, or set payload.required: false to trust job variables instead"
                )));
            }
            let mut identity = JobIdentity::from_env(env)?;
            identity.concurrent_id = slot(settings, env)?;
            identity.manager_id = settings.manager_id.clone();
            if let Some(id) = &settings.runner_id {
                identity.runner_id = id.clone();
            }
            return Ok(Resolved {
                identity,
                ignored: vec![
                    "no JOB_RESPONSE_FILE: the job's variables name its resources \
                     (payload.required: false)"
                        .into(),
                ],
            });
        };
        let runner_id = match (&settings.runner_id, &facts.runner_id) {
            (Some(id), _) => id.clone(),
            (None, Some(id)) if is_id(id) => id.clone(),
            (None, _) => {
                return Err(PlanError(
                    "the job payload has no CI_RUNNER_ID; set runner_id in executor's config"
                        .into(),
                ))
            }
        };
        let trusted = |value: Option<u64>, what: &str| {
            value.map(|v| v.to_string()).ok_or_else(|| {
                PlanError(format!(
                    "JOB_RESPONSE_FILE has no {what}; it must be gitlab-runner's job payload"
                ))
            })
        };
        let identity = JobIdentity {
            manager_id: settings.manager_id.clone(),
            concurrent_id: slot(settings, env)?,
            job_id: trusted(facts.job_id, "job id")?,
            project_id: trusted(facts.project_id, "job_info.project_id")?,
            runner_id,
            pipeline_id: facts.pipeline_id.clone().filter(|v| is_id(v)),
            protected: facts.protected.unwrap_or(false),
        };
        let ignored = identity.ignored(env, facts);
        Ok(Resolved { identity, ignored })
    }

    /// Without a payload (`payload.required: false`): the job variables, as the runner set
    /// them unless the job redefined them.
    pub fn from_env(env: &JobEnv) -> Result<JobIdentity, PlanError> {
        Ok(JobIdentity {
            runner_id: id(env, env::CI_RUNNER_ID)?,
            manager_id: String::new(),
            project_id: id(env, env::CI_PROJECT_ID)?,
            concurrent_id: id(env, env::CI_CONCURRENT_ID)?,
            job_id: id(env, env::CI_JOB_ID)?,
            pipeline_id: env
                .job_var_non_empty(env::CI_PIPELINE_ID)
                .filter(|v| is_id(v))
                .map(str::to_string),
            protected: env.job_var(env::CI_COMMIT_REF_PROTECTED) == Some("true"),
        })
    }

    /// The job variables that claim another identity than the payload's, by name.
    fn ignored(&self, env: &JobEnv, facts: &TrustedFacts) -> Vec<String> {
        let protected = self.protected.to_string();
        let checks = [
            (env::CI_JOB_ID, Some(self.job_id.as_str())),
            (env::CI_PROJECT_ID, Some(self.project_id.as_str())),
            (env::CI_RUNNER_ID, facts.runner_id.as_deref()),
            (env::CI_PIPELINE_ID, self.pipeline_id.as_deref()),
            (env::CI_PROJECT_PATH, facts.project_path.as_deref()),
            (
                env::CI_COMMIT_REF_PROTECTED,
                facts.protected.map(|_| protected.as_str()),
            ),
        ];
        checks
            .into_iter()
            .filter(|(name, trusted)| {
                matches!((env.job_var(name), trusted), (Some(value), Some(t)) if value != *t)
            })
            .map(|(name, _)| {
                format!("job variable {name} differs from the job payload; ignored, the payload's value is used")
            })
            .collect()
    }
    /// The stem of every resource name and the value of [`LABEL_JOB_KEY`].
    pub fn key(&self) -> String {
        format!(
            "{}-p{}-c{}-j{}",
            runner_stem(&self.runner_id, &self.manager_id),
            self.project_id,
            self.concurrent_id,
            self.job_id
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

    /// The stem of the project's kept volumes for this runner, slot and kind of ref:
    /// `executor-r1-p2-c0` for unprotected refs, `executor-r1-p2-c0-protected` for protected ones.
    fn kept_stem(&self) -> String {
        let protected = if self.protected { "-protected" } else { "" };
        format!(
            "{}-p{}-c{}{protected}",
            runner_stem(&self.runner_id, &self.manager_id),
            self.project_id,
            self.concurrent_id
        )
    }

    /// The project's kept `cache_dir` for this runner, slot and kind of ref: local caches
    /// survive between the project's jobs; one per slot, so two jobs never write one at once.
    pub fn cache_dir_volume(&self) -> VolumeSpec {
        let mut volume = self.cache_volume();
        volume.name = format!("{}-cache", self.kept_stem());
        volume
            .labels
            .insert(LABEL_ROLE.to_string(), ROLE_CACHE_DIR.to_string());
        volume
    }

    /// The project's kept dind data for this runner, slot and kind of ref (`dind.cache:
    /// project`). One per slot; prepare makes sure no other daemon holds it (`stage::cache`).
    pub fn cache_volume(&self) -> VolumeSpec {
        let labels = BTreeMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_RUNNER_ID.to_string(), self.runner_id.clone()),
            (LABEL_PROJECT_ID.to_string(), self.project_id.clone()),
            (LABEL_SLOT.to_string(), self.concurrent_id.clone()),
            (LABEL_PROTECTED.to_string(), self.protected.to_string()),
            (LABEL_ROLE.to_string(), ROLE_CACHE.to_string()),
        ]);
        let mut labels = labels;
        if !self.manager_id.is_empty() {
            labels.insert(LABEL_MANAGER_ID.to_string(), self.manager_id.clone());
        }
        VolumeSpec {
            name: format!("{}-dind-cache", self.kept_stem()),
            labels,
        }
    }

    /// Labels every resource of this job carries.
    pub fn labels(&self, mode: Mode) -> BTreeMap<String, String> {
        let mut labels = self.job_labels(mode);
        if !self.manager_id.is_empty() {
            labels.insert(LABEL_MANAGER_ID.to_string(), self.manager_id.clone());
        }
        labels
    }

    fn job_labels(&self, mode: Mode) -> BTreeMap<String, String> {
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

/// The start of every name of a runner's (and manager's) resources: `executor-r7`, or
/// `executor-r7-m0f3a9c21` with a manager id.
pub fn runner_stem(runner_id: &str, manager_id: &str) -> String {
    match manager_id {
        "" => format!("executor-r{runner_id}"),
        manager => format!("executor-r{runner_id}-m{manager}"),
    }
}

/// The concurrency slot: any number a job likes, so it is held below `slots`, which bounds
/// what forged slots can leave behind (a kept cache_dir per project and slot, a warm sidecar
/// per slot).
fn slot(settings: &Settings, env: &JobEnv) -> Result<String, PlanError> {
    let value = id(env, env::CI_CONCURRENT_ID)?;
    match value.parse::<u64>() {
        // Written canonically: `01` and `1` are one slot, not two.
        Ok(n) if n < settings.slots => Ok(n.to_string()),
        _ => Err(PlanError(format!(
            "CUSTOM_ENV_CI_CONCURRENT_ID={} is not below slots ({}); set slots in executor's \
             config to the runner's limit or concurrent",
            printable(&value),
            settings.slots
        ))),
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

/// An image name as messages show it: control characters escaped (plans refuse them already,
/// this is the last line of defence) and cut at 256 characters, so a job's 128 KiB `image:`
/// cannot flood the log; ordinary names pass unchanged.
pub fn shown_name(name: &str) -> String {
    const MAX: usize = 256;
    let mut out: String = name
        .chars()
        .take(MAX)
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            if c.is_control() {
                Box::new(c.escape_default())
            } else {
                Box::new(std::iter::once(c))
            }
        })
        .collect();
    if name.chars().count() > MAX {
        out.push('…');
    }
    out
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
