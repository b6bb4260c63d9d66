//! Drives the real `executor` binary through the protocol exactly as gitlab-runner would:
//! a per-job temp dir as cwd and TMPDIR, the protocol variables, `CUSTOM_ENV_*` job variables,
//! stage scripts in the runner's bash wrapper form (`protocol.md` §5.2), a fresh
//! `scriptNNN/script` per call. Talks to the real engine; checks leftovers with the docker CLI.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use executor::local::script::quote;
use tempfile::TempDir;

pub const JOB_IMAGE: &str = "executor-test/debian:1";
pub const DIND_IMAGE: &str = "executor-test/dind:1";
pub const BUSYBOX_IMAGE: &str = "executor-test/busybox:1";
/// Config lines that offer socket mode too (not offered by default: it is root on the host).
pub const ALL_MODES: &str = "mode:\n  allowed: [dind, socket, none]\n";
const RUNNER_ID: &str = "900";
const PROJECT_ID: &str = "77";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// What one call of the binary did.
pub struct Call {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Call {
    fn from(output: Output) -> Call {
        let call = Call {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert_no_canary(&call.stdout);
        assert_no_canary(&call.stderr);
        call
    }

    #[track_caller]
    pub fn expect(&self, code: i32) -> &Call {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Call {
        self.expect(0)
    }
}

/// Every job carries canary secrets (`CI_JOB_TOKEN`, a masked-style variable); no output of
/// any call may contain them. Checked on every call, so every test proves it.
pub const CANARY: &str = "canary-secret-7f3a";

#[track_caller]
pub fn assert_no_canary(text: &str) {
    assert!(
        !text.contains(CANARY),
        "a secret reached the output:\n{text}"
    );
}

/// One synthetic job: its temp dir, its environment, its payload and its config.
pub struct Job {
    dir: TempDir,
    vars: Vec<(String, String)>,
    scripts: AtomicUsize,
    builds_dir: std::sync::OnceLock<String>,
    pub job_id: String,
    /// What GitLab's payload says of the job (`JOB_RESPONSE_FILE`), the only trusted source.
    pub payload: Payload,
}

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
    /// A payload written as is instead (broken ones, for hostile tests).
    pub raw: Option<String>,
    /// Write none and leave `JOB_RESPONSE_FILE` unset (a runner older than 14.1).
    pub absent: bool,
}

impl Payload {
    fn json(&self, job_id: &str) -> String {
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
               "variables": [{}], "services": {}, "image": {}}}"#,
            self.project_id,
            self.project_path,
            self.project_path,
            variables.join(", "),
            self.services.as_deref().unwrap_or("[]"),
            self.image.as_deref().unwrap_or("null")
        )
    }
}

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

    /// The environment of one call: the job's variables, and the payload written afresh.
    /// A protocol variable the test set (`.env`) comes later and wins.
    fn call_env(&self) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        if !self.payload.absent {
            let path = self.dir.path().join("response.json");
            std::fs::write(&path, self.payload.json(&self.job_id)).unwrap();
            vars.push(("JOB_RESPONSE_FILE".into(), path.display().to_string()));
        }
        vars.extend(self.vars.iter().cloned());
        vars
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
        format!("executor-r{runner}-p{project}-c{slot}-j{}", self.job_id)
    }

    pub fn container(&self) -> String {
        format!("{}-job", self.key())
    }

    pub fn call(&self, args: &[&str]) -> Call {
        let output = Command::new(env!("CARGO_BIN_EXE_executor"))
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.call_env())
            .bounded_output()
            .expect("start executor");
        Call::from(output)
    }

    pub fn config(&self) -> Call {
        self.call(&["config"])
    }

    /// prepare; after it, no container of the job (job, helper, services, sidecar) may hold
    /// the job's secrets in its environment either.
    pub fn prepare(&self) -> Call {
        let call = self.call(&["prepare"]);
        let ids = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.executor.job-key={}", self.key()),
        ]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec![
                "inspect",
                "--format",
                "{{range .Config.Env}}{{println .}}{{end}}",
            ];
            args.extend(ids);
            // A container removed meanwhile (a racing test's cleanup) is no finding.
            if let Ok(out) = Command::new("docker").args(&args).output() {
                assert_no_canary(&String::from_utf8_lossy(&out.stdout));
            }
        }
        call
    }

    pub fn cleanup(&self) -> Call {
        self.call(&["cleanup"])
    }

    /// Run `body` as stage `stage`, wrapped and exported the way the runner's bash shell does.
    /// Call `run` with a script path of the caller's choosing.
    pub fn run_path(&self, path: &str, stage: &str) -> Call {
        self.call(&["run", path, stage])
    }

    /// Start `run` in the background with piped stdout, for tests that signal it.
    pub fn spawn_run(&self, stage: &str, body: &str) -> std::process::Child {
        let path = self.write_script(body);
        self.spawn(&["run", &path.display().to_string(), stage])
    }

    /// Start any call in the background with piped output.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_executor"))
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.call_env())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start executor")
    }

    /// Start any call in the background, its output read as it comes and its waits bounded.
    pub fn start(&self, args: &[&str]) -> crate::spawned::Spawned {
        crate::spawned::Spawned::new(self.spawn(args))
    }

    /// Start `run` of a stage with `body` in the background (see [`Job::start`]).
    pub fn start_run(&self, stage: &str, body: &str) -> crate::spawned::Spawned {
        crate::spawned::Spawned::new(self.spawn_run(stage, body))
    }

    pub fn run(&self, stage: &str, body: &str) -> Call {
        let path = self.write_script(body);
        self.call(&["run", &path.display().to_string(), stage])
    }

    fn write_script(&self, body: &str) -> PathBuf {
        let n = self.scripts.fetch_add(1, Ordering::SeqCst);
        let dir = self.dir.path().join(format!("script{n:03}"));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("script");
        // As the runner does: the builds dir comes from `config_exec`.
        let builds_dir = self.builds_dir();
        let project_dir = format!("{builds_dir}/group/project");
        let exports: String = self
            .vars
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("CUSTOM_ENV_")?, v.as_str())))
            .chain([
                ("CI_BUILDS_DIR", builds_dir.as_str()),
                ("CI_PROJECT_DIR", project_dir.as_str()),
            ])
            .map(|(k, v)| format!("export {k}={}\n", quote(v)))
            .collect();
        let full =
            format!("{exports}mkdir -p \"$CI_PROJECT_DIR\"\ncd \"$CI_PROJECT_DIR\"\n{body}\n");
        let wrapped = format!(
            "#!/usr/bin/env bash\n\ntrap 'exit 1' TERM\n\nset -o pipefail\nset -o errexit\n\
             set +o noclobber\n(trap 'exit 1' TERM; eval {}) < /dev/null\nexit 0\n",
            quote(&full)
        );
        std::fs::write(&path, wrapped).unwrap();
        path
    }

    /// The builds dir `config` tells the runner for this job (per job in socket mode).
    pub fn builds_dir(&self) -> String {
        self.builds_dir
            .get_or_init(|| {
                let out = self.config();
                let key = "\"builds_dir\":\"";
                out.stdout
                    .split_once(key)
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(dir, _)| dir.to_string())
                    .unwrap_or_else(|| "/builds".into())
            })
            .clone()
    }

    pub fn build_exit_code(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("build_exit_code")).ok()
    }

    /// One whole job (prepare, one stage, cleanup) that leaves nothing of itself; the stage's
    /// output.
    pub fn whole(&self, stage: &str, script: &str) -> String {
        self.prepare().ok();
        let out = self.run(stage, script);
        out.ok();
        self.cleanup().ok();
        self.assert_nothing_left();
        out.stdout
    }

    /// Assert the engine holds no container, network or volume labelled with this job.
    #[track_caller]
    pub fn assert_nothing_left(&self) {
        let left = leftovers(&self.key());
        assert!(left.is_empty(), "left behind for {}: {left:?}", self.key());
    }
}

