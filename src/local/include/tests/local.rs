//! `local:` includes and strings: the forms, globs, GitLab's merge, and the refusals.

use super::*;

const JOB: &str = "job:\n  script: echo\n";

#[test]
fn every_form_of_a_local_include_reads_the_file_from_the_project_root() {
    let files = [
        ("ci/a.yml", "a:\n  script: a\n"),
        ("b.yaml", "b:\n  script: b\n"),
    ];
    let cases = [
        "include: ci/a.yml\n",
        "include: /ci/a.yml\n",
        "include: 'ci/a.yml'\n",
        "include:\n  - ci/a.yml\n",
        "include:\n  local: ci/a.yml\n",
        "include:\n  - local: /ci/a.yml\n",
        "include:\n  - local: $DIR/a.yml\n",
        "include:\n  - local: ./ci//a.yml\n",
    ];
    for main in cases {
        let dir = project(&files);
        let mut options = options();
        options.variables = vec![("DIR".into(), "ci".into())];
        let merged = run(dir.path(), &format!("{main}{JOB}"), &options).unwrap();
        assert_eq!(keys(&merged), ["a", "job"], "{main}");
        assert_eq!(merged.file_of("a").name, "ci/a.yml", "{main}");
        assert_eq!(merged.file_of("job").name, ".gitlab-ci.yml", "{main}");
    }
}

#[test]
fn globs_include_every_match_in_path_order() {
    let files = [
        ("configs/b.yml", "b:\n  script: b\n"),
        ("configs/a.yml", "a:\n  script: a\n"),
        ("configs/sub/c.yml", "c:\n  script: c\n"),
        ("configs/notes.txt", "not yaml"),
    ];
    let cases: [(&str, &[&str]); 4] = [
        ("configs/*.yml", &["a", "b", "job"]),
        ("configs/**.yml", &["a", "b", "c", "job"]),
        ("configs/**/*.yml", &["c", "job"]),
        ("/configs/*.yml", &["a", "b", "job"]),
    ];
    for (pattern, want) in cases {
        let main = format!("include:\n  - local: '{pattern}'\n{JOB}");
        let merged = merged(&files, &main).unwrap();
        assert_eq!(keys(&merged), want, "{pattern}");
        assert!(merged.warnings.is_empty(), "{pattern}");
    }
}

#[test]
fn a_glob_matching_nothing_adds_nothing_with_a_warning_as_gitlab_skips_it() {
    let merged = merged(&[], &format!("include: 'none/*.yml'\n{JOB}")).unwrap();
    assert_eq!(keys(&merged), ["job"]);
    assert_eq!(merged.warnings.len(), 1);
    assert!(merged.warnings[0].contains("`none/*.yml` matches no file"));
}

#[test]
fn a_glob_that_matches_a_file_that_is_not_yaml_is_an_error_as_in_gitlab() {
    let e = merged(&[("c/x.txt", "a: 1")], &format!("include: 'c/*'\n{JOB}")).unwrap_err();
    assert!(e.message().contains("not a YAML file"), "{e}");
}

/// GitLab's documented example ("Merge method for include"): the main file over `common.yml`.
#[test]
fn the_main_file_merges_over_included_files_deeply() {
    let common = "variables:\n  POSTGRES_USER: common_username\n  POSTGRES_PASSWORD: testing_password\n\
                  test:\n  rules:\n    - when: never\n  script:\n    - echo LOGIN=${POSTGRES_USER} > deploy.env\n    - rake spec\n  \
                  artifacts:\n    reports:\n      dotenv: deploy.env\n";
    let main = "include: 'common.yml'\n\nvariables:\n  POSTGRES_USER: username\n\n\
                test:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n      when: manual\n  \
                artifacts:\n    reports:\n      junit: rspec.xml\n";
    let want = "variables:\n  POSTGRES_USER: username\n  POSTGRES_PASSWORD: testing_password\n\n\
                test:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n      when: manual\n  \
                script:\n    - echo LOGIN=${POSTGRES_USER} > deploy.env\n    - rake spec\n  \
                artifacts:\n    reports:\n      junit: rspec.xml\n      dotenv: deploy.env\n";
    let merged = merged(&[("common.yml", common)], main).unwrap();
    assert_eq!(merged.config, mapping(want));
    assert_eq!(merged.origins["test"], [1, 0]);
    assert_eq!(merged.file_of("test").name, ".gitlab-ci.yml");
}

