//! Predefined variables a `.gitlab-ci.yml` sets itself. GitLab ranks a job's `variables:`
//! above the predefined ones (<https://docs.gitlab.com/ci/variables/#cicd-variable-precedence>),
//! and gitlab-runner lays the job's variables over its own defaults, so the job's scripts see
//! the file's `CI_JOB_ID` or `CI_PROJECT_DIR`; but the runner names its containers, directories
//! and concurrency slot from the job payload and its own state, and sets its version after the
//! job's variables. A local run does the same, so such a file runs as on GitLab: the job sees
//! the file's value, the driver the run's (a file's `CI_CONCURRENT_ID: abc` used to stop the
//! run with a message about `CUSTOM_ENV_CI_CONCURRENT_ID`), and a note names the file's line.
//! A person's `--var` is trusted with both, as a project's CI/CD settings would be.

/// Variables the run keeps its own value of, and what for: the job's scripts see the file's
/// value, the driver (`CUSTOM_ENV_*`) the run's.
const KEPT: [(&str, &str); 8] = [
    ("CI_JOB_ID", "to name what it creates"),
    ("CI_PIPELINE_ID", "to label what it creates"),
    ("CI_PROJECT_ID", "to name what it creates and its caches"),
    ("CI_RUNNER_ID", "to name what it creates"),
    ("CI_CONCURRENT_ID", "to name what it creates"),
    ("CI_PROJECT_PATH", "for the job payload"),
    ("CI_COMMIT_REF_PROTECTED", "for the job payload"),
    ("CI_PROJECT_DIR", "for where it puts the checkout"),
];

/// Variables gitlab-runner sets after the job's own (its version, `CI_SHARED_ENVIRONMENT`):
/// the job sees the run's value too.
const LAST: [&str; 2] = ["CI_RUNNER_VERSION", "CI_SHARED_ENVIRONMENT"];

/// The variables the driver sees, and what the file set that the run keeps.
pub(super) struct Kept {
    /// The job's variables with the run's own values of [`KEPT`] back: the driver's view.
    pub runner: Vec<(String, String)>,
    /// For each predefined variable the file set, its name and a note that reads after
    /// "job `NAME` ".
    pub set_by_file: Vec<(&'static str, String)>,
}

/// Put the run's own values back where the file set one: in `variables` (what the job sees)
/// for [`LAST`], in the driver's view for [`KEPT`]. `predefined` are the run's values;
/// names the person set with `--var` keep the person's.
pub(super) fn keep(
    variables: &mut [(String, String)],
    predefined: &[(String, String)],
    person: &[(String, String)],
) -> Kept {
    let own = |name: &str| predefined.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let by_person = |name: &str| person.iter().any(|(k, _)| k == name);
    let set_by_file = |variables: &[(String, String)], name: &str| {
        let now = variables.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        !by_person(name) && now.is_some() && now != own(name)
    };
    let mut notes = Vec::new();
    for name in LAST {
        if !set_by_file(variables, name) {
            continue;
        }
        if let (Some(slot), Some(own)) = (variables.iter_mut().find(|(k, _)| k == name), own(name))
        {
            slot.1 = own.clone();
        }
        notes.push((
            name,
            format!(
                "sets {name}, which gitlab-runner sets after a job's variables: the job sees the \
                 run's value (`--var {name}=...` sets it)"
            ),
        ));
    }
    let mut runner = variables.to_vec();
    for (name, purpose) in KEPT {
        if !set_by_file(variables, name) {
            continue;
        }
        match (runner.iter_mut().find(|(k, _)| k == name), own(name)) {
            (Some(slot), Some(own)) => slot.1 = own.clone(),
            _ => runner.retain(|(k, _)| k != name),
        }
        // The run's payload takes these two from the run itself, never from `--var`.
        let by_var = match name {
            "CI_PIPELINE_ID" | "CI_COMMIT_REF_PROTECTED" => "reaches the job only",
            _ => "sets both",
        };
        notes.push((
            name,
            format!(
                "sets {name}, which GitLab sets for every job: its scripts see this value, the \
                 run keeps its own {purpose}, as gitlab-runner does (`--var {name}=...` {by_var})"
            ),
        ));
    }
    Kept {
        runner,
        set_by_file: notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::test_vars::{get, pairs};

    #[test]
    fn the_job_sees_the_files_ids_and_the_driver_the_runs() {
        let predefined = pairs(&[
            ("CI_JOB_ID", "900"),
            ("CI_CONCURRENT_ID", "0"),
            ("CI_PROJECT_DIR", "/builds/g/p"),
            ("CI_RUNNER_VERSION", "17.11.0"),
            ("CI_PROJECT_ID", "5"),
        ]);
        let mut variables = pairs(&[
            ("CI_JOB_ID", "1"),
            ("CI_CONCURRENT_ID", "abc"),
            ("CI_PROJECT_DIR", "/elsewhere"),
            ("CI_RUNNER_VERSION", "1.0"),
            ("CI_PROJECT_ID", "77"),
            ("MINE", "x"),
        ]);
        let person = pairs(&[("CI_PROJECT_ID", "77")]);
        let kept = keep(&mut variables, &predefined, &person);
        // The job: the file's ids, the runner's version (set after the job's variables).
        assert_eq!(get(&variables, "CI_JOB_ID"), Some("1"));
        assert_eq!(get(&variables, "CI_CONCURRENT_ID"), Some("abc"));
        assert_eq!(get(&variables, "CI_PROJECT_DIR"), Some("/elsewhere"));
        assert_eq!(get(&variables, "CI_RUNNER_VERSION"), Some("17.11.0"));
        // The driver: the run's own, except what the person chose.
        assert_eq!(get(&kept.runner, "CI_JOB_ID"), Some("900"));
        assert_eq!(get(&kept.runner, "CI_CONCURRENT_ID"), Some("0"));
        assert_eq!(get(&kept.runner, "CI_PROJECT_DIR"), Some("/builds/g/p"));
        assert_eq!(get(&kept.runner, "CI_PROJECT_ID"), Some("77"));
        assert_eq!(get(&kept.runner, "MINE"), Some("x"));
        let named: Vec<&str> = kept.set_by_file.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            named,
            [
                "CI_RUNNER_VERSION",
                "CI_JOB_ID",
                "CI_CONCURRENT_ID",
                "CI_PROJECT_DIR"
            ]
        );
        assert_eq!(
            kept.set_by_file[1].1,
            "sets CI_JOB_ID, which GitLab sets for every job: its scripts see this value, the \
             run keeps its own to name what it creates, as gitlab-runner does (`--var \
             CI_JOB_ID=...` sets both)"
        );
        // Values never reach the notes.
        assert!(!kept.set_by_file.iter().any(|(_, n)| n.contains("abc")));
    }

    #[test]
    fn nothing_is_noted_when_the_file_leaves_them_alone() {
        let predefined = pairs(&[("CI_JOB_ID", "900"), ("CI_SHARED_ENVIRONMENT", "true")]);
        let mut variables = predefined.clone();
        variables.push(("OTHER".into(), "1".into()));
        let kept = keep(&mut variables, &predefined, &[]);
        assert!(kept.set_by_file.is_empty());
        assert_eq!(kept.runner, variables);
    }
}
