//! The carrying steps of one local job: before its scripts, unpack the artifacts of the jobs
//! it takes them from (`download_artifacts`) and its caches (`restore_cache`); after them,
//! read its artifacts and dotenv report for later jobs and save its caches.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use super::select::Wanted;
use super::{dotenv_from, Output, Source, MAX_ARTIFACTS};
use crate::env::JobEnv;
use crate::local::cache::{self, MAX_CACHE};
use crate::local::checkout::{self, Checkout};
use crate::local::driver::Stop;
use crate::local::gitlab_ci::{Artifacts, Cache, CachePolicy, Job};
use crate::local::job::LocalJob;
use crate::local::report::Report;
use crate::local::script;
use crate::settings::Settings;

/// What one job carries in and out.
#[derive(Default)]
pub struct Carry {
    /// Artifact archives to unpack before the scripts, with the job each came from.
    pub artifacts_in: Vec<(String, Vec<u8>)>,
    /// The job's `artifacts:`, when a later job takes them.
    pub artifacts_out: Option<Artifacts>,
    /// The job's caches, each with its policy for this job ([`cache::policy`]) and its keys
    /// for an unprotected and for a protected ref.
    caches: Vec<(Cache, Result<CachePolicy, String>, [cache::Keys; 2])>,
    /// Where this project's caches are kept; `None` without a home directory.
    cache_dir: Option<PathBuf>,
    /// What the job handed on, once it ended.
    pub output: RefCell<Output>,
    tracked: RefCell<Option<HashSet<String>>>,
}

impl Carry {
    /// The caches of `job`, keyed with its (expanded) `variables`, kept under `project_id`'s
    /// directory: the run's own id (or `--var CI_PROJECT_ID`), never the file's `variables:`,
    /// so a pipeline file cannot read another project's caches. Which of the two kinds of key
    /// a job uses is the payload's to say ([`Carry::caches`]).
    pub fn for_job(
        job: &Job,
        variables: &[(String, String)],
        checkout: &Checkout,
        project_id: &str,
    ) -> Carry {
        Carry {
            caches: job
                .cache
                .iter()
                .map(|c| {
                    let keys = |protected| cache::keys(c, variables, &checkout.root, protected);
                    let policy = cache::policy(c, variables);
                    (c.clone(), policy, [keys(false), keys(true)])
                })
                .collect(),
            cache_dir: cache::dir(project_id),
            ..Carry::default()
        }
    }

    /// The caches with their policies and the keys GitLab gives them on this job's ref:
    /// protected or not as the payload in `env` says ([`cache::ref_protected`]), never as a
    /// job variable claims. A cache whose policy is unknown is left out: `restore` failed the
    /// job on it ([`Carry::policy_error`]).
    fn caches<'c>(
        &'c self,
        env: &JobEnv,
    ) -> impl Iterator<Item = (&'c Cache, &'c CachePolicy, &'c cache::Keys)> {
        let protected = cache::ref_protected(env);
        self.caches.iter().filter_map(move |(c, policy, keys)| {
            Some((c, policy.as_ref().ok()?, &keys[usize::from(protected)]))
        })
    }

    /// Why a cache cannot be used: a `policy:` that expands to no policy the runner knows,
    /// which fails the job before its scripts, as the runner's cache step does.
    fn policy_error(&self) -> Option<&str> {
        self.caches
            .iter()
            .find_map(|(_, policy, _)| policy.as_ref().err().map(String::as_str))
    }
}

impl LocalJob {
    /// Unpack what the job receives; a non-zero exit code when a stage failed.
    pub(in crate::local) async fn restore(
        &self,
        settings: &Settings,
        report: &Report,
    ) -> Result<i32, Stop> {
        let ctx = self.context(report, "running");
        for (from, archive) in &self.carry.artifacts_in {
            let text = script::unpack(
                &ctx,
                &format!("Downloading artifacts of {from}..."),
                &checkout::base64(archive),
            );
            let code = self
                .stage(settings, report, "download_artifacts", text)
                .await?;
            if code != 0 {
                return Ok(code);
            }
        }
        if let Some(message) = self.carry.policy_error() {
            report.failed("restore_cache", message, std::time::Duration::ZERO);
            return Ok(1);
        }
        // Said once for every cache, `policy: push` ones too: none is kept.
        let Some(dir) = &self.carry.cache_dir else {
            if self.carry.caches(&self.env).next().is_some() {
                report.note("cache: not restored nor kept: set HOME or XDG_CACHE_HOME");
            }
            return Ok(0);
        };
        let pulled = self
            .carry
            .caches(&self.env)
            .filter(|(_, policy, _)| **policy != CachePolicy::Push);
        for (_, _, keys) in pulled {
            let key = &keys.key;
            let Some((found, archive)) = cache::load(dir, keys) else {
                report.note(&format!(
                    "cache `{key}`: none kept yet in {}",
                    dir.display()
                ));
                continue;
            };
            let text = script::unpack(
                &ctx,
                &format!("Restoring cache {found}..."),
                &checkout::base64(&archive),
            );
            let code = self.stage(settings, report, "restore_cache", text).await?;
            if code != 0 {
                return Ok(code);
            }
        }
        Ok(0)
    }