impl Drop for Job {
    /// A failing test still removes what it created, so one failure does not leak into others.
    /// It must not panic itself: a panic while a failed test unwinds aborts the whole run.
    fn drop(&mut self) {
        let key = self.key();
        if std::panic::catch_unwind(|| leftovers(&key)).is_ok_and(|left| !left.is_empty()) {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.cleanup()));
        }
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

/// Names of every container, network and volume labelled with `key`.
pub fn leftovers(key: &str) -> Vec<String> {
    labelled(&format!("io.executor.job-key={key}"))
}

/// Names of every container, network and volume carrying `label` (`name` or `name=value`).
pub fn labelled(label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    let mut found = Vec::new();
    for args in [
        vec![
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "container {{.Names}}",
        ],
        vec![
            "network",
            "ls",
            "--filter",
            &filter,
            "--format",
            "network {{.Name}}",
        ],
        vec![
            "volume",
            "ls",
            "--filter",
            &filter,
            "--format",
            "volume {{.Name}}",
        ],
    ] {
        found.extend(docker(&args).lines().map(str::to_string));
    }
    found
}

/// Run the docker CLI against the test engine; panics if it fails.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Assert the engine has no volume named exactly `volume`.
#[track_caller]
pub fn assert_volume_gone(volume: &str) {
    let left = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=^{volume}$"),
    ]);
    assert!(left.trim().is_empty(), "left behind: {left}");
}

/// Remove `volume` (a kept one, which cleanup leaves by design) and prove it is gone.
#[track_caller]
pub fn remove_volume(volume: &str) {
    docker(&["volume", "rm", "-f", volume]);
    assert_volume_gone(volume);
}

/// `executor --config FILE doctor` with `config` written to a temp file and no runner
/// environment: its exit code and stdout.
pub fn doctor(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("executor.yaml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["--config", &path.display().to_string(), "doctor"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .bounded_output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Build `image` from a Dockerfile's text and files beside it.
pub fn build_image(image: &str, dockerfile: &str, files: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    docker(&[
        "build",
        "-q",
        "-t",
        image,
        &dir.path().display().to_string(),
    ]);
}

/// The longest any one call of the binary may take in a test: a hung call fails its test
/// instead of stalling the suite.
pub const CALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(240);

/// `Command::output`, bounded by [`CALL_LIMIT`]: past it the process is killed and the test
/// fails, naming the call.
pub trait Bounded {
    fn bounded_output(&mut self) -> std::io::Result<Output>;
}

impl Bounded for Command {
    fn bounded_output(&mut self) -> std::io::Result<Output> {
        use std::io::Read;
        let mut child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let read = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = read(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = read(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() > CALL_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{:?} took longer than {CALL_LIMIT:?}",
                    self.get_args().collect::<Vec<_>>()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        Ok(Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}
