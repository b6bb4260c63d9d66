//! The YAML file as written by the admin: plain serde structs, every field optional so the
//! defaults live in one place ([`super::Settings`]), unknown keys rejected so a typo is an error
//! and not a silently ignored setting. Parsed through `crate::yaml`, the one module naming serde_yaml.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of executor settings (docker, runner_id, slots, payload, builds_dir, image, pull_policy, registry, mirror, mode, dind, socket, helper, container, limits, policy, ...)"
)]
pub struct RawSettings {
    pub docker: Option<RawDocker>,
    pub runner_id: Option<u64>,
    pub slots: Option<u64>,
    pub payload: Option<RawPayload>,
    pub builds_dir: Option<String>,
    pub cache_dir: Option<String>,
    pub image: Option<String>,
    pub pull_policy: Option<RawPullPolicy>,
    pub allowed_pull_policies: Option<Vec<RawPullPolicy>>,
    pub registry: Option<RawRegistry>,
    pub mirror: Option<RawMirror>,
    pub entrypoint: Option<RawEntrypoint>,
    pub mode: Option<RawModeSection>,
    pub dind: Option<RawDind>,
    pub socket: Option<RawSocket>,
    pub helper: Option<RawHelper>,
    pub services: Option<RawServices>,
    pub container: Option<super::raw_container::RawContainer>,
    pub policy: Option<RawPolicy>,
    pub gc: Option<RawGc>,
    pub warm: Option<RawWarm>,
    pub limits: Option<super::limits::RawLimits>,
    pub runner: Option<RawRunner>,
    pub local: Option<super::local::RawLocal>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with managed, image, upstream, network and max_size"
)]
pub struct RawMirror {
    pub managed: Option<bool>,
    pub image: Option<String>,
    pub upstream: Option<String>,
    pub network: Option<String>,
    pub max_size: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with auth_config")]
pub struct RawRegistry {
    pub auth_config: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with manager_id")]
pub struct RawRunner {
    pub manager_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with required")]
pub struct RawPayload {
    pub required: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with host, cert_path, insecure and timeout"
)]
pub struct RawDocker {
    pub host: Option<String>,
    pub cert_path: Option<String>,
    pub insecure: Option<bool>,
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawPullPolicy {
    Always,
    IfNotPresent,
    Never,
}

/// Whether job containers start through their image's `ENTRYPOINT`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawEntrypoint {
    Honor,
    Ignore,
}

/// A mode name as written in the file (`none` is a string here, not YAML's null).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawModeName {
    Dind,
    Socket,
    None,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with variable, default and allowed"
)]
pub struct RawModeSection {
    pub variable: Option<String>,
    pub default: Option<RawModeName>,
    pub allowed: Option<Vec<RawModeName>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with image, privileged, ready_timeout, mtu, runtime, tls, cache, cache_max_size, warm, warm_max_age, registry_mirrors, insecure_registries and login"
)]
pub struct RawDind {
    pub image: Option<String>,
    pub privileged: Option<bool>,
    pub ready_timeout: Option<String>,
    pub mtu: Option<u32>,
    pub runtime: Option<String>,
    pub tls: Option<bool>,
    pub cache: Option<RawDindCache>,
    pub cache_max_size: Option<String>,
    pub warm: Option<bool>,
    pub warm_max_age: Option<String>,
    pub registry_mirrors: Option<Vec<String>>,
    pub insecure_registries: Option<Vec<String>>,
    pub login: Option<bool>,
}

/// Whether the sidecar's `/var/lib/docker` outlives the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawDindCache {
    None,
    Project,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with host_path and builds_host_dir"
)]
pub struct RawSocket {
    pub host_path: Option<String>,
    pub builds_host_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with mode, image and runner_binary"
)]
pub struct RawHelper {
    pub mode: Option<RawHelperMode>,
    pub image: Option<String>,
    pub runner_binary: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with wait_timeout, max and max_env"
)]
pub struct RawServices {
    pub wait_timeout: Option<String>,
    pub max: Option<usize>,
    pub max_env: Option<String>,
    pub debug_logs: Option<bool>,
}

/// Where the stages that need git and gitlab-runner run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawHelperMode {
    Container,
    Job,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with rules, default_modes, job_images and dind_images"
)]
pub struct RawPolicy {
    pub rules: Option<Vec<RawRule>>,
    pub default_modes: Option<Vec<RawModeName>>,
    pub job_images: Option<Vec<String>>,
    pub dind_images: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with match, modes, default and max"
)]
pub struct RawRule {
    #[serde(rename = "match")]
    pub when: Option<RawMatch>,
    pub modes: Option<Vec<RawModeName>>,
    pub default: Option<RawModeName>,
    pub max: Option<super::limits::RawMax>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with projects, project_ids, protected and runner_tags"
)]
pub struct RawMatch {
    pub projects: Option<Vec<String>>,
    pub project_ids: Option<Vec<u64>>,
    pub protected: Option<bool>,
    pub runner_tags: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with grace and max_age")]
pub struct RawGc {
    pub grace: Option<String>,
    pub max_age: Option<String>,
}

/// Parse the file's text. An empty file means "all defaults".
pub fn load(text: &str) -> Result<RawSettings, crate::yaml::Error> {
    if text.trim().is_empty() {
        return Ok(RawSettings::default());
    }
    crate::yaml::from_str(text)
}

/// `warm:`: job containers started ahead of time for a slot's next job.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with jobs and max_age")]
pub struct RawWarm {
    pub jobs: Option<bool>,
    pub max_age: Option<String>,
}
