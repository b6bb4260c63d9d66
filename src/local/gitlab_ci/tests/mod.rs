//! Parser tests with GitLab-style snippets: the plain keywords here, reuse (`extends:`,
//! anchors, `!reference`, `inherit:`) in [`reuse`], and what the user sees on mistakes in
//! [`errors`].

mod errors;
mod inputs;
mod keywords;
mod limits;
mod parallel;
mod repeated;
mod reuse;

use super::{parse, GitlabCiError, Image, Job, Pipeline};

const FILE: &str = ".gitlab-ci.yml";

fn pipeline(text: &str) -> Pipeline {
    parse(text, FILE).unwrap_or_else(|e| panic!("{text}\nfailed: {e}"))
}

fn job(text: &str, name: &str) -> Job {
    pipeline(text).job(name).unwrap().clone()
}

fn error(text: &str) -> GitlabCiError {
    match parse(text, FILE) {
        Ok(p) => panic!("{text}\nparsed, wanted an error: {p:?}"),
        Err(e) => e,
    }
}

fn vars(job: &Job) -> Vec<(&str, &str)> {
    job.variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn image(name: &str) -> Option<Image> {
    Some(Image {
        name: name.into(),
        entrypoint: None,
        user: None,
        platform: None,
        pull_policy: Vec::new(),
    })
}

#[test]
fn a_minimal_job_gets_gitlab_defaults() {
    let p = pipeline("build:\n  script: make\n");
    assert_eq!(p.stages, [".pre", "build", "test", "deploy", ".post"]);
    assert_eq!(p.file, FILE);
    let j = &p.jobs[0];
    assert_eq!(j.name, "build");
    assert_eq!(j.stage, "test");
    assert_eq!(j.script, ["make"]);
    assert_eq!(j.image, None);
    assert!(j.before_script.is_empty() && j.after_script.is_empty());
    assert!(j.variables.is_empty() && j.ignored.is_empty());
    assert_eq!(j.line, Some(1));
}

#[test]
fn stages_get_pre_and_post_and_jobs_keep_file_order() {
    let p = pipeline(
        "stages: [lint, build]\n\nz-build:\n  stage: build\n  script: make\n\na-lint:\n  stage: lint\n  script: lint\n",
    );
    assert_eq!(p.stages, [".pre", "lint", "build", ".post"]);
    let names: Vec<_> = p
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.stage.as_str(), j.line))
        .collect();
    assert_eq!(
        names,
        [("z-build", "build", Some(3)), ("a-lint", "lint", Some(7))]
    );
}

#[test]
fn hidden_jobs_and_reserved_keywords_are_not_jobs() {
    let p = pipeline(
        "variables:\n  test: 1\n.template:\n  script: hidden\n.anchors: &list [a, b]\ninclude: other.yml\nworkflow:\n  rules:\n    - when: always\npages:\n  script: publish\ntest:\n  script: t\n",
    );
    let names: Vec<_> = p.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["pages", "test"]);
    assert_eq!(p.ignored_global, ["include"]);
    assert!(p.workflow.is_some());
    // The job's line is its own top-level key, not `test:` nested under `variables:`.
    assert_eq!(p.job("test").unwrap().line, Some(12));
}

#[test]
fn scripts_are_strings_or_nested_lists_flattened_in_order() {
    let text = r#"
job:
  before_script: echo before
  script:
    - echo one
    - - echo two
      - [echo three, [echo four]]
    - |
      multi
      line
  after_script: []
"#;
    let j = job(text, "job");
    assert_eq!(j.before_script, ["echo before"]);
    assert_eq!(
        j.script,
        [
            "echo one",
            "echo two",
            "echo three",
            "echo four",
            "multi\nline\n"
        ]
    );
    assert!(j.after_script.is_empty());
}

#[test]
fn variables_global_then_job_with_job_winning_in_place() {
    let text = r#"
variables:
  GREETING: hello
  VERSION: 3.10
  COUNT: 2
  DEBUG: true
  DEPLOY_ENV:
    value: staging
    description: where to deploy
    options: [staging, production]
  EMPTY_FORM:
    description: filled in when run manually
job:
  variables:
    COUNT: "5"
    RAW:
      value: $NOT_EXPANDED
      expand: false
    GREETING: hi
  script: env
"#;
    let j = job(text, "job");
    assert_eq!(
        vars(&j),
        [
            ("GREETING", "hi"),
            ("VERSION", "3.1"),
            ("COUNT", "5"),
            ("DEBUG", "true"),
            ("DEPLOY_ENV", "staging"),
            ("EMPTY_FORM", ""),
            ("RAW", "$NOT_EXPANDED"),
        ]
    );
}

#[test]
fn a_variable_without_a_value_is_empty_as_on_gitlab() {
    // GitLab builds `VAR:` as the long form without `value:`, whose value is "".
    let text = "variables:\n  EMPTY_GLOBAL:\njob:\n  variables:\n    EMPTY_JOB:\n    SET: x\n  script: env\n";
    let j = job(text, "job");
    assert_eq!(
        vars(&j),
        [("EMPTY_GLOBAL", ""), ("EMPTY_JOB", ""), ("SET", "x")]
    );
}

