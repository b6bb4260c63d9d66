//! `needs:` and `dependencies:` of a job (<https://docs.gitlab.com/ci/yaml/#needs>,
//! <https://docs.gitlab.com/ci/yaml/#dependencies>): which jobs it waits for and whose
//! artifacts it takes: the pipeline view shows them, `executor run JOB --needs` runs them first
//! and hands their artifacts on (`crate::local::chain`).
//!
//! A need stands for jobs of the file as GitLab's `Ci::Config::Normalizer` expands it
//! ([`Need::expand`]): a job `parallel:` made into several is all of them, or, with the need's
//! own `parallel: matrix:` (<https://docs.gitlab.com/ci/yaml/#needsparallelmatrix>), exactly
//! the combinations it names; a `dependencies:` name expands as a need of it by name does.

use crate::yaml::{Mapping, Value};

use super::parallel;
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
    /// With `parallel: matrix:`, the names of the matrix jobs it names (`build: [aws, app1]`,
    /// the values in the order the need writes its variables, as GitLab names them): the need
    /// waits for those of a `parallel: matrix:` job only.
    pub matrix: Option<Vec<String>>,
}

/// What a need, or a `dependencies:` name, stands for among the file's jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The file's jobs it stands for, in GitLab's order.
    pub jobs: Vec<String>,
    /// Names it stands for that no job of the file has: the job itself, or combinations of a
    /// need's `parallel: matrix:` that the job's own matrix does not make.
    pub unknown: Vec<String>,
    /// The jobs `parallel:` made of the named job (empty when it has no `parallel:`), for
    /// messages about `unknown` combinations.
    pub made: Vec<String>,
}

impl Need {
    /// A need of `job` by name alone (GitLab's defaults), as `rules:needs` writes them.
    pub fn plain(job: &str) -> Need {
        Need {
            job: job.to_string(),
            artifacts: true,
            optional: false,
            from: None,
            matrix: None,
        }
    }

    /// What this need stands for among `names` (all the file's jobs), as GitLab's normalizer
    /// decides: when `parallel:` made the job into several, all of them, or only those the
    /// need's `parallel: matrix:` names; else the job itself (a need's matrix on a job without
    /// `parallel:` changes nothing there either).
    pub fn expand(&self, names: &[&str]) -> Expanded {
        let made: Vec<String> = names
            .iter()
            .filter(|n| parallel::made_from(n, &self.job))
            .map(|n| n.to_string())
            .collect();
        let wanted: Vec<String> = match (made.is_empty(), &self.matrix) {
            (true, _) => vec![self.job.clone()],
            (false, None) => made.clone(),
            (false, Some(named)) => named.clone(),
        };
        let (jobs, unknown) = wanted
            .into_iter()
            .partition(|w| names.contains(&w.as_str()));
        Expanded {
            jobs,
            unknown,
            made,
        }
    }
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
/// from no `needs:` at all by the caller's `Option`. Lists inside the list count as their
/// entries ([`flattened`]).
pub(super) fn needs(value: &Value) -> Result<Vec<Need>, String> {
    let items = flattened(value)
        .ok_or_else(|| format!("must be a list of jobs, found {}", describe(value)))?;
    if items.len() > MAX_NEEDS {
        return Err(format!(
            "lists {} jobs; GitLab takes at most {MAX_NEEDS}",
            items.len()
        ));
    }
    items.into_iter().map(need).collect()
}

/// The entries of a `needs:` value as GitLab's `Entry::Needs` reads them (`[@config].flatten`
/// in `lib/gitlab/ci/config/entry/needs.rb`): a list, with the entries of any list inside it
/// in its place (a `!reference [.x, needs]` entry is such a list); one mapping is a list of
/// one. `None` for anything else.
pub(super) fn flattened(value: &Value) -> Option<Vec<&Value>> {
    fn into<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
        match value {
            Value::Sequence(items) => items.iter().for_each(|i| into(i, out)),
            other => out.push(other),
        }
    }
    let mut out = Vec::new();
    match value {
        Value::Sequence(_) => into(value, &mut out),
        Value::Mapping(_) => out.push(value),
        _ => return None,
    }
    Some(out)
}

