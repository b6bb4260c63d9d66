//! `--needs` order and artifact sources on small pipelines, `parallel: matrix:` needs too.

use super::*;
use crate::local::gitlab_ci::parse;

const FILE: &str = "stages: [build, test, deploy]
build: {stage: build, script: make, artifacts: {paths: [bin/]}}
lint: {stage: build, script: lint}
test:
  stage: test
  script: make test
  needs: [build, {job: lint, artifacts: false}, {job: docs, optional: true}]
package: {stage: test, script: pack, dependencies: [build]}
deploy:
  stage: deploy
  script: ship
  needs: [test, package, {project: group/other, job: assets, ref: main}]
report: {stage: deploy, script: report}
";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn needs_run_first_transitively_each_once() {
    let pipeline = parse(FILE, ".gitlab-ci.yml").unwrap();
    for (target, order, notes) in [
        ("build", &["build"][..], &[][..]),
        ("test", &["build", "lint", "test"], &["`test` needs `docs` (optional), which is not in the file; skipped"]),
        (
            "deploy",
            &["build", "lint", "test", "package", "deploy"],
            &[
                "`deploy` needs `assets` of project group/other ref main, which a local run cannot fetch; skipped",
                "`test` needs `docs` (optional), which is not in the file; skipped",
            ],
        ),
    ] {
        assert_eq!(needs_order(&pipeline, target), Ok((strings(order), strings(notes))), "{target}");
    }
}

#[test]
fn missing_needs_and_cycles_are_errors() {
    let missing = parse("a: {script: x, needs: [b]}\n", "f").unwrap();
    assert_eq!(
        needs_order(&missing, "a"),
        Err("job `a` needs `b`, which is not a job of the file; fix `needs:`/`dependencies:` or mark it `optional: true`".into())
    );
    let cycle = parse(
        "a: {script: x, needs: [b]}\nb: {script: x, needs: [c]}\nc: {script: x, needs: [a]}\n",
        "f",
    )
    .unwrap();
    assert_eq!(
        needs_order(&cycle, "a"),
        Err("`needs:` go round in a circle: a → b → c → a".into())
    );
}

#[test]
fn a_stages_jobs_run_after_the_ones_of_it_they_need() {
    let pipeline = parse(
        "late: {script: x, needs: [early]}\nalone: {script: x}\nearly: {script: x, needs: [other]}\nother: {stage: build, script: x}\n",
        "f",
    )
    .unwrap();
    let jobs = strings(&["late", "alone", "early"]);
    assert_eq!(
        stage_order(&pipeline, &jobs),
        strings(&["early", "late", "alone"])
    );
}

#[test]
fn artifacts_come_from_dependencies_needs_or_earlier_stages() {
    let pipeline = parse(FILE, ".gitlab-ci.yml").unwrap();
    let ran = strings(&["build", "lint", "test", "package"]);
    for (job, want) in [
        ("test", &["build"][..]),
        ("package", &["build"]),
        ("deploy", &["test", "package"]),
        ("report", &["build", "lint", "test", "package"]),
        ("lint", &[]),
    ] {
        let job = pipeline.job(job).unwrap();
        assert_eq!(sources(job, &ran, &pipeline), want, "{}", job.name);
    }
}

/// GitLab's `needs:parallel:matrix` example: a matrix job, and jobs that need some of its
/// combinations, all of them by name, or depend on it.
const MATRIX: &str = "stages: [build, deploy]
build:
  stage: build
  script: make
  artifacts: {paths: [out/]}
  parallel:
    matrix:
      - PROVIDER: [aws, ovh]
        STACK: [monitoring, app1, app2]
deploy:
  stage: deploy
  script: ship
  needs:
    - job: build
      parallel:
        matrix:
          - PROVIDER: aws
            STACK: [monitoring, app1]
all: {stage: deploy, script: x, needs: [build]}
some_artifacts:
  stage: deploy
  script: x
  needs:
    - {job: build, artifacts: false, parallel: {matrix: [{PROVIDER: aws, STACK: app1}]}}
    - {job: build, parallel: {matrix: [{PROVIDER: ovh, STACK: app2}]}}
depends: {stage: deploy, script: x, needs: [], dependencies: [build]}
";

