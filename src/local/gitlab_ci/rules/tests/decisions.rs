//! Whole files decided for one pipeline: which rule decided, with what `when:`,
//! `allow_failure:` and variables, and the line a person reads.

use super::super::super::{parse, Pipeline};
use super::super::glob::{self, RULES};
use super::super::{AllowFailure, Changes, Context, Decision, When};

/// A pipeline's facts: predefined variables, `--var`s, the project's files and changes.
struct Fixture {
    predefined: Vec<(String, String)>,
    overrides: Vec<(String, String)>,
    files: Vec<&'static str>,
    changes: Changes,
}

fn pairs(list: &[&str]) -> Vec<(String, String)> {
    list.iter()
        .map(|v| {
            let (k, v) = v.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A push to branch `feature` of project `group/app`, unless `vars` say otherwise.
fn on(vars: &[&str]) -> Fixture {
    let mut predefined = pairs(&[
        "CI_PIPELINE_SOURCE=push",
        "CI_COMMIT_BRANCH=feature",
        "CI_COMMIT_REF_NAME=feature",
        "CI_DEFAULT_BRANCH=main",
        "CI_PROJECT_PATH=group/app",
    ]);
    predefined.extend(pairs(vars));
    Fixture {
        predefined,
        overrides: Vec::new(),
        files: vec!["Dockerfile", "src/main.rs", ".gitlab-ci.yml"],
        changes: Changes::Known(vec!["src/main.rs".into()]),
    }
}

impl Fixture {
    fn tag(mut self, tag: &str) -> Fixture {
        self.predefined
            .retain(|(k, _)| k != "CI_COMMIT_BRANCH" && k != "CI_COMMIT_REF_NAME");
        self.predefined.extend(pairs(&[
            &format!("CI_COMMIT_TAG={tag}"),
            &format!("CI_COMMIT_REF_NAME={tag}"),
        ]));
        self
    }

    fn changes(mut self, changes: Changes) -> Fixture {
        self.changes = changes;
        self
    }

    fn overrides(mut self, vars: &[&str]) -> Fixture {
        self.overrides = pairs(vars);
        self
    }

    fn decide(&self, pipeline: &Pipeline, job: &str) -> Decision {
        let exists = |g: &str| self.files.iter().any(|f| glob::matches(g, f, RULES));
        let changes = |compare_to: Option<&str>| match (compare_to, &self.changes) {
            (Some("no-such-ref"), _) => Changes::BadRef("`no-such-ref` is not a valid ref".into()),
            (Some(_), _) => Changes::Known(vec!["Dockerfile".into()]),
            (None, c) => c.clone(),
        };
        let cx = Context {
            predefined: &self.predefined,
            overrides: &self.overrides,
            exists: &exists,
            changes: &changes,
        };
        pipeline.decide(pipeline.job(job).unwrap(), &cx)
    }
}

fn pipeline(text: &str) -> Pipeline {
    parse(text, ".gitlab-ci.yml").unwrap_or_else(|e| panic!("{text}\n{e}"))
}

fn var<'d>(d: &'d Decision, name: &str) -> Option<&'d str> {
    d.variables
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

const DOCS_EXAMPLE: &str = r#"
job:
  script: echo "Hello, Rules!"
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      when: manual
      allow_failure: true
    - if: $CI_PIPELINE_SOURCE == "schedule"
"#;

#[test]
fn the_first_matching_rule_decides_and_no_match_excludes() {
    let p = pipeline(DOCS_EXAMPLE);
    let mr = on(&["CI_PIPELINE_SOURCE=merge_request_event"]).decide(&p, "job");
    assert!(mr.runs);
    assert_eq!(mr.when, When::Manual);
    assert_eq!(mr.allow_failure, AllowFailure::Bool(true));
    assert_eq!(
        mr.why(),
        r#"included by rules[1]: if: $CI_PIPELINE_SOURCE == "merge_request_event" (when: manual)"#
    );
    let schedule = on(&["CI_PIPELINE_SOURCE=schedule"]).decide(&p, "job");
    assert!(schedule.runs);
    assert_eq!(schedule.when, When::OnSuccess);
    assert_eq!(schedule.allow_failure, AllowFailure::Bool(false));
    let push = on(&[]).decide(&p, "job");
    assert!(!push.runs);
    assert_eq!(push.when, When::Never);
    assert_eq!(push.why(), "excluded: no rule matched (2 rules)");
}

#[test]
fn when_never_names_the_rule_that_excluded() {
    let p = pipeline(
        "job:\n  script: x\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"schedule\"\n      when: never\n    - if: $CI_COMMIT_BRANCH == \"main\"\n      when: never\n    - when: on_success\n",
    );
    let main = on(&["CI_COMMIT_BRANCH=main"]).decide(&p, "job");
    assert!(!main.runs);
    assert_eq!(
        main.why(),
        r#"excluded by rules[2]: if: $CI_COMMIT_BRANCH == "main" (when: never)"#
    );
    let other = on(&[]).decide(&p, "job");
    assert_eq!(other.why(), "included by rules[3] (when: on_success)");
}

#[test]
fn rule_when_and_allow_failure_fall_back_to_the_jobs() {
    let text = r#"
own-manual:
  script: x
  when: manual
  rules:
    - if: $CI_COMMIT_BRANCH
rule-manual:
  script: x
  rules:
    - if: $CI_COMMIT_BRANCH
      when: manual
exit-codes:
  script: x
  allow_failure:
    exit_codes: [137, 255]
  rules:
    - if: $CI_COMMIT_BRANCH
      allow_failure: true
delayed:
  script: x
  rules:
    - when: delayed
      start_in: 30 minutes
plain:
  script: x
  when: manual
"#;
    let p = pipeline(text);
    let f = on(&[]);
    let own = f.decide(&p, "own-manual");
    assert_eq!(
        (own.when, own.allow_failure),
        (When::Manual, AllowFailure::Bool(true))
    );
    // `when: manual` in a rule leaves allow_failure false, as GitLab documents.
    let rule = f.decide(&p, "rule-manual");
    assert_eq!(
        (rule.when, rule.allow_failure),
        (When::Manual, AllowFailure::Bool(false))
    );
    assert_eq!(
        f.decide(&p, "exit-codes").allow_failure,
        AllowFailure::Bool(true)
    );
    let delayed = f.decide(&p, "delayed");
    assert_eq!(delayed.when, When::Delayed);
    assert_eq!(delayed.start_in.as_deref(), Some("30 minutes"));
    let plain = f.decide(&p, "plain");
    assert!(plain.runs);
    assert_eq!(plain.why(), "included: no rules (when: manual)");
    assert_eq!(plain.allow_failure, AllowFailure::Bool(true));
}

#[test]
fn variables_layer_as_gitlab_layers_them() {
    let text = r#"
variables:
  GLOBAL: global
  DEPLOY: global
  TARGET: global
workflow:
  rules:
    - if: $CI_COMMIT_BRANCH
      variables:
        DEPLOY: workflow
        TARGET: workflow
job:
  script: x
  variables:
    TARGET: job
    LEVEL: job
  rules:
    - if: $TARGET == "job" && $DEPLOY == "workflow"
      variables:
        LEVEL: rule
opted-out:
  script: x
  inherit:
    variables: false
  rules:
    - if: $DEPLOY == null
"#;
    let p = pipeline(text);
    let d = on(&[]).decide(&p, "job");
    assert!(d.runs, "{}", d.why());
    assert_eq!(var(&d, "GLOBAL"), Some("global"));
    assert_eq!(var(&d, "DEPLOY"), Some("workflow"));
    assert_eq!(var(&d, "TARGET"), Some("job"));
    assert_eq!(var(&d, "LEVEL"), Some("rule"));
    // `--var` beats the file; predefined variables lose to it.
    let forced = on(&["TARGET=predefined"])
        .overrides(&["TARGET=cli"])
        .decide(&p, "job");
    assert!(!forced.runs, "{}", forced.why());
    let opted = on(&[]).decide(&p, "opted-out");
    assert!(opted.runs, "{}", opted.why());
    assert!(opted.variables.is_empty());
}

#[test]
fn changes_and_exists_use_the_callbacks() {
    let text = r#"
docker:
  script: x
  variables:
    DOCKER_DIR: docker
  rules:
    - changes:
        - Dockerfile
        - $DOCKER_DIR/**/*
rust:
  script: x
  rules:
    - changes: ["**/*.rs"]
      when: manual
compare:
  script: x
  rules:
    - changes:
        paths: [Dockerfile]
        compare_to: refs/heads/$CI_DEFAULT_BRANCH
bad-ref:
  script: x
  rules:
    - changes:
        paths: [Dockerfile]
        compare_to: no-such-ref
has-file:
  script: x
  rules:
    - exists: [Dockerfile]
no-file:
  script: x
  rules:
    - exists: ["*.gemspec"]
"#;
    let p = pipeline(text);
    let f = on(&[]);
    assert!(!f.decide(&p, "docker").runs);
    let rust = f.decide(&p, "rust");
    assert_eq!((rust.runs, rust.when), (true, When::Manual));
    assert_eq!(
        rust.why(),
        "included by rules[1]: changes: **/*.rs (when: manual)"
    );
    let moved = on(&[]).changes(Changes::Known(vec!["docker/base/setup.sh".into()]));
    assert!(moved.decide(&p, "docker").runs);
    assert!(f.decide(&p, "compare").runs);
    let bad = f.decide(&p, "bad-ref");
    assert!(!bad.runs);
    assert_eq!(
        bad.why(),
        "excluded: rules[1]: changes: Dockerfile cannot be evaluated: `no-such-ref` is not a valid ref"
    );
    assert!(f.decide(&p, "has-file").runs);
    assert!(!f.decide(&p, "no-file").runs);
    // No change set (a new branch, a tag): `changes:` counts as matched, with a note.
    let unknown = on(&[]).changes(Changes::Unknown).decide(&p, "docker");
    assert!(unknown.runs);
    assert_eq!(unknown.notes.len(), 1, "{:?}", unknown.notes);
    assert!(unknown.notes[0].contains("counts as matched"));
    let none = on(&[]).changes(Changes::Known(Vec::new()));
    assert!(!none.decide(&p, "rust").runs);
}

#[test]
fn only_and_except_refs_sources_and_variables() {
    let text = r#"
main-only:
  script: x
  only: [main]
release:
  script: x
  only: ["/^release-.*$/", tags]
mrs:
  script: x
  only: [merge_requests]
pushes-and-schedules:
  script: x
  only: [pushes, schedules]
web-api-triggers:
  script: x
  only: [web, api, triggers]
other-project:
  script: x
  only: [feature@other/app]
this-project:
  script: x
  only: [feature@group/app]
not-tags:
  script: x
  except: [tags]
vars:
  script: x
  only:
    variables:
      - $RELEASE == "yes"
      - $CI_COMMIT_MESSAGE =~ /deploy/
skip:
  script: x
  except:
    variables: [$SKIP]
k8s:
  script: x
  only:
    kubernetes: active
src-changes:
  script: x
  only:
    changes: ["src/*"]
    refs: [branches]
"#;
    let p = pipeline(text);
    let push = on(&[]);
    let runs = |f: &Fixture, job: &str| f.decide(&p, job).runs;
    assert!(!runs(&push, "main-only"));
    assert_eq!(
        push.decide(&p, "main-only").why(),
        "excluded by only:refs: branch `feature` (push) matches none of main"
    );
    assert!(runs(&on(&["CI_COMMIT_BRANCH=main"]), "main-only"));
    assert!(runs(&on(&["CI_COMMIT_BRANCH=release-2"]), "release"));
    assert!(runs(&on(&[]).tag("v1"), "release"));
    assert!(!runs(&push, "release"));
    assert!(runs(
        &on(&["CI_PIPELINE_SOURCE=merge_request_event"]),
        "mrs"
    ));
    assert!(!runs(&push, "mrs"));
    assert!(runs(&push, "pushes-and-schedules"));
    assert!(runs(
        &on(&["CI_PIPELINE_SOURCE=schedule"]),
        "pushes-and-schedules"
    ));
    assert!(!runs(
        &on(&["CI_PIPELINE_SOURCE=web"]),
        "pushes-and-schedules"
    ));
    for source in ["web", "api", "trigger"] {
        let f = on(&[&format!("CI_PIPELINE_SOURCE={source}")]);
        assert!(runs(&f, "web-api-triggers"), "{source}");
    }
    assert!(!runs(&push, "other-project"));
    assert!(runs(&push, "this-project"));
    assert!(runs(&push, "not-tags"));
    let tagged = on(&[]).tag("v1").decide(&p, "not-tags");
    assert_eq!(
        tagged.why(),
        "excluded by except:refs: tag `v1` (push) matches `tags`"
    );
    assert!(!runs(&push, "vars"));
    assert!(runs(&on(&["RELEASE=yes"]), "vars"));
    assert!(runs(&on(&["CI_COMMIT_MESSAGE=please deploy"]), "vars"));
    assert!(runs(&push, "skip"));
    let skipped = on(&["SKIP=1"]).decide(&p, "skip");
    assert_eq!(skipped.why(), "excluded by except:variables: `$SKIP` holds");
    let k8s = push.decide(&p, "k8s");
    assert!(!k8s.runs);
    assert!(
        k8s.why().contains("no Kubernetes integration"),
        "{}",
        k8s.why()
    );
    assert!(runs(&push, "src-changes"));
    let docs_only = on(&[]).changes(Changes::Known(vec!["docs/a.md".into()]));
    assert!(!runs(&docs_only, "src-changes"));
}

#[test]
fn gitlabs_default_only_applies_without_rules_or_workflow_rules() {
    let plain = "build:\n  script: x\n";
    let mr = on(&["CI_PIPELINE_SOURCE=merge_request_event"]);
    let d = mr.decide(&pipeline(plain), "build");
    assert!(!d.runs);
    assert!(d.why().contains("GitLab's default `only:`"), "{}", d.why());
    assert!(on(&[]).decide(&pipeline(plain), "build").runs);
    let with_workflow = "workflow:\n  rules:\n    - when: always\nbuild:\n  script: x\n";
    assert!(mr.decide(&pipeline(with_workflow), "build").runs);
}

#[test]
fn workflow_rules_decide_whether_there_is_a_pipeline() {
    let text = r#"
workflow:
  name: pipeline for $CI_COMMIT_REF_NAME
  rules:
    - if: $CI_COMMIT_TITLE =~ /-draft$/
      when: never
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS
      when: never
    - if: $CI_COMMIT_BRANCH
job:
  script: x
"#;
    let p = pipeline(text);
    assert_eq!(
        p.workflow.as_ref().unwrap().name.as_deref(),
        Some("pipeline for $CI_COMMIT_REF_NAME")
    );
    let draft = on(&["CI_COMMIT_TITLE=wip-draft"]).decide(&p, "job");
    assert!(!draft.runs);
    assert_eq!(
        draft.why(),
        "excluded: no pipeline for this ref, workflow:rules[1]: if: $CI_COMMIT_TITLE =~ /-draft$/ (when: never)"
    );
    assert!(on(&[]).decide(&p, "job").runs);
    let open_mr = on(&["CI_OPEN_MERGE_REQUESTS=group/app!1"]).decide(&p, "job");
    assert!(!open_mr.runs);
    let tag = on(&[]).tag("v1").decide(&p, "job");
    assert_eq!(
        tag.why(),
        "excluded: no pipeline for this ref, no workflow:rules entry matched"
    );
    let w = on(&[]).tag("v1");
    let exists = |_: &str| false;
    let changes = |_: Option<&str>| Changes::Unknown;
    let cx = Context {
        predefined: &w.predefined,
        overrides: &w.overrides,
        exists: &exists,
        changes: &changes,
    };
    assert!(!p.workflow(&cx).runs);
}

#[test]
fn an_only_mapping_without_refs_keeps_gitlabs_default_refs() {
    let p = pipeline("job:\n  script: x\n  only:\n    variables: [$X]\n");
    let d = on(&["X=1", "CI_PIPELINE_SOURCE=merge_request_event"]).decide(&p, "job");
    assert!(!d.runs);
    assert!(d
        .why()
        .starts_with("excluded by only:refs: merge request pipeline of `feature`"));
    assert!(on(&["X=1"]).decide(&p, "job").runs);
}

#[test]
fn what_a_local_run_cannot_see_is_noted() {
    let text = r#"
other:
  script: x
  rules:
    - exists:
        paths: [Gemfile]
        project: group/other
null-keys:
  script: x
  when:
  rules:
  allow_failure:
"#;
    let p = pipeline(text);
    let other = on(&[]).decide(&p, "other");
    assert!(!other.runs);
    assert!(
        other.notes[0].contains("another project"),
        "{:?}",
        other.notes
    );
    // A null value is as if the key were not written, as GitLab reads it.
    let j = p.job("null-keys").unwrap();
    assert_eq!(
        (j.when, &j.rules, &j.allow_failure),
        (When::OnSuccess, &None, &None)
    );
    assert!(on(&[]).decide(&p, "null-keys").runs);
}