/// GitLab's documented example ("Use nested includes with duplicate include entries"): a file
/// included twice is merged twice, and the last time wins.
#[test]
fn duplicate_includes_merge_again_and_the_last_one_wins() {
    let files = [
        ("defaults.gitlab-ci.yml", "default:\n  before_script: echo \"Default before script\"\n"),
        (
            "unit-tests.gitlab-ci.yml",
            "include:\n  - local: defaults.gitlab-ci.yml\ndefault:\n  before_script: echo \"Unit test default override\"\nunit-test-job:\n  script: unit-test.sh\n",
        ),
        (
            "smoke-tests.gitlab-ci.yml",
            "include:\n  - local: defaults.gitlab-ci.yml\ndefault:\n  before_script: echo \"Smoke test default override\"\nsmoke-test-job:\n  script: smoke-test.sh\n",
        ),
    ];
    let cases = [
        (
            "unit-tests",
            "smoke-tests",
            "echo \"Smoke test default override\"",
        ),
        (
            "smoke-tests",
            "unit-tests",
            "echo \"Unit test default override\"",
        ),
    ];
    for (first, last, want) in cases {
        let main = format!(
            "include:\n  - local: {first}.gitlab-ci.yml\n  - local: {last}.gitlab-ci.yml\n"
        );
        let merged = merged(&files, &main).unwrap();
        let before = &merged.config["default"]["before_script"];
        assert_eq!(before.as_str(), Some(want), "{first} then {last}");
        // Read once, merged twice.
        assert_eq!(merged.sources.len(), 4);
        assert_eq!(merged.includes.len(), 4);
    }
}

#[test]
fn includes_merge_in_order_and_later_files_win() {
    let files = [
        (
            "one.yml",
            "job:\n  image: one\n  script: [one]\nvariables:\n  A: one\n  B: one\n",
        ),
        ("two.yml", "job:\n  script: [two]\nvariables:\n  B: two\n"),
    ];
    let main = "include: [one.yml, two.yml]\nvariables:\n  C: main\n";
    let merged = merged(&files, main).unwrap();
    let want = "job:\n  image: one\n  script: [two]\nvariables:\n  A: one\n  B: two\n  C: main\n";
    assert_eq!(merged.config, mapping(want));
    assert_eq!(merged.origins["job"], [1, 2]);
    assert_eq!(merged.file_of("job").name, "two.yml");
}

#[test]
fn refusals_name_the_file_the_line_and_what_to_do() {
    let cases: [(&str, &str, &str); 13] = [
        (
            "include:\n  local: \"${UNSET}\"\n",
            "include `${UNSET}` names no file once its variables are expanded",
            "2",
        ),
        (
            "include: missing.yml\n",
            "include `missing.yml` does not exist",
            "1",
        ),
        (
            "include:\n  - local: ../outside.yml\n",
            "is not a file in the project",
            "2",
        ),
        ("include: notes.txt\n", "is not a YAML file", "1"),
        (
            "include:\n  - component: $CI_SERVER_FQDN/g/c/x@1.0\n",
            "is a CI/CD component, which local runs do not support",
            "2",
        ),
        (
            "include:\n  - artifact: x.yml\n    job: gen\n",
            "only works in child pipelines",
            "2",
        ),
        (
            "include:\n  - local: a.yml\n    remote: https://h/a.yml\n",
            "takes only one of",
            "2",
        ),
        ("include:\n  - lcoal: a.yml\n", "unknown key `lcoal`", "2"),
        ("include:\n  - ref: main\n", "names no file", "2"),
        ("include: [1]\n", "has a number", "1"),
        (
            "include:\n  - template: Nope.yml\n",
            "is not a template name",
            "2",
        ),
        (
            "include: ssh://h/a.yml\n",
            "URL local runs cannot fetch",
            "1",
        ),
        ("include:\n  - project: g/p\n", "has no `file:`", "2"),
    ];
    for (main, want, line) in cases {
        let files = [("notes.txt", "a: 1\n")];
        let e = merged(&files, main).unwrap_err();
        assert!(e.message().contains(want), "{main}: {e}");
        assert_eq!(
            e.to_string(),
            format!(".gitlab-ci.yml:{line}: {}", e.message())
        );
        assert!(!e.message().contains('\n'));
    }
}

