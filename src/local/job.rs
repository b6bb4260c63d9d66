//! A local job made ready: its scripts, its variables (predefined, the file's, `--var`), the
//! runner environment it runs in, and what `--dry-run` shows of it.

use std::path::Path;

use tempfile::TempDir;

use super::carry::Carry;
use super::checkout::Checkout;
use super::decisions::RefFacts;
use super::driver::fail;
use super::dry_run_view::{self, Scripts};
use super::expand;
use super::gitlab_ci::rules::Decision;
use super::gitlab_ci::Job;
use super::job_lines::JobPlace;
use super::job_vars::{self, Awaited, Given};
use super::masking;
use super::report::Report;
use super::runner::{lookup, runner_env, write_payload};
use super::script::ScriptContext;
use super::vars::LocalIds;
use crate::cli::RunArgs;
use crate::env::JobEnv;
use crate::plan;
use crate::settings::Settings;
use crate::stage;

/// A job ready to run: its scripts, its variables and the runner environment it runs in.
pub(super) struct LocalJob {
    pub(super) name: String,
    pub(super) file: String,
    pub(super) before_script: Vec<String>,
    pub(super) script: Vec<String>,
    pub(super) after_script: Vec<String>,
    pub(super) variables: Vec<(String, String)>,
    pub(super) env: JobEnv,
    pub(super) checkout: Checkout,
    pub(super) project_dir: String,
    pub(super) tmp: TempDir,
    /// Artifacts and caches it carries in and out.
    pub(super) carry: Carry,
    /// What a person should know before it runs (predefined variables the file sets), each
    /// naming the file's line.
    pub(super) notes: Vec<String>,
    /// The `--var` values a dry run never prints (`masking.rs`).
    secrets: Vec<String>,
}

impl LocalJob {
    pub(super) fn new(
        settings: &Settings,
        args: &RunArgs,
        file: &Path,
        job: &Job,
        facts: &RefFacts,
        awaited: Awaited,
    ) -> Result<LocalJob, String> {
        // The run's checkout, read once for all its jobs (git is asked only then), and the
        // person's `--var`s, parsed and checked once too.
        let checkout = facts.checkout().clone();
        let overrides = facts.overrides().to_vec();
        let mapped = with_local_images(job, &settings.local.images);
        let job = &mapped;
        let ids = LocalIds::new(&checkout).overridden(&overrides);
        let place = JobPlace::new(file, job);
        let mut person = overrides.clone();
        if let Some(mode) = args.mode {
            person.push((settings.mode_variable.clone(), mode.as_str().into()));
        }
        let given = Given {
            job,
            checkout: &checkout,
            ids: &ids,
            local: &settings.local,
            overrides: &person,
            default_image: &settings.image,
            awaited,
        };
        // The builds directory depends on the mode, which the variables choose: work the
        // variables out with the default one, then again if the job's plan moves it (socket
        // mode's per-job host directory).
        let variables_for = |builds_dir: &str| {
            job_vars::build(&given, builds_dir)
                .map_err(|refused| format!("{}: {}", place.key(refused.key), refused.message))
        };
        let tmp = tempfile::Builder::new()
            .prefix("custom-executor")
            .tempdir()
            .map_err(|e| format!("cannot create a temp dir: {e}"))?;
        // `--var` values stand in for the project's CI/CD settings, which may be secrets: like
        // those, they are not public, so services do not get them.
        let private: Vec<String> = overrides.iter().map(|(k, _)| k.clone()).collect();
        // The variables for a builds directory, the payload written with them, and the
        // runner's environment naming that payload. The driver sees the run's own ids
        // (`kept_vars`); the job's scripts the file's.
        let prepared = |builds_dir: &str| -> Result<_, String> {
            let built = variables_for(builds_dir)?;
            write_payload(
                tmp.path(),
                &ids,
                &built.variables,
                &private,
                job.image.as_ref(),
            )?;
            let env = runner_env(&built.runner, tmp.path());
            Ok((built, env))
        };
        let (mut built, mut env) = prepared(&settings.builds_dir)?;
        let builds_dir = stage::config::config_output(settings, &env).builds_dir;
        if builds_dir != settings.builds_dir {
            (built, env) = prepared(&builds_dir)?;
        }
        // Where the checkout goes is the run's, as gitlab-runner's build directory is its own.
        let project_dir = lookup(&built.runner, "CI_PROJECT_DIR").unwrap_or_default();
        let variables = built.variables;
        let mut notes: Vec<String> = built
            .set_by_file
            .iter()
            .map(|(name, note)| format!("{} {note}", place.variable(name)))
            .collect();
        notes.extend(
            built
                .notes
                .iter()
                .map(|(key, note)| format!("{}: {note}", place.key(key))),
        );
        let carry = Carry::for_job(job, &variables, &checkout, &ids.project_id);
        Ok(LocalJob {
            name: job.name.clone(),
            // The file that wrote the job: an included one names itself.
            file: match job.file.is_empty() {
                true => file.display().to_string(),
                false => job.file.clone(),
            },
            before_script: job.before_script.clone(),
            script: job.script.clone(),
            after_script: job.after_script.clone(),
            variables,
            env,
            checkout,
            project_dir,
            tmp,
            carry,
            notes,
            secrets: masking::secrets(&overrides),
        })
    }

