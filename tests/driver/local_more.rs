//! `executor run JOB`, continued: SIGTERM (as a terminal closing or `kill` sends it) cleans
//! up like Ctrl-C, an engine that is not there is executor's own failure (exit 125), and the
//! commit, branch and project name the job sees are the checkout's.

use std::process::Command;
use std::time::Duration;

use crate::local::{stop_a_slow_run, Checkout};

/// SIGTERM while the job's script runs (its line printed: `$((6*7))`, so the echoed command
/// line cannot match) stops it, cleans up and exits 130, as after Ctrl-C.
#[test]
fn sigterm_stops_a_local_run_and_cleans_up() {
    let checkout = Checkout::new();
    let ended = stop_a_slow_run(&checkout, "TERM");
    assert!(
        ended
            .stderr
            .contains("SIGTERM: stopping the job and cleaning up"),
        "{}",
        ended.stderr
    );
    // Generous: the bound proves the run ends, cleanup included, on a loaded engine.
    assert!(
        ended.took < Duration::from_secs(20),
        "took {:?}",
        ended.took
    );
    checkout.assert_nothing_left();
}

/// The configured engine is not there: executor itself failed, not the job (exit 125), and the
/// message names the engine it could not reach.
#[test]
fn an_engine_that_is_not_there_is_exit_125() {
    let checkout = Checkout::new();
    std::fs::write(
        checkout.dir.path().join("executor.yaml"),
        "docker:\n  host: unix:///nonexistent/docker.sock\nimage: executor-test/debian:1\n",
    )
    .unwrap();
    let (code, stdout, stderr) = checkout.run(&["build-dind", "--mode", "none"]);
    assert_eq!(code, 125, "{stdout}\n{stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "executor: error: cannot reach the Docker engine at unix:///nonexistent/docker.sock"
        ),
        "{stderr}"
    );
    checkout.assert_nothing_left();
}

/// On a branch of its own with a commit of its own, the job sees the checkout's `git rev-parse
/// HEAD`, its branch and its directory's name.
#[test]
fn the_commit_branch_and_project_name_are_the_checkouts() {
    let checkout = Checkout::new();
    let dir = checkout.dir.path();
    std::fs::write(
        dir.join("facts.yml"),
        "facts:\n  variables: {EXECUTOR_DOCKER_MODE: none}\n  script:\n    \
         - echo \"sha=$CI_COMMIT_SHA\"\n    - echo \"ref=$CI_COMMIT_REF_NAME\"\n    \
         - echo \"name=$CI_PROJECT_NAME\"\n",
    )
    .unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.email=t@t", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["checkout", "-q", "-b", "feature/local-facts"]);
    git(&["add", "facts.yml"]);
    git(&["commit", "-qm", "facts"]);
    let sha = git(&["rev-parse", "HEAD"]);
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let (code, stdout, stderr) = checkout.run(&["facts", "--file", "facts.yml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for want in [
        format!("sha={sha}"),
        "ref=feature/local-facts".into(),
        format!("name={name}"),
    ] {
        assert!(stdout.lines().any(|l| l == want), "{want}: {stdout}");
    }
    checkout.assert_nothing_left();
}