#[test]
fn broken_included_files_are_named() {
    let cases = [
        ("a.yml", "job: [unclosed\n", "a.yml:", "invalid YAML"),
        ("a.yml", "- a\n- b\n", "a.yml:", "must be a mapping"),
        ("a.yml", "   \n", ".gitlab-ci.yml:1:", "is empty"),
        ("a.yml", "1: x\n", "a.yml:", "not a string"),
    ];
    for (file, text, at, want) in cases {
        let e = merged(&[(file, text)], "include: a.yml\n").unwrap_err();
        assert!(e.to_string().starts_with(at), "{text:?}: {e}");
        assert!(e.message().contains(want), "{text:?}: {e}");
    }
}

#[test]
fn files_larger_than_the_limit_are_refused() {
    let dir = project(&[("big.yml", &format!("a: '{}'\n", "x".repeat(2000)))]);
    let mut options = options();
    options.max_file_bytes = 1024;
    let e = run(dir.path(), "include: big.yml\n", &options).unwrap_err();
    assert!(e.message().contains("larger than 1 KiB"), "{e}");
}

#[test]
fn anchors_stay_in_their_file_while_extends_and_references_cross_files() {
    let files = [(
        "base.yml",
        ".base: &base\n  image: alpine\n  script: [from-base]\n.vars:\n  variables:\n    A: a\n",
    )];
    // An alias to an anchor of another file is a YAML error in the main file.
    let e = merged(&files, "include: base.yml\njob:\n  <<: *base\n").unwrap_err();
    assert!(e.to_string().starts_with(".gitlab-ci.yml:"), "{e}");
    // `extends:` and `!reference` see the included hidden jobs once merged.
    let main =
        "include: base.yml\njob:\n  extends: .base\n  variables: !reference [.vars, variables]\n";
    let pipeline = merged(&files, main).unwrap().parse().unwrap();
    let job = pipeline.job("job").unwrap();
    assert_eq!(job.script, ["from-base"]);
    assert_eq!(job.variables, [("A".to_string(), "a".to_string())]);
    assert_eq!(job.file, ".gitlab-ci.yml");
}

#[test]
fn parsed_jobs_and_their_errors_name_the_file_that_wrote_them() {
    let files = [(
        "ci/jobs.yml",
        "# jobs\nbuild:\n  script: make\n\nbroken:\n  stage: nowhere\n  script: x\n",
    )];
    let main = "include: ci/jobs.yml\nstages: [build, test]\n";
    let e = merged(&files, main).unwrap().parse().unwrap_err();
    assert_eq!(e.file(), "ci/jobs.yml");
    assert_eq!(e.line(), Some(6), "{e}");

    let main = "include: ci/jobs.yml\nbroken:\n  stage: test\ntest:\n  script: t\n";
    let pipeline = merged(&files, main).unwrap().parse().unwrap();
    let names: Vec<(&str, &str, Option<usize>)> = pipeline
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.file.as_str(), j.line))
        .collect();
    assert_eq!(
        names,
        [
            ("build", "ci/jobs.yml", Some(2)),
            ("broken", ".gitlab-ci.yml", Some(2)),
            ("test", ".gitlab-ci.yml", Some(4)),
        ]
    );
}

#[test]
fn a_merged_key_error_points_at_the_file_that_wrote_the_key() {
    // `script:` is written in the included file; the main file only sets `stage:`.
    let files = [("a.yml", "job:\n  script: {not: a list}\n")];
    let e = merged(&files, "include: a.yml\njob:\n  stage: test\n")
        .unwrap()
        .parse()
        .unwrap_err();
    assert_eq!((e.file(), e.line()), ("a.yml", Some(2)), "{e}");
}
