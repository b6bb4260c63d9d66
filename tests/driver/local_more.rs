//! `executor run JOB`, continued: Ctrl-C and SIGTERM (as a terminal closing or `kill` sends
//! it) stop the job and clean up, colour only on a terminal, an engine that is not there is
//! executor's own failure (exit 125), and the commit, branch and project name the job sees are
//! the checkout's.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::checkout::Checkout;
use crate::spawned::{Ended, Spawned};

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

/// Ctrl-C while a job's script runs (its line printed: `$((6*7))` so the echoed command
/// line cannot match) stops it, cleans up and exits 130.
#[test]
fn ctrl_c_cleans_up() {
    let checkout = Checkout::new();
    let ended = stop_a_slow_run(&checkout, "INT");
    assert!(
        ended.took < Duration::from_secs(10),
        "took {:?}",
        ended.took
    );
    checkout.assert_nothing_left();
}

/// Start a local job that prints `sleeping-42` and then sleeps a minute, send it `signal` once
/// that line is out, and wait for it to end: it must exit 130 without its last line `never`.
#[track_caller]
fn stop_a_slow_run(checkout: &Checkout, signal: &str) -> Ended {
    std::fs::write(
        checkout.dir.path().join("slow.yml"),
        "slow:\n  variables: {EXECUTOR_DOCKER_MODE: none}\n  script:\n    \
         - echo \"sleeping-$((6*7))\"\n    - sleep 60\n    - echo never\n",
    )
    .unwrap();
    let child = checkout
        .command(&["slow", "--file", "slow.yml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = Spawned::new(child);
    run.wait_for_line("sleeping-42");
    run.signal(signal);
    let ended = run.end();
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(
        !ended.stdout.lines().any(|l| l.trim() == "never"),
        "{}",
        ended.stdout
    );
    ended
}

/// On a terminal the step lines are coloured, unless NO_COLOR is set.
#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let checkout = Checkout::new();
    let on_terminal = |no_color: &str| {
        let exe = env!("CARGO_BIN_EXE_executor");
        let line = format!(
            "{no_color} EXECUTOR_CONFIG=executor.yaml {exe} run build-dind --dry-run --var CI_JOB_ID={}",
            checkout.job_id
        );
        // util-linux `script` gives the command a pseudo-terminal.
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .current_dir(checkout.dir.path())
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "a broken file is an error");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let broken = "default:\n  image: [oops\n";
    std::fs::write(checkout.dir.path().join(".gitlab-ci.yml"), broken).unwrap();
    // An error line is coloured on a terminal ...
    let coloured = on_terminal("");
    assert!(coloured.contains("\x1b[31m"), "{coloured:?}");
    // ... and plain with NO_COLOR ...
    let plain = on_terminal("NO_COLOR=1");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    // ... and plain off a terminal (a pipe), NO_COLOR unset.
    let (code, stdout, stderr) = checkout.run(&["build-dind", "--dry-run"]);
    assert_eq!(code, 125, "{stderr}");
    assert!(stderr.contains("error"), "{stderr}");
    assert!(
        !stderr.contains('\x1b') && !stdout.contains('\x1b'),
        "{stderr:?}"
    );
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
