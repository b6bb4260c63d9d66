//! Job images' entrypoints, as gitlab-runner's docker executor runs them: a job container
//! starts through its image's `ENTRYPOINT` (or the job's `image: entrypoint:`), and what the
//! entrypoint sets up is what every stage sees; `[""]` turns it off; a tool entrypoint that
//! never runs the job's shell fails prepare in one line, leaving nothing; `entrypoint: ignore`
//! bypasses entrypoints altogether. Also `image: docker: user:`.

use crate::harness::{build_image, Job, JOB_IMAGE};

/// An image whose entrypoint exports a variable and starts a helper process, then runs its
/// arguments, as toolchain images do.
const WRAPPER_IMAGE: &str = "executor-test/entrypoint-wrapper:1";
/// An image whose entrypoint is a tool: it prints its usage and exits, never running its
/// arguments (as `ENTRYPOINT ["terraform"]` does).
pub const TOOL_IMAGE: &str = "executor-test/entrypoint-tool:1";

pub fn images() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        build_image(
            WRAPPER_IMAGE,
            &format!(
                "FROM {JOB_IMAGE}\nCOPY entry.sh /entry.sh\nCOPY other.sh /other.sh\n\
                 RUN chmod +x /entry.sh /other.sh\nENTRYPOINT [\"/entry.sh\"]\n"
            ),
            &[
                (
                    "entry.sh",
                    "#!/bin/sh\nexport FROM_ENTRYPOINT=wrapper\nexport PATH=/opt/tool/bin:$PATH\n\
                     cd /tmp\nexec \"$@\"\n",
                ),
                (
                    "other.sh",
                    "#!/bin/sh\nexport FROM_ENTRYPOINT=other\nexec \"$@\"\n",
                ),
            ],
        );
        build_image(
            TOOL_IMAGE,
            &format!(
                "FROM {JOB_IMAGE}\nCOPY tool.sh /tool.sh\nRUN chmod +x /tool.sh\n\
                 ENTRYPOINT [\"/tool.sh\"]\n"
            ),
            &[(
                "tool.sh",
                "#!/bin/sh\necho \"Usage: tool [command]\" >&2\nexit 127\n",
            )],
        );
    });
}

const SHOW: &str = "echo \"seen=${FROM_ENTRYPOINT:-nothing} path=${PATH%%:*}\"";

/// Prepare, then the stages a job's own scripts run in, each printing what it sees.
fn stages_see(job: &Job) -> Vec<String> {
    job.prepare().ok();
    let seen = ["prepare_script", "build_script", "after_script"]
        .iter()
        .map(|stage| {
            let out = job.run(stage, SHOW);
            out.ok();
            out.stdout.trim().to_string()
        })
        .collect();
    job.cleanup().ok();
    job.assert_nothing_left();
    seen
}

#[test]
fn every_stage_sees_what_the_images_entrypoint_set_up() {
    images();
    for mode in ["none", "dind"] {
        let job = Job::new(mode).var("CI_JOB_IMAGE", WRAPPER_IMAGE);
        assert_eq!(
            stages_see(&job),
            vec!["seen=wrapper path=/opt/tool/bin"; 3],
            "{mode}"
        );
    }
}

#[test]
fn the_jobs_entrypoint_replaces_the_images_and_an_empty_one_turns_it_off() {
    images();
    let replaced = Job::new("none")
        .var("CI_JOB_IMAGE", WRAPPER_IMAGE)
        .payload_image(&format!(
            r#"{{"name": "{WRAPPER_IMAGE}", "entrypoint": ["/other.sh"]}}"#
        ));
    assert!(stages_see(&replaced)
        .iter()
        .all(|seen| seen.starts_with("seen=other ")));
    let off = Job::new("none")
        .var("CI_JOB_IMAGE", WRAPPER_IMAGE)
        .payload_image(&format!(
            r#"{{"name": "{WRAPPER_IMAGE}", "entrypoint": [""]}}"#
        ));
    assert!(stages_see(&off)
        .iter()
        .all(|seen| seen.starts_with("seen=nothing ")));
}

