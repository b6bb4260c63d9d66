//! Driver settings: the admin's YAML file read in two steps (`design.md` rule 5). [`raw`] holds
//! what the file says; [`Settings::from_text`] validates it once into real types, and every
//! error names the file, the key and, where it can be found, the line.

mod container;
mod container_checks;
mod container_paths;
mod container_privileges;
mod dind_registries;
mod duration;
mod engine;
mod glob;
mod gpus;
mod limits;
mod local;
pub use local::Local;
mod policy;
mod raw;
mod raw_container;
mod size;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use container::{
    AdminVolume, ContainerOptions, Device, Gpus, SecurityOpt, VolumeSource, DRIVER_TARGETS,
    RUNNER_BINARY_TARGET,
};
pub use engine::EngineEnv;
pub use glob::Glob;
pub use limits::{parse_cpus, show_cpus, Caps, Limits, MaxCaps, MIN_CPUS};
pub use policy::{Policy, Rule};
use raw::{RawModeName, RawPullPolicy};
pub use size::human as human_size;
pub use size::parse as parse_size;
use validate::validate;
pub(crate) use validate::Invalid;

/// Parse a duration as the config writes them (`500ms`, `30s`, `2m`, `1h`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text)
}

/// Where the config is read from when neither `--config` nor `EXECUTOR_CONFIG` names a file.
/// A missing file at this default path means "all defaults"; a named file must exist.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/executor/executor.yaml";

/// How a job gets Docker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A docker-in-docker sidecar on the job's network.
    Dind,
    /// The host engine's socket bind-mounted into the job container.
    Socket,
    /// No Docker access at all.
    None,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Dind, Mode::Socket, Mode::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dind => "dind",
            Mode::Socket => "socket",
            Mode::None => "none",
        }
    }

    /// Parse a job's request; case and surrounding spaces do not matter.
    pub fn parse(text: &str) -> Option<Mode> {
        let t = text.trim().to_ascii_lowercase();
        Mode::ALL.into_iter().find(|m| m.as_str() == t)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<RawModeName> for Mode {
    fn from(raw: RawModeName) -> Mode {
        match raw {
            RawModeName::Dind => Mode::Dind,
            RawModeName::Socket => Mode::Socket,
            RawModeName::None => Mode::None,
        }
    }
}

/// Whether the sidecar's daemon data (images, build cache) outlives the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DindCache {
    /// A fresh, empty `/var/lib/docker` for every job.
    None,
    /// One volume per project and concurrency slot, kept between that project's jobs.
    Project,
}

/// Where the stages that need git and the gitlab-runner binary run (`protocol.md` §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperMode {
    /// A helper container sharing the builds and cache volumes with the job container.
    Container,
    /// The job container, with this host's gitlab-runner binary mounted read-only when set.
    Job { runner_binary: Option<String> },
}

/// The default helper image: gitlab-runner's own, tagged with the runner's version and this
/// machine's architecture, as the docker executor picks it.
pub const DEFAULT_HELPER_IMAGE: &str =
    "registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:${ARCH}-v${CI_RUNNER_VERSION}";

/// When to pull an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    /// As `.gitlab-ci.yml` and the config write it.
    pub fn name(self) -> &'static str {
        match self {
            PullPolicy::Always => "always",
            PullPolicy::IfNotPresent => "if-not-present",
            PullPolicy::Never => "never",
        }
    }

    /// A name as `.gitlab-ci.yml` writes it (`if-not-present`).
    pub fn parse(name: &str) -> Option<PullPolicy> {
        [
            PullPolicy::Always,
            PullPolicy::IfNotPresent,
            PullPolicy::Never,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }
}

impl std::fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<RawPullPolicy> for PullPolicy {
    fn from(raw: RawPullPolicy) -> PullPolicy {
        match raw {
            RawPullPolicy::Always => PullPolicy::Always,
            RawPullPolicy::IfNotPresent => PullPolicy::IfNotPresent,
            RawPullPolicy::Never => PullPolicy::Never,
        }
    }
}

/// Whether the job container starts through its image's `ENTRYPOINT` (or the job's
/// `image: entrypoint:`), as under gitlab-runner's docker executor, or bypasses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entrypoint {
    /// The entrypoint runs and whatever environment it sets up is what every stage sees.
    Honor,
    /// The container runs only the driver's keep-alive; the image's entrypoint never runs.
    Ignore,
}

