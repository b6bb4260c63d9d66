//! `parallel:` as GitLab expands it: names, order, node variables, limits.

use super::{error, job, pipeline, vars};

fn names(text: &str) -> Vec<String> {
    pipeline(text).jobs.into_iter().map(|j| j.name).collect()
}

#[test]
fn a_number_makes_numbered_jobs_in_the_place_of_the_job() {
    let text = "a:\n  script: x\ntest:\n  script: t\n  parallel: 3\nz:\n  script: x\n";
    assert_eq!(names(text), ["a", "test 1/3", "test 2/3", "test 3/3", "z"]);
    let second = job(text, "test 2/3");
    assert_eq!(
        vars(&second),
        [("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")]
    );
    assert_eq!(second.script, ["t"]);
    assert_eq!(second.line, Some(3));
    // GitLab accepts 1 as well: one job, `test 1/1`.
    assert_eq!(names("test:\n  script: t\n  parallel: 1\n"), ["test 1/1"]);
}

/// The example of GitLab's merge request !39985 and its docs (`deploystacks`).
#[test]
fn a_matrix_makes_one_job_per_combination_named_by_its_values() {
    let text = r#"
deploystacks:
  stage: deploy
  script:
    - bin/deploy
  parallel:
    matrix:
      - PROVIDER: aws
        STACK:
          - monitoring
          - app1
          - app2
      - PROVIDER: ovh
        STACK: [monitoring, backup, app]
      - PROVIDER: [gcp, vultr]
        STACK: [data, processing]
"#;
    assert_eq!(
        names(text),
        [
            "deploystacks: [aws, monitoring]",
            "deploystacks: [aws, app1]",
            "deploystacks: [aws, app2]",
            "deploystacks: [ovh, monitoring]",
            "deploystacks: [ovh, backup]",
            "deploystacks: [ovh, app]",
            "deploystacks: [gcp, data]",
            "deploystacks: [gcp, processing]",
            "deploystacks: [vultr, data]",
            "deploystacks: [vultr, processing]",
        ]
    );
    let p = pipeline(text);
    let j = p.job("deploystacks: [gcp, processing]").unwrap();
    assert_eq!(
        vars(j),
        [
            ("CI_NODE_INDEX", "8"),
            ("CI_NODE_TOTAL", "10"),
            ("PROVIDER", "gcp"),
            ("STACK", "processing"),
        ]
    );
    assert_eq!(j.stage, "deploy");
}

#[test]
fn matrix_values_are_shown_as_written_and_numbers_as_text() {
    let text = r#"
test:
  script: t
  parallel:
    matrix:
      - OS: linux
        ARCH: [amd64, "arm/v7"]
        PY: [3, "3.10"]
      - NAME: "a, b: [c]"
"#;
    assert_eq!(
        names(text),
        [
            "test: [linux, amd64, 3]",
            "test: [linux, amd64, 3.10]",
            "test: [linux, arm/v7, 3]",
            "test: [linux, arm/v7, 3.10]",
            "test: [a, b: [c]]",
        ]
    );
    let p = pipeline(text);
    assert!(p.job("test: [linux, arm/v7, 3.10]").is_ok());
}

#[test]
fn matrix_variables_replace_the_jobs_and_the_globals() {
    let text = r#"
variables:
  OS: global
  KEEP: g
test:
  script: t
  variables:
    ARCH: job
    OWN: j
  parallel:
    matrix:
      - OS: linux
        ARCH: amd64
"#;
    let j = job(text, "test: [linux, amd64]");
    assert_eq!(
        vars(&j),
        [
            ("CI_NODE_INDEX", "1"),
            ("CI_NODE_TOTAL", "1"),
            ("OS", "linux"),
            ("KEEP", "g"),
            ("ARCH", "amd64"),
            ("OWN", "j"),
        ]
    );
}

