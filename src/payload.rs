//! The job payload gitlab-runner writes to `JOB_RESPONSE_FILE` (14.1+, `protocol.md` §3), read
//! for the facts a policy may trust: GitLab sets them and job variables cannot override them,
//! unlike `CUSTOM_ENV_*`. Only those fields are read; the rest of the payload (tokens,
//! variables' values) is never kept, and the registry logins it carries are kept for pulls
//! only (`credentials`).

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

mod credentials;
mod image;
mod ports;
pub use credentials::RegistryCredential;
pub use image::JobImage;
pub use ports::ServicePort;

/// A payload larger than this is not a job payload; refuse it rather than read it all.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// What the policy and the job's identity may rely on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedFacts {
    /// The job's id (the payload's `id`).
    pub job_id: Option<u64>,
    pub project_id: Option<u64>,
    /// The first `CI_RUNNER_ID` among the payload's variables: GitLab's predefined copy comes
    /// before any the job defines, as gitlab-runner itself keeps the first copy.
    pub runner_id: Option<String>,
    /// `job_info.pipeline_id` (runner 19.0+), else the first `CI_PIPELINE_ID` among the
    /// payload's variables.
    pub pipeline_id: Option<String>,
    /// `group/sub/project`, from `job_info.project_full_path` or else the repository URL.
    pub project_path: Option<String>,
    /// Whether the ref is protected: `git_info.protected` (GitLab 18.3+), else the first
    /// `CI_COMMIT_REF_PROTECTED` among the payload's variables; `None` when neither says.
    pub protected: Option<bool>,
    /// The runner's tags as GitLab reports them (`CI_RUNNER_TAGS`), only when the payload holds
    /// that variable exactly once: a job variable of the same name makes it untrustworthy.
    pub runner_tags: Option<Vec<String>>,
    /// The job's `services:`, as GitLab expanded them.
    pub services: Vec<ServiceRequest>,
    /// The job's own `image:` options (entrypoint, user, platform): the job's to choose.
    pub job_image: JobImage,
    /// The job's public variables (predefined ones and the job's `variables:`, not the
    /// project's secret CI/CD variables), which the docker executor gives services too.
    pub public_variables: Vec<(String, String)>,
    /// The registry logins GitLab gave the job (its registry, the job's token).
    pub registry_credentials: Vec<RegistryCredential>,
}

/// One entry of the job's `services:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ServiceRequest {
    pub name: String,
    /// The user's aliases, comma- or space-separated.
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// The service's own `variables:`.
    #[serde(default, deserialize_with = "variable_pairs")]
    pub variables: Vec<(String, String)>,
    /// The ports it listens on (`services: ports:`), waited for instead of its image's.
    #[serde(default, deserialize_with = "ports::nullable")]
    pub ports: Vec<ServicePort>,
    /// `services: pull_policy:`, as written (checked by the plan).
    #[serde(default, deserialize_with = "image::one_or_many")]
    pub pull_policy: Vec<String>,
}

/// Service variables as the payload and `CI_JOB_SERVICES` write them: `[{"key", "value"}]`.
fn variable_pairs<'de, D>(deserializer: D) -> Result<Vec<(String, String)>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw: Option<Vec<RawVariable>> = Option::deserialize(deserializer)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| Some((v.key, v.value.as_str()?.to_string())))
        .collect())
}

/// Predefined variables that carry credentials; never given to a service.
const CREDENTIALS: [&str; 6] = [
    "CI_JOB_TOKEN",
    "CI_BUILD_TOKEN",
    "CI_REGISTRY_PASSWORD",
    "CI_DEPENDENCY_PROXY_PASSWORD",
    "CI_REPOSITORY_URL",
    "CI_JOB_JWT",
];

/// Whether a variable of this name may be handed to a service: not a credential.
pub fn shareable(name: &str) -> bool {
    !CREDENTIALS.contains(&name) && !name.starts_with("CI_JOB_JWT")
}

#[derive(Deserialize)]
struct RawPayload {
    id: Option<u64>,
    job_info: Option<RawJobInfo>,
    git_info: Option<RawGitInfo>,
    variables: Option<Vec<RawVariable>>,
    services: Option<Vec<ServiceRequest>>,
    image: Option<image::RawImage>,
    credentials: Option<Vec<RegistryCredential>>,
}

