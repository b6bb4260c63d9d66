//! Nested includes: GitLab's order, its limits, cycles named by their chain, and the hooks.

use std::path::Path;

use super::super::{Hooks, Verdict};
use super::*;

/// GitLab's documented example ("Use nested includes"), three deep.
#[test]
fn nested_includes_merge_first_recursively() {
    let files = [
        (
            ".gitlab-ci/another-config.yml",
            "include:\n  - local: /.gitlab-ci/config-defaults.yml\nvariables:\n  FROM: another\n",
        ),
        (
            ".gitlab-ci/config-defaults.yml",
            "default:\n  after_script:\n    - echo \"Job complete.\"\nvariables:\n  FROM: defaults\n  DEEP: yes\n",
        ),
    ];
    let main = "include:\n  - local: /.gitlab-ci/another-config.yml\njob:\n  script: x\n";
    let merged = merged(&files, main).unwrap();
    let want = "default:\n  after_script:\n    - echo \"Job complete.\"\nvariables:\n  FROM: another\n  DEEP: yes\njob:\n  script: x\n";
    assert_eq!(merged.config, mapping(want));
    assert_eq!(keys(&merged), ["default", "variables", "job"]);
    assert_eq!(merged.origins["variables"], [2, 1]);
    let parents: Vec<(usize, usize)> = merged
        .includes
        .iter()
        .map(|i| (i.parent, i.source))
        .collect();
    assert_eq!(parents, [(0, 1), (1, 2)]);
}

#[test]
fn cycles_are_errors_naming_the_chain() {
    type Files<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Files, &str, &str); 3] = [
        (
            &[("a.yml", "include: b.yml\n"), ("b.yml", "include: a.yml\n")],
            "include: a.yml\n",
            "include `a.yml` includes itself: .gitlab-ci.yml -> a.yml -> b.yml -> a.yml",
        ),
        (
            &[("a.yml", "include: a.yml\n")],
            "include: a.yml\n",
            "include `a.yml` includes itself: .gitlab-ci.yml -> a.yml -> a.yml",
        ),
        (
            &[],
            "include: ./.gitlab-ci.yml\njob:\n  script: x\n",
            "include `.gitlab-ci.yml` includes itself: .gitlab-ci.yml -> .gitlab-ci.yml",
        ),
    ];
    for (files, main, want) in cases {
        let e = merged(files, main).unwrap_err();
        assert!(e.message().starts_with(want), "{e}");
    }
    // The error is in the file whose include closes the loop, at that include's line.
    let files = [
        ("a.yml", "job:\n  script: x\ninclude:\n  - local: b.yml\n"),
        ("b.yml", "include: a.yml\n"),
    ];
    let e = merged(&files, "include: a.yml\n").unwrap_err();
    assert_eq!((e.file(), e.line()), ("b.yml", Some(1)), "{e}");
}

#[test]
fn the_same_file_in_two_branches_is_not_a_cycle() {
    let files = [
        ("a.yml", "include: common.yml\na: {script: a}\n"),
        ("b.yml", "include: common.yml\nb: {script: b}\n"),
        ("common.yml", "common: {script: c}\n"),
    ];
    let merged = merged(&files, "include: [a.yml, b.yml]\n").unwrap();
    assert_eq!(keys(&merged), ["common", "a", "b"]);
}

/// A chain of `n` files, each including the next.
fn chain(n: usize) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| {
            let next = if i < n {
                format!("include: f{}.yml\n", i + 1)
            } else {
                String::new()
            };
            (
                format!("f{i}.yml"),
                format!("{next}job{i}: {{script: x}}\n"),
            )
        })
        .collect()
}

#[test]
fn depth_and_count_limits_name_the_chain() {
    let files = chain(5);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = project(&files);
    let cases = [
        (4, 150, Some("includes nest more than 4 files deep: .gitlab-ci.yml -> f1.yml -> f2.yml -> f3.yml -> f4.yml -> f5.yml")),
        (5, 150, None),
        (100, 4, Some("include `f5.yml` is one more than GitLab's limit of 4 included files")),
        (100, 5, None),
    ];
    for (depth, count, want) in cases {
        let mut options = options();
        options.max_depth = depth;
        options.max_includes = count;
        let result = run(dir.path(), "include: f1.yml\n", &options);
        match want {
            Some(want) => {
                let e = result.unwrap_err();
                assert!(e.message().starts_with(want), "{e}");
                assert_eq!(e.file(), "f4.yml");
            }
            None => assert_eq!(result.unwrap().includes.len(), 5),
        }
    }
    // The limits a run has: GitLab's 150 files, and a file included again counts again.
    let defaults = Options::new(".gitlab-ci.yml");
    assert_eq!((defaults.max_includes, defaults.max_depth), (150, 100));
    let dir = project(&[("same.yml", "job: {script: x}\n")]);
    let mut options = options();
    options.max_includes = 2;
    let twice = "include: [same.yml, same.yml]\n";
    assert!(run(dir.path(), twice, &options).is_ok());
    let thrice = "include: [same.yml, same.yml, same.yml]\n";
    let e = run(dir.path(), thrice, &options).unwrap_err();
    assert!(
        e.message().contains("GitLab's limit of 2 included files"),
        "{e}"
    );
}