#[test]
fn a_file_variable_named_like_a_node_variable_wins_as_in_gitlab() {
    let text = "test:\n  script: t\n  parallel: 2\n  variables:\n    CI_NODE_TOTAL: mine\n";
    let j = job(text, "test 2/2");
    assert_eq!(
        vars(&j),
        [("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "mine")]
    );
}

#[test]
fn parallel_comes_through_extends_and_hidden_jobs_are_not_expanded() {
    let text = ".base:\n  parallel: 2\n  script: t\njob:\n  extends: .base\n";
    assert_eq!(names(text), ["job 1/2", "job 2/2"]);
}

#[test]
fn limits_and_shapes_are_errors_naming_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("job:\n  script: t\n  parallel: 201\n", 3, "from 1 to 200"),
        ("job:\n  script: t\n  parallel: 0\n", 3, "from 1 to 200"),
        ("job:\n  script: t\n  parallel: 2.5\n", 3, "from 1 to 200"),
        (
            "job:\n  script: t\n  parallel: two\n",
            3,
            "a number of jobs or a mapping",
        ),
        (
            "job:\n  script: t\n  parallel:\n    matrix: []\n",
            3,
            "`matrix` makes no jobs",
        ),
        (
            "job:\n  script: t\n  parallel:\n    matrix:\n      - A: []\n",
            3,
            "makes no jobs",
        ),
        (
            "job:\n  script: t\n  parallel:\n    matrix: {A: x}\n",
            3,
            "must be a list of mappings",
        ),
        (
            "job:\n  script: t\n  parallel:\n    matrix:\n      - {}\n",
            3,
            "entry 1: needs at least one variable",
        ),
        (
            "job:\n  script: t\n  parallel:\n    matrix:\n      - A: [x, {b: c}]\n",
            3,
            "variable `A` must be a string, a whole number or a list of them, found a mapping",
        ),
        (
            "job:\n  script: t\n  parallel:\n    matrix:\n      - A: 1.5\n",
            3,
            "found a number (`1.5`); quote it",
        ),
        (
            "job:\n  script: t\n  parallel:\n    matrix:\n      - A: true\n",
            3,
            "found a boolean",
        ),
        (
            "job:\n  script: t\n  parallel:\n    number: 2\n",
            3,
            "unknown key `number`",
        ),
        ("job:\n  script: t\n  parallel: {}\n", 3, "needs `matrix:`"),
    ];
    for (text, line, fragment) in cases {
        let e = error(text);
        assert_eq!(e.line(), Some(*line), "{text}: {e}");
        let shown = e.to_string();
        assert!(shown.contains("job `job`: `parallel:`"), "{shown}");
        assert!(shown.contains(fragment), "{text}: {shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }
}

#[test]
fn at_most_two_hundred_jobs_across_the_whole_matrix() {
    let values = |n: usize| {
        (0..n)
            .map(|i| format!("v{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = |a: usize, b: usize| {
        format!(
            "job:\n  script: t\n  parallel:\n    matrix:\n      - A: [{}]\n        B: [{}]\n      - C: x\n",
            values(a),
            values(b)
        )
    };
    // 199 + 1.
    assert_eq!(pipeline(&text(199, 1)).jobs.len(), 200);
    let e = error(&text(20, 10));
    assert!(
        e.to_string()
            .contains("makes 201 jobs, more than GitLab's limit of 200"),
        "{e}"
    );
    // Products are counted without overflowing.
    let huge = format!(
        "job:\n  script: t\n  parallel:\n    matrix:\n      - {}\n",
        (0..40)
            .map(|i| format!("V{i}: [a, b, c, d, e, f, g, h]"))
            .collect::<Vec<_>>()
            .join("\n        ")
    );
    assert!(error(&huge)
        .to_string()
        .contains("more than GitLab's limit"));
}

#[test]
fn asking_for_the_parallel_job_by_its_own_name_lists_what_it_became() {
    let p = pipeline(
        "test:\n  script: t\n  parallel:\n    matrix:\n      - OS: [linux, mac]\n        ARCH: amd64\nlint:\n  script: l\n",
    );
    let shown = p.job("test").unwrap_err().to_string();
    assert!(
        shown.contains(
            "there is no job `test`; `parallel:` makes it into: `test: [linux, amd64]`, `test: [mac, amd64]`;"
        ),
        "{shown}"
    );
    // Spacing written differently finds the job it means.
    let shown = p.job("test: [linux,amd64]").unwrap_err().to_string();
    assert!(
        shown.contains("did you mean: `test: [linux, amd64]`"),
        "{shown}"
    );
    let numbered = pipeline("test:\n  script: t\n  parallel: 12\n");
    let shown = numbered.job("test").unwrap_err().to_string();
    assert!(shown.contains("`test 10/12` and 2 more"), "{shown}");
}