#[derive(Deserialize)]
struct RawJobInfo {
    project_id: Option<u64>,
    pipeline_id: Option<u64>,
    project_full_path: Option<String>,
}

#[derive(Deserialize)]
struct RawGitInfo {
    repo_url: Option<String>,
    protected: Option<bool>,
}

#[derive(Deserialize)]
struct RawVariable {
    key: String,
    value: serde_json::Value,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    masked: bool,
}

/// Read and parse the payload file.
pub fn load(path: &Path) -> Result<TrustedFacts, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read JOB_RESPONSE_FILE {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read JOB_RESPONSE_FILE {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "JOB_RESPONSE_FILE {} is larger than {} MiB; not a job payload",
            path.display(),
            MAX_BYTES >> 20
        ));
    }
    parse(&bytes).map_err(|e| {
        format!(
            "JOB_RESPONSE_FILE {} is not a job payload: {e}",
            path.display()
        )
    })
}

/// Parse payload JSON.
pub fn parse(bytes: &[u8]) -> Result<TrustedFacts, String> {
    // serde_json's message can quote input; say only where it broke.
    let raw: RawPayload = serde_json::from_slice(bytes)
        .map_err(|e| format!("invalid JSON at line {} column {}", e.line(), e.column()))?;
    let job = raw.job_info;
    let git = raw.git_info;
    let project_path = job
        .as_ref()
        .and_then(|j| j.project_full_path.clone())
        .filter(|p| !p.is_empty())
        .or_else(|| {
            git.as_ref()?
                .repo_url
                .as_deref()
                .and_then(path_from_repo_url)
        });
    let variables = raw.variables.as_deref().unwrap_or_default();
    Ok(TrustedFacts {
        job_id: raw.id,
        project_id: job.as_ref().and_then(|j| j.project_id),
        runner_id: first(variables, "CI_RUNNER_ID").map(str::to_string),
        pipeline_id: job
            .as_ref()
            .and_then(|j| j.pipeline_id)
            .map(|id| id.to_string())
            .or_else(|| first(variables, "CI_PIPELINE_ID").map(str::to_string)),
        project_path,
        protected: git.as_ref().and_then(|g| g.protected).or_else(|| {
            match first(variables, "CI_COMMIT_REF_PROTECTED")? {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }
        }),
        runner_tags: runner_tags(variables),
        public_variables: raw
            .variables
            .unwrap_or_default()
            .into_iter()
            .filter(|v| v.public && !v.masked && shareable(&v.key))
            .filter_map(|v| Some((v.key, v.value.as_str()?.to_string())))
            .collect(),
        job_image: raw.image.map(JobImage::from).unwrap_or_default(),
        registry_credentials: credentials::registry_logins(raw.credentials),
        services: raw
            .services
            .unwrap_or_default()
            .into_iter()
            .filter(|s| !s.name.trim().is_empty())
            .collect(),
    })
}

/// `https://gitlab-ci-token:x@gitlab.example.com/group/project.git` -> `group/project`.
fn path_from_repo_url(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let (_, path) = rest.split_once('/')?;
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    (!path.is_empty()).then(|| path.to_string())
}

/// The value of the first variable named `key`: the predefined copy GitLab sends, before any
/// of the same name that the job's own `variables:` define.
fn first<'a>(variables: &'a [RawVariable], key: &str) -> Option<&'a str> {
    variables.iter().find(|v| v.key == key)?.value.as_str()
}

fn runner_tags(variables: &[RawVariable]) -> Option<Vec<String>> {
    let mut found = variables.iter().filter(|v| v.key == "CI_RUNNER_TAGS");
    let only = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let text = only.value.as_str()?;
    // GitLab sends a JSON array as a string; older versions a comma-separated list.
    let tags = serde_json::from_str::<Vec<String>>(text)
        .unwrap_or_else(|_| text.split(',').map(|t| t.trim().to_string()).collect());
    Some(tags.into_iter().filter(|t| !t.is_empty()).collect())
}

#[cfg(test)]
mod tests;
