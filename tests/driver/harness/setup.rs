//! Setting up a synthetic job: its temp dir, config, protocol and job variables, and what its
//! payload says; and the names its resources get.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Job, Payload, ALL_MODES, CANARY, DIND_IMAGE, JOB_IMAGE};

const RUNNER_ID: &str = "900";
const PROJECT_ID: &str = "77";

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Job {
    /// A job in `mode` ("" leaves the mode variable unset) with the test images.
    pub fn new(mode: &str) -> Job {
        // The tests' runner offers socket mode to every job; the default offers dind and none.
        Job::with_config(
            mode,
            &format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{ALL_MODES}"),
        )
    }

    /// A job with this driver config; without a `helper:` section, the helper container runs
    /// the Debian test image (the default, gitlab-runner's helper, cannot be pulled here).
    pub fn with_config(mode: &str, config: &str) -> Job {
        let dir = tempfile::Builder::new()
            .prefix("custom-executor")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("executor.yaml"), with_helper(config)).unwrap();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let job_id = format!("{}{:03}", std::process::id(), n);
        let tmp = dir.path().display().to_string();
        let mut job = Job {
            vars: vec![
                ("TMPDIR".into(), tmp.clone()),
                ("BUILD_FAILURE_EXIT_CODE".into(), "1".into()),
                ("SYSTEM_FAILURE_EXIT_CODE".into(), "2".into()),
                (
                    "BUILD_EXIT_CODE_FILE".into(),
                    format!("{tmp}/build_exit_code"),
                ),
                ("EXECUTOR_CONFIG".into(), format!("{tmp}/executor.yaml")),
            ],
            dir,
            scripts: AtomicUsize::new(0),
            builds_dir: std::sync::OnceLock::new(),
            job_id: job_id.clone(),
            payload: Payload {
                runner_id: RUNNER_ID.into(),
                project_id: PROJECT_ID.into(),
                project_path: "group/project".into(),
                protected: None,
                variables: Vec::new(),
                services: None,
                image: None,
                credentials: None,
                raw: None,
                absent: false,
            },
        };
        // Jobs running at once get slots of their own, as the runner gives them: the slot keys
        // the project's kept cache_dir, which one live job holds at a time.
        let slot = (100 + n % 800).to_string();
        for (k, v) in [
            ("CI_RUNNER_ID", RUNNER_ID),
            ("CI_PROJECT_ID", PROJECT_ID),
            ("CI_CONCURRENT_ID", &slot),
            ("CI_JOB_ID", &job_id),
            ("CI_PIPELINE_ID", "5"),
            ("CI_JOB_TOKEN", &format!("glcbt-{CANARY}")),
            ("MASKED_PASSWORD", CANARY),
        ] {
            job = job.var(k, v);
        }
        if !mode.is_empty() {
            job = job.var("EXECUTOR_DOCKER_MODE", mode);
        }
        job
    }

    /// Set a job variable (the runner passes it as `CUSTOM_ENV_<name>`).
    pub fn var(mut self, name: &str, value: &str) -> Job {
        self.vars.push((format!("CUSTOM_ENV_{name}"), value.into()));
        self
    }

    /// Set a protocol variable (not a job variable), replacing the default one.
    pub fn env(mut self, name: &str, value: &str) -> Job {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// Leave `EXECUTOR_CONFIG` unset: the binary reads `--config`, if given, else the default
    /// path.
    pub fn without_config_variable(mut self) -> Job {
        self.vars.retain(|(k, _)| k != "EXECUTOR_CONFIG");
        self
    }

    /// Write `json` as the job payload instead of the one built from the job's facts.
    pub fn payload(mut self, json: &str) -> Job {
        self.payload.raw = Some(json.into());
        self
    }

    /// No payload at all, as from a runner older than 14.1.
    pub fn without_payload(mut self) -> Job {
        self.payload.absent = true;
        self
    }

    /// The job belongs to this project, as GitLab says (payload and predefined variable).
    pub fn project(mut self, id: &str) -> Job {
        self.payload.project_id = id.into();
        self.var("CI_PROJECT_ID", id)
    }

    /// The job runs on this runner, as GitLab says.
    pub fn runner(mut self, id: &str) -> Job {
        self.payload.runner_id = id.into();
        self.var("CI_RUNNER_ID", id)
    }

    /// The project's path and whether the ref is protected, as GitLab says.
    pub fn project_path(mut self, path: &str, protected: bool) -> Job {
        self.payload.project_path = path.into();
        self.payload.protected = Some(protected);
        self
    }

    /// The payload's `services` (a JSON array) and extra `variables` entries (JSON objects).
    /// The runner also passes the services as `CI_JOB_SERVICES`, which the driver must not
    /// trust over the payload.
    pub fn payload_services(mut self, services: &str, variables: &[&str]) -> Job {
        self.payload.services = Some(services.into());
        self = self.var("CI_JOB_SERVICES", services);
        self.payload
            .variables
            .extend(variables.iter().map(|v| v.to_string()));
        self
    }

    /// The payload's `image` object (JSON), as GitLab sends the job's `image:`.
    pub fn payload_image(mut self, image: &str) -> Job {
        self.payload.image = Some(image.into());
        self
    }

    /// The payload's registry login, as GitLab sends one for its registry: user
    /// `gitlab-ci-token` and the job's token, `glcbt-` and the canary (never to be printed).
    pub fn payload_registry_login(self, registry: &str) -> Job {
        self.payload_registry_token(registry, &format!("glcbt-{CANARY}"))
    }

    /// The payload's registry login with another token (another project's job, say).
    pub fn payload_registry_token(mut self, registry: &str, token: &str) -> Job {
        self.payload.credentials = Some(format!(
            r#"[{{"type": "registry", "url": "{registry}", "username": "gitlab-ci-token", "password": "{token}"}}]"#
        ));
        self
    }

    /// Replace the driver config, e.g. between two prepare attempts.
    pub fn set_config(&self, config: &str) {
        std::fs::write(self.dir.path().join("executor.yaml"), with_helper(config)).unwrap();
    }

    /// The value of a job variable (the last one set wins, as in the environment).
    pub fn job_var(&self, name: &str) -> Option<&str> {
        let name = format!("CUSTOM_ENV_{name}");
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn key(&self) -> String {
        let (runner, project) = if self.payload.absent {
            (
                self.job_var("CI_RUNNER_ID").unwrap_or(RUNNER_ID),
                self.job_var("CI_PROJECT_ID").unwrap_or(PROJECT_ID),
            )
        } else {
            (
                self.payload.runner_id.as_str(),
                self.payload.project_id.as_str(),
            )
        };
        let slot = self.job_var("CI_CONCURRENT_ID").unwrap_or_default();
        format!("{}-p{project}-c{slot}-j{}", stem(runner), self.job_id)
    }

    pub fn container(&self) -> String {
        format!("{}-job", self.key())
    }
}

/// The helper image the tests use: Debian, with git.
pub const HELPER_CONFIG: &str = "helper:\n  image: executor-test/debian:1\n";

/// `config` with the test helper image, unless it says where stages run itself, and room for
/// the slots the tests use (each job runs in a slot of its own, up to 900).
pub fn with_helper(config: &str) -> String {
    if config.trim_start().starts_with('-') {
        return config.to_string();
    }
    let mut config = config.to_string();
    if !config.contains("helper:") {
        config = format!("{config}\n{HELPER_CONFIG}");
    }
    if !config.contains("slots:") {
        config.push_str("slots: 1000\n");
    }
    config
}

/// The start of every name of `runner`'s resources made on this host: `executor-r<runner>`,
/// then `-m` and the first 8 characters of this host's machine id, the driver's default
/// `runner.manager_id` (none where the host has no machine id).
pub fn stem(runner: &str) -> String {
    let machine = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    let machine = machine.trim();
    if machine.len() >= 8 && machine.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("executor-r{runner}-m{}", machine[..8].to_ascii_lowercase())
    } else {
        format!("executor-r{runner}")
    }
}
