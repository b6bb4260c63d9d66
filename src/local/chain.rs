//! Several jobs in one local run, one after another: `executor run JOB --needs` runs the
//! job's `needs:` and `dependencies:` first (transitively, each before the jobs that need it),
//! `executor run --stage NAME` runs a stage's jobs. Each finished job's artifacts and dotenv
//! variables go to the later jobs that take them, as GitLab hands them on (`dependencies:`,
//! else `needs:` with `artifacts: true`, else every job of an earlier stage). A failed job
//! stops the run unless it may fail.

use std::path::Path;

use super::carry::Output;
use super::consent;
use super::decisions::RefFacts;
use super::driver::{fail, EXIT_INTERRUPTED};
use super::gitlab_ci::rules::{Decision, When};
use super::gitlab_ci::{AllowFailure, Job, NamedOnce, Pipeline};
use super::job::LocalJob;
use super::job_vars::Awaited;
use super::report::Report;
use crate::cli::RunArgs;
use crate::settings::Settings;

mod order;

pub use order::{dotenv_sources, needs_order, sources, stage_order};

pub async fn run(
    settings: &Settings,
    args: &RunArgs,
    file: &Path,
    pipeline: &Pipeline,
    decisions: &[(&Job, Decision)],
    facts: &RefFacts,
    report: &Report,
) -> i32 {
    // `rules:needs` of the rule that let a job in replace its own `needs:`, as on GitLab.
    let pipeline = &with_rule_needs(pipeline, decisions);
    let planned = match plan(args, pipeline, decisions, report) {
        Ok(planned) => planned,
        Err(message) => return fail(report, &message),
    };
    let decision_of = |name: &str| {
        decisions
            .iter()
            .find(|(j, _)| j.name == name)
            .map(|(_, d)| d)
    };
    let mut ran: Vec<String> = Vec::new();
    let mut ignored = NamedOnce::default();
    let mut outputs: Vec<(String, Output)> = Vec::new();
    for (at, name) in planned.iter().enumerate() {
        let (Ok(job), Some(decision)) = (pipeline.job(name), decision_of(name)) else {
            return fail(report, &format!("no job `{name}` to run"));
        };
        if !decision.runs && !args.force {
            report.note(&format!(
                "skipping `{name}`: not in this ref's pipeline ({}); pass --force to run it",
                decision.why()
            ));
            continue;
        }
        // A job `--needs` runs for another waits for what GitLab waits for: an on_failure one
        // for a failure, which stops this run first; a manual or delayed one for a person or a
        // timer, which a local run does not have.
        let for_another = args.stage.is_none() && at + 1 < planned.len();
        if for_another && decision.runs && decision.when == When::OnFailure && !args.force {
            report.note(&format!(
                "skipping `{name}`: it runs only after an earlier job fails (when: on_failure); \
                 pass --force to run it"
            ));
            continue;
        }
        if decision.runs && matches!(decision.when, When::Manual | When::Delayed) {
            report.note(&format!(
                "`{name}` is `when: {}` on GitLab; this run starts it at once",
                decision.when.name()
            ));
        }
        if let Some(note) = ignored.note(pipeline, job) {
            report.note(&note);
        }
        for note in &decision.notes {
            report.note(note);
        }
        if !decision.runs {
            report.note(&format!(
                "running `{name}` anyway (--force): {}",
                decision.why()
            ));
        }
        let from = sources(job, &ran, pipeline);
        let mut decided = job.clone();
        decided.variables = decision.variables.clone();
        let mut artifacts_in = Vec::new();
        for (source, output) in outputs.iter().filter(|(n, _)| from.contains(&n.as_str())) {
            // Dotenv variables rank above the file's, as on GitLab.
            for (key, value) in &output.dotenv {
                super::expand::set(&mut decided.variables, key, value);
            }
            artifacts_in.extend(output.archive.clone().map(|a| (source.clone(), a)));
        }
        // A dry run has no job's dotenv values; a run has those of the jobs it ran.
        let mut writers = dotenv_sources(job, pipeline);
        writers.retain(|w| args.dry_run || !outputs.iter().any(|(n, _)| n == w));
        let awaited = Awaited {
            sources: &writers,
            dry_run: args.dry_run,
        };
        let mut local = match LocalJob::new(settings, args, file, &decided, facts, awaited) {
            Ok(local) => local,
            Err(message) => return fail(report, &message),
        };
        local.carry.artifacts_in = artifacts_in;
        let later = &planned[at + 1..];
        let taken = later.iter().any(|l| {
            pipeline.job(l).is_ok_and(|j| {
                let mut so_far = ran.clone();
                so_far.push(name.clone());
                sources(j, &so_far, pipeline).contains(&name.as_str())
            })
        });
        local.carry.artifacts_out = job.artifacts.clone().filter(|_| taken);
        if args.dry_run {
            let Some((_, decision)) = decisions.iter().find(|(j, _)| j.name == job.name) else {
                return fail(report, &format!("no decision for job `{}`", job.name));
            };
            if local.dry_run(settings, report, decision, args.json) != 0 {
                return super::driver::EXIT_DRIVER;
            }
            ran.push(name.clone());
            continue;
        }
        if let Err(message) = consent::check(settings, args, &local.env) {
            return fail(report, &message);
        }
        report.info(&format!("job {} of {}: {name}", at + 1, planned.len()));
        let (code, output) = local.run_job(settings, report).await;
        if code == EXIT_INTERRUPTED {
            return code;
        }
        if code != 0 {
            if !may_fail(&decision.allow_failure, code) {
                let rest = later.join("`, `");
                let rest = if rest.is_empty() {
                    String::new()
                } else {
                    format!("; not run: `{rest}`")
                };
                // The job's own exit code, as a run of that job alone would end.
                report.error(&format!(
                    "job `{name}` failed with exit code {code}; stopping{rest}"
                ));
                return code;
            }
            report.note(&format!(
                "job `{name}` failed with exit code {code}, which it is allowed to; going on"
            ));
        }
        ran.push(name.clone());
        if let Err(message) = hold(&mut outputs, name, output) {
            return fail(report, &message);
        }
    }
    0
}

