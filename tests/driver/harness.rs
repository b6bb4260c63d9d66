//! Drives the real `executor` binary through the protocol exactly as gitlab-runner would:
//! a per-job temp dir as cwd and TMPDIR, the protocol variables, `CUSTOM_ENV_*` job variables,
//! stage scripts in the runner's bash wrapper form (`protocol.md` §5.2), a fresh
//! `scriptNNN/script` per call. Talks to the real engine; checks leftovers with the docker CLI.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use executor::local::script::quote;
use tempfile::TempDir;

mod bounded;
mod engine;
mod payload;
mod setup;
mod stub_registry;

pub use bounded::*;
pub use engine::*;
pub use payload::Payload;
pub use setup::*;
pub use stub_registry::stub_registry;

pub const JOB_IMAGE: &str = "executor-test/debian:1";
pub const DIND_IMAGE: &str = "executor-test/dind:1";
pub const BUSYBOX_IMAGE: &str = "executor-test/busybox:1";
/// Config lines that offer socket mode too (not offered by default: it is root on the host).
pub const ALL_MODES: &str = "mode:\n  allowed: [dind, socket, none]\n";

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

impl Job {
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

    /// The runner's cleanup. With `warm.jobs` it leaves the job's networks and the slot's
    /// next set to a process of its own, waited for here as the runner's next job would
    /// (see [`Job::cleanup_returning`] for what holds when cleanup returns).
    pub fn cleanup(&self) -> Call {
        let call = self.cleanup_returning();
        if let Some(key) = engine::started_warm_set(&call.stderr) {
            engine::wait_for_warm_up(&key);
        }
        call
    }

    /// The runner's cleanup, without waiting for a warm-up process it started.
    pub fn cleanup_returning(&self) -> Call {
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
