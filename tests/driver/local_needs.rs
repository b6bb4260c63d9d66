//! Several jobs in one local run and files kept between runs: `executor run JOB --needs` runs
//! what the job needs first and hands on its artifacts and dotenv variables, and a `cache:`
//! saved by one run is restored into the next.

use std::path::Path;

use crate::checkout::Checkout;

const NEEDS: &str = "stages: [build, test]
build:
  stage: build
  variables: {EXECUTOR_DOCKER_MODE: none}
  script:
    - mkdir -p out/sub && echo \"built-$((6*7))\" > out/sub/app.txt && echo junk > out/app.o
    - echo \"BUILD_VERSION=1.2.$((1+2))\" > build.env && echo \"notes-$((5+5))\" > notes.txt
    - echo \"TEST_IMAGE=$CI_JOB_IMAGE\" >> build.env
  artifacts:
    paths: [out/, '*.txt']
    exclude: ['out/*.o']
    reports: {dotenv: build.env}
test:
  stage: test
  variables: {EXECUTOR_DOCKER_MODE: none}
  needs: [build]
  image: $TEST_IMAGE
  script:
    - echo \"image $CI_JOB_IMAGE\"
    - cat out/sub/app.txt notes.txt
    - test ! -e out/app.o && echo \"no-$((1+1))-object\"
    - echo \"version $BUILD_VERSION\"
";

const CACHED: &str = "cached:
  variables: {EXECUTOR_DOCKER_MODE: none}
  cache:
    key: {files: [cached.yml], prefix: $CI_JOB_NAME}
    paths: [deps/]
  script:
    - if [ -f deps/fetched ]; then echo \"hit-$(cat deps/fetched)\"; else mkdir deps && echo 42 > deps/fetched && echo \"miss-$((1+1))\"; fi
";

/// `executor run ARGS` with the cache dir at `cache`.
fn run(checkout: &Checkout, cache: &Path, args: &[&str]) -> (i32, String, String) {
    let mut command = checkout.command(args);
    command.env("XDG_CACHE_HOME", cache);
    checkout.output_of(command)
}

#[test]
fn needs_hand_on_artifacts_and_dotenv_variables() {
    let checkout = Checkout::new();
    std::fs::write(checkout.dir.path().join("needs.yml"), NEEDS).unwrap();
    let cache = tempfile::tempdir().unwrap();

    let (code, stdout, stderr) = run(
        &checkout,
        cache.path(),
        &["test", "--needs", "--file", "needs.yml"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("job 1 of 2: build") && stderr.contains("job 2 of 2: test"),
        "{stderr}"
    );
    assert!(
        stdout.contains("Downloading artifacts of build..."),
        "{stdout}"
    );
    assert!(
        stdout.contains("built-42") && stdout.contains("notes-10"),
        "{stdout}"
    );
    assert!(stdout.contains("no-2-object"), "{stdout}");
    assert!(stdout.contains("version 1.2.3"), "{stdout}");
    // The image named by a dotenv variable is expanded with it, as the runner does.
    let image = format!("image {}", crate::harness::JOB_IMAGE);
    assert!(stdout.contains(&image), "{stdout}");
    checkout.assert_nothing_left();

    // A dry run cannot know the value: it shows the image as written, naming the job.
    let (code, stdout, stderr) = run(
        &checkout,
        cache.path(),
        &["test", "--dry-run", "--file", "needs.yml"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("image: $TEST_IMAGE"), "{stdout}");
    assert!(
        stderr.contains("`TEST_IMAGE` is not set until the dotenv report of `build`"),
        "{stderr}"
    );
}

#[test]
fn a_cache_saved_by_one_run_is_restored_in_the_next() {
    let checkout = Checkout::new();
    std::fs::write(checkout.dir.path().join("cached.yml"), CACHED).unwrap();
    let cache = tempfile::tempdir().unwrap();

    let (code, stdout, stderr) = run(&checkout, cache.path(), &["cached", "--file", "cached.yml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("miss-2") && !stdout.contains("hit-42"),
        "{stdout}"
    );
    assert!(stderr.contains("cache: saved as cached-"), "{stderr}");
    checkout.assert_nothing_left();
    let kept = cache.path().join("executor/cache/77");
    let files: Vec<_> = std::fs::read_dir(&kept).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "{kept:?}");

    let (code, stdout, stderr) = run(&checkout, cache.path(), &["cached", "--file", "cached.yml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("hit-42"), "{stdout}\n{stderr}");
    checkout.assert_nothing_left();
}

const CHAIN: &str = "stages: [build, test]
broken:
  stage: build
  variables: {EXECUTOR_DOCKER_MODE: none}
  script: ['echo broken-$((1+1)); exit 3']
after:
  stage: test
  variables: {EXECUTOR_DOCKER_MODE: none}
  needs: [broken]
  script: ['echo after-$((2+2))']
other:
  stage: test
  variables: {EXECUTOR_DOCKER_MODE: none}
  script: ['echo other-$((3+3))']
";

#[test]
fn a_failed_need_stops_the_run_and_a_stage_runs_only_its_own_jobs() {
    let checkout = Checkout::new();
    std::fs::write(checkout.dir.path().join("chain.yml"), CHAIN).unwrap();
    let cache = tempfile::tempdir().unwrap();

    let (code, stdout, stderr) = run(
        &checkout,
        cache.path(),
        &["after", "--needs", "--file", "chain.yml"],
    );
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("broken-2") && !stdout.contains("after-4"),
        "{stdout}"
    );
    assert!(
        stderr.contains("job `broken` failed with exit code 3; stopping; not run: `after`"),
        "{stderr}"
    );
    checkout.assert_nothing_left();

    let (code, stdout, stderr) = run(
        &checkout,
        cache.path(),
        &["--stage", "test", "--file", "chain.yml"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("after-4") && stdout.contains("other-6") && !stdout.contains("broken-2"),
        "{stdout}"
    );
    assert!(
        stderr.contains("earlier stages (build) are not run"),
        "{stderr}"
    );
    checkout.assert_nothing_left();
}

const WAITING: &str = "stages: [build, test]
rescue: {stage: build, when: on_failure, script: [echo rescue]}
approve: {stage: build, when: manual, script: [echo approve]}
target:
  stage: test
  needs: [rescue, approve]
  script: [echo target]
";

/// `--needs` does not run a needed `when: on_failure` job when nothing failed (GitLab would
/// not either), unless forced; a needed manual job runs at once, with a note saying so.
#[test]
fn needs_skip_an_on_failure_need_and_start_a_manual_one_at_once() {
    let checkout = Checkout::new();
    std::fs::write(checkout.dir.path().join("waiting.yml"), WAITING).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let args = ["target", "--needs", "--dry-run", "--file", "waiting.yml"];
    let (code, stdout, stderr) = run(&checkout, cache.path(), &args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("skipping `rescue`: it runs only after an earlier job fails"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`approve` is `when: manual` on GitLab; this run starts it at once"),
        "{stderr}"
    );
    assert!(!stdout.contains("job: rescue from"), "{stdout}");
    assert!(stdout.contains("job: approve from") && stdout.contains("job: target from"));

    let forced = [
        "target",
        "--needs",
        "--dry-run",
        "--force",
        "--file",
        "waiting.yml",
    ];
    let (code, stdout, stderr) = run(&checkout, cache.path(), &forced);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("job: rescue from"), "{stdout}");
    checkout.assert_nothing_left();
}
