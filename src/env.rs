//! The driver's view of its process environment, snapshotted once (`design.md` rule 6).
//!
//! gitlab-runner hands a driver fixed protocol variables (`BUILD_FAILURE_EXIT_CODE`, ...) and
//! every job variable prefixed with `CUSTOM_ENV_` (`protocol.md` §3). [`JobEnv`] is built from
//! an iterator so tests pass a map and never touch the real process environment. Job variables
//! carry secrets (`CI_JOB_TOKEN`, masked variables): nothing here implements `Debug` on their
//! values, and callers ask for single variables by name.

use std::collections::HashMap;
use std::path::PathBuf;

/// Exit code gitlab-runner reads as "the job's script failed" (protocol.md §6.1).
pub const BUILD_FAILURE_EXIT_CODE: &str = "BUILD_FAILURE_EXIT_CODE";
/// Exit code gitlab-runner reads as "infrastructure failed; retry".
pub const SYSTEM_FAILURE_EXIT_CODE: &str = "SYSTEM_FAILURE_EXIT_CODE";
/// File where the script's own exit code goes before exiting with the build failure code (17.9+).
pub const BUILD_EXIT_CODE_FILE: &str = "BUILD_EXIT_CODE_FILE";
/// The job payload as JSON, written by the runner; job variables cannot override it (14.1+).
pub const JOB_RESPONSE_FILE: &str = "JOB_RESPONSE_FILE";
/// Path of the driver's YAML config when `--config` is not given.
pub const EXECUTOR_CONFIG: &str = "EXECUTOR_CONFIG";
/// Set (non-empty) to turn colours off in a local run's output (no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
/// Prefix the runner puts before every job variable.
pub const CUSTOM_ENV_PREFIX: &str = "CUSTOM_ENV_";

/// Job variables (without the prefix) that name the job; see [`crate::plan::JobIdentity`].
pub const CI_JOB_ID: &str = "CI_JOB_ID";
pub const CI_PROJECT_ID: &str = "CI_PROJECT_ID";
pub const CI_RUNNER_ID: &str = "CI_RUNNER_ID";
pub const CI_CONCURRENT_ID: &str = "CI_CONCURRENT_ID";
pub const CI_PIPELINE_ID: &str = "CI_PIPELINE_ID";
pub const CI_PROJECT_PATH: &str = "CI_PROJECT_PATH";
pub const CI_COMMIT_REF_PROTECTED: &str = "CI_COMMIT_REF_PROTECTED";
/// The job's `image:`, already expanded by the runner (12.6+).
pub const CI_JOB_IMAGE: &str = "CI_JOB_IMAGE";
/// dind's TLS switch: the official image turns TLS on unless this is set to "".
pub const DOCKER_TLS_CERTDIR: &str = "DOCKER_TLS_CERTDIR";
/// Extra subject alternative names for dind's server certificate.
/// Marks the environment `executor run` builds for a local job's stages.
pub const LOCAL_RUN: &str = "EXECUTOR_LOCAL_RUN";
pub const DOCKER_TLS_SAN: &str = "DOCKER_TLS_SAN";

/// Exit codes used when the runner did not say (they have been 1 and 2 since 12.1).
const DEFAULT_BUILD_FAILURE: i32 = 1;
const DEFAULT_SYSTEM_FAILURE: i32 = 2;

/// Everything the driver reads from its environment.
pub struct JobEnv {
    build_failure_code: i32,
    system_failure_code: i32,
    build_exit_code_file: Option<PathBuf>,
    job_response_file: Option<PathBuf>,
    config_path: Option<PathBuf>,
    job_vars: HashMap<String, String>,
    from_runner: bool,
    no_color: Option<String>,
    /// The driver's own `DOCKER_AUTH_CONFIG`, `DOCKER_CONFIG` and `HOME`: the runner's host
    /// settings (registry credentials), never a job's.
    runner_auth_config: Option<String>,
    docker_config: Option<PathBuf>,
    home: Option<PathBuf>,
    /// Set by `executor run` for the stages of a local run (`EXECUTOR_LOCAL_RUN`): one
    /// person's own jobs, on their own engine.
    local_run: bool,
    /// Every pair this was made from, for a process the driver starts for the same job
    /// (`warm_job::refill_later`).
    all: Vec<(String, String)>,
}