fn need(item: &Value) -> Result<Need, String> {
    match item {
        Value::String(job) => Ok(Need::plain(job)),
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
    let matrix = match map.get("parallel") {
        None => None,
        Some(value) => Some(
            parallel::matrix_names(&job, value)
                .map_err(|m| format!("entry `{job}`: `parallel:` {m}"))?,
        ),
    };
    Ok(Need {
        artifacts: flag("artifacts", true)?,
        optional: flag("optional", false)?,
        from,
        matrix,
        job,
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
        Need::plain(job)
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
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
                    matrix: Some(strings(&["linux:build: [aws]"])),
                    ..plain("linux:build")
                }],
            ),
            // GitLab's documented example: each entry's combinations, the first variable
            // varying slowest, values in the order the need writes its variables.
            (
                "[{job: build, artifacts: false, parallel: {matrix: [{PROVIDER: aws, STACK: [monitoring, app1]}, {PROVIDER: 3, STACK: x}]}}]",
                vec![Need {
                    artifacts: false,
                    matrix: Some(strings(&[
                        "build: [aws, monitoring]",
                        "build: [aws, app1]",
                        "build: [3, x]",
                    ])),
                    ..plain("build")
                }],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(read(text).as_ref(), Ok(want), "{text}");
        }
    }

    #[test]
    fn lists_inside_the_list_count_as_their_entries_as_on_gitlab() {
        // `needs: [pre, !reference [.hidden, needs]]` resolves to a list inside the list;
        // GitLab's `Entry::Needs` flattens it (at any depth), as it does one mapping.
        let cases: &[(&str, Vec<Need>)] = &[
            ("[pre, [build]]", vec![plain("pre"), plain("build")]),
            (
                "[[a, [b, {job: c, artifacts: false}]], d]",
                vec![
                    plain("a"),
                    plain("b"),
                    Need {
                        artifacts: false,
                        ..plain("c")
                    },
                    plain("d"),
                ],
            ),
            ("[[]]", vec![]),
            ("{job: only}", vec![plain("only")]),
        ];
        for (text, want) in cases {
            assert_eq!(read(text).as_ref(), Ok(want), "{text}");
        }
        // The limit counts the jobs, not the lists.
        let nested = format!("[[{}]]", vec!["a"; 51].join(", "));
        assert!(read(&nested).unwrap_err().contains("at most 50"));
        let text = "test:\n  needs: [pre, !reference [.hidden, needs]]\n  script: [x]\n\
                    .hidden:\n  needs: [build]\npre:\n  script: [x]\nbuild:\n  script: [x]\n";
        let pipeline = crate::local::gitlab_ci::parse(text, ".gitlab-ci.yml").unwrap();
        let test = pipeline.job("test").unwrap();
        assert_eq!(test.needs, Some(vec![plain("pre"), plain("build")]));
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
            (
                "[{job: a, parallel: 2}]",
                "entry `a`: `parallel:` must be a mapping with `matrix:`, found a number (`2`)",
            ),
            (
                "[{job: a, parallel: {matrix: [{P: []}]}}]",
                "entry `a`: `parallel:` `matrix` makes no jobs",
            ),
            (
                "[{job: a, parallel: {matrix: [{P: [{x: y}]}]}}]",
                "entry `a`: `parallel:` `matrix` entry 1: variable `P` must be a string",
            ),
        ];
        for (text, want) in cases {
            let err = read(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        let many = format!("[{}]", vec!["a"; 51].join(", "));
        assert!(read(&many).unwrap_err().contains("at most 50"));
    }

    #[test]
    fn a_need_stands_for_the_jobs_parallel_made_or_those_its_matrix_names() {
        let names = [
            "build: [aws, monitoring]",
            "build: [aws, app1]",
            "build: [gcp, app1]",
            "test 1/2",
            "test 2/2",
            "lint",
        ];
        let made_of_build = strings(&names[..3]);
        // The need's job and matrix, the jobs it stands for, the names the file lacks.
        type Case<'a> = (&'a str, Option<&'a [&'a str]>, &'a [&'a str], &'a [&'a str]);
        let cases: &[Case] = &[
            // A plain name of a parallel job: every job it made, in file order.
            ("build", None, &names[..3], &[]),
            ("test", None, &["test 1/2", "test 2/2"], &[]),
            // The need's matrix: exactly the combinations it names, in its order.
            (
                "build",
                Some(&["build: [aws, app1]", "build: [aws, monitoring]"]),
                &["build: [aws, app1]", "build: [aws, monitoring]"],
                &[],
            ),
            // A combination the job's matrix does not make, or its values in another order.
            (
                "build",
                Some(&[
                    "build: [aws, app1]",
                    "build: [aws, app3]",
                    "build: [app1, aws]",
                ]),
                &["build: [aws, app1]"],
                &["build: [aws, app3]", "build: [app1, aws]"],
            ),
            // A job without `parallel:` is the job itself, with or without a matrix.
            ("lint", None, &["lint"], &[]),
            ("lint", Some(&["lint: [x]"]), &["lint"], &[]),
            ("docs", None, &[], &["docs"]),
            // A prefix of a job's name is not that job.
            ("buil", None, &[], &["buil"]),
        ];
        for (job, matrix, jobs, unknown) in cases {
            let need = Need {
                matrix: matrix.map(strings),
                ..plain(job)
            };
            let got = need.expand(&names);
            assert_eq!(got.jobs, strings(jobs), "{job} {matrix:?}");
            assert_eq!(got.unknown, strings(unknown), "{job} {matrix:?}");
        }
        assert_eq!(plain("build").expand(&names).made, made_of_build);
        assert!(plain("lint").expand(&names).made.is_empty());
    }
}
