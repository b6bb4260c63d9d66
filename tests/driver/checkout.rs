//! A throwaway checkout for `executor run [JOB]` tests: the example project in
//! `examples/docker-build` under git, a driver config using the test images, and the binary run
//! as a person would type it.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempDir;

use crate::harness::{assert_no_canary, leftovers, Bounded, CANARY, JOB_IMAGE};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A throwaway git checkout of the example project plus a driver config using the test images.
pub struct Checkout {
    pub dir: TempDir,
    pub job_id: String,
}

impl Checkout {
    pub fn new() -> Checkout {
        let dir = tempfile::tempdir().unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/docker-build");
        let sh = |cmd: &str| {
            let status = Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "{cmd}");
        };
        sh(&format!("cp -a {}/. .", example.display()));
        sh("git init -q . && git add . && git -c user.email=t@t -c user.name=t commit -qm example");
        std::fs::write(
            dir.path().join("executor.yaml"),
            "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n\
             helper:\n  image: executor-test/debian:1\n\
             mode:\n  allowed: [dind, socket, none]\n",
        )
        .unwrap();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let job_id = format!("{}{:03}", std::process::id(), 500 + n);
        Checkout { dir, job_id }
    }

    pub fn key(&self) -> String {
        format!("{}-p77-c0-j{}", crate::harness::stem("900"), self.job_id)
    }

    /// `executor run ARGS` as a person would type it: no runner environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_executor"));
        cmd.arg("run")
            .args(args)
            .args(["--var", &format!("JOB_IMAGE={JOB_IMAGE}")])
            .args(["--var", "CI_RUNNER_ID=900", "--var", "CI_PROJECT_ID=77"])
            .args(["--var", &format!("CI_JOB_ID={}", self.job_id)])
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("EXECUTOR_CONFIG", self.dir.path().join("executor.yaml"));
        cmd
    }

    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.output_of(self.command(args))
    }

    /// Run `command` (from [`Checkout::command`], perhaps with more set) with the canary
    /// secret as a variable: exit code, stdout and stderr, neither showing the canary.
    pub fn output_of(&self, mut command: Command) -> (i32, String, String) {
        let out = command
            .args(["--var", &format!("DEPLOY_TOKEN={CANARY}")])
            .bounded_output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_no_canary(&stdout);
        assert_no_canary(&stderr);
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }

    #[track_caller]
    pub fn assert_nothing_left(&self) {
        let left = leftovers(&self.key());
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