#[test]
fn a_matrix_need_runs_and_takes_from_exactly_the_jobs_it_names() {
    let pipeline = parse(MATRIX, ".gitlab-ci.yml").unwrap();
    let every: Vec<String> = pipeline.jobs[..6].iter().map(|j| j.name.clone()).collect();
    assert_eq!(every[0], "build: [aws, monitoring]");
    let named = strings(&["build: [aws, monitoring]", "build: [aws, app1]"]);
    let with = |first: &[String], last: &str| {
        let mut order = first.to_vec();
        order.push(last.to_string());
        Ok((order, vec![]))
    };
    assert_eq!(needs_order(&pipeline, "deploy"), with(&named, "deploy"));
    // A plain name of a matrix job is all its jobs, as GitLab expands it.
    assert_eq!(needs_order(&pipeline, "all"), with(&every, "all"));
    assert_eq!(needs_order(&pipeline, "depends"), with(&every, "depends"));
    // Artifacts (and dotenv, which travels with them) come from those jobs only.
    for (job, want) in [
        ("deploy", named.clone()),
        ("all", every.clone()),
        ("depends", every.clone()),
        ("some_artifacts", strings(&["build: [ovh, app2]"])),
    ] {
        let job = pipeline.job(job).unwrap();
        assert_eq!(sources(job, &every, &pipeline), want, "{}", job.name);
    }
}

#[test]
fn a_matrix_need_of_a_combination_the_job_does_not_make_is_an_error_naming_it() {
    let file = |entry: &str| {
        format!(
            "build:\n  script: make\n  parallel:\n    matrix:\n      - PROVIDER: aws\n        STACK: [monitoring, app1]\ndeploy:\n  script: ship\n  needs:\n    - {entry}\n"
        )
    };
    let want = "job `deploy` (.gitlab-ci.yml:7) needs `build: [app1, aws]` by its \
                `parallel: matrix:`, a combination `parallel:` does not make of `build`; \
                it makes `build: [aws, monitoring]`, `build: [aws, app1]`; name one of \
                those (values in the order `build` writes its variables) or mark the need \
                `optional: true`";
    let swapped = "{job: build, parallel: {matrix: [{STACK: app1, PROVIDER: aws}]}}";
    let pipeline = parse(&file(swapped), ".gitlab-ci.yml").unwrap();
    assert_eq!(needs_order(&pipeline, "deploy"), Err(want.to_string()));
    // `optional:` skips it with a note, as GitLab skips an optional need it lacks.
    let optional =
        "{job: build, optional: true, parallel: {matrix: [{PROVIDER: gcp, STACK: app1}]}}";
    let pipeline = parse(&file(optional), ".gitlab-ci.yml").unwrap();
    assert_eq!(
        needs_order(&pipeline, "deploy"),
        Ok((
            strings(&["deploy"]),
            strings(&[
                "`deploy` needs `build: [gcp, app1]` (optional), which is not in the file; skipped"
            ])
        ))
    );
}

/// A job's dotenv sources are the jobs it takes artifacts from that write a dotenv report: its
/// `needs:` (with `artifacts: true`), its `dependencies:`, or every earlier stage's job.
#[test]
fn dotenv_sources_are_the_artifact_sources_that_write_a_report() {
    let file = "stages: [build, test, deploy]
env: {stage: build, script: a, artifacts: {reports: {dotenv: build.env}}}
plain: {stage: build, script: b, artifacts: {paths: [bin/]}}
quiet: {stage: build, script: c, artifacts: {reports: {dotenv: q.env}}}
by-stage: {stage: test, script: d}
by-needs: {stage: test, script: e, needs: [plain, {job: quiet, artifacts: false}, env]}
no-needs: {stage: test, script: f, needs: []}
by-deps: {stage: deploy, script: g, dependencies: [quiet]}
";
    let pipeline = parse(file, ".gitlab-ci.yml").unwrap();
    for (name, want) in [
        ("env", &[][..]),
        ("by-stage", &["env", "quiet"]),
        ("by-needs", &["env"]),
        ("no-needs", &[]),
        ("by-deps", &["quiet"]),
    ] {
        let job = pipeline.job(name).unwrap();
        assert_eq!(dotenv_sources(job, &pipeline), strings(want), "{name}");
    }
}
