//! Files GitLab refuses for their `rules:`, `when:`, `only:`/`except:` or `workflow:`: each is
//! an error here too, one line naming the file, the line and what to do.

use super::super::super::parse;

/// (file, line, part of the message)
const CASES: &[(&str, usize, &str)] = &[
    (
        "job:\n  script: x\n  when: never\n",
        3,
        "job `job`: `when:` is `never`, which GitLab refuses outside `rules:`",
    ),
    (
        "job:\n  script: x\n  when: sometimes\n",
        3,
        "`when:` is `sometimes`; use one of on_success",
    ),
    (
        "job:\n  script: x\n  when: delayed\n",
        3,
        "`when: delayed` needs `start_in:`",
    ),
    (
        "job:\n  script: x\n  start_in: 1 hour\n",
        3,
        "`start_in:` only goes with `when: delayed`",
    ),
    (
        "job:\n  script: x\n  rules:\n    - if: $A\n  only: [main]\n",
        5,
        "`only:` cannot be used with `rules:`",
    ),
    (
        "job:\n  script: x\n  except: [main]\n  rules:\n    - when: always\n",
        3,
        "`except:` cannot be used with `rules:`",
    ),
    (
        "job:\n  script: x\n  rules:\n    - if: $A = \"x\"\n",
        3,
        "`rules[1]` has `if:` with an invalid expression `$A = \"x\"` at column 4: unexpected `=`",
    ),
    (
        "job:\n  script: x\n  rules:\n    - when: always\n    - if: ${B}\n",
        3,
        "`rules[2]` has `if:` with an invalid expression `${B}` at column 1",
    ),
    (
        "job:\n  script: x\n  rules:\n    - needs: [{job: a, project: g/p, ref: main}]\n",
        3,
        "has a `needs:` entry `a` from another project or pipeline, which GitLab allows only in a job's own `needs:`",
    ),
    (
        "job:\n  script: x\n  rules:\n    - needs: [{job: a, artifacts: maybe}]\n",
        3,
        "has invalid `needs:`: entry `artifacts:` must be true or false",
    ),
    (
        "job:\n  script: x\n  rules: []\n",
        3,
        "`rules:` is an empty list, which GitLab rejects",
    ),
    (
        "job:\n  script: x\n  rules:\n    if: $A\n",
        3,
        "`rules:` must be a list of rules",
    ),
    (
        "job:\n  script: x\n  rules:\n    - when: later\n",
        3,
        "`rules[1]` has `when:` `later`",
    ),
    (
        "job:\n  script: x\n  rules:\n    - iff: $A\n",
        3,
        "`rules[1]` has an unknown key `iff`",
    ),
    (
        "job:\n  script: x\n  rules:\n    - when: delayed\n",
        3,
        "`rules[1]` has `when: delayed` without a `start_in:`",
    ),
    (
        "job:\n  script: x\n  rules:\n    - changes: Dockerfile\n",
        3,
        "`rules[1]` has `changes:` `Dockerfile`, which must be a list of paths",
    ),
    (
        "job:\n  script: x\n  rules:\n    - exists:\n        ref: main\n        paths: [a]\n",
        3,
        "`exists:ref` without `exists:project`",
    ),
    (
        "job:\n  script: x\n  rules:\n    - allow_failure: maybe\n",
        3,
        "`allow_failure:` `maybe`, which must be true or false",
    ),
    (
        "job:\n  script: x\n  allow_failure: 1\n",
        3,
        "`allow_failure:` must be true, false",
    ),
    (
        "job:\n  script: x\n  only: main\n",
        3,
        "`only:` is `main`; GitLab wants a list of refs",
    ),
    (
        "job:\n  script: x\n  only: [\"/(/\"]\n",
        3,
        "invalid regular expression /(/",
    ),
    (
        "job:\n  script: x\n  except:\n    variables: [\"$A ==\"]\n",
        3,
        "`except:variables` has an invalid expression `$A ==`",
    ),
    (
        "job:\n  script: x\n  only:\n    kubernetes: yes\n",
        3,
        "the only value is `active`",
    ),
    (
        "workflow:\n  rules:\n    - when: manual\njob:\n  script: x\n",
        1,
        "`workflow:rules[1]` has `when:` `manual`; use one of always, never",
    ),
    (
        "workflow: always\njob:\n  script: x\n",
        1,
        "`workflow:` must be a mapping",
    ),
    (
        "workflow:\n  rule: []\njob:\n  script: x\n",
        1,
        "`workflow:` has an unknown key `rule`",
    ),
];

#[test]
fn refused_files_name_the_line_and_the_fix() {
    for (text, line, part) in CASES {
        let e = match parse(text, "ci.yml") {
            Ok(p) => panic!("{text}\nparsed: {p:?}"),
            Err(e) => e,
        };
        assert_eq!(e.line(), Some(*line), "{text}\n{e}");
        assert!(e.message().contains(part), "{text}\nwant {part}\ngot  {e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}

#[test]
fn nested_rules_from_references_are_flattened_in_order() {
    let text = r#"
.default_rules:
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
      when: never
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
job2:
  rules:
    - !reference [.default_rules, rules]
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script: x
"#;
    let p = parse(text, "ci.yml").unwrap();
    let rules = p.job("job2").unwrap().rules.as_ref().unwrap();
    let described: Vec<String> = rules.iter().map(|r| r.describe("rules")).collect();
    assert_eq!(
        described,
        [
            r#"rules[1]: if: $CI_PIPELINE_SOURCE == "schedule""#,
            "rules[2]: if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
            r#"rules[3]: if: $CI_PIPELINE_SOURCE == "merge_request_event""#,
        ]
    );
}
