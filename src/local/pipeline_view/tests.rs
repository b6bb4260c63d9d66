//! The pipeline view of a small pipeline with stages, rules, needs, a manual and an excluded
//! job, as text and as JSON (snapshots), decided for the default branch.

use std::collections::BTreeMap;

use super::{json, text, Resolved, View};
use crate::local::gitlab_ci::rules::{Changes, Context};
use crate::local::gitlab_ci::{parse, Pipeline};

const FILE: &str = r#"
stages: [build, test, deploy]
variables:
  DEPLOY_TOKEN: canary-secret
  REGISTRY: registry.example.com
default:
  image: ruby:3.3
build:
  stage: build
  variables:
    EXECUTOR_DOCKER_MODE: dind
  script: make
lint:
  stage: test
  image: $REGISTRY/node:22
  needs: []
  script: npm run lint
unit:
  stage: test
  services:
    - name: postgres:16
      alias: db
    - redis:7
  needs: [build, {job: lint, artifacts: false, optional: true}, {job: docs, optional: true}]
  dependencies: [build, docs]
  retry: 2
  tags: [docker]
  allow_failure:
    exit_codes: [137]
  script: make test
docs:
  stage: test
  rules:
    - if: $CI_COMMIT_TAG
  script: make docs
deploy:
  stage: deploy
  variables:
    EXECUTOR_DOCKER_MODE: socket
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
      needs: [unit, docs]
  script: ./deploy "$DEPLOY_TOKEN"
workflow:
  name: nightly
"#;

fn view(pipeline: &Pipeline) -> View {
    let predefined: Vec<(String, String)> = [
        ("CI_COMMIT_BRANCH", "main"),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_PIPELINE_SOURCE", "push"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec();
    let exists = |_: &str| false;
    let changes = |_: Option<&str>| Changes::Unknown;
    let cx = Context {
        predefined: &predefined,
        overrides: &[],
        exists: &exists,
        changes: &changes,
    };
    let decisions: Vec<_> = pipeline
        .jobs
        .iter()
        .map(|job| (job, pipeline.decide(job, &cx)))
        .collect();
    let images = BTreeMap::from([("ruby:3.3".to_string(), "mirror.local/ruby:3.3".to_string())]);
    // A stand-in for the run's layering and the runner's policy: socket is not offered, the
    // default is none.
    let resolve = |variables: &[(String, String)]| {
        let mut layered = predefined.clone();
        crate::local::expand::layer(&mut layered, variables).unwrap();
        let mode = match layered.iter().find(|(k, _)| k == "EXECUTOR_DOCKER_MODE") {
            Some((_, v)) if v == "socket" => Err(
                "EXECUTOR_DOCKER_MODE=socket is not allowed on this runner; allowed modes: dind, none"
                    .to_string(),
            ),
            Some((_, v)) => Ok(v.clone()),
            None => Ok("none".to_string()),
        };
        Resolved {
            variables: layered,
            mode,
        }
    };
    View::build(
        pipeline,
        &decisions,
        super::reference(&predefined),
        &images,
        &resolve,
    )
}

#[test]
fn the_text_view_shows_every_stage_with_jobs_in_order() {
    let pipeline = parse(FILE, ".gitlab-ci.yml").unwrap();
    let shown = text::render(&view(&pipeline), "alpine:3.20");
    assert!(!shown.contains("canary-secret"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn the_json_view_has_stable_fields() {
    let pipeline = parse(FILE, ".gitlab-ci.yml").unwrap();
    let doc = json::render(&view(&pipeline), "alpine:3.20");
    assert!(!doc.to_string().contains("canary-secret"));
    insta::assert_snapshot!(format!("{doc:#}"));
}

#[test]
fn the_reference_names_the_ref_the_decisions_were_made_for() {
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("CI_COMMIT_BRANCH", "main")], "branch main (push)"),
        (
            &[("CI_COMMIT_TAG", "v1.0"), ("CI_PIPELINE_SOURCE", "web")],
            "tag v1.0 (web)",
        ),
        (&[("CI_COMMIT_REF_NAME", "abc")], "ref abc (push)"),
        (&[], "ref unknown (push)"),
    ];
    for (variables, want) in cases {
        assert_eq!(super::reference(&pairs(variables)).to_string(), *want);
    }
}

#[test]
fn stages_without_jobs_are_left_out() {
    let pipeline = parse(FILE, ".gitlab-ci.yml").unwrap();
    let names: Vec<String> = view(&pipeline).stages.into_iter().map(|s| s.name).collect();
    assert_eq!(pipeline.stages[0], ".pre");
    assert_eq!(names, ["build", "test", "deploy"]);
}

/// A matrix job one of whose combinations this ref's rules leave out, and jobs that need it
/// by name, by a `parallel: matrix:` of theirs, and by a combination it does not make.
const MATRIX: &str = r#"
stages: [build, test]
build:
  stage: build
  parallel:
    matrix:
      - PROVIDER: [aws, gcp]
        STACK: [monitoring, app1]
  rules:
    - if: $PROVIDER == "gcp" && $STACK == "app1"
      when: never
    - when: on_success
  script: make
numbered:
  stage: build
  parallel: 2
  script: make
all:
  stage: test
  needs: [build, numbered]
  dependencies: [build]
  script: t
some:
  stage: test
  needs:
    - job: build
      artifacts: false
      parallel:
        matrix:
          - PROVIDER: aws
            STACK: [monitoring, app1]
  script: t
swapped:
  stage: test
  needs:
    - job: build
      parallel:
        matrix:
          - STACK: app1
            PROVIDER: aws
    - job: build
      optional: true
      parallel:
        matrix:
          - PROVIDER: azure
            STACK: app1
  script: t
"#;

fn notes_of<'v>(view: &'v View, job: &str) -> &'v [String] {
    let found = view.stages.iter().flat_map(|s| &s.jobs);
    &found.clone().find(|j| j.name == job).unwrap().notes
}