impl JobEnv {
    /// Snapshot from `(name, value)` pairs, e.g. `std::env::vars_os()` made lossy.
    pub fn from_vars<I, K, V>(vars: I) -> JobEnv
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut env = JobEnv {
            build_failure_code: DEFAULT_BUILD_FAILURE,
            system_failure_code: DEFAULT_SYSTEM_FAILURE,
            build_exit_code_file: None,
            job_response_file: None,
            config_path: None,
            job_vars: HashMap::new(),
            from_runner: false,
            no_color: None,
            runner_auth_config: None,
            docker_config: None,
            home: None,
            local_run: false,
            all: Vec::new(),
        };
        for (key, value) in vars {
            let (key, value): (String, String) = (key.into(), value.into());
            env.all.push((key.clone(), value.clone()));
            if let Some(name) = key.strip_prefix(CUSTOM_ENV_PREFIX) {
                env.job_vars.insert(name.to_string(), value);
                continue;
            }
            match key.as_str() {
                BUILD_FAILURE_EXIT_CODE => {
                    env.from_runner = true;
                    env.build_failure_code = value.trim().parse().unwrap_or(DEFAULT_BUILD_FAILURE)
                }
                SYSTEM_FAILURE_EXIT_CODE => {
                    env.from_runner = true;
                    env.system_failure_code = value.trim().parse().unwrap_or(DEFAULT_SYSTEM_FAILURE)
                }
                BUILD_EXIT_CODE_FILE => env.build_exit_code_file = non_empty_path(value),
                JOB_RESPONSE_FILE => env.job_response_file = non_empty_path(value),
                EXECUTOR_CONFIG => env.config_path = non_empty_path(value),
                NO_COLOR => env.no_color = Some(value),
                "DOCKER_AUTH_CONFIG" => {
                    env.runner_auth_config = Some(value).filter(|v| !v.is_empty())
                }
                "DOCKER_CONFIG" => env.docker_config = non_empty_path(value),
                "HOME" => env.home = non_empty_path(value),
                LOCAL_RUN => env.local_run = value == "1",
                _ => {}
            }
        }
        env
    }

    /// The real process environment; non-UTF-8 entries are kept lossily.
    pub fn from_process() -> JobEnv {
        JobEnv::from_vars(std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        }))
    }

    /// Every `(name, value)` this environment was made from.
    pub fn all(&self) -> &[(String, String)] {
        &self.all
    }

    pub fn build_failure_code(&self) -> i32 {
        self.build_failure_code
    }

    pub fn system_failure_code(&self) -> i32 {
        self.system_failure_code
    }

    pub fn build_exit_code_file(&self) -> Option<&PathBuf> {
        self.build_exit_code_file.as_ref()
    }

    pub fn job_response_file(&self) -> Option<&PathBuf> {
        self.job_response_file.as_ref()
    }

    /// Whether gitlab-runner called us: it sets both failure exit codes on every call (12.1+);
    /// either one is taken as the runner's environment.
    /// This tells `executor run SCRIPT STAGE` from a person's `executor run JOB`.
    pub fn from_runner(&self) -> bool {
        self.from_runner
    }

    /// `NO_COLOR` as set, for a local run's output.
    pub fn no_color(&self) -> Option<&str> {
        self.no_color.as_deref()
    }

    /// `EXECUTOR_CONFIG`, when set and non-empty.
    pub fn config_path(&self) -> Option<&PathBuf> {
        self.config_path.as_ref()
    }

    /// Whether these are the stages of `executor run`.
    pub fn local_run(&self) -> bool {
        self.local_run
    }

    /// `DOCKER_AUTH_CONFIG` in the driver's own environment (set by the runner's admin).
    pub fn runner_auth_config(&self) -> Option<&str> {
        self.runner_auth_config.as_deref()
    }

    /// The runner user's Docker client directory: `$DOCKER_CONFIG`, else `~/.docker`.
    pub fn runner_docker_config_dir(&self) -> Option<PathBuf> {
        self.docker_config
            .clone()
            .or_else(|| Some(self.home.as_ref()?.join(".docker")))
    }

    /// A job variable by its name without the `CUSTOM_ENV_` prefix. `Some("")` is kept apart
    /// from `None`: an empty `DOCKER_TLS_CERTDIR` means "TLS off", an unset one means default.
    pub fn job_var(&self, name: &str) -> Option<&str> {
        self.job_vars.get(name).map(String::as_str)
    }

    /// Every job variable, by name without the prefix.
    pub fn job_vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.job_vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A job variable that is set and not empty.
    pub fn job_var_non_empty(&self, name: &str) -> Option<&str> {
        self.job_var(name).filter(|v| !v.is_empty())
    }
}

fn non_empty_path(value: String) -> Option<PathBuf> {
    (!value.is_empty()).then(|| PathBuf::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> JobEnv {
        JobEnv::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn exit_codes_default_to_one_and_two() {
        let e = env(&[]);
        assert_eq!((e.build_failure_code(), e.system_failure_code()), (1, 2));
    }

    #[test]
    fn the_runner_is_recognised_by_its_exit_code_variables() {
        assert!(!env(&[("CUSTOM_ENV_CI", "true")]).from_runner());
        assert!(env(&[(SYSTEM_FAILURE_EXIT_CODE, "2")]).from_runner());
        assert!(env(&[(BUILD_FAILURE_EXIT_CODE, "1")]).from_runner());
    }

    #[test]
    fn exit_codes_come_from_the_runner() {
        let e = env(&[
            (BUILD_FAILURE_EXIT_CODE, "7"),
            (SYSTEM_FAILURE_EXIT_CODE, "9"),
        ]);
        assert_eq!((e.build_failure_code(), e.system_failure_code()), (7, 9));
    }

    #[test]
    fn job_variables_lose_their_prefix_and_keep_empty_values() {
        let e = env(&[
            ("CUSTOM_ENV_CI_JOB_ID", "42"),
            ("CUSTOM_ENV_DOCKER_TLS_CERTDIR", ""),
            ("CI_JOB_ID", "not a job variable"),
        ]);
        assert_eq!(e.job_var(CI_JOB_ID), Some("42"));
        assert_eq!(e.job_var(DOCKER_TLS_CERTDIR), Some(""));
        assert_eq!(e.job_var_non_empty(DOCKER_TLS_CERTDIR), None);
        assert_eq!(e.job_var("MISSING"), None);
    }

    #[test]
    fn empty_paths_count_as_unset() {
        let e = env(&[(BUILD_EXIT_CODE_FILE, ""), (JOB_RESPONSE_FILE, "/t/r.json")]);
        assert!(e.build_exit_code_file().is_none());
        assert_eq!(e.job_response_file(), Some(&PathBuf::from("/t/r.json")));
    }
}