#[test]
fn repeated_includes_count_against_gitlab_limit() {
    let files = [("a.yml", "a: {script: a}\n")];
    let main = format!("include:\n{}", "  - a.yml\n".repeat(151));
    let e = merged(&files, &main).unwrap_err();
    assert!(e.message().contains("limit of 150 included files"), "{e}");
    let main = format!("include:\n{}", "  - a.yml\n".repeat(150));
    assert_eq!(merged(&files, &main).unwrap().includes.len(), 150);
}

#[test]
fn long_chains_are_shortened_in_messages() {
    let files = chain(12);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = project(&files);
    let mut options = options();
    options.max_depth = 10;
    let e = run(dir.path(), "include: f1.yml\n", &options).unwrap_err();
    assert!(
        e.message().contains(
            ".gitlab-ci.yml -> f1.yml -> f2.yml -> (6 more) -> f9.yml -> f10.yml -> f11.yml"
        ),
        "{e}"
    );
}

/// Hooks that take an include only when its rules say `if: yes`.
struct Hooked;

impl Hooks for Hooked {
    fn include_passes(&self, rules: &Value, root: Option<&Path>) -> Result<Verdict, String> {
        assert!(root.is_some());
        match rules[0]["if"].as_str() {
            Some("yes") => Ok(Verdict::taken("yes")),
            Some("no") => Ok(Verdict {
                taken: false,
                why: "said no".into(),
                notes: vec!["a note".into()],
            }),
            _ => Err("cannot read this rule".into()),
        }
    }
}

#[test]
fn rules_go_through_the_hooks_and_inputs_fill_spec_headers() {
    let files = [
        ("a.yml", "a: {script: a}\n"),
        ("b.yml", "b: {script: b}\n"),
        (
            "t.yml",
            "spec:\n  inputs:\n    name:\n---\n$[[ inputs.name ]]: {script: t}\n",
        ),
        (
            "bad.yml",
            "spec:\n  inputs:\n    name:\n---\nx: {script: x}\n",
        ),
    ];
    let dir = project(&files);
    let mut options = options();
    options.hooks = Box::new(Hooked);
    let main = "include:\n  - local: a.yml\n    rules: [{if: 'yes'}]\n  - local: b.yml\n    rules: [{if: 'no'}]\n  - local: t.yml\n    inputs: {name: named}\n";
    let merged = run(dir.path(), main, &options).unwrap();
    assert_eq!(keys(&merged), ["a", "named"]);
    // The entry left out is kept with why, at its line; the hook's notes become warnings.
    let skipped: Vec<String> = merged.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(skipped, ["include `b.yml` (.gitlab-ci.yml:4): said no"]);
    assert_eq!(merged.warnings, [".gitlab-ci.yml: include `b.yml`: a note"]);
    assert_eq!(
        merged.includes[0].rules,
        Some(load_value("[{if: 'yes'}]").unwrap())
    );
    assert_eq!(
        merged.includes[1].inputs,
        Some(load_value("{name: named}").unwrap())
    );

    let e = run(
        dir.path(),
        "include:\n  - local: a.yml\n    rules: [{if: x}]\n",
        &options,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        ".gitlab-ci.yml:2: `rules:` of include `a.yml`: cannot read this rule"
    );
    let e = run(dir.path(), "include: bad.yml\n", &options).unwrap_err();
    // A required input the include does not give.
    assert!(e.to_string().starts_with("bad.yml"), "{e}");
    assert!(e.to_string().contains("name"), "{e}");
}

#[test]
fn by_default_includes_with_rules_are_taken_and_their_rules_kept() {
    let files = [("a.yml", "a: {script: a}\n")];
    let main =
        "include:\n  - local: a.yml\n    rules:\n      - if: $CI_COMMIT_BRANCH == \"main\"\n";
    let merged = merged(&files, main).unwrap();
    assert_eq!(keys(&merged), ["a"]);
    assert!(merged.includes[0].rules.is_some());
}