#[test]
fn a_tool_entrypoint_fails_prepare_in_one_line_and_leaves_nothing() {
    images();
    let job = Job::new("none").var("CI_JOB_IMAGE", TOOL_IMAGE);
    let prepared = job.prepare();
    prepared.expect(1);
    let last = prepared.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("the entrypoint [/tool.sh] of image executor-test/entrypoint-tool:1 exited with code 127")
            && last.contains("Usage: tool [command]")
            && last.contains("image: entrypoint: [\"\"]"),
        "{}",
        prepared.stderr
    );
    assert_eq!(
        prepared
            .stderr
            .lines()
            .filter(|l| l.contains("error"))
            .count(),
        1,
        "{}",
        prepared.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
    // An entrypoint that does not exist is the job's mistake too (not a runner failure the
    // runner would retry).
    let missing = Job::new("none").payload_image(&format!(
        r#"{{"name": "{JOB_IMAGE}", "entrypoint": ["/nonexistent"]}}"#
    ));
    let prepared = missing.prepare();
    prepared.expect(1);
    assert!(
        prepared
            .stderr
            .lines()
            .last()
            .is_some_and(|l| l.contains("check the image's entrypoint and command")),
        "{}",
        prepared.stderr
    );
    missing.cleanup().ok();
    missing.assert_nothing_left();
    // The job's fix: start the image without its entrypoint.
    let fixed = Job::new("none")
        .var("CI_JOB_IMAGE", TOOL_IMAGE)
        .payload_image(&format!(
            r#"{{"name": "{TOOL_IMAGE}", "entrypoint": [""]}}"#
        ));
    assert!(fixed.whole("build_script", "echo fixed").contains("fixed"));
}

#[test]
fn entrypoint_ignore_runs_no_entrypoint() {
    images();
    let config =
        "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\nentrypoint: ignore\n";
    let job = Job::with_config("none", config).var("CI_JOB_IMAGE", WRAPPER_IMAGE);
    assert!(stages_see(&job)
        .iter()
        .all(|seen| seen.starts_with("seen=nothing ")));
    let tool = Job::with_config("none", config).var("CI_JOB_IMAGE", TOOL_IMAGE);
    assert!(tool.whole("build_script", "echo ran").contains("ran"));
}

#[test]
fn image_docker_user_runs_every_stage_as_that_user() {
    let job = Job::new("none").payload_image(&format!(
        r#"{{"name": "{JOB_IMAGE}", "executor_opts": {{"docker": {{"user": 65534}}}}}}"#
    ));
    job.prepare().ok();
    // The checkout comes first, from the helper (root, umask 0000), as on a runner.
    job.run("get_sources", "echo checked out > README").ok();
    let out = job.run(
        "build_script",
        "echo \"uid=$(id -u)\"; echo more >> README && rm README && echo wrote",
    );
    out.ok();
    assert!(out.stdout.contains("uid=65534\nwrote"), "{}", out.stdout);
    job.cleanup().ok();
    job.assert_nothing_left();
    for user in ["nosuchuser", "1000:nosuchgroup"] {
        let unknown = Job::new("none").payload_image(&format!(
            r#"{{"name": "{JOB_IMAGE}", "executor_opts": {{"docker": {{"user": "{user}"}}}}}}"#
        ));
        let prepared = unknown.prepare();
        prepared.expect(1);
        assert!(
            prepared.stderr.lines().last().is_some_and(|l| {
                l.contains("set image: docker: user: to a user (and group) the image has")
            }),
            "{user}: {}",
            prepared.stderr
        );
        unknown.cleanup().ok();
        unknown.assert_nothing_left();
    }
}

