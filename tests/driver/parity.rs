//! Parity with gitlab-runner's docker executor (issue 7): where stages run, the project's
//! cache_dir, the builds directory that sibling containers see, the network's name.

use crate::harness::{build_image, docker, labelled, Job, BUSYBOX_IMAGE, DIND_IMAGE, JOB_IMAGE};

fn config(extra: &str) -> String {
    format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{extra}")
}

/// get_sources and cleanup_file_variables need git; they run in the helper container (which
/// has it) while the job image (busybox) has none; the checkout is shared through the builds
/// volume, and the user's script runs in the job image.
#[test]
fn stages_needing_git_run_in_the_helper_while_the_job_image_has_none() {
    let job = Job::new("none").var("CI_JOB_IMAGE", BUSYBOX_IMAGE);
    job.prepare().ok();
    let sources = job.run(
        "get_sources",
        "git --version | cut -d' ' -f1-2\n\
         git init -q . && git config user.email t@t && git config user.name t\n\
         echo fetched > file.txt && git add file.txt && git commit -qm one && echo committed",
    );
    sources.ok();
    assert!(
        sources.stdout.contains("git version\ncommitted"),
        "{}",
        sources.stdout
    );
    let build = job.run(
        "build_script",
        "if command -v git; then echo 'git in the job image'; exit 9; fi\n\
         cat file.txt && ls .git >/dev/null && echo 'checkout is here'\n\
         echo \"network=$CI_BUILD_NETWORK_NAME\"",
    );
    build.ok();
    assert!(
        build
            .stdout
            .contains(&format!("fetched\ncheckout is here\nnetwork={}", job.key())),
        "{}",
        build.stdout
    );
    job.run(
        "cleanup_file_variables",
        "git status --short >/dev/null && echo clean",
    )
    .ok();
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// `helper.mode: job`: no helper container; the host's gitlab-runner binary is mounted
/// read-only on the job container's PATH.
#[test]
fn helper_mode_job_mounts_the_runner_binary_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("gitlab-runner");
    std::fs::write(&binary, "#!/bin/sh\necho \"fake gitlab-runner $*\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let job = Job::with_config(
        "none",
        &config(&format!(
            "helper:\n  mode: job\n  runner_binary: {}\n",
            binary.display()
        )),
    );
    job.prepare().ok();
    assert!(docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("name={}-helper", job.key())
    ])
    .trim()
    .is_empty());
    let out = job.run(
        "restore_cache",
        "gitlab-runner cache-extractor --file x\n\
         if echo x > /usr/local/bin/gitlab-runner; then exit 9; fi; echo read-only",
    );
    out.ok();
    assert!(
        out.stdout
            .contains("fake gitlab-runner cache-extractor --file x\nread-only"),
        "{}",
        out.stdout
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// An image built for one test, removed when the test ends, passed or not.
struct OwnImage(String);

impl Drop for OwnImage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["image", "rm", "-f", &self.0])
            .output();
    }
}

/// gitlab-runner's helper images carry only `gitlab-runner-helper`, and the custom executor's
/// scripts call `gitlab-runner`: the helper container links the one as the other, so a helper
/// stage's `gitlab-runner` is the helper binary (which sees the name it was called by).
#[test]
fn the_helper_images_gitlab_runner_helper_answers_as_gitlab_runner() {
    let image = OwnImage(format!("executor-test/helper-only:{}", std::process::id()));
    build_image(
        &image.0,
        &format!(
            "FROM {BUSYBOX_IMAGE}\nCOPY gitlab-runner-helper /usr/bin/gitlab-runner-helper\n\
             RUN chmod 0755 /usr/bin/gitlab-runner-helper\n"
        ),
        &[(
            "gitlab-runner-helper",
            "#!/bin/sh\necho \"gitlab-runner-helper called as $(basename \"$0\"): $*\"\n",
        )],
    );
    let job = Job::with_config("none", &config(&format!("helper:\n  image: {}\n", image.0)));
    job.prepare().ok();
    let out = job.run(
        "download_artifacts",
        "gitlab-runner artifacts-downloader --id 1",
    );
    out.ok();
    assert!(
        out.stdout
            .contains("gitlab-runner-helper called as gitlab-runner: artifacts-downloader --id 1"),
        "{}",
        out.stdout
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

fn cache_job(project: &str) -> Job {
    Job::new("none")
        .project(project)
        .var("CI_CONCURRENT_ID", "43")
}

/// The cache_dir survives into the next job of the same project (in both the job and the
/// helper container), and another project never sees it.
#[test]
fn the_cache_dir_survives_into_the_projects_next_job_only() {
    let (mine, other) = ("7901", "7902");
    cache_job(mine).whole("build_script", "echo kept > /cache/note.txt");
    let again = cache_job(mine).whole(
        "restore_cache",
        "cat /cache/note.txt 2>/dev/null || echo none",
    );
    assert!(again.contains("kept"), "{again}");
    let elsewhere = cache_job(other).whole(
        "build_script",
        "cat /cache/note.txt 2>/dev/null || echo none",
    );
    assert!(elsewhere.contains("none"), "{elsewhere}");
    for project in [mine, other] {
        docker(&[
            "volume",
            "rm",
            &format!("{}-p{project}-c43-cache", crate::harness::stem("900")),
        ]);
    }
    assert_eq!(labelled("io.executor.slot=43"), Vec::<String>::new());
}

/// `docker run -v "$CI_PROJECT_DIR:/src"` sees the checkout in both modes: in socket mode the
/// builds directory is a host directory at the same path, in dind mode the builds volume is
/// mounted in the sidecar at the same path. Socket mode's host directory goes with cleanup.
#[test]
fn bind_mounting_the_project_dir_works_in_socket_and_dind_mode() {
    for mode in ["socket", "dind"] {
        let job = Job::new(mode);
        job.prepare().ok();
        job.run("get_sources", "echo checked-out > marker.txt").ok();
        // The inner daemon of a dind job starts empty: build the small image there first.
        let image = if mode == "dind" {
            job.run(
                "build_script",
                "mkdir -p /tmp/ctx && cp /bin/busybox /tmp/ctx/ && \
                 printf 'FROM scratch\\nCOPY busybox /bin/busybox\\n' > /tmp/ctx/Dockerfile && \
                 docker build -q -t bb /tmp/ctx",
            )
            .ok();
            "bb"
        } else {
            BUSYBOX_IMAGE
        };
        let out = job.run(
            "build_script",
            &format!("docker run --rm -v \"$CI_PROJECT_DIR:/src\" {image} /bin/busybox ls /src"),
        );
        out.ok();
        assert!(out.stdout.contains("marker.txt"), "{mode}: {}", out.stdout);
        let builds = job.builds_dir();
        job.cleanup().ok();
        job.assert_nothing_left();
        if mode == "socket" {
            assert!(builds.starts_with("/var/lib/executor/builds/"), "{builds}");
            assert!(!std::path::Path::new(&builds).exists(), "{builds} left");
        }
    }
}