    /// The stages gitlab-runner would send for this job, in order.
    pub(super) fn stages(&self) -> Vec<&'static str> {
        let mut stages = vec!["prepare_script", "get_sources", "build_script"];
        if !self.after_script.is_empty() {
            stages.push("after_script");
        }
        stages.push("cleanup_file_variables");
        stages
    }

    /// Print what prepare would create, which stages would run and the scripts they run
    /// (as text, or one JSON document with `json`); Docker is not contacted.
    pub(super) fn dry_run(
        &self,
        settings: &Settings,
        report: &Report,
        decision: &Decision,
        json: bool,
    ) -> i32 {
        self.tell(report);
        // A refusal quotes what the file made of a `--var` (`image `app:VALUE` is not
        // allowed`): masked like the view itself.
        let refuse = |message: &str| fail(report, &masking::text(message, &self.secrets));
        let facts = match stage::prepare::trusted_facts(&self.env) {
            Ok(facts) => facts,
            Err(failure) => return refuse(&failure.to_string()),
        };
        let plan = match plan::plan(settings, &self.env, facts.as_ref()) {
            Ok(plan) => plan,
            Err(e) => return refuse(&e.0),
        };
        let names: Vec<&str> = self.variables.iter().map(|(k, _)| k.as_str()).collect();
        let placed: Vec<(&str, &str)> = self
            .stages()
            .into_iter()
            .map(|stage| {
                let helper = plan.helper.is_some() && plan::helper::runs_in_helper(stage);
                (stage, if helper { "helper" } else { "job" })
            })
            .collect();
        let scripts = Scripts {
            before_script: &self.before_script,
            script: &self.script,
            after_script: &self.after_script,
        };
        if json {
            let facts = dry_run_view::JobFacts {
                name: &self.name,
                file: &self.file,
                decision,
            };
            let mut doc = dry_run_view::job_json(&facts, &plan, &names, &placed, &scripts);
            masking::json(&mut doc, &self.secrets);
            println!("{doc:#}");
            return 0;
        }
        for ignored in &plan.ignored {
            report.note(&masking::text(ignored, &self.secrets));
        }
        let placed: Vec<String> = placed
            .iter()
            .map(|(stage, runs_in)| format!("{stage} ({runs_in})"))
            .collect();
        // Names, stages and scripts come from the checkout: shown, never obeyed by the terminal.
        let text = format!(
            "job: {} from {}\n{plan}job variables: {}\nstages: {}\n{}",
            self.name,
            self.file,
            names.join(", "),
            placed.join(", "),
            dry_run_view::scripts_text(&scripts)
        );
        let text = masking::text(&text, &self.secrets);
        print!("{}", crate::outcome::shown_lines(&text));
        0
    }

    /// Print the job's notes (before its dry run, or its run).
    pub(super) fn tell(&self, report: &Report) {
        for note in &self.notes {
            report.note(note);
        }
    }

    pub(super) fn context(&self, report: &Report, status: &str) -> ScriptContext {
        let mut variables = self.variables.clone();
        expand::set(&mut variables, "CI_JOB_STATUS", status);
        ScriptContext {
            variables,
            project_dir: self.project_dir.clone(),
            color: report.color(),
        }
    }
}

/// The job with `local.images` applied: an image (the job's or a service's) the file names
/// exactly as a key there is replaced by its local stand-in.
pub(super) fn with_local_images(
    job: &Job,
    images: &std::collections::BTreeMap<String, String>,
) -> Job {
    let mut job = job.clone();
    let swap = |name: &mut String| {
        if let Some(local) = images.get(name.as_str()) {
            *name = local.clone();
        }
    };
    if let Some(image) = job.image.as_mut() {
        swap(&mut image.name);
    }
    for service in &mut job.services {
        swap(&mut service.name);
    }
    job
}
