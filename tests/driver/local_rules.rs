//! `executor run` decides as GitLab which jobs are in this ref's pipeline: the list says why a
//! job is left out (the rule that decided), running such a job is refused without `--force`,
//! and a job runs with the variables of the rule that let it in.

use crate::checkout::Checkout;

const RULES: &str = "deploy:\n  variables: {EXECUTOR_DOCKER_MODE: none}\n  rules:\n    \
    - if: $CI_COMMIT_BRANCH == \"production\"\n      variables: {TARGET: prod}\n    \
    - if: $CI_PIPELINE_SOURCE == \"schedule\"\n  \
    script:\n    - echo \"deploying-$((6*7)) to ${TARGET:-nowhere}\"\n\
    test:\n  variables: {EXECUTOR_DOCKER_MODE: none}\n  script: [\"true\"]\n";

#[test]
fn a_job_its_rules_leave_out_is_refused_without_force() {
    let checkout = Checkout::new();
    std::fs::write(checkout.dir.path().join("rules.yml"), RULES).unwrap();

    let (code, listed, _) = checkout.run(&["--file", "rules.yml"]);
    assert_eq!(code, 0);
    // Each job's line, then, under one that does not run, why.
    let lines: Vec<&str> = listed.lines().collect();
    let at = |name: &str| {
        lines
            .iter()
            .position(|l| l.trim_start().starts_with(name))
            .unwrap()
    };
    assert_eq!(
        lines[at("deploy") + 1].trim(),
        "not on this ref: excluded: no rule matched (2 rules)",
        "{listed}"
    );
    assert!(
        lines[at("test") + 1..]
            .iter()
            .all(|l| !l.starts_with("      ")),
        "{listed}"
    );

    let (code, _, stderr) = checkout.run(&["deploy", "--file", "rules.yml"]);
    assert_eq!(code, 125, "{stderr}");
    assert!(
        stderr.contains("job `deploy` is not in this ref's pipeline (excluded: no rule matched")
            && stderr.contains("pass --force to run it anyway"),
        "{stderr}"
    );
    checkout.assert_nothing_left();
    // A dry run only looks: it shows the job, saying it would need --force.
    let (code, _, stderr) = checkout.run(&["deploy", "--file", "rules.yml", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("job `deploy` is not in this ref's pipeline (excluded: no rule matched")
            && stderr.contains("a run needs --force"),
        "{stderr}"
    );

    let (code, stdout, stderr) = checkout.run(&["deploy", "--file", "rules.yml", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("deploying-42 to nowhere"), "{stdout}");
    assert!(
        stderr.contains("running `deploy` anyway (--force)"),
        "{stderr}"
    );
    checkout.assert_nothing_left();

    // On the production branch the first rule lets it in, with that rule's variables.
    let (code, stdout, stderr) = checkout.run(&[
        "deploy",
        "--file",
        "rules.yml",
        "--var",
        "CI_COMMIT_BRANCH=production",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("deploying-42 to prod"), "{stdout}");
    checkout.assert_nothing_left();
}

/// A job defined in an included file (found by a glob, extending a hidden job of another
/// included file) is listed with the main file's jobs and runs, named with its own file.
#[test]
fn a_job_from_an_included_file_runs() {
    let checkout = Checkout::new();
    let dir = checkout.dir.path();
    std::fs::create_dir_all(dir.join("ci/jobs")).unwrap();
    std::fs::write(
        dir.join("ci/base.yml"),
        ".none:\n  variables: {EXECUTOR_DOCKER_MODE: none, FROM: base}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("ci/jobs/hello.yml"),
        "hello:\n  extends: .none\n  script:\n    - echo \"included-$((6*7)) from $FROM\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.yml"),
        "include:\n  - local: ci/base.yml\n  - local: 'ci/jobs/*.yml'\n\
         own:\n  extends: .none\n  script: [\"true\"]\n",
    )
    .unwrap();
    let (code, listed, stderr) = checkout.run(&["--file", "main.yml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        listed.contains("hello") && listed.contains("own"),
        "{listed}"
    );
    assert!(!stderr.contains("ignored"), "{stderr}");
    let (code, stdout, stderr) = checkout.run(&["hello", "--file", "main.yml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("included-42 from base"), "{stdout}");
    assert!(stderr.contains("ci/jobs/hello.yml"), "{stderr}");
    checkout.assert_nothing_left();
}

const TEMPLATE: &str = "spec:
  inputs:
    greeting:
      default: hello
---
.lines:
  variables: {EXECUTOR_DOCKER_MODE: none}
  before_script:
    - echo \"before $[[ inputs.greeting ]]\"
.scripts:
  common:
    - echo \"common-$((2*21))\"
";

const TEMPLATED: &str = "include:
  - local: templates/lines.yml
    inputs:
      greeting: bonjour
workflow:
  rules:
    - if: $CI_COMMIT_BRANCH
stages: [test, deploy]
.after: &after
  after_script:
    - echo \"after-$((3*3))\"
test:
  <<: *after
  stage: test
  extends: .lines
  parallel:
    matrix:
      - OS: [debian, alpine]
        VERSION: ['12']
  rules:
    - exists: [main.yml]
  script:
    - !reference [.scripts, common]
    - echo \"matrix $OS $VERSION\"
deploy:
  extends: .lines
  stage: deploy
  rules:
    - if: $CI_COMMIT_BRANCH == \"production\"
  script: [echo deploy]
";

/// A file of the kind GitLab's templates are (an include with `spec: inputs:`, `workflow:
/// rules`, anchors, `extends:`, `!reference`, `parallel: matrix:`, `rules:` with `exists:`
/// and `if:`) lists, dry-runs and runs one of its matrix jobs.
#[test]
fn a_template_like_file_lists_dry_runs_and_runs() {
    let checkout = Checkout::new();
    let dir = checkout.dir.path();
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates/lines.yml"), TEMPLATE).unwrap();
    std::fs::write(dir.join("main.yml"), TEMPLATED).unwrap();

    let (code, listed, stderr) = checkout.run(&["--file", "main.yml"]);
    assert_eq!(code, 0, "{stderr}");
    for name in ["test: [debian, 12]", "test: [alpine, 12]", "deploy"] {
        assert!(listed.contains(name), "{name}: {listed}");
    }

    let (code, view, stderr) = checkout.run(&["--file", "main.yml", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(view.contains("2 of 3 jobs run"), "{view}");
    assert!(view.contains("deploy: excluded"), "{view}");

    let job = "test: [debian, 12]";
    let (code, stdout, stderr) = checkout.run(&[job, "--file", "main.yml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for line in ["before bonjour", "common-42", "matrix debian 12", "after-9"] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    checkout.assert_nothing_left();
}