    /// After the scripts: read the artifacts a later job takes and save the caches. A failure
    /// to read artifacts fails the job (a later one would miss them), a cache's is a note.
    pub(in crate::local) async fn keep(
        &self,
        settings: &Settings,
        report: &Report,
        code: i32,
    ) -> i32 {
        let source = Source {
            settings,
            env: &self.env,
            project_dir: &self.project_dir,
            tracked: &self.carry.tracked,
            checkout: &self.checkout,
        };
        let passed = code == 0;
        let mut code = code;
        if let Some(artifacts) = self
            .carry
            .artifacts_out
            .as_ref()
            .filter(|a| a.when.after(passed))
        {
            let took = Instant::now();
            report.start("upload_artifacts");
            match artifacts_of(&source, artifacts).await {
                Ok((output, notes)) => {
                    notes
                        .iter()
                        .for_each(|n| report.note(&format!("artifacts: {n}")));
                    *self.carry.output.borrow_mut() = output;
                    report.passed("upload_artifacts", took.elapsed());
                }
                Err(message) => {
                    report.failed("upload_artifacts", &message, took.elapsed());
                    code = if code == 0 { 1 } else { code };
                }
            }
        }
        let (Some(dir), true) = (&self.carry.cache_dir, !self.carry.caches.is_empty()) else {
            return code;
        };
        let pushed = self
            .carry
            .caches(&self.env)
            .filter(|(c, policy, _)| **policy != CachePolicy::Pull && c.when.after(passed));
        for (cache, _, keys) in pushed {
            let key = &keys.key;
            let took = Instant::now();
            report.start("archive_cache");
            let wanted = Wanted {
                paths: &cache.paths,
                exclude: &[],
                untracked: cache.untracked,
            };
            let saved = match source.archive(&wanted, MAX_CACHE).await {
                Ok((Some(archive), _)) => {
                    cache::save(dir, key, &archive).map(|()| format!("saved as {key}"))
                }
                Ok((None, _)) => Ok(format!("no files for `{key}`; nothing saved")),
                Err(message) => Err(message),
            };
            match saved {
                Ok(what) => {
                    report.note(&format!("cache: {what}"));
                    report.passed("archive_cache", took.elapsed());
                }
                Err(message) => report.failed(
                    "archive_cache",
                    &format!("{message}; cache not saved"),
                    took.elapsed(),
                ),
            }
        }
        code
    }
}

/// The artifacts archive and the dotenv report's variables.
async fn artifacts_of(
    source: &Source<'_>,
    artifacts: &Artifacts,
) -> Result<(Output, Vec<String>), String> {
    let wanted = Wanted {
        paths: &artifacts.paths,
        exclude: &artifacts.exclude,
        untracked: artifacts.untracked,
    };
    let (archive, mut notes) = source.archive(&wanted, MAX_ARTIFACTS).await?;
    let mut dotenv = Vec::new();
    if !artifacts.dotenv.is_empty() {
        let reports = Wanted {
            paths: &artifacts.dotenv,
            exclude: &[],
            untracked: false,
        };
        if let (Some(files), _) = source.archive(&reports, 64 * 1024).await? {
            match dotenv_from(&files, &artifacts.dotenv) {
                Ok(read) => dotenv = read,
                // GitLab refuses the whole report and the later jobs get none of it.
                Err(message) => notes.push(format!("dotenv report refused: {message}")),
            }
        }
    }
    Ok((Output { archive, dotenv }, notes))
}
