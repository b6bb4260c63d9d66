//! How far a file may grow while it is read: a large ordinary pipeline stays far inside the
//! budget, and each way of copying values (aliases, `!reference`, `extends:`, `default:` and
//! global variables into every job) stops at it with a one-line error, quickly.

use std::time::{Duration, Instant};

use super::super::budget::{Budget, MAX_BYTES};
use super::super::parse_within;
use super::{error, FILE};

/// A big pipeline of the ordinary kind: global variables, `default:`, templates with rules and
/// artifacts, and `jobs` jobs that extend two templates and reference a third's script.
fn ordinary(jobs: usize) -> String {
    let mut text = String::from("stages: [build, test, deploy]\nvariables:\n");
    for i in 0..60 {
        text.push_str(&format!("  GLOBAL_{i}: \"value-{i}-with-some-length\"\n"));
    }
    text.push_str(
        "default:\n  image: registry.example.com/group/image:1.2.3\n  tags: [docker]\n  \
         before_script:\n    - echo one\n    - echo two\n    - source ci/env.sh\n  \
         after_script: [echo done]\n  retry: 2\n  interruptible: true\n",
    );
    for t in 0..10 {
        text.push_str(&format!(
            ".tpl{t}:\n  image: registry.example.com/t{t}:latest\n  variables:\n"
        ));
        for v in 0..10 {
            text.push_str(&format!("    T{t}_{v}: \"template {t} value {v}\"\n"));
        }
        text.push_str("  script:\n");
        for l in 0..10 {
            text.push_str(&format!("    - ./ci/step-{l}.sh --template {t}\n"));
        }
        text.push_str("  rules:\n");
        for r in 0..5 {
            text.push_str(&format!(
                "    - if: '$CI_COMMIT_BRANCH == \"b{r}\"'\n      when: manual\n"
            ));
        }
        text.push_str(
            "  artifacts:\n    paths: [out/, report.xml]\n    expire_in: 1 week\n  \
             cache:\n    key: $CI_COMMIT_REF_SLUG\n    paths: [.cache/]\n",
        );
    }
    for j in 0..jobs {
        let (a, b, c) = (j % 10, (j + 3) % 10, (j + 7) % 10);
        text.push_str(&format!(
            "job-{j}:\n  extends: [.tpl{a}, .tpl{b}]\n  stage: test\n  variables:\n    \
             JOB: \"{j}\"\n    MORE: \"x\"\n  script:\n    - echo job {j}\n    \
             - !reference [.tpl{c}, script]\n  needs: []\n"
        ));
    }
    text
}

/// The budget `text` uses up, or the error it ends with.
fn spent(text: &str) -> Result<usize, String> {
    let mut budget = Budget::new();
    parse_within(text, FILE, &[], &[], &mut budget).map_err(|e| e.to_string())?;
    Ok(MAX_BYTES - budget.left())
}

#[test]
fn a_large_ordinary_pipeline_stays_far_inside_the_budget() {
    let text = ordinary(300);
    let used = spent(&text).unwrap();
    eprintln!(
        "{} KB file: {} of {} MiB",
        text.len() / 1000,
        used >> 20,
        MAX_BYTES >> 20
    );
    // Measured: 13 MiB for this 63 KB file; about 700 such jobs fit.
    assert!(used < MAX_BYTES / 2, "{used}");
}

/// Ends with an error quickly; returns it.
#[track_caller]
fn refused(text: &str) -> String {
    let started = Instant::now();
    let message = error(text).to_string();
    assert!(started.elapsed() < Duration::from_secs(10), "{message}");
    assert!(
        message.contains("grows past 32 MiB") && message.contains("reuse fewer or smaller"),
        "{message}"
    );
    assert!(!message.contains('\n'));
    message
}

#[test]
fn a_reference_fan_out_stops_at_the_budget() {
    // Ten references to ten references to ...: 2.3 KB that would make 10^8 values.
    let mut text = String::from(".l0:\n  script: [\"echo hi\"]\n");
    for i in 1..9 {
        let refs = vec![format!("!reference [.l{}, script]", i - 1); 10].join(", ");
        text.push_str(&format!(".l{i}:\n  script: [{refs}]\n"));
    }
    text.push_str("boom:\n  script: [!reference [.l8, script]]\n");
    let message = refused(&text);
    assert!(message.starts_with(".gitlab-ci.yml:"), "{message}");
    assert!(message.contains(":script`: grows past"), "{message}");
}

#[test]
fn aliases_of_a_big_anchor_stop_at_the_budget() {
    let items = vec!["x"; 2000].join(", ");
    let aliases = vec!["*a"; 2000].join(", ");
    let text = format!(".a: &a [{items}]\n.b: [{aliases}]\njob:\n  script: [echo]\n");
    assert_eq!(
        refused(&text),
        format!(".gitlab-ci.yml: {}", super::super::budget::too_large())
    );
}

#[test]
fn defaults_and_global_variables_copied_into_every_job_stop_at_the_budget() {
    let mut text = String::from("variables:\n");
    for i in 0..2000 {
        text.push_str(&format!("  V{i}: \"{}\"\n", "v".repeat(100)));
    }
    for j in 0..2000 {
        text.push_str(&format!("j{j}: {{script: x}}\n"));
    }
    let message = refused(&text);
    assert!(message.contains("job `j"), "{message}");
}

#[test]
fn extends_from_many_parents_stops_at_the_budget() {
    let mut text = String::from(".base:\n  variables:\n");
    for i in 0..2000 {
        text.push_str(&format!("    V{i}: \"{}\"\n", "v".repeat(100)));
    }
    for j in 0..2000 {
        text.push_str(&format!(".e{j}: {{extends: .base}}\n"));
    }
    text.push_str("job:\n  script: [x]\n");
    let message = refused(&text);
    assert!(message.contains("job `.e"), "{message}");
}