#[test]
fn a_need_of_a_parallel_jobs_name_waits_for_the_jobs_it_makes() {
    let pipeline = parse(MATRIX, ".gitlab-ci.yml").unwrap();
    let view = view(&pipeline);
    // Every job `parallel:` made must be in the pipeline: the one the rules left out is named.
    assert_eq!(
        notes_of(&view, "all"),
        [
            "`needs:` names `build: [gcp, app1]`, which is not in this ref's pipeline: GitLab \
             would not create the pipeline (`optional: true` on the need allows it)",
            "`dependencies:` names `build: [gcp, app1]`, which is not in this ref's pipeline: \
             the job gets no artifacts from it",
        ]
    );
}

#[test]
fn a_matrix_need_shows_and_checks_the_combinations_it_names() {
    let pipeline = parse(MATRIX, ".gitlab-ci.yml").unwrap();
    let view = view(&pipeline);
    assert!(notes_of(&view, "some").is_empty(), "{view:?}");
    // GitLab names the combination with the values in the need's order: this one is not made.
    assert_eq!(
        notes_of(&view, "swapped"),
        [
            "`needs:` names `build: [app1, aws]` by its `parallel: matrix:`, a combination \
          `parallel:` does not make of `build`: GitLab would not create the pipeline"
        ]
    );
    let shown = text::render(&view, "alpine:3.20");
    for line in [
        "    needs: build: [aws, monitoring] (no artifacts), build: [aws, app1] (no artifacts)\n",
        "    needs: build: [app1, aws], build: [azure, app1] (optional)\n",
    ] {
        assert!(shown.contains(line), "{line}in\n{shown}");
    }
    let doc = json::render(&view, "alpine:3.20");
    let some = &doc["stages"][1]["jobs"][1];
    assert_eq!(some["name"], "some");
    assert_eq!(some["needs"][0]["job"], "build");
    assert_eq!(some["needs"][0]["parallel_matrix"], true);
    assert_eq!(
        some["needs"][0]["matrix_jobs"],
        serde_json::json!(["build: [aws, monitoring]", "build: [aws, app1]"])
    );
}

#[test]
fn skipped_includes_are_one_line_each_before_the_stages() {
    let pipeline = parse(FILE, ".gitlab-ci.yml").unwrap();
    let skipped = [crate::local::include::Skipped {
        include: "ci/$DEPLOY_FILE".into(),
        file: ".gitlab-ci.yml".into(),
        line: Some(3),
        why: "excluded: no rule matched (1 rule)".into(),
    }];
    let shown_view = view(&pipeline).with_skipped_includes(&skipped);
    let shown = text::render(&shown_view, "alpine:3.20");
    let line = "include `ci/$DEPLOY_FILE` (.gitlab-ci.yml:3): excluded: no rule matched (1 rule)\n";
    let at = shown
        .find(line)
        .unwrap_or_else(|| panic!("no {line:?} in:\n{shown}"));
    assert!(at < shown.find("stage build:").unwrap(), "{shown}");
    let doc = json::render(&shown_view, "alpine:3.20");
    assert_eq!(
        doc["skipped_includes"],
        serde_json::json!([{
            "include": "ci/$DEPLOY_FILE",
            "file": ".gitlab-ci.yml",
            "line": 3,
            "why": "excluded: no rule matched (1 rule)",
        }])
    );
    // Without skipped includes the text has no such line; the JSON an empty list.
    let plain = view(&pipeline);
    assert!(!text::render(&plain, "alpine:3.20").contains("include `"));
    assert_eq!(
        json::render(&plain, "alpine:3.20")["skipped_includes"],
        serde_json::json!([])
    );
}

/// A name that uses a variable a job before it sets in its dotenv report is shown as written,
/// with a note naming that job; without such a job it is expanded as ever (to nothing here).
#[test]
fn a_name_waiting_for_a_dotenv_report_is_shown_as_written() {
    let file = "stages: [build, deploy]
env: {stage: build, script: a, artifacts: {reports: {dotenv: build.env}}}
uses:
  stage: deploy
  image: $FROM_ENV/app
  services: [{name: $SVC_FROM_ENV, alias: cache}]
  script: b
alone: {stage: deploy, needs: [], image: $FROM_ENV/app, script: c}
";
    let pipeline = parse(file, ".gitlab-ci.yml").unwrap();
    let view = view(&pipeline);
    let job = |name: &str| {
        let mut jobs = view.stages.iter().flat_map(|s| &s.jobs);
        jobs.find(|j| j.name == name).unwrap()
    };
    let uses = job("uses");
    assert_eq!(uses.image.as_deref(), Some("$FROM_ENV/app"));
    assert_eq!(uses.image_as_written, None);
    assert_eq!(uses.services[0].0, "$SVC_FROM_ENV");
    assert_eq!(
        notes_of(&view, "uses"),
        [
            "`FROM_ENV` is not set until the dotenv report of `env`: shown as written",
            "`SVC_FROM_ENV` is not set until the dotenv report of `env`: shown as written",
        ]
    );
    let alone = job("alone");
    assert_eq!(alone.image.as_deref(), Some("/app"));
    assert!(notes_of(&view, "alone").is_empty());
}