/// A hardened image whose `USER` is not root: the checkout the helper fetched (as root) is the
/// job's to change. By default the helper's stages write with `umask 0000` (files `rw` for
/// all); with `FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR` they keep the default umask and the builds
/// directory is handed to the image's user and group after them.
#[test]
fn a_non_root_image_can_change_its_checkout() {
    const NON_ROOT_IMAGE: &str = "executor-test/non-root:1";
    build_image(
        NON_ROOT_IMAGE,
        &format!("FROM {JOB_IMAGE}\nUSER 1000:1000\n"),
        &[],
    );
    let change = "echo \"uid=$(id -u)\"; stat -c '%a %u' README; \
                  echo more >> README && rm README && mkdir sub && echo changed";
    for (flag, expect) in [(None, "666 0"), (Some("true"), "644 1000")] {
        let mut job = Job::new("none").var("CI_JOB_IMAGE", NON_ROOT_IMAGE);
        if let Some(value) = flag {
            job = job.var("FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR", value);
        }
        job.prepare().ok();
        job.run("get_sources", "echo checked out > README").ok();
        let out = job.run("build_script", change);
        out.ok();
        assert!(
            out.stdout.contains(&format!("uid=1000\n{expect}\nchanged")),
            "flag {flag:?}: {}",
            out.stdout
        );
        job.cleanup().ok();
        job.assert_nothing_left();
    }
}

/// A local run reads `image: entrypoint:` and `image: docker: user:` from the file, as GitLab
/// would send them to a runner; a job running as a user other than root can change the
/// checkout the local run copied in, as it could a runner's clone.
#[test]
fn a_local_run_honours_the_files_image_options() {
    images();
    let checkout = crate::checkout::Checkout::new();
    std::fs::write(
        checkout.dir.path().join("entry.yml"),
        format!(
            "variables: {{EXECUTOR_DOCKER_MODE: none}}\n\
             wrapped:\n  image: {WRAPPER_IMAGE}\n  script:\n    - {SHOW}\n\
             bare:\n  image: {{name: {WRAPPER_IMAGE}, entrypoint: [\"\"]}}\n  script:\n    - {SHOW}\n\
             nobody:\n  image: {{name: {JOB_IMAGE}, docker: {{user: 65534}}}}\n  script:\n    - echo \"uid=$(id -u)\"\n    - echo more >> entry.yml && rm entry.yml && echo wrote\n"
        ),
    )
    .unwrap();
    for (job, expect) in [
        ("wrapped", "seen=wrapper path=/opt/tool/bin"),
        ("bare", "seen=nothing "),
        ("nobody", "uid=65534"),
        ("nobody", "wrote"),
    ] {
        let (code, stdout, stderr) = checkout.run(&[job, "--file", "entry.yml"]);
        assert_eq!(code, 0, "{job}: {stderr}");
        assert!(
            stdout.lines().any(|l| l.starts_with(expect)),
            "{job}: {stdout}"
        );
        checkout.assert_nothing_left();
    }
}

/// With `helper.mode: job` the helper's stages run in the job container as its image's user:
/// prepare gives the builds and cache directories to a user other than root, so the checkout
/// and caches can be made there (a root image needs nothing).
#[test]
fn helper_mode_job_gives_the_builds_and_cache_dirs_to_a_non_root_user() {
    let config = "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\nhelper:\n  mode: job\n";
    let job = Job::with_config("none", config).payload_image(&format!(
        r#"{{"name": "{JOB_IMAGE}", "executor_opts": {{"docker": {{"user": "65534:65534"}}}}}}"#
    ));
    job.prepare().ok();
    job.run("get_sources", "echo checked out > README").ok();
    job.run(
        "restore_cache",
        "mkdir -p /cache/key && echo cached > /cache/key/f",
    )
    .ok();
    let out = job.run(
        "build_script",
        "echo \"uid=$(id -u)\"; cat README /cache/key/f; rm README && echo changed",
    );
    out.ok();
    assert!(
        out.stdout
            .contains("uid=65534\nchecked out\ncached\nchanged"),
        "{}",
        out.stdout
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}
