//! `rules:` on include entries decided by [`IncludeRules`] against a run's facts: which files a
//! ref gets, the entries left out with why, nested includes under a skipped parent, and the
//! rules GitLab refuses, each a one-line error at the entry's line.

use std::path::Path;

use super::super::{Hooks, IncludeRules, RuleFacts};
use super::*;
use crate::local::gitlab_ci::rules::Changes;
use crate::local::test_vars::pairs;

/// Every file of the test projects: `a.yml` holds job `a`; the rest are for `exists:`.
const FILES: &[(&str, &str)] = &[
    ("a.yml", "a: {script: a}\n"),
    ("Dockerfile", "FROM alpine\n"),
    ("docker/conf/site.conf", "x\n"),
];

/// The run's facts: `vars` are its predefined variables, `overrides` the `--var`s.
#[derive(Clone)]
struct Run<'a> {
    vars: &'a [(&'a str, &'a str)],
    overrides: &'a [(&'a str, &'a str)],
    changes: Changes,
}

const BRANCH: &[(&str, &str)] = &[
    ("CI_COMMIT_BRANCH", "feature/x"),
    ("CI_COMMIT_REF_NAME", "feature/x"),
    ("CI_DEFAULT_BRANCH", "main"),
    ("CI_PIPELINE_SOURCE", "push"),
    // A job's own predefined variable, which include rules never see.
    ("CI_JOB_NAME", ""),
];
const MAIN_BRANCH: &[(&str, &str)] = &[
    ("CI_COMMIT_BRANCH", "main"),
    ("CI_COMMIT_REF_NAME", "main"),
    ("CI_DEFAULT_BRANCH", "main"),
    ("CI_PIPELINE_SOURCE", "push"),
];
const TAG: &[(&str, &str)] = &[
    ("CI_COMMIT_TAG", "v1.2.0"),
    ("CI_COMMIT_REF_NAME", "v1.2.0"),
    ("CI_DEFAULT_BRANCH", "main"),
    ("CI_PIPELINE_SOURCE", "push"),
];

fn on(vars: &'static [(&'static str, &'static str)]) -> Run<'static> {
    Run {
        vars,
        overrides: &[],
        changes: Changes::Unknown,
    }
}

/// The relative files and folders under `root`, as `RefFacts` lists a checkout's.
fn paths(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for file in super::super::glob::files(root, "**", &mut super::super::glob::Work::new()).unwrap()
    {
        let mut dir = Path::new(&file).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            found.push(d.to_string_lossy().into_owned());
            dir = d.parent();
        }
        found.push(file);
    }
    found.sort();
    found.dedup();
    found
}

fn facts(root: &Path, run: Run) -> RuleFacts {
    let changes = run.changes;
    RuleFacts {
        root: root.to_path_buf(),
        predefined: pairs(run.vars),
        overrides: pairs(run.overrides),
        paths: paths(root),
        paths_of: Box::new(paths),
        changes: Box::new(move |compare_to| match compare_to {
            Some("no-such-ref") => Changes::BadRef("git knows no commit `no-such-ref`".into()),
            _ => changes.clone(),
        }),
    }
}

/// Resolve `main` in `dir` with the rules decided for `run`.
fn resolved(dir: &Path, main: &str, run: Run) -> Result<Merged, Error> {
    let mut options = options();
    options.hooks = Box::new(IncludeRules::new(facts(dir, run)));
    super::run(dir, main, &options)
}

/// `main` including `a.yml` under `rules`, written as YAML at the entry's indentation.
fn with_rules(rules: &str) -> String {
    format!("include:\n  - local: a.yml\n    rules:\n{rules}own: {{script: o}}\n")
}