/// The engine the driver talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    /// `unix:///path/to/docker.sock`
    Unix(PathBuf),
    /// `tcp://host:port`: over TLS with the certificates in `tls` (`ca.pem`, `cert.pem`,
    /// `key.pem`), or plain HTTP where the admin said `docker.insecure: true`.
    Tcp { addr: String, tls: Option<PathBuf> },
}

impl DockerHost {
    /// Whether the engine is on this machine (its socket a path here).
    pub fn is_local(&self) -> bool {
        matches!(self, DockerHost::Unix(_))
    }
}

impl fmt::Display for DockerHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerHost::Unix(path) => write!(f, "unix://{}", path.display()),
            DockerHost::Tcp { addr, .. } => write!(f, "tcp://{addr}"),
        }
    }
}

/// Validated settings; see `config/executor.yaml` for what each one means.
#[derive(Debug, Clone)]
pub struct Settings {
    pub docker_host: DockerHost,
    pub docker_timeout: Duration,
    /// The runner's id for resource names; `None`: the payload's `CI_RUNNER_ID`.
    pub runner_id: Option<String>,
    /// `runner.manager_id`, else this host's machine id (its first 8 characters); part of
    /// every resource name (see `plan::JobIdentity::manager_id`). Empty: none.
    pub manager_id: String,
    /// `CI_CONCURRENT_ID` must be below this (the runner's `limit`, or `concurrent`): the slot is
    /// the one name part a job can forge, and each slot may keep a cache_dir volume and a warm
    /// sidecar.
    pub slots: u64,
    /// Refuse to run without `JOB_RESPONSE_FILE` (runners older than 14.1): without it the
    /// job's identity could only come from job variables, which the job can forge.
    pub payload_required: bool,
    pub builds_dir: String,
    pub cache_dir: String,
    pub image: String,
    pub pull_policy: PullPolicy,
    /// The pull policies a job may ask for (`image: pull_policy:`); by default only
    /// `pull_policy`.
    pub allowed_pull_policies: Vec<PullPolicy>,
    /// `registry.auth_config`: the runner's Docker client configuration with registry
    /// credentials; `None`: the runner user's `~/.docker/config.json`; `""`: none.
    pub registry_auth_config: Option<String>,
    pub entrypoint: Entrypoint,
    pub mode_variable: String,
    pub mode_default: Mode,
    pub modes_allowed: Vec<Mode>,
    /// Whether the file itself lists `mode.allowed` (a local run takes that as the person's
    /// consent to the modes it lists).
    pub modes_allowed_by_file: bool,
    pub dind_image: String,
    pub dind_privileged: bool,
    pub dind_ready_timeout: Duration,
    /// MTU of the per-job network and the inner daemon; `None`: the host engine's.
    pub dind_mtu: Option<u32>,
    /// OCI runtime for the sidecar (e.g. `sysbox-runc`); with one, the sidecar is unprivileged.
    pub dind_runtime: Option<String>,
    /// The driver makes the TLS certificates before the sidecar starts and the job talks to
    /// `tcp://docker:2376`; otherwise the job uses the plain shared socket.
    pub dind_tls: bool,
    pub dind_cache: DindCache,
    /// A project cache larger than this after a job is dropped whole.
    pub dind_cache_max_size: u64,
    /// After a dind job's cleanup, start a fresh sidecar for the next job of the slot.
    pub dind_warm: bool,
    /// A warm sidecar older than this is not adopted but replaced.
    pub dind_warm_max_age: Duration,
    /// `dind.registry_mirrors`: the inner daemon's `--registry-mirror`s (Docker Hub only).
    pub dind_registry_mirrors: Vec<String>,
    /// `dind.insecure_registries`: the inner daemon's `--insecure-registry`s.
    pub dind_insecure_registries: Vec<String>,
    /// `dind.login`: the job's Docker client starts logged in with the job's own logins
    /// (GitLab's registry, the job's `DOCKER_AUTH_CONFIG`).
    pub dind_login: bool,
    /// `mirror:`: the pull-through cache the driver keeps for every dind job's inner daemon.
    pub mirror: Mirror,
    pub socket_host_path: String,
    /// Socket mode: per-job builds directories live under this host path, bind-mounted at the
    /// same path, so sibling containers' `-v "$CI_PROJECT_DIR:..."` find the checkout.
    pub socket_builds_host_dir: String,
    pub helper_mode: HelperMode,
    /// May contain `${CI_RUNNER_VERSION}` and `${ARCH}`.
    pub helper_image: String,
    /// How long prepare waits for the job's services to answer; zero: not at all.
    pub services_wait_timeout: Duration,
    /// The most services one job may start.
    pub services_max: usize,
    /// Whether a job's `CI_DEBUG_SERVICES` may show its services' output in its log.
    pub services_debug_logs: bool,
    /// The most bytes of variables (names and values) handed to one service or the sidecar.
    pub services_max_env: u64,
    /// The admin's options for the job's containers (`container:`), applied as
    /// `crate::plan::options` says; no job variable reaches them.
    pub container: ContainerOptions,
    /// OCI runtime of the job container (`container.runtime`); `None`: the engine's default.
    pub container_runtime: Option<String>,
    /// `limits:`: CPU, memory and pids per container kind, and the most a job may request.
    pub limits: Limits,
    pub policy: Policy,
    /// `executor gc`: a job without a running job container is collected once its newest
    /// resource is this old (a prepare in progress is younger).
    pub gc_grace: Duration,
    /// `executor gc`: a job whose newest resource is this old is collected even if it runs.
    pub gc_max_age: Duration,
    /// `warm.jobs`: after a job's cleanup, start the slot's next job container (and helper)
    /// ahead of time, for a job of the same project and settings to adopt.
    pub warm_jobs: bool,
    /// `warm.max_age`: a warm job set older than this is not adopted but replaced.
    pub warm_max_age: Duration,
    /// The file these settings were read from (`None`: built-in defaults or a text), for a
    /// process the driver starts to read the same (`warm_job::refill_later`).
    pub file: Option<std::path::PathBuf>,
    /// `local:`: what local runs stand in for (the protocol form never reads it).
    pub local: Local,
}