#[test]
fn images_as_names_or_mappings() {
    let cases = [
        ("image: alpine:3.20\n", image("alpine:3.20")),
        (
            "image:\n    name: registry.example.com/tools:1\n    entrypoint: [\"\"]\n    pull_policy: if-not-present\n",
            Some(Image {
                name: "registry.example.com/tools:1".into(),
                entrypoint: Some(vec![String::new()]),
                user: None,
                platform: None,
                pull_policy: vec!["if-not-present".into()],
            }),
        ),
        (
            "image:\n    name: busybox\n    entrypoint: [/bin/sh, -c]\n",
            Some(Image {
                name: "busybox".into(),
                entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
                user: None,
                platform: None,
                pull_policy: Vec::new(),
            }),
        ),
        (
            "image:\n    name: busybox\n    docker:\n      user: 1000\n      platform: linux/arm64\n    pull_policy: [always, if-not-present]\n",
            Some(Image {
                name: "busybox".into(),
                entrypoint: None,
                user: Some("1000".into()),
                platform: Some("linux/arm64".into()),
                pull_policy: vec!["always".into(), "if-not-present".into()],
            }),
        ),
    ];
    for (image_yaml, want) in cases {
        let text = format!("job:\n  script: x\n  {image_yaml}");
        assert_eq!(job(&text, "job").image, want, "{text}");
    }
}

#[test]
fn default_supplies_what_the_job_does_not_set() {
    let text = r#"
default:
  image: ruby:3.3
  before_script: [bundle install]
  after_script: echo done
  cache:
    paths: [vendor/]
  retry: 2
plain:
  script: rake
own:
  image: node:22
  before_script: npm ci
  retry: 1
  script: npm test
"#;
    let plain = job(text, "plain");
    assert_eq!(plain.image, image("ruby:3.3"));
    assert_eq!(plain.before_script, ["bundle install"]);
    assert_eq!(plain.after_script, ["echo done"]);
    assert_eq!(plain.ignored, ["retry"]);
    assert_eq!(plain.cache.len(), 1);
    let own = job(text, "own");
    assert_eq!(own.image, image("node:22"));
    assert_eq!(own.before_script, ["npm ci"]);
    assert_eq!(own.after_script, ["echo done"]);
    assert_eq!(own.ignored, ["retry"]);
    assert_eq!(own.cache[0].paths, ["vendor/"]);
}

#[test]
fn a_key_written_without_a_value_is_not_written_as_on_gitlab() {
    // GitLab's entry factory makes a nil value `Unspecified`: the job takes `default:`, and
    // `artifacts:` alone is no artifacts, not an error.
    let text = r#"
default:
  image: ruby:3.3
  after_script: echo done
  cache:
    paths: [vendor/]
job:
  image:
  services:
  after_script:
  cache:
  artifacts:
  script: rake
"#;
    let j = job(text, "job");
    assert_eq!(j.image, image("ruby:3.3"));
    assert!(j.services.is_empty());
    assert_eq!(j.after_script, ["echo done"]);
    assert_eq!(j.cache[0].paths, ["vendor/"]);
    assert_eq!(j.artifacts, None);
    // `cache: []` is how a job turns the default cache off.
    let off = job(
        &text.replace("  cache:\n  artifacts", "  cache: []\n  artifacts"),
        "job",
    );
    assert!(off.cache.is_empty());
}

#[test]
fn deprecated_globals_act_as_defaults_and_default_wins_per_key() {
    let text = r#"
image: debian:12
before_script: echo global before
after_script: echo global after
services: [postgres:16]
default:
  image: ubuntu:24.04
job:
  script: x
"#;
    let j = job(text, "job");
    assert_eq!(j.image, image("ubuntu:24.04"));
    assert_eq!(j.before_script, ["echo global before"]);
    assert_eq!(j.after_script, ["echo global after"]);
    assert_eq!(j.services.len(), 1);
    assert_eq!(j.services[0].name, "postgres:16");
    assert!(j.ignored.is_empty(), "{:?}", j.ignored);
}

#[test]
fn services_as_names_or_mappings_and_from_default() {
    let text = r#"
default:
  services:
    - name: registry.example.com/grp/db:1
      alias: db
      command: ["db", "--fast"]
      variables: {DB_NAME: app}
own:
  services: [redis:7]
  script: x
inherited:
  script: x
opted_out:
  inherit: {default: false}
  script: x
"#;
    let own = job(text, "own");
    assert_eq!(own.services.len(), 1);
    assert_eq!(own.services[0].name, "redis:7");
    let inherited = job(text, "inherited");
    let db = &inherited.services[0];
    assert_eq!(db.name, "registry.example.com/grp/db:1");
    assert_eq!(db.alias.as_deref(), Some("db"));
    assert_eq!(
        db.command,
        Some(vec!["db".to_string(), "--fast".to_string()])
    );
    assert_eq!(db.variables, [("DB_NAME".to_string(), "app".to_string())]);
    assert!(job(text, "opted_out").services.is_empty());
}

#[test]
fn keys_a_local_run_skips_are_reported_sorted() {
    let text = r#"
deploy:
  stage: deploy
  script: ./deploy
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
  artifacts:
    paths: [dist/]
  environment: production
  needs: []
  tags: [docker]
  when: manual
  allow_failure: true
"#;
    let j = job(text, "deploy");
    assert_eq!(j.ignored, ["environment", "tags"]);
    // `artifacts:` and `needs:` are read for runs of several jobs.
    assert_eq!(j.needs, Some(vec![]));
    assert_eq!(
        j.artifacts.map(|a| a.paths),
        Some(vec!["dist/".to_string()])
    );
    // `rules:`, `when:` and `allow_failure:` are read, not skipped.
    assert_eq!(j.rules.as_ref().map(Vec::len), Some(1));
    assert_eq!(j.when, super::When::Manual);
    assert_eq!(j.allow_failure, Some(super::AllowFailure::Bool(true)));
}

#[test]
fn trigger_jobs_have_no_script_and_report_trigger() {
    let j = job(
        "downstream:\n  trigger:\n    project: group/other\n",
        "downstream",
    );
    assert!(j.script.is_empty());
    assert_eq!(j.ignored, ["trigger"]);
}