#[test]
fn rules_choose_the_includes_this_ref_gets() {
    // (rules, the run, whether `a.yml` is taken, the decision's line)
    let cases: Vec<(&str, Run, bool, &str)> = vec![
        (
            "      - if: $CI_COMMIT_BRANCH == \"main\"\n",
            on(MAIN_BRANCH),
            true,
            "included by rules[1]: if: $CI_COMMIT_BRANCH == \"main\"",
        ),
        (
            "      - if: $CI_COMMIT_BRANCH == \"main\"\n",
            on(BRANCH),
            false,
            "excluded: no rule matched (1 rule)",
        ),
        (
            "      - if: $CI_COMMIT_TAG =~ /^v\\d/\n",
            on(TAG),
            true,
            "included by rules[1]: if: $CI_COMMIT_TAG =~ /^v\\d/",
        ),
        (
            "      - if: $CI_COMMIT_TAG\n",
            on(BRANCH),
            false,
            "excluded: no rule matched (1 rule)",
        ),
        (
            "      - if: $INCLUDE_BUILDS == \"true\"\n",
            Run {
                vars: BRANCH,
                overrides: &[("INCLUDE_BUILDS", "true")],
                changes: Changes::Unknown,
            },
            true,
            "included by rules[1]: if: $INCLUDE_BUILDS == \"true\"",
        ),
        (
            "      - if: $INCLUDE_BUILDS == \"true\"\n",
            on(BRANCH),
            false,
            "excluded: no rule matched (1 rule)",
        ),
        (
            "      - if: $CI_PIPELINE_SOURCE == \"schedule\"\n",
            Run {
                vars: BRANCH,
                overrides: &[("CI_PIPELINE_SOURCE", "schedule")],
                changes: Changes::Unknown,
            },
            true,
            "included by rules[1]: if: $CI_PIPELINE_SOURCE == \"schedule\"",
        ),
        // `CI_JOB_NAME` is a job's: undefined (null) here, though the run's facts hold it.
        (
            "      - if: $CI_JOB_NAME == null\n",
            on(BRANCH),
            true,
            "included by rules[1]: if: $CI_JOB_NAME == null",
        ),
        (
            "      - exists: [Dockerfile]\n",
            on(BRANCH),
            true,
            "included by rules[1]: exists: Dockerfile",
        ),
        (
            "      - exists: ['docker/**/*.conf']\n",
            on(BRANCH),
            true,
            "included by rules[1]: exists: docker/**/*.conf",
        ),
        (
            "      - exists: [missing.txt, '*.md']\n",
            on(BRANCH),
            false,
            "excluded: no rule matched (1 rule)",
        ),
        (
            "      - changes: ['src/**/*']\n",
            Run {
                vars: BRANCH,
                overrides: &[],
                changes: Changes::Known(vec!["src/lib/main.rs".into()]),
            },
            true,
            "included by rules[1]: changes: src/**/*",
        ),
        (
            "      - changes: ['src/**/*']\n",
            Run {
                vars: BRANCH,
                overrides: &[],
                changes: Changes::Known(vec!["README.md".into()]),
            },
            false,
            "excluded: no rule matched (1 rule)",
        ),
        (
            "      - if: $CI_COMMIT_BRANCH\n        when: never\n      - when: always\n",
            on(BRANCH),
            false,
            "excluded by rules[1]: if: $CI_COMMIT_BRANCH (when: never)",
        ),
        (
            "      - if: $CI_COMMIT_BRANCH\n        when: never\n      - when: always\n",
            on(TAG),
            true,
            "included by rules[2] (when: always)",
        ),
        (
            "      - if: $CI_COMMIT_TAG\n      - exists: [Dockerfile]\n        when: always\n",
            on(BRANCH),
            true,
            "included by rules[2]: exists: Dockerfile (when: always)",
        ),
        // A null `rules:` is GitLab's "not written".
        ("      null\n", on(BRANCH), true, ""),
    ];
    let dir = project(FILES);
    for (rules, run, taken, why) in cases {
        let main = with_rules(rules);
        // The hook's own answer, with the decision's line also for a taken entry...
        let value = load_value(&format!("x:\n{rules}")).unwrap()["x"].clone();
        let hook = IncludeRules::new(facts(dir.path(), run.clone()));
        if !value.is_null() {
            let verdict = hook.include_passes(&value, Some(dir.path())).unwrap();
            assert_eq!(
                (verdict.taken, verdict.why.as_str()),
                (taken, why),
                "{main}"
            );
        }
        // ...and what the file becomes: the entry's jobs, or the entry kept with why.
        let merged = resolved(dir.path(), &main, run).unwrap_or_else(|e| panic!("{e}\n{main}"));
        let want: &[&str] = if taken { &["a", "own"] } else { &["own"] };
        assert_eq!(keys(&merged), want, "{main}");
        let skipped: Vec<String> = merged.skipped.iter().map(|s| s.to_string()).collect();
        match taken {
            true => assert!(skipped.is_empty(), "{main}"),
            false => assert_eq!(
                skipped,
                [format!("include `a.yml` (.gitlab-ci.yml:2): {why}")],
                "{main}"
            ),
        }
    }
}