/// The managed registry mirror (`mirror:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub managed: bool,
    pub image: String,
    /// What it caches: Docker Hub by default (the inner daemons mirror Docker Hub only).
    pub upstream: String,
    /// The engine network it is made on (where it reaches its upstream): `bridge` by default.
    pub network: String,
    /// `executor gc` empties a mirror whose data grew past this.
    pub max_size: u64,
}

/// A config file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
#[error("config {file}: {message}")]
pub struct SettingsError {
    file: String,
    message: String,
}

impl Settings {
    /// Read the config chosen by `--config`, else `EXECUTOR_CONFIG`, else the default path.
    pub fn load(flag: Option<&Path>, env: Option<&Path>) -> Result<Settings, SettingsError> {
        let engine_env = EngineEnv::from_process();
        let (path, named) = match flag.or(env) {
            Some(p) => (p, true),
            None => (Path::new(DEFAULT_CONFIG_PATH), false),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut settings =
                    Settings::from_text_in(&text, &path.display().to_string(), &engine_env)?;
                settings.file = Some(path.to_path_buf());
                Ok(settings)
            }
            Err(e) if !named && e.kind() == std::io::ErrorKind::NotFound => {
                Settings::from_text_in("", DEFAULT_CONFIG_PATH, &engine_env)
            }
            Err(e) => Err(SettingsError {
                file: path.display().to_string(),
                message: format!(
                    "cannot be read ({e}); pass an existing file with --config or EXECUTOR_CONFIG"
                ),
            }),
        }
    }

    /// Parse and validate the text of a config file named `file` (used in messages), with no
    /// Docker CLI variables in the environment.
    pub fn from_text(text: &str, file: &str) -> Result<Settings, SettingsError> {
        Settings::from_text_in(text, file, &EngineEnv::default())
    }

    /// As [`Settings::from_text`], where `env` holds the driver's own `DOCKER_HOST`,
    /// `DOCKER_CERT_PATH` and `DOCKER_TLS_VERIFY`, used when the config names no engine.
    pub fn from_text_in(
        text: &str,
        file: &str,
        env: &EngineEnv,
    ) -> Result<Settings, SettingsError> {
        let raw = raw::load(text).map_err(|e| SettingsError {
            file: file.to_string(),
            message: with_line(e.to_string(), text),
        })?;
        validate(raw, env).map_err(|(path, message)| {
            let at = crate::yaml::line_of(text, &path)
                .map(|l| format!(" at line {l}"))
                .unwrap_or_default();
            SettingsError {
                file: file.to_string(),
                message: format!("{}{at}: {message}", path.join(".")),
            }
        })
    }
}

/// serde_yaml gives no position for an unknown top-level key; find the key's line in the text.
fn with_line(message: String, text: &str) -> String {
    if message.contains(" at line ") {
        return message;
    }
    let key = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next());
    match key.and_then(|k| crate::yaml::line_of(text, &[k])) {
        Some(line) => format!("{message} at line {line}"),
        None => message,
    }
}

#[cfg(test)]
mod docs_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_container;
