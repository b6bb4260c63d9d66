//! What the user sees on a mistake: one line, `FILE[:LINE]: message; what to do`.

use super::{error, pipeline, FILE};

/// (case, YAML, expected line, fragments the message must contain)
type Case = (
    &'static str,
    &'static str,
    Option<usize>,
    &'static [&'static str],
);

const CASES: &[Case] = &[
    (
        "needs not a list",
        "build:\n  script: a\ntest:\n  script: b\n  needs: build\n",
        Some(5),
        &["job `test`: `needs:` must be a list of jobs, found `build`"],
    ),
    (
        "dependencies not a list",
        "test:\n  script: b\n  dependencies: {build: true}\n",
        Some(3),
        &["job `test`: `dependencies:` must be a list of strings"],
    ),
    (
        "service without a name",
        "job:\n  script: a\n  services:\n    - alias: db\n",
        Some(3),
        &["job `job`: `services:` has a service without a `name:` string"],
    ),
    (
        "services not a list",
        "job:\n  script: a\n  services: postgres\n",
        Some(3),
        &["`services:` must be a list of services"],
    ),
    (
        "malformed YAML",
        "job:\n  script: [echo\n  image: x\n",
        Some(3),
        &["invalid YAML", "line 3 column", "fix the YAML"],
    ),
    (
        "top-level list",
        "- build\n- test\n",
        Some(1),
        &["mapping of jobs and keywords", "a list"],
    ),
    ("empty file", "", None, &["is empty"]),
    (
        "only hidden jobs",
        "include: x.yml\n.t:\n  script: a\n",
        None,
        &["defines no jobs", "include:"],
    ),
    (
        "unknown parent",
        "job:\n  script: a\n  extends: .missing\n",
        Some(3),
        &["job `job`: extends `.missing`", "not defined"],
    ),
    (
        "extends cycle",
        "a:\n  extends: b\n  script: x\nb:\n  extends: c\nc:\n  extends: a\n",
        Some(2),
        &["circular `extends:`", "a -> b -> c -> a"],
    ),
    (
        "extends a list of non-strings",
        "job:\n  extends: [1]\n  script: x\n",
        Some(2),
        &["`extends:` must be a list of strings"],
    ),
    (
        "reference to a missing job",
        "job:\n  script:\n    - !reference [.nope, script]\n",
        Some(2),
        &[
            "`job:script`",
            "!reference [.nope, script]",
            "`.nope`",
            "not defined",
        ],
    ),
    (
        "reference to a missing key",
        ".t:\n  script: a\njob:\n  script: x\n  variables:\n    A: !reference [.t, variables, A]\n",
        Some(5),
        &["`job:variables`", "`.t` has no key `variables`"],
    ),
    (
        "reference cycle",
        "a:\n  script: !reference [b, script]\nb:\n  script: !reference [a, script]\n",
        Some(2),
        &["circular chain", "!reference [b, script]"],
    ),
    (
        "reference that is not a list",
        "job:\n  script: !reference job\n",
        Some(2),
        &["must be a list of names"],
    ),
    (
        "unknown tag",
        "job:\n  script: !shell echo\n",
        Some(2),
        &["`!shell`", "only `!reference`"],
    ),
    (
        "number in a script",
        "job:\n  script:\n    - echo ok\n    - 42\n",
        Some(2),
        &["job `job`", "`script:`", "a number (`42`)", "quote it"],
    ),
    (
        "mapping as a script line",
        "job:\n  after_script:\n    - echo: x\n  script: y\n",
        Some(2),
        &["`after_script:`", "a mapping"],
    ),
    (
        "typo in a job key",
        "build:\n  image: x\n  scirpt: make\n",
        Some(3),
        &["unknown key `scirpt`", "did you mean `script`?"],
    ),
    (
        "job without script",
        "build:\n  image: x\n",
        Some(1),
        &["job `build` has no `script:`"],
    ),
    (
        "job that is not a mapping",
        "stages: [build]\nbuild: make\n",
        Some(2),
        &["job `build` must be a mapping", "`make`"],
    ),
    (
        "stage not in stages",
        "stages: [build]\ntest:\n  script: x\n",
        Some(2),
        &["`stage:` is `test`, which is not one of the pipeline's stages (.pre, build, .post)"],
    ),
    (
        "image without name",
        "job:\n  script: x\n  image:\n    entrypoint: [sh]\n",
        Some(3),
        &["`image:` needs a `name:`"],
    ),
    (
        "variable with a list value",
        "variables:\n  A: [1, 2]\njob:\n  script: x\n",
        Some(1),
        &["variable `A` must be a string, a number"],
    ),
    (
        "unknown default key",
        "default:\n  scriptt: x\njob:\n  script: x\n",
        Some(1),
        &["`default:` has an unknown key `scriptt`"],
    ),
    (
        "inherit of an unknown default key",
        "job:\n  script: x\n  inherit:\n    default: [imag]\n",
        Some(3),
        &["`imag`", "not a `default:` key"],
    ),
];

#[test]
fn errors_name_the_file_the_line_and_what_to_do() {
    for (case, text, line, fragments) in CASES {
        let e = error(text);
        let shown = e.to_string();
        assert_eq!(e.line(), *line, "{case}: {shown}");
        let prefix = match line {
            Some(l) => format!("{FILE}:{l}: "),
            None => format!("{FILE}: "),
        };
        assert!(shown.starts_with(&prefix), "{case}: {shown}");
        assert!(!shown.contains('\n'), "{case}: one line: {shown}");
        for fragment in *fragments {
            assert!(
                shown.contains(fragment),
                "{case}: {shown:?} lacks {fragment:?}"
            );
        }
    }
}

#[test]
fn extends_deeper_than_eleven_levels_is_an_error() {
    let mut lines = vec![".p12: {script: [deep]}".to_string()];
    for level in (1..=11).rev() {
        lines.push(format!(".p{level}: {{extends: .p{}}}", level + 1));
    }
    lines.push("job: {extends: .p1}".into());
    // Parents before the job (each already extended when the job is read), then the reverse.
    for _ in 0..2 {
        let e = error(&lines.join("\n"));
        assert!(
            e.to_string().contains("deeper than GitLab's 11 levels"),
            "{e}"
        );
        lines.reverse();
    }
}

#[test]
fn references_nest_at_most_ten_levels() {
    let chain = |levels: usize| {
        let mut text = String::from(".r0: {script: [bottom]}\n");
        for n in 1..=levels {
            text.push_str(&format!(
                ".r{n}: {{script: !reference [.r{}, script]}}\n",
                n - 1
            ));
        }
        text.push_str(&format!(
            "job: {{script: !reference [.r{levels}, script]}}\n"
        ));
        text
    };
    // The job's reference plus nine below it: ten levels.
    assert_eq!(pipeline(&chain(9)).job("job").unwrap().script, ["bottom"]);
    assert!(error(&chain(10))
        .to_string()
        .contains("deeper than GitLab's 10 levels"));
}

#[test]
fn unknown_job_lists_the_jobs_and_how_to_see_them() {
    let p = pipeline("build:\n  script: a\ntest:\n  script: b\n");
    let shown = p.job("deploy").unwrap_err().to_string();
    assert_eq!(
        shown,
        ".gitlab-ci.yml: there is no job `deploy`; jobs: `build`, `test`; \
         run `executor run` with no job to list them"
    );
    let hidden = p.job(".template").unwrap_err().to_string();
    assert!(hidden.contains("hidden jobs"), "{hidden}");
}
