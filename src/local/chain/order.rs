//! The order of a `--needs` run and whose artifacts each job takes (pure).

use crate::local::gitlab_ci::{Job, Pipeline};

/// The jobs `executor run TARGET --needs` runs: every job `target` needs or depends on,
/// transitively, each after the jobs it needs (in the order they are written), then `target`.
/// Notes name the needs a local run skips: `optional:` ones missing from the file, and those
/// of another project or pipeline. A non-optional need missing from the file, or a cycle, is
/// an error naming the jobs.
pub fn needs_order(
    pipeline: &Pipeline,
    target: &str,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut walk = Walk {
        pipeline,
        done: Vec::new(),
        notes: Vec::new(),
    };
    walk.visit(target, &mut Vec::new())?;
    Ok((walk.done, walk.notes))
}

struct Walk<'p> {
    pipeline: &'p Pipeline,
    done: Vec<String>,
    notes: Vec<String>,
}

impl Walk<'_> {
    fn visit(&mut self, name: &str, path: &mut Vec<String>) -> Result<(), String> {
        if self.done.iter().any(|d| d == name) {
            return Ok(());
        }
        if path.iter().any(|p| p == name) {
            path.push(name.to_string());
            return Err(format!(
                "`needs:` go round in a circle: {}",
                path.join(" → ")
            ));
        }
        let job = self.pipeline.job(name).map_err(|e| e.to_string())?;
        path.push(name.to_string());
        for (need, optional) in prerequisites(job, &mut self.notes) {
            if self.pipeline.jobs.iter().all(|j| j.name != need) {
                if optional {
                    self.notes.push(format!(
                        "`{name}` needs `{need}` (optional), which is not in the file; skipped"
                    ));
                    continue;
                }
                return Err(format!(
                    "job `{name}` needs `{need}`, which is not a job of the file; fix `needs:`/`dependencies:` or mark it `optional: true`"
                ));
            }
            self.visit(&need, path)?;
        }
        path.pop();
        self.done.push(name.to_string());
        Ok(())
    }
}

/// The jobs `job` needs or depends on, in order, each once, and whether it is optional.
fn prerequisites(job: &Job, notes: &mut Vec<String>) -> Vec<(String, bool)> {
    let mut found: Vec<(String, bool)> = Vec::new();
    for need in job.needs.iter().flatten() {
        if let Some(place) = &need.from {
            notes.push(format!(
                "`{}` needs `{}` of {place}, which a local run cannot fetch; skipped",
                job.name, need.job
            ));
            continue;
        }
        if found.iter().all(|(n, _)| n != &need.job) {
            found.push((need.job.clone(), need.optional));
        }
    }
    for dependency in job.dependencies.iter().flatten() {
        if found.iter().all(|(n, _)| n != dependency) {
            found.push((dependency.clone(), false));
        }
    }
    found
}

/// A stage's jobs (`jobs`, in file order) reordered so a job runs after those of them it
/// needs: each job's `needs:` order, kept to the stage's jobs, each once.
pub fn stage_order(pipeline: &Pipeline, jobs: &[String]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for job in jobs {
        let before = needs_order(pipeline, job).map_or_else(|_| vec![job.clone()], |(o, _)| o);
        for name in before {
            if jobs.contains(&name) && !order.contains(&name) {
                order.push(name);
            }
        }
    }
    order
}

/// The jobs among `ran` (names of jobs that ran, in order) whose artifacts `job` receives,
/// as GitLab decides: `dependencies:` when set; else `needs:` entries with `artifacts: true`;
/// else every job of an earlier stage.
pub fn sources<'r>(job: &Job, ran: &'r [String], pipeline: &Pipeline) -> Vec<&'r str> {
    let stage_of = |name: &str| {
        let stage = pipeline
            .jobs
            .iter()
            .find(|j| j.name == name)
            .map(|j| j.stage.as_str());
        stage.and_then(|s| pipeline.stages.iter().position(|p| p == s))
    };
    let own = stage_of(&job.name);
    ran.iter()
        .map(String::as_str)
        .filter(|name| match (&job.dependencies, &job.needs) {
            (Some(dependencies), _) => dependencies.iter().any(|d| d == name),
            (None, Some(needs)) => needs
                .iter()
                .any(|n| n.job == *name && n.artifacts && n.from.is_none()),
            (None, None) => {
                matches!((stage_of(name), own), (Some(theirs), Some(own)) if theirs < own)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::gitlab_ci::parse;

    const FILE: &str = "stages: [build, test, deploy]
build: {stage: build, script: make, artifacts: {paths: [bin/]}}
lint: {stage: build, script: lint}
test:
  stage: test
  script: make test
  needs: [build, {job: lint, artifacts: false}, {job: docs, optional: true}]
package: {stage: test, script: pack, dependencies: [build]}
deploy:
  stage: deploy
  script: ship
  needs: [test, package, {project: group/other, job: assets, ref: main}]
report: {stage: deploy, script: report}
";

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn needs_run_first_transitively_each_once() {
        let pipeline = parse(FILE, ".gitlab-ci.yml").unwrap();
        for (target, order, notes) in [
            ("build", &["build"][..], &[][..]),
            ("test", &["build", "lint", "test"], &["`test` needs `docs` (optional), which is not in the file; skipped"]),
            (
                "deploy",
                &["build", "lint", "test", "package", "deploy"],
                &[
                    "`deploy` needs `assets` of project group/other ref main, which a local run cannot fetch; skipped",
                    "`test` needs `docs` (optional), which is not in the file; skipped",
                ],
            ),
        ] {
            assert_eq!(needs_order(&pipeline, target), Ok((strings(order), strings(notes))), "{target}");
        }
    }

    #[test]
    fn missing_needs_and_cycles_are_errors() {
        let missing = parse("a: {script: x, needs: [b]}\n", "f").unwrap();
        assert_eq!(
            needs_order(&missing, "a"),
            Err("job `a` needs `b`, which is not a job of the file; fix `needs:`/`dependencies:` or mark it `optional: true`".into())
        );
        let cycle = parse(
            "a: {script: x, needs: [b]}\nb: {script: x, needs: [c]}\nc: {script: x, needs: [a]}\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            needs_order(&cycle, "a"),
            Err("`needs:` go round in a circle: a → b → c → a".into())
        );
    }

    #[test]
    fn a_stages_jobs_run_after_the_ones_of_it_they_need() {
        let pipeline = parse(
            "late: {script: x, needs: [early]}\nalone: {script: x}\nearly: {script: x, needs: [other]}\nother: {stage: build, script: x}\n",
            "f",
        )
        .unwrap();
        let jobs = strings(&["late", "alone", "early"]);
        assert_eq!(
            stage_order(&pipeline, &jobs),
            strings(&["early", "late", "alone"])
        );
    }

    #[test]
    fn artifacts_come_from_dependencies_needs_or_earlier_stages() {
        let pipeline = parse(FILE, ".gitlab-ci.yml").unwrap();
        let ran = strings(&["build", "lint", "test", "package"]);
        for (job, want) in [
            ("test", &["build"][..]),
            ("package", &["build"]),
            ("deploy", &["test", "package"]),
            ("report", &["build", "lint", "test", "package"]),
            ("lint", &[]),
        ] {
            let job = pipeline.job(job).unwrap();
            assert_eq!(sources(job, &ran, &pipeline), want, "{}", job.name);
        }
    }
}
