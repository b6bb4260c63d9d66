//! Every keyword is acted on or named as ignored with its reason, and `docs/local-runs.md`
//! says which, row for row with the code's tables.

use std::collections::BTreeMap;

use super::super::artifacts::{ARTIFACTS_KEYS, CACHE_KEYS, DOTENV};
use super::super::keywords::{
    why_ignored, IGNORED_JOB_KEYS, IGNORED_SUB_KEYS, RESERVED, USED_JOB_KEYS,
};
use super::super::values::{IMAGE_KEYS, SERVICE_KEYS, VARIABLE_KEYS};
use super::{error, pipeline};

const DOCS: &str = include_str!("../../../../docs/local-runs.md");
/// The heading of the section whose table lists every keyword.
const SECTION: &str = "### Every keyword and what a local run does with it";

/// What the code does with a keyword: `None` for acted on, else the reason it is ignored.
type Status = Option<&'static str>;

/// Every keyword the code knows, from its own tables: top-level and job keys, the `spec:`
/// header, and the parts of the keywords whose keys it checks one by one.
fn known() -> BTreeMap<String, Status> {
    let mut known: BTreeMap<String, Status> = BTreeMap::new();
    let mut add = |name: String, status: Status| {
        if let Some(before) = known.insert(name.clone(), status) {
            assert_eq!(
                before, status,
                "`{name}` is in two tables with two statuses"
            );
        }
    };
    // `spec:` heads the file's header document (`documents.rs`), not the pipeline mapping.
    for name in RESERVED.iter().chain(USED_JOB_KEYS).chain(&["spec"]) {
        add(name.to_string(), None);
    }
    for (name, why) in IGNORED_JOB_KEYS.iter().chain(IGNORED_SUB_KEYS) {
        add(name.to_string(), Some(why));
    }
    let parts: [(&str, &[&str]); 5] = [
        ("artifacts", ARTIFACTS_KEYS),
        ("cache", CACHE_KEYS),
        ("image", IMAGE_KEYS),
        ("services", SERVICE_KEYS),
        ("variables", VARIABLE_KEYS),
    ];
    for (parent, keys) in parts {
        for key in keys {
            let name = format!("{parent}:{key}");
            let status = why_ignored(&name);
            add(name, status);
        }
    }
    add(format!("artifacts:reports:{DOTENV}"), None);
    known
}

/// The rows of the docs' keyword table: the keyword without its backticks, and the cell that
/// says what a local run does.
fn documented() -> Vec<(String, String)> {
    let start = DOCS
        .find(SECTION)
        .unwrap_or_else(|| panic!("docs/local-runs.md has no `{SECTION}`"));
    let rows: Vec<&str> = DOCS[start..]
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2) // the header and the line under it
        .collect();
    assert!(!rows.is_empty(), "the keyword table has no rows");
    rows.iter()
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
            let [keyword, does] = cells[..] else {
                panic!("a row of the keyword table has not two cells: {row}");
            };
            let name = keyword.strip_prefix('`').and_then(|k| k.strip_suffix('`'));
            let name = name.unwrap_or_else(|| panic!("the keyword is not in backticks: {row}"));
            (name.to_string(), does.to_string())
        })
        .collect()
}

/// The docs can never drift from the code: each keyword the code knows has one row that says
/// what the code does (for an ignored one, the very reason the run prints), and each row is a
/// keyword the code knows.
#[test]
fn the_docs_table_lists_every_keyword_with_its_status() {
    let known = known();
    let rows = documented();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, does) in &rows {
        *seen.entry(name).or_default() += 1;
        let status = known
            .get(name)
            .unwrap_or_else(|| panic!("the docs list `{name}`, which the code does not know"));
        match status {
            None => assert!(
                does.starts_with("acted on: "),
                "`{name}` is acted on, the docs say: {does}"
            ),
            Some(why) => assert_eq!(does, &format!("ignored: {why}"), "`{name}`"),
        }
    }
    let missing: Vec<&String> = known
        .keys()
        .filter(|k| !seen.contains_key(k.as_str()))
        .collect();
    assert!(missing.is_empty(), "the docs table lacks {missing:?}");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "rows written twice: {twice:?}");
}

/// A file with every keyword a local run skips: the job keys spread over four jobs (`trigger`
/// and `run` jobs have no script, and `start_in` is refused beside `rules:`), the parts of keys in `deploy` and at the top level, some of
/// them twice (top level and job, default and job) to show each is named once.
const EVERY_IGNORED: &str = r#"
workflow:
  name: release $CI_COMMIT_TAG
  auto_cancel:
    on_new_commit: interruptible
  rules:
    - if: $CI_COMMIT_TAG
      auto_cancel:
        on_new_commit: none
    - when: always
variables:
  RAW:
    value: keep $THIS
    expand: false
default:
  tags: [docker]
  image:
    name: alpine:3
    kubernetes:
      user: "1000"
deploy:
  stage: deploy
  script: ./deploy
  tags: [deploy]
  variables:
    ALSO_RAW:
      value: $NOT_EXPANDED
      expand: false
  services:
    - name: postgres:16
      docker:
        user: postgres
      kubernetes:
        user: "999"
  cache:
    key: deps
    paths: [vendor/]
    unprotect: false
  artifacts:
    name: dist
    paths: [dist/]
    expire_in: 1 week
    expose_as: the build
    public: false
    access: developer
    reports:
      junit: report.xml
      dotenv: build.env
  rules:
    - if: $CI_COMMIT_TAG
      when: delayed
      start_in: 5 minutes
      interruptible: false
  coverage: /total (\d+)%/
  dast_configuration:
    site_profile: site
  environment:
    name: production
  hooks:
    pre_get_sources_script: echo hi
  id_tokens:
    TOKEN:
      aud: https://vault.example.com
  identity: google_cloud
  interruptible: true
  manual_confirmation: Deploy now?
  pages:
    path_prefix: docs
  publish: public
  release:
    tag_name: $CI_COMMIT_TAG
    description: release
  resource_group: production
  retry: 2
  secrets:
    PASSWORD:
      vault: production/db/password@ops
  timeout: 1h