/// A file whose entry is left out is never read: what it would include is neither taken nor
/// listed as skipped. A nested entry left out names the file it is in.
#[test]
fn nested_includes_under_a_skipped_parent_are_not_read() {
    let files = [
        (
            "ci/deploy.yml",
            "include:\n  - local: ci/deploy-jobs.yml\ndeploy-base: {script: d}\n",
        ),
        ("ci/deploy-jobs.yml", "deploy: {script: d}\n"),
        (
            "ci/build.yml",
            "include:\n  - local: ci/release.yml\n    rules:\n      - if: $CI_COMMIT_TAG\nbuild: {script: b}\n",
        ),
        ("ci/release.yml", "release: {script: r}\n"),
    ];
    let dir = project(&files);
    let main = "include:\n  - local: ci/build.yml\n  - local: ci/deploy.yml\n    rules:\n      - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\nown: {script: o}\n";

    let merged = resolved(dir.path(), main, on(BRANCH)).unwrap();
    assert_eq!(keys(&merged), ["build", "own"]);
    let skipped: Vec<String> = merged.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        skipped,
        [
            "include `ci/release.yml` (ci/build.yml:2): excluded: no rule matched (1 rule)",
            "include `ci/deploy.yml` (.gitlab-ci.yml:3): excluded: no rule matched (1 rule)",
        ]
    );
    let read: Vec<&str> = merged.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(read, [".gitlab-ci.yml", "ci/build.yml"]);

    let merged = resolved(dir.path(), main, on(MAIN_BRANCH)).unwrap();
    assert_eq!(keys(&merged), ["build", "deploy", "deploy-base", "own"]);
    assert_eq!(merged.skipped.len(), 1);

    let merged = resolved(dir.path(), main, on(TAG)).unwrap();
    assert_eq!(keys(&merged), ["release", "build", "own"]);
}

/// GitLab's include docs: a global `variables:` section cannot be used with `include`, so a
/// file's own variables (the main file's, or an included file's before its own includes) do
/// not make a rule hold; the same name as a project variable (`--var`) does.
#[test]
fn global_variables_of_the_files_are_not_seen_by_include_rules() {
    let files = [
        ("a.yml", "a: {script: a}\n"),
        (
            "nested.yml",
            "variables:\n  NESTED: \"yes\"\ninclude:\n  - local: a.yml\n    rules:\n      - if: $NESTED == \"yes\"\nn: {script: n}\n",
        ),
    ];
    let dir = project(&files);
    let main = "variables:\n  INCLUDE_A: \"true\"\ninclude:\n  - local: a.yml\n    rules:\n      - if: $INCLUDE_A == \"true\"\n  - local: nested.yml\nown: {script: o}\n";
    let merged = resolved(dir.path(), main, on(BRANCH)).unwrap();
    assert!(!keys(&merged).contains(&"a"), "{:?}", keys(&merged));
    assert_eq!(merged.skipped.len(), 2);

    let run = Run {
        vars: BRANCH,
        overrides: &[("INCLUDE_A", "true"), ("NESTED", "yes")],
        changes: Changes::Unknown,
    };
    let merged = resolved(dir.path(), main, run).unwrap();
    assert!(keys(&merged).contains(&"a"));
    assert!(merged.skipped.is_empty());
}

