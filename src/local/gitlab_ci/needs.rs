//! `needs:` and `dependencies:` (<https://docs.gitlab.com/ci/yaml/#needs>,
//! <https://docs.gitlab.com/ci/yaml/#dependencies>): which jobs a job waits for and whose
//! artifacts it receives. A local run (`executor run JOB --needs`) runs them first.

use crate::yaml::Value;

use super::values::{check_keys, describe};

/// One entry of `needs:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub job: String,
    /// `artifacts:` (default true): whether the job receives the needed job's artifacts.
    pub artifacts: bool,
    /// `optional:`: a need missing from the pipeline is skipped instead of failing it.
    pub optional: bool,
    /// Set for `project:` and `pipeline:` needs, which name a job of another pipeline: what
    /// it names, for the message saying a local run cannot fetch it.
    pub elsewhere: Option<String>,
}

/// `needs:`: a list of job names or `{job:, artifacts:, optional:}` mappings (`needs: []`
/// is an empty list: the job needs nothing, and receives no artifacts).
pub(super) fn needs(value: &Value) -> Result<Vec<Need>, String> {
    let Value::Sequence(items) = value else {
        return Err(format!(
            "must be a list of job names or `job:` mappings, found {}",
            describe(value)
        ));
    };
    items.iter().map(need).collect()
}

fn need(item: &Value) -> Result<Need, String> {
    let map = match item {
        Value::String(job) => {
            return Ok(Need {
                job: job.clone(),
                artifacts: true,
                optional: false,
                elsewhere: None,
            })
        }
        Value::Mapping(map) => map,
        other => {
            return Err(format!(
                "must list job names or `job:` mappings, found {} in it",
                describe(other)
            ))
        }
    };
    check_keys(
        map,
        &[
            "job",
            "artifacts",
            "optional",
            "project",
            "ref",
            "pipeline",
            "parallel",
        ],
    )?;
    let job = match map.get("job") {
        Some(Value::String(job)) => job.clone(),
        Some(other) => return Err(format!("has `job:` {}, not a job name", describe(other))),
        None => return Err("has an entry without `job:`; name the job it needs".into()),
    };
    let flag = |key: &str, default: bool| match map.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!(
            "has `{key}:` {}; use true or false",
            describe(other)
        )),
    };
    let elsewhere = match (map.get("project"), map.get("pipeline")) {
        (Some(Value::String(p)), _) => Some(format!("project `{p}`")),
        (_, Some(Value::String(p))) => Some(format!("pipeline `{p}`")),
        (Some(other), _) | (_, Some(other)) => {
            return Err(format!(
                "has `project:`/`pipeline:` {}, not a name",
                describe(other)
            ))
        }
        _ => None,
    };
    Ok(Need {
        job,
        artifacts: flag("artifacts", true)?,
        optional: flag("optional", false)?,
        elsewhere,
    })
}

/// `dependencies:`: the jobs (of earlier stages) whose artifacts the job receives; `[]` none.
pub(super) fn dependencies(value: &Value) -> Result<Vec<String>, String> {
    super::values::strings(value).map_err(|m| format!("{m} (job names)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Value {
        crate::yaml::load_value_within(text, 1 << 20)
            .unwrap()
            .unwrap()
    }

    fn plain(job: &str, artifacts: bool, optional: bool) -> Need {
        Need {
            job: job.into(),
            artifacts,
            optional,
            elsewhere: None,
        }
    }

    #[test]
    fn needs_are_names_or_mappings() {
        for (text, want) in [
            ("[]", Ok(vec![])),
            (
                "[build, lint]",
                Ok(vec![
                    plain("build", true, false),
                    plain("lint", true, false),
                ]),
            ),
            // GitLab's documented example of `needs:artifacts` and `needs:optional`.
            (
                "[{job: build_job, artifacts: false}, {job: test_job, optional: true}]",
                Ok(vec![
                    plain("build_job", false, false),
                    plain("test_job", true, true),
                ]),
            ),
            (
                "[{project: group/other, job: build, ref: main, artifacts: true}]",
                Ok(vec![Need {
                    elsewhere: Some("project `group/other`".into()),
                    ..plain("build", true, false)
                }]),
            ),
            (
                "build",
                Err("must be a list of job names or `job:` mappings, found `build`"),
            ),
            (
                "[{artifacts: true}]",
                Err("has an entry without `job:`; name the job it needs"),
            ),
            (
                "[{job: a, optional: yes please}]",
                Err("has `optional:` `yes please`; use true or false"),
            ),
            (
                "[3]",
                Err("must list job names or `job:` mappings, found a number (`3`) in it"),
            ),
        ] {
            assert_eq!(needs(&load(text)), want.map_err(str::to_string), "{text}");
        }
    }

    #[test]
    fn dependencies_are_job_names() {
        assert_eq!(
            dependencies(&load("[build osx, build linux]")),
            Ok(vec!["build osx".to_string(), "build linux".to_string()])
        );
        assert_eq!(dependencies(&load("[]")), Ok(vec![]));
        assert!(dependencies(&load("build")).is_err());
    }
}
