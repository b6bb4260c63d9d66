//! Keys written twice, read as GitLab's Ruby loader reads them: the last wins, with a warning
//! naming both lines; two `<<` merges in one mapping both apply.

use super::{job, pipeline, vars};

/// gitlab-ci-local's `duplicated-keys` case: the top-level `variables:` is written twice, and
/// the anchor of the overwritten one is still usable.
#[test]
fn the_last_of_repeated_keys_wins_and_anchors_still_resolve() {
    let text = r#"variables: &foo
  FOO: "1"

variables: &bar
  BAR: "2"

duplicated-keys:
  script:
    - echo "$FOO"
  variables:
    <<: *bar

anchor still referenced:
  script:
    - echo "$FOO"
  variables:
    <<: *foo

overwritten:
  script:
    - echo "$FOO"
"#;
    let p = pipeline(text);
    assert_eq!(vars(p.job("duplicated-keys").unwrap()), [("BAR", "2")]);
    assert_eq!(
        vars(p.job("anchor still referenced").unwrap()),
        [("BAR", "2"), ("FOO", "1")]
    );
    assert_eq!(vars(p.job("overwritten").unwrap()), [("BAR", "2")]);
    assert_eq!(
        p.warnings,
        [".gitlab-ci.yml:4: `variables` is set again (first on line 1); GitLab keeps the last value"]
    );
}

#[test]
fn a_repeated_job_keeps_its_first_place_and_its_last_body() {
    let text = "job:\n  script: a\nother:\n  script: o\njob:\n  script: b\n  image: x\n";
    let p = pipeline(text);
    let names: Vec<_> = p.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["job", "other"]);
    assert_eq!(p.jobs[0].script, ["b"]);
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].starts_with(".gitlab-ci.yml:5: `job` is set again (first on line 1)"));
    // Keys inside a job too.
    let p = pipeline("job:\n  script: a\n  script: b\n");
    assert_eq!(p.jobs[0].script, ["b"]);
    assert!(p.warnings[0].starts_with(".gitlab-ci.yml:3: `script` is set again (first on line 2)"));
}

/// GitLab's Auto-DevOps template writes two `<<` keys in one mapping: Psych applies each in
/// turn, a later merge replacing what an earlier one set, and keys written after a merge
/// replacing what it brought.
#[test]
fn two_merge_keys_both_apply_in_order() {
    let text = r#".a: &a
  image: a
  variables: {A: a}
.b: &b
  image: b
  stage: build
job:
  <<: *a
  <<: *b
  script: x
"#;
    let p = pipeline(text);
    let j = p.job("job").unwrap();
    assert_eq!(j.image.as_ref().unwrap().name, "b");
    assert_eq!(j.stage, "build");
    assert_eq!(vars(j), [("A", "a")]);
    assert_eq!(
        p.warnings,
        [".gitlab-ci.yml:9: a second `<<` merge in one mapping (the first is on line 8); GitLab applies both in turn, the later winning where they overlap"]
    );
    // A merge replaces keys written before it, as Psych's `merge!` does.
    let j = job(
        ".a: &a\n  script: merged\njob:\n  script: own\n  <<: *a\n",
        "job",
    );
    assert_eq!(j.script, ["merged"]);
    let j = job(
        ".a: &a\n  script: merged\njob:\n  <<: *a\n  script: own\n",
        "job",
    );
    assert_eq!(j.script, ["own"]);
}

#[test]
fn a_file_with_no_repeated_keys_has_no_warnings() {
    assert!(pipeline("a:\n  script: x\nb:\n  script: x\n")
        .warnings
        .is_empty());
}