/// What the rules could not check as GitLab would is said once, naming the file and entry:
/// no change set to compare with (`changes:` then counts as matched, as on GitLab).
#[test]
fn unknown_changes_count_as_matched_with_a_note() {
    let dir = project(FILES);
    let main = with_rules("      - changes: [Dockerfile]\n");
    let merged = resolved(dir.path(), &main, on(BRANCH)).unwrap();
    assert_eq!(keys(&merged), ["a", "own"]);
    assert_eq!(merged.warnings.len(), 1, "{:?}", merged.warnings);
    let note = &merged.warnings[0];
    assert!(
        note.starts_with(".gitlab-ci.yml: include `a.yml`: "),
        "{note}"
    );
    assert!(note.contains("counts as matched"), "{note}");
}

/// `exists:` in a file of another project looks at that project's files, as GitLab does: a
/// clone named in `local.projects` here.
#[test]
fn exists_in_another_projects_file_looks_at_that_project() {
    let clone = project(&[
        (
            "templates/ci.yml",
            "include:\n  - local: /templates/docker.yml\n    rules:\n      - exists: [Dockerfile]\nfrom-clone: {script: c}\n",
        ),
        ("templates/docker.yml", "docker: {script: d}\n"),
    ]);
    let main = "include:\n  - project: group/tools\n    file: templates/ci.yml\n";
    let run_in = |dir: &Path| {
        let mut options = options();
        options
            .projects
            .insert("group/tools".into(), clone.path().to_path_buf());
        options.hooks = Box::new(IncludeRules::new(facts(dir, on(BRANCH))));
        super::run(dir, main, &options).unwrap()
    };
    // This project has a Dockerfile; the clone has none: not taken.
    let here = project(FILES);
    let merged = run_in(here.path());
    assert_eq!(keys(&merged), ["from-clone"]);
    assert_eq!(merged.skipped[0].file, "group/tools:templates/ci.yml");
    // The clone has one; this project has none: taken.
    std::fs::write(clone.path().join("Dockerfile"), "FROM alpine\n").unwrap();
    let merged = run_in(project(&[]).path());
    assert_eq!(keys(&merged), ["docker", "from-clone"]);
}

/// What GitLab refuses in include rules fails the run in one line: the file, the entry's line,
/// what is wrong and what to do.
#[test]
fn refused_rules_are_one_line_errors_at_the_entry() {
    let cases = [
        (
            "      - if: $A ==\n",
            "`rules[1]` has `if:` with an invalid expression `$A ==` at column",
        ),
        (
            "      - if: ${A} == \"x\"\n",
            "`rules[1]` has `if:` with an invalid expression",
        ),
        (
            "      - if: $A\n        allow_failure: true\n",
            "`rules[1]` has the key `allow_failure`, which include rules do not take; use only `if`, `exists`, `changes`, `when`",
        ),
        (
            "      - when: manual\n",
            "`rules[1]` has `when:` `manual`; an include is either taken or not, so use `when: always` or `when: never`",
        ),
        (
            "      - if: $A\n      - when: on_success\n",
            "`rules[2]` has `when:` `on_success`;",
        ),
        (
            "      if: $A\n",
            "must be a list of rules such as `- if: $CI_COMMIT_TAG`",
        ),
        (
            "      - exists: {project: group/x}\n",
            "`rules[1]` has `exists:` without `paths:`",
        ),
        (
            "      - !reference [.rules, rules]\n",
            "`rules[1]` holds a `!reference`",
        ),
        (
            "      - changes:\n          paths: [a]\n          compare_to: no-such-ref\n",
            "rules[1]: changes: a cannot be evaluated: git knows no commit `no-such-ref`",
        ),
    ];
    let dir = project(FILES);
    for (rules, want) in cases {
        let main = with_rules(rules);
        let e = resolved(dir.path(), &main, on(BRANCH)).unwrap_err();
        assert_eq!((e.file(), e.line()), (".gitlab-ci.yml", Some(2)), "{e}");
        let prefix = "`rules:` of include `a.yml`: ";
        assert!(
            e.message().starts_with(&format!("{prefix}{want}")),
            "{e}\nwanted {prefix}{want}"
        );
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
