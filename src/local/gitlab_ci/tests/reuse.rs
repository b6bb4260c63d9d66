//! Reuse: `extends:`, YAML anchors and `<<` merge keys, `!reference` tags and `inherit:`.

use super::{image, job, pipeline, vars};

#[test]
fn extends_one_parent_deep_merges_mappings_and_replaces_lists() {
    let text = r#"
.base:
  image: alpine
  variables:
    A: base-a
    B: base-b
  script: [echo base]
  tags: [docker]
job:
  extends: .base
  variables:
    B: job-b
    C: job-c
  script: [echo job]
"#;
    let j = job(text, "job");
    assert_eq!(j.image, image("alpine"));
    assert_eq!(vars(&j), [("A", "base-a"), ("B", "job-b"), ("C", "job-c")]);
    assert_eq!(j.script, ["echo job"]);
    assert_eq!(j.ignored, ["tags"]);
}

#[test]
fn extends_a_list_merges_parents_in_order_then_the_job() {
    let text = r#"
.one:
  image: one
  variables: {X: one, ONLY_ONE: "1"}
  before_script: [one]
.two:
  image: two
  variables: {X: two}
real-parent:
  script: [parent]
  after_script: [parent after]
job:
  extends: [.one, .two, real-parent]
  variables: {Y: job}
"#;
    let j = job(text, "job");
    assert_eq!(j.image, image("two"));
    assert_eq!(vars(&j), [("X", "two"), ("ONLY_ONE", "1"), ("Y", "job")]);
    assert_eq!(j.before_script, ["one"]);
    assert_eq!(j.script, ["parent"]);
    assert_eq!(j.after_script, ["parent after"]);
    // A real job used as a parent is still a job of its own.
    assert_eq!(pipeline(text).jobs.len(), 2);
}

#[test]
fn extends_several_levels_and_eleven_is_allowed() {
    let text = r#"
.a: {variables: {LEVEL: a, FROM_A: "yes"}, script: [a]}
.b: {extends: .a, variables: {LEVEL: b}}
.c: {extends: .b, image: c}
job: {extends: .c, variables: {LEVEL: job}}
"#;
    let j = job(text, "job");
    assert_eq!(vars(&j), [("LEVEL", "job"), ("FROM_A", "yes")]);
    assert_eq!((j.image, j.script), (image("c"), vec!["a".to_string()]));

    // job -> .p1 -> ... -> .p11: eleven levels, GitLab's maximum, whatever the file order.
    let mut lines = vec![".p11: {script: [deep]}".to_string()];
    for level in (1..=10).rev() {
        lines.push(format!(".p{level}: {{extends: .p{}}}", level + 1));
    }
    lines.push("job: {extends: .p1}".into());
    assert_eq!(job(&lines.join("\n"), "job").script, ["deep"]);
    lines.reverse();
    assert_eq!(job(&lines.join("\n"), "job").script, ["deep"]);
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let text = r#"
.defaults: &defaults
  image: python:3.12
  variables: &vars
    PIP_CACHE_DIR: .pip
.setup: &setup
  - pip install -r requirements.txt
test:
  <<: *defaults
  variables:
    <<: *vars
    EXTRA: "1"
  script:
    - *setup
    - pytest
"#;
    let j = job(text, "test");
    assert_eq!(j.image, image("python:3.12"));
    // Psych merges where `<<` is written: the merged keys come first.
    assert_eq!(vars(&j), [("PIP_CACHE_DIR", ".pip"), ("EXTRA", "1")]);
    assert_eq!(j.script, ["pip install -r requirements.txt", "pytest"]);
}

#[test]
fn references_in_scripts_variables_and_image() {
    let text = r#"
.setup:
  script:
    - echo setup one
    - echo setup two
.vars:
  variables:
    URL: https://example.com
    PORT: 8080
.img:
  image: {name: golang:1.23, entrypoint: [""]}
job:
  image: !reference [.img, image]
  variables:
    SERVICE_URL: !reference [.vars, variables, URL]
    LOCAL: here
  script:
    - !reference [.setup, script]
    - echo main
other:
  variables: !reference [.vars, variables]
  script: !reference [.setup, script]
"#;
    let j = job(text, "job");
    assert_eq!(j.script, ["echo setup one", "echo setup two", "echo main"]);
    assert_eq!(
        vars(&j),
        [("SERVICE_URL", "https://example.com"), ("LOCAL", "here")]
    );
    assert_eq!(j.image.unwrap().name, "golang:1.23");
    let other = job(text, "other");
    assert_eq!(
        vars(&other),
        [("URL", "https://example.com"), ("PORT", "8080")]
    );
    assert_eq!(other.script.len(), 2);
}

#[test]
fn references_see_extends_and_nest() {
    // GitLab applies `extends:` before resolving references, and a referenced value may
    // itself hold references.
    let text = r#"
.base:
  before_script: [echo from base]
.child:
  extends: .base
.nested:
  script:
    - !reference [.child, before_script]
    - echo nested
job:
  script:
    - !reference [.nested, script]
    - echo job
"#;
    let j = job(text, "job");
    assert_eq!(j.script, ["echo from base", "echo nested", "echo job"]);
}

#[test]
fn inherit_default_and_variables() {
    let text = r#"
variables: {G1: one, G2: two}
default:
  image: alpine
  before_script: [echo default]
  cache: {paths: [c/]}
none:
  inherit: {default: false, variables: false}
  script: x
some:
  inherit:
    default: [before_script]
    variables: [G2]
  script: x
all:
  inherit: {default: true, variables: true}
  script: x
"#;
    let none = job(text, "none");
    assert_eq!(
        (none.image, none.before_script.len(), none.variables.len()),
        (None, 0, 0)
    );
    assert!(none.ignored.is_empty());
    let some = job(text, "some");
    assert_eq!(
        (&some.image, &some.before_script[..]),
        (&None, &["echo default".to_string()][..])
    );
    assert_eq!(vars(&some), [("G2", "two")]);
    assert!(some.ignored.is_empty());
    let all = job(text, "all");
    assert_eq!(all.image, image("alpine"));
    assert_eq!(vars(&all), [("G1", "one"), ("G2", "two")]);
    assert!(all.ignored.is_empty());
    assert_eq!((all.cache.len(), some.cache.len()), (1, 0));
}
