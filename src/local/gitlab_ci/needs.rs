//! `needs:` and `dependencies:` of a job (<https://docs.gitlab.com/ci/yaml/#needs>,
//! <https://docs.gitlab.com/ci/yaml/#dependencies>): which jobs it waits for and whose
//! artifacts it takes: the pipeline view shows them, `executor run JOB --needs` runs them first
//! and hands their artifacts on (`crate::local::chain`).

use crate::yaml::{Mapping, Value};

use super::values::{check_keys, describe, strings};

/// GitLab's limit on `needs:` entries per job.
const MAX_NEEDS: usize = 50;

/// One `needs:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The job waited for (in this pipeline unless [`Need::from`] says otherwise).
    pub job: String,
    /// `artifacts:`: whether its artifacts are downloaded (GitLab's default: yes).
    pub artifacts: bool,
    /// `optional:`: the need is skipped when that job is not in the pipeline.
    pub optional: bool,
    /// Where the job is when not in this pipeline: `project group/name ref main` or
    /// `pipeline $PARENT_PIPELINE_ID`, as written.
    pub from: Option<String>,
    /// `parallel: matrix:` narrows the need to some of a matrix job's jobs.
    pub matrix: bool,
}

/// The keys a `needs:` mapping may have.
const NEED_KEYS: &[&str] = &[
    "job",
    "artifacts",
    "optional",
    "project",
    "ref",
    "pipeline",
    "parallel",
];

/// `needs:`: a list of job names or mappings with `job:`; `[]` (start at once) is kept apart
/// from no `needs:` at all by the caller's `Option`.
pub(super) fn needs(value: &Value) -> Result<Vec<Need>, String> {
    let Value::Sequence(items) = value else {
        return Err(format!("must be a list of jobs, found {}", describe(value)));
    };
    if items.len() > MAX_NEEDS {
        return Err(format!(
            "lists {} jobs; GitLab takes at most {MAX_NEEDS}",
            items.len()
        ));
    }
    items.iter().map(need).collect()
}

fn need(item: &Value) -> Result<Need, String> {
    match item {
        Value::String(job) => Ok(Need {
            job: job.clone(),
            artifacts: true,
            optional: false,
            from: None,
            matrix: false,
        }),
        Value::Mapping(map) => need_mapping(map),
        other => Err(format!(
            "has the entry {}, which must be a job name or a mapping with `job:`",
            describe(other)
        )),
    }
}

fn need_mapping(map: &Mapping) -> Result<Need, String> {
    check_keys(map, NEED_KEYS).map_err(|m| format!("entry {m}"))?;
    let text = |key: &str| match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "entry `{key}:` must be a string, found {}",
            describe(other)
        )),
    };
    let flag = |key: &str, default: bool| match map.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!(
            "entry `{key}:` must be true or false, found {}",
            describe(other)
        )),
    };
    let Some(job) = text("job")? else {
        return Err("has an entry without a `job:` name".into());
    };
    let from = match (text("project")?, text("ref")?, text("pipeline")?) {
        (Some(project), reference, _) => Some(match reference {
            Some(r) => format!("project {project} ref {r}"),
            None => format!("project {project}"),
        }),
        (None, Some(_), _) => return Err(format!("entry `{job}` has `ref:` without `project:`")),
        (None, None, Some(pipeline)) => Some(format!("pipeline {pipeline}")),
        (None, None, None) => None,
    };
    Ok(Need {
        job,
        artifacts: flag("artifacts", true)?,
        optional: flag("optional", false)?,
        from,
        matrix: map.contains_key("parallel"),
    })
}

/// `dependencies:`: the jobs of earlier stages whose artifacts the job takes; `[]` takes none.
pub(super) fn dependencies(value: &Value) -> Result<Vec<String>, String> {
    strings(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<Need>, String> {
        needs(
            &crate::yaml::load_value_within(text, 1 << 20)
                .unwrap()
                .unwrap(),
        )
    }

    fn plain(job: &str) -> Need {
        Need {
            job: job.into(),
            artifacts: true,
            optional: false,
            from: None,
            matrix: false,
        }
    }

    #[test]
    fn reads_the_shapes_gitlab_documents() {
        let cases: &[(&str, Vec<Need>)] = &[
            ("[]", vec![]),
            ("[build_job, lint]", vec![plain("build_job"), plain("lint")]),
            (
                "[{job: test_job_1, artifacts: false}, {job: t2, optional: true}]",
                vec![
                    Need {
                        artifacts: false,
                        ..plain("test_job_1")
                    },
                    Need {
                        optional: true,
                        ..plain("t2")
                    },
                ],
            ),
            (
                "[{project: group/other, job: build-1, ref: main, artifacts: true}]",
                vec![Need {
                    from: Some("project group/other ref main".into()),
                    ..plain("build-1")
                }],
            ),
            (
                "[{pipeline: $PARENT_PIPELINE_ID, job: create-artifact}]",
                vec![Need {
                    from: Some("pipeline $PARENT_PIPELINE_ID".into()),
                    ..plain("create-artifact")
                }],
            ),
            (
                "[{job: linux:build, parallel: {matrix: [{PROVIDER: aws}]}}]",
                vec![Need {
                    matrix: true,
                    ..plain("linux:build")
                }],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(read(text).as_ref(), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_what_gitlab_refuses() {
        let cases = [
            ("build", "must be a list of jobs, found `build`"),
            ("[1]", "has the entry a number (`1`)"),
            ("[{artifacts: true}]", "has an entry without a `job:` name"),
            (
                "[{job: a, artifacts: yes please}]",
                "`artifacts:` must be true or false",
            ),
            ("[{job: a, ref: main}]", "has `ref:` without `project:`"),
            ("[{job: a, stage: b}]", "entry has an unknown key `stage`"),
        ];
        for (text, want) in cases {
            let err = read(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        let many = format!("[{}]", vec!["a"; 51].join(", "));
        assert!(read(&many).unwrap_err().contains("at most 50"));
    }
}