/// The most all artifacts archives held for later jobs of one run may take together. Each
/// is at most 64 MiB ([`super::carry::MAX_ARTIFACTS`]), but a run keeps every one a later job
/// takes in memory until the end: 50 jobs' (GitLab's `needs:` limit) would be 3 GiB on this
/// machine, whatever the jobs' own memory limits.
const MAX_HELD: usize = 256 << 20;

/// Keep `output` of job `name` for the later jobs, unless its archive would take what all
/// held archives take past [`MAX_HELD`]: then a message to stop the run with.
fn hold(outputs: &mut Vec<(String, Output)>, name: &str, output: Output) -> Result<(), String> {
    let held: usize = outputs
        .iter()
        .filter_map(|(_, o)| o.archive.as_ref().map(Vec::len))
        .sum();
    let more = output.archive.as_ref().map_or(0, Vec::len);
    if held + more > MAX_HELD {
        return Err(format!(
            "the artifacts of `{name}` ({} MiB) and of the jobs before it together pass {} MiB, \
             the most a local run holds for later jobs; stopping",
            more >> 20,
            MAX_HELD >> 20
        ));
    }
    outputs.push((name.to_string(), output));
    Ok(())
}

/// The jobs to run, in order, with notes said on the way.
fn plan(
    args: &RunArgs,
    pipeline: &Pipeline,
    decisions: &[(&Job, Decision)],
    report: &Report,
) -> Result<Vec<String>, String> {
    if let Some(stage) = &args.stage {
        if !args.args.is_empty() || args.needs {
            return Err("--stage runs a whole stage: give no JOB and no --needs with it".into());
        }
        if !pipeline.stages.contains(stage) {
            return Err(format!(
                "there is no stage `{stage}`; stages: {}",
                pipeline.stages.join(", ")
            ));
        }
        let earlier: Vec<&str> = pipeline
            .stages
            .iter()
            .take_while(|s| *s != stage)
            .filter(|s| pipeline.jobs.iter().any(|j| &j.stage == *s))
            .map(String::as_str)
            .collect();
        if !earlier.is_empty() {
            report.note(&format!(
                "earlier stages ({}) are not run, so this stage's jobs get no artifacts from them; \
                 run one job with `executor run JOB --needs` to run what it needs first",
                earlier.join(", ")
            ));
        }
        let jobs: Vec<String> = decisions
            .iter()
            .filter(|(j, _)| &j.stage == stage)
            .filter(|(j, d)| {
                if !d.runs && !args.force {
                    report.note(&format!(
                        "`{}` is not in this ref's pipeline ({}); not run",
                        j.name,
                        d.why()
                    ));
                }
                d.runs || args.force
            })
            // GitLab runs a `when: on_failure` job only after an earlier job failed, and a
            // failed job stops this run before the next stage's jobs.
            .filter(|(j, d)| {
                let waits = d.runs && d.when == When::OnFailure && !args.force;
                if waits {
                    report.note(&format!(
                        "`{}` runs only after an earlier job fails (when: on_failure); not run",
                        j.name
                    ));
                }
                !waits
            })
            .map(|(j, _)| j.name.clone())
            .collect();
        if jobs.is_empty() {
            return Err(format!(
                "no job of stage `{stage}` runs on this ref; pass --force to run them anyway"
            ));
        }
        return Ok(stage_order(pipeline, &jobs));
    }
    let [target] = args.args.as_slice() else {
        return Err("--needs runs one JOB with the jobs it needs: name the job".into());
    };
    let job = pipeline.job(target).map_err(|e| e.to_string())?;
    if let Some((_, decision)) = decisions.iter().find(|(j, _)| j.name == job.name) {
        if !decision.runs && !args.force {
            return Err(format!(
                "job `{target}` is not in this ref's pipeline ({}); pass --force to run it anyway",
                decision.why()
            ));
        }
    }
    let (order, notes) = needs_order(pipeline, target)?;
    notes.iter().for_each(|n| report.note(n));
    Ok(order)
}