downstream:
  trigger:
    project: group/other
steps:
  run:
    - name: hello
      script: echo hello
later:
  script: ./later
  when: delayed
  start_in: 10 minutes
"#;

/// Each ignored keyword of a note (`KEY (REASON)`), in order.
fn named(note: &str) -> Vec<&str> {
    let list = note
        .strip_prefix("ignored in a local run: ")
        .unwrap_or_else(|| panic!("not a note of ignored keys: {note}"));
    let mut keys = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (key, after) = rest.split_once(" (").expect("each key has its reason");
        let why = why_ignored(key).unwrap_or_else(|| panic!("`{key}` has no reason"));
        let after = after
            .strip_prefix(why)
            .and_then(|a| a.strip_prefix(')'))
            .unwrap_or_else(|| panic!("`{key}` is not followed by ({why}): {note}"));
        keys.push(key);
        rest = after.strip_prefix(", ").unwrap_or(after);
    }
    keys
}

#[test]
fn every_ignored_keyword_parses_and_is_named_once_with_its_reason() {
    let p = pipeline(EVERY_IGNORED);
    let mut all: Vec<&str> = Vec::new();
    let notes: Vec<String> = ["deploy", "downstream", "steps", "later"]
        .iter()
        .map(|name| p.ignored_note(p.job(name).unwrap()).expect("a note"))
        .collect();
    for note in &notes {
        let keys = named(note);
        let mut once = keys.clone();
        once.sort_unstable();
        once.dedup();
        assert_eq!(once.len(), keys.len(), "a key named twice: {note}");
        all.extend(keys);
    }
    let expected = IGNORED_JOB_KEYS.iter().chain(IGNORED_SUB_KEYS);
    for (key, _) in expected {
        // The reports but `dotenv` are named each by its own name.
        let key = match *key {
            "artifacts:reports" => "artifacts:reports:junit",
            key => key,
        };
        assert!(
            all.contains(&key),
            "`{key}` is not named:\n{}",
            notes.join("\n")
        );
    }
    // What is read is not named: `dotenv` and the other parts `deploy` writes.
    for read in [
        "artifacts:reports:dotenv",
        "artifacts:paths",
        "cache:key",
        "image:name",
    ] {
        assert!(
            !all.contains(&read),
            "`{read}` is named:\n{}",
            notes.join("\n")
        );
    }
    // The top-level ones are named with each job; `deploy`'s own with it alone.
    for note in &notes[1..] {
        let keys = named(note);
        assert!(keys.contains(&"workflow:name"), "{note}");
        assert!(!keys.contains(&"retry"), "{note}");
    }
    assert_eq!(
        named(&notes[1]),
        [
            "workflow:auto_cancel",
            "workflow:name",
            "workflow:rules:auto_cancel",
            "variables:expand",
            "image:kubernetes",
            "tags",
            "trigger"
        ]
    );
}

/// The parts of a `default:` value are named only for a job that takes it: not for one that
/// sets the key itself or does not inherit it. Values that ask for what a local run does
/// anyway are not named.
#[test]
fn parts_are_named_where_they_apply_and_only_when_they_ask_for_something() {
    let text = r#"
default:
  image:
    name: alpine:3
    kubernetes: {user: "1000"}
  services:
    - name: redis:7
      docker: {platform: linux/amd64}
takes:
  script: a
own:
  script: a
  image: alpine:3
  services: [redis:7]
not-inherited:
  script: a
  inherit:
    default: [before_script]
shared:
  script: a
  cache: {key: a, paths: [a], unprotect: true}
  variables:
    COOKED: {value: $A, expand: true}
"#;
    let p = pipeline(text);
    let ignored = |name: &str| p.job(name).unwrap().ignored.clone();
    assert_eq!(ignored("takes"), ["image:kubernetes", "services:docker"]);
    assert!(ignored("own").is_empty());
    assert!(ignored("not-inherited").is_empty());
    assert_eq!(ignored("shared"), ["image:kubernetes", "services:docker"]);
    assert_eq!(p.ignored_note(p.job("own").unwrap()), None);
}

/// An `include:` the driver did not resolve (a file read alone) is named, with how to have it
/// read; one it resolved never reaches the parser.
#[test]
fn an_unresolved_include_is_named_with_the_fix() {
    let p = pipeline("include: ci/other.yml\njob:\n  script: a\n");
    let note = p.ignored_note(p.job("job").unwrap()).unwrap();
    assert!(
        note.starts_with("ignored in a local run: include (its files were not read;"),
        "{note}"
    );
}

/// An unknown key is still GitLab's error, with the likely fix, in a job or in a value.
#[test]
fn an_unknown_key_is_still_an_error_with_a_suggestion() {
    let e = error("job:\n  script: a\n  retyr: 2\n").to_string();
    assert!(
        e.starts_with(".gitlab-ci.yml:3: job `job` has the unknown key `retyr`"),
        "{e}"
    );
    assert!(e.contains("did you mean `retry`?"), "{e}");
    let e = error("job:\n  script: a\n  start_inn: 1 day\n").to_string();
    assert!(e.contains("did you mean `start_in`?"), "{e}");
    let e = error("job:\n  script: a\n  image: {name: a, kubernetess: {}}\n").to_string();
    assert!(
        e.contains("`image:` has an unknown key `kubernetess`; use name, entrypoint"),
        "{e}"
    );
}