/// The pipeline with each job's `needs:` replaced by those of the rule that decided it.
fn with_rule_needs(pipeline: &Pipeline, decisions: &[(&Job, Decision)]) -> Pipeline {
    let mut pipeline = pipeline.clone();
    for job in &mut pipeline.jobs {
        let decided = decisions.iter().find(|(j, _)| j.name == job.name);
        if let Some(needs) = decided.and_then(|(_, d)| d.needs.as_ref()) {
            job.needs = Some(needs.clone());
        }
    }
    pipeline
}

/// Whether a job that ended with `code` may fail (`allow_failure:`).
fn may_fail(allow: &AllowFailure, code: i32) -> bool {
    match allow {
        AllowFailure::Bool(allowed) => *allowed,
        AllowFailure::ExitCodes(codes) => codes.contains(&i64::from(code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::gitlab_ci::parse;
    use crate::local::gitlab_ci::rules::{Changes, Context};

    /// Each job of `pipeline` decided for a push with `predefined`, no file existing and no
    /// changes known.
    fn decided<'p>(
        pipeline: &'p Pipeline,
        predefined: &[(String, String)],
    ) -> Vec<(&'p Job, Decision)> {
        let cx = Context {
            predefined,
            overrides: &[],
            exists: &|_| false,
            changes: &|_| Changes::Unknown,
        };
        pipeline
            .jobs
            .iter()
            .map(|job| (job, pipeline.decide(job, &cx)))
            .collect()
    }

    #[test]
    fn a_rules_needs_replace_the_jobs_with_their_artifacts_and_optional() {
        let text = "build: {script: x, artifacts: {paths: [bin/]}}\n\
                    lint: {script: x}\n\
                    test:\n  script: x\n  needs: [lint]\n  rules:\n    - if: $CI_COMMIT_BRANCH\n      \
                    needs: [{job: build, artifacts: false}, lint, {job: docs, optional: true}]\n";
        let pipeline = parse(text, ".gitlab-ci.yml").unwrap();
        let predefined = vec![("CI_COMMIT_BRANCH".to_string(), "main".to_string())];
        let decisions = decided(&pipeline, &predefined);
        let ruled = with_rule_needs(&pipeline, &decisions);
        // The rule's needs run first; its optional need of a job the file lacks is skipped.
        let (order, notes) = needs_order(&ruled, "test").unwrap();
        assert_eq!(order, ["build", "lint", "test"]);
        assert_eq!(
            notes,
            ["`test` needs `docs` (optional), which is not in the file; skipped"]
        );
        // `artifacts: false` in the rule keeps `build`'s artifacts from the job.
        let ran = vec!["build".to_string(), "lint".to_string()];
        let test = ruled.job("test").unwrap();
        assert_eq!(sources(test, &ran, &ruled), ["lint"]);
    }

    #[test]
    fn a_stage_run_leaves_out_on_failure_jobs_unless_forced() {
        let text = "variables: {EXECUTOR_DOCKER_MODE: none}\n\
                    ok: {stage: test, script: x}\n\
                    cleanup: {stage: test, script: x, when: on_failure}\n\
                    deploy: {stage: test, script: x, when: manual}\n";
        let pipeline = parse(text, ".gitlab-ci.yml").unwrap();
        let decisions = decided(&pipeline, &[]);
        let mut args = crate::local::consent::tests_args();
        args.stage = Some("test".into());
        let report = Report::detect(Some("1"));
        // A manual job is asked for with its stage; an on_failure one waits for a failure.
        assert_eq!(
            plan(&args, &pipeline, &decisions, &report).unwrap(),
            ["ok", "deploy"]
        );
        args.force = true;
        assert_eq!(
            plan(&args, &pipeline, &decisions, &report).unwrap(),
            ["ok", "cleanup", "deploy"]
        );
    }

    /// Archives held for later jobs stop at their total bound, with a message naming the job.
    #[test]
    fn held_artifacts_are_bounded_together() {
        let output = |mib: usize| Output {
            archive: Some(vec![0; mib << 20]),
            dotenv: Vec::new(),
        };
        let mut outputs = Vec::new();
        for i in 0..4 {
            hold(&mut outputs, &format!("j{i}"), output(64)).unwrap();
        }
        // Jobs without artifacts are still held (their dotenv may matter).
        hold(&mut outputs, "plain", Output::default()).unwrap();
        let e = hold(&mut outputs, "last", output(1)).unwrap_err();
        assert!(
            e.contains("artifacts of `last`") && e.contains("256 MiB"),
            "{e}"
        );
        assert_eq!(outputs.len(), 5);
    }

    #[test]
    fn allow_failure_lets_a_job_fail_with_any_or_the_listed_codes() {
        for (allow, code, want) in [
            (AllowFailure::Bool(false), 1, false),
            (AllowFailure::Bool(true), 1, true),
            (AllowFailure::ExitCodes(vec![137, 255]), 137, true),
            (AllowFailure::ExitCodes(vec![137, 255]), 1, false),
        ] {
            assert_eq!(may_fail(&allow, code), want, "{allow:?} {code}");
        }
    }
}
