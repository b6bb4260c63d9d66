//! `executor run [JOB]`: run one `.gitlab-ci.yml` job on this machine by playing gitlab-runner:
//! synthesise the runner's environment, then call the very same `prepare`, `run` (once per
//! stage, with scripts written as the runner writes them) and `cleanup` functions the protocol
//! form uses. Cleanup always runs, also on Ctrl-C.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::carry::Output;
use super::chain;
use super::checkout;
use super::consent;
use super::decisions::RefFacts;
use super::gitlab_ci::rules::Decision;
use super::gitlab_ci::{self, Job, Pipeline, When};
use super::include;
use super::job::LocalJob;
use super::job_vars::Awaited;
use super::pipeline_view;
use super::report::Report;
use super::runner::{lookup, write_script};
use super::script;
use crate::cli::RunArgs;
use crate::env::JobEnv;
use crate::outcome::one_line;
use crate::outcome::Failure;
use crate::settings::Settings;
use crate::signal::Signals;
use crate::stage;

/// Exit code when executor itself fails (bad file, engine trouble), as `docker run` uses 125.
pub const EXIT_DRIVER: i32 = 125;
/// Exit code after Ctrl-C or SIGTERM, as shells report SIGINT.
pub const EXIT_INTERRUPTED: i32 = 130;

pub async fn run(settings: &Settings, args: RunArgs, env: &JobEnv) -> i32 {
    let settings = &consent::settings_for(settings, &args);
    let report = Report::detect(env.no_color());
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(".gitlab-ci.yml"));
    let facts = match RefFacts::gather(settings, &args, &file) {
        Ok(facts) => facts,
        Err(message) => return fail(&report, &message),
    };
    let (pipeline, skipped) = match load(settings, &args, &file, &facts, &report) {
        Ok(loaded) => loaded,
        // An include's location may hold a `--var` value (`local: ci/$NAME.yml`), which its
        // errors show expanded: masked as every other message masks them.
        Err(message) => {
            let secrets = super::masking::secrets(facts.overrides());
            return fail(&report, &super::masking::text(&message, &secrets));
        }
    };
    let decisions = facts.decide_all(&pipeline);
    if args.needs || args.stage.is_some() {
        return chain::run(
            settings, &args, &file, &pipeline, &decisions, &facts, &report,
        )
        .await;
    }
    let name = match args.args.as_slice() {
        [] if args.dry_run => {
            return pipeline_view::show(settings, &args, &facts, &pipeline, &decisions, &skipped)
        }
        [] => return list(&decisions, &file),
        [name] => name,
        _ => {
            return fail(
                &report,
                "the local form takes one JOB; gitlab-runner's environment is absent, so this is \
                 not the protocol form `run SCRIPT STAGE` (see executor run --help)",
            )
        }
    };
    let job = match pipeline.job(name) {
        Ok(job) => job,
        Err(e) => return fail(&report, &e.to_string()),
    };
    report_ignored(&report, &pipeline, job);
    let Some((_, decision)) = decisions.iter().find(|(j, _)| j.name == job.name) else {
        return fail(&report, &format!("no decision for job `{}`", job.name));
    };
    for note in &decision.notes {
        report.note(note);
    }
    // A dry run only looks: it shows an excluded job too, saying so.
    if !decision.runs && !args.force && !args.dry_run {
        return fail(
            &report,
            &format!(
                "job `{}` is not in this ref's pipeline ({}); pass --force to run it anyway",
                job.name,
                decision.why()
            ),
        );
    }
    if !decision.runs && args.dry_run && !args.force {
        report.note(&format!(
            "job `{}` is not in this ref's pipeline ({}); a run needs --force",
            job.name,
            decision.why()
        ));
    } else if !decision.runs {
        report.note(&format!(
            "running `{}` anyway (--force): {}",
            job.name,
            decision.why()
        ));
    }
    // The variables GitLab would give it: `workflow:rules` and the deciding rule's on top.
    let mut decided = job.clone();
    decided.variables = decision.variables.clone();
    // Run alone, the job has no dotenv values from the jobs before it.
    let sources = chain::dotenv_sources(job, &pipeline);
    let awaited = Awaited {
        sources: &sources,
        dry_run: args.dry_run,
    };
    let local = match LocalJob::new(settings, &args, &file, &decided, &facts, awaited) {
        Ok(local) => local,
        Err(message) => return fail(&report, &message),
    };
    if args.dry_run {
        return local.dry_run(settings, &report, decision, args.json);
    }
    if let Err(message) = consent::check(settings, &args, &local.env) {
        return fail(&report, &message);
    }
    local.execute(settings, &report).await
}

pub(super) fn fail(report: &Report, message: &str) -> i32 {
    report.error(message);
    EXIT_DRIVER
}

/// The pipeline file with everything it includes merged in (fetched files come from the
/// cache unless `--refresh`), and the includes whose `rules:` left them out.
fn load(
    settings: &Settings,
    args: &RunArgs,
    file: &Path,
    facts: &RefFacts,
    report: &Report,
) -> Result<(Pipeline, Vec<include::Skipped>), String> {
    let text = read_pipeline(file, facts.root())?;
    let shown = file.display().to_string();
    let inputs = args
        .inputs
        .iter()
        .map(|i| parse_input(i))
        .collect::<Result<Vec<_>, _>>()?;
    // One file without includes is read as it is (the common case, and the fastest).
    if !has_include(&text) {
        let pipeline = gitlab_ci::parse_with_inputs(&text, &shown, &inputs, &facts.expandable())
            .map_err(|e| e.to_string())?;
        for warning in &pipeline.warnings {
            report.note(warning);
        }
        return Ok((pipeline, Vec::new()));
    }
    let root = facts.root();
    let main = std::path::absolute(file)
        .ok()
        .and_then(|f| f.strip_prefix(root).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| shown.clone());
    let mut options = include::Options::new(&main);
    options.variables = facts.variables();
    options.inputs = inputs;
    options.gitlab_url = settings.local.gitlab_url.clone();
    options.template_base = settings.local.templates_url.clone();
    options.projects = settings
        .local
        .projects
        .iter()
        .map(|(project, dir)| (project.clone(), PathBuf::from(dir)))
        .collect();
    options.refresh = args.refresh;
    let (token, unused) = gitlab_token(
        args.gitlab_token.as_deref(),
        |name| std::env::var(name).ok(),
        settings.local.gitlab_url_named,
    );
    options.token = token;
    options.unused_token = unused;
    options.private_variables = facts.overrides().iter().map(|(k, _)| k.clone()).collect();
    // `rules:` on entries are decided against the facts the jobs are decided against.
    options.hooks = Box::new(include::IncludeRules::new(facts.include_rules()));
    let mut merged = include::resolve(root, &text, &options).map_err(|e| e.to_string())?;
    let secrets = super::masking::secrets(facts.overrides());
    for warning in &merged.warnings {
        report.note(&super::masking::text(warning, &secrets));
    }
    let skipped = std::mem::take(&mut merged.skipped);
    let pipeline = merged.parse().map_err(|e| e.to_string())?;
    for warning in &pipeline.warnings {
        report.note(warning);
    }
    Ok((pipeline, skipped))
}

/// The most of the pipeline file a local run reads (an included file may hold 1 MiB): as much
/// as `job_lines` reads again to find lines, far more than GitLab's 2 MB for a whole pipeline.
const MAX_PIPELINE_BYTES: u64 = 4 << 20;

/// The pipeline file's text, read bounded. The checkout's files are its writer's: a
/// `.gitlab-ci.yml` that is a link to `/dev/zero` was read until the memory ran out, and one
/// linking to a file elsewhere on this machine made that file the pipeline, its content shown
/// in messages and merged into jobs. So a file named inside the checkout `root` must still be
/// in it once its links are followed (a file the person names outside it is read where it
/// is), and must be a regular file no larger than [`MAX_PIPELINE_BYTES`].
fn read_pipeline(file: &Path, root: &Path) -> Result<String, String> {
    use std::io::Read;
    let cannot = |why: &dyn std::fmt::Display| {
        format!(
            "cannot read {} ({why}); run executor in a checkout with a .gitlab-ci.yml or pass \
             --file",
            file.display()
        )
    };
    let real = file.canonicalize().map_err(|e| cannot(&e))?;
    let named = std::path::absolute(file).map(|p| lexical(&p));
    let roots = [
        std::path::absolute(root).map(|p| lexical(&p)).ok(),
        root.canonicalize().ok(),
    ];
    let named_inside = named
        .as_ref()
        .is_ok_and(|n| roots.iter().flatten().any(|r| n.starts_with(r)));
    let real_root = root.canonicalize().map_err(|e| cannot(&e))?;
    if named_inside && !real.starts_with(&real_root) {
        return Err(cannot(&format!(
            "it is a link to {}, outside the checkout {}; a checkout's pipeline file must be \
             in it: pass --file with that path if you mean it",
            real.display(),
            real_root.display()
        )));
    }
    let meta = std::fs::metadata(&real).map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(cannot(&"it is not a regular file"));
    }
    let mut text = String::new();
    std::fs::File::open(&real)
        .map_err(|e| cannot(&e))?
        .take(MAX_PIPELINE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| cannot(&e))?;
    if text.len() as u64 > MAX_PIPELINE_BYTES {
        return Err(cannot(&format!(
            "it is larger than {} MiB, the most a local run reads",
            MAX_PIPELINE_BYTES >> 20
        )));
    }
    Ok(text)
}

/// `path` with `.` and `..` taken out as written (no links followed).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `--input NAME=VALUE`.
fn parse_input(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("--input {text}: write it as NAME=VALUE")),
    }
}

/// Whether the file may have a top-level `include:` key. Any mention of the word counts:
/// the key can be written quoted, with a space before its colon, or in a flow mapping
/// (`{include: ...}`), and a file read through the include resolver without one merges to
/// itself, only a little slower; a file with one read past it would lose jobs silently.
fn has_include(text: &str) -> bool {
    text.contains("include")
}

/// The token `include: project:` fetches send to `local.gitlab_url`: `--gitlab-token`, else
/// `GITLAB_TOKEN`, else `CI_JOB_TOKEN` from the person's environment, those two only when the
/// config names the instance. The file chooses which projects are read with the token, and a
/// token merely present in a shell would otherwise go to gitlab.com for any checkout; naming
/// the instance is the person saying this token is for it. The second value is the
/// environment variable left unused, for the error that says how to use it.
fn gitlab_token(
    given: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    instance_named: bool,
) -> (Option<include::Token>, Option<&'static str>) {
    use include::{Token, TokenKind};
    if let Some(token) = given {
        return (Some(Token::new(TokenKind::Private, token)), None);
    }
    let found = [
        ("GITLAB_TOKEN", TokenKind::Private),
        ("CI_JOB_TOKEN", TokenKind::Job),
    ]
    .into_iter()
    .find_map(|(name, kind)| env(name).filter(|v| !v.is_empty()).map(|v| (name, kind, v)));
    match (found, instance_named) {
        (Some((_, kind, value)), true) => (Some(Token::new(kind, value)), None),
        (Some((name, _, _)), false) => (None, Some(name)),
        (None, _) => (None, None),
    }
}

/// `executor run` without a job: what can be run, and whether each job is in this ref's
/// pipeline (and if not, the rule that decided).
fn list(decisions: &[(&Job, Decision)], file: &Path) -> i32 {
    println!(
        "jobs in {} (run one with `executor run JOB`):",
        file.display()
    );
    for (job, decision) in decisions {
        let image = job
            .image
            .as_ref()
            .map(|i| i.name.as_str())
            .unwrap_or("default image");
        // One line per job (name, stage, image: tools read it), and under a job that does
        // not simply run, why.
        let (name, stage, image) = (one_line(&job.name), one_line(&job.stage), one_line(image));
        println!("  {name:<24} stage {stage:<10} {image}");
        match (decision.runs, decision.when) {
            (false, _) => println!("      not on this ref: {}", one_line(&decision.why())),
            (true, When::OnSuccess) => {}
            (true, when) => println!("      runs {when}"),
        }
    }
    0
}

/// Say once which keys a local run does not act on, and why, so nothing is silently dropped.
pub(super) fn report_ignored(report: &Report, pipeline: &Pipeline, job: &Job) {
    if let Some(note) = pipeline.ignored_note(job) {
        report.note(&note);
    }
}

impl LocalJob {
    async fn execute(self, settings: &Settings, report: &Report) -> i32 {
        self.run_job(settings, report).await.0
    }

    /// Run the job; its exit code and what it hands on to later jobs (`carry`).
    pub(super) async fn run_job(self, settings: &Settings, report: &Report) -> (i32, Output) {
        let started = Instant::now();
        report.info(&format!(
            "running job {} from {} on {}",
            self.name, self.file, settings.docker_host
        ));
        self.tell(report);
        let mut signals = Signals::install();
        let outcome = tokio::select! {
            outcome = self.steps(settings, report) => outcome,
            signal = signals.recv() => {
                report.note(&format!("{}: stopping the job and cleaning up", signal.name()));
                Err(Stop::Interrupted)
            }
        };
        self.cleanup(settings, report).await;
        let output = self.carry.output.take();
        let code = match outcome {
            Ok(code) => {
                report.verdict(&self.name, code, started.elapsed());
                code
            }
            Err(Stop::Driver(failure)) => fail(report, &failure.to_string()),
            Err(Stop::Interrupted) => EXIT_INTERRUPTED,
        };
        (code, output)
    }

    /// prepare, then the stages in the runner's order; returns the job's exit code.
    async fn steps(&self, settings: &Settings, report: &Report) -> Result<i32, Stop> {
        report.start("prepare");
        let took = Instant::now();
        if let Err(failure) = stage::prepare::prepare(settings, &self.env).await {
            report.failed("prepare", "", took.elapsed());
            return Err(Stop::Driver(failure));
        }
        report.passed("prepare", took.elapsed());

        let driver = format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
        let code = self
            .stage(
                settings,
                report,
                "prepare_script",
                script::prepare_script(&driver),
            )
            .await?;
        if code != 0 {
            return Ok(code);
        }
        let ctx = self.context(report, "running");
        let archive = self
            .checkout
            .archive()
            .map_err(|e| Stop::Driver(Failure::User(e)))?;
        let sources = script::get_sources(&ctx, &checkout::base64(&archive));
        let mut code = self.stage(settings, report, "get_sources", sources).await?;
        if code == 0 {
            // Other jobs' artifacts and kept caches (`carry`), then the job's own scripts.
            code = self.restore(settings, report).await?;
        }
        if code == 0 {
            let build = script::build_script(&ctx, &self.before_script, &self.script);
            code = self.stage(settings, report, "build_script", build).await?;
            code = self.after_script(settings, report, code).await?;
            code = self.keep(settings, report, code).await;
        }
        self.stage(
            settings,
            report,
            "cleanup_file_variables",
            script::cleanup_file_variables(&ctx),
        )
        .await?;
        Ok(code)
    }

    /// after_script sees the job's status; its failure is ignored unless the job asks
    /// otherwise with `AFTER_SCRIPT_IGNORE_ERRORS: "false"` (`protocol.md` §6.3).
    async fn after_script(
        &self,
        settings: &Settings,
        report: &Report,
        code: i32,
    ) -> Result<i32, Stop> {
        if self.after_script.is_empty() {
            return Ok(code);
        }
        let status = if code == 0 { "success" } else { "failed" };
        let ctx = self.context(report, status);
        let after = self
            .stage(
                settings,
                report,
                "after_script",
                script::after_script(&ctx, &self.after_script),
            )
            .await?;
        let ignore =
            lookup(&self.variables, "AFTER_SCRIPT_IGNORE_ERRORS").as_deref() != Some("false");
        match after {
            0 => Ok(code),
            _ if ignore || code != 0 => {
                report.note(&format!(
                    "after_script failed with exit code {after}; ignored"
                ));
                Ok(code)
            }
            _ => Ok(after),
        }
    }

    /// Write the stage script where the runner would and call the protocol's `run`.
    pub(super) async fn stage(
        &self,
        settings: &Settings,
        report: &Report,
        name: &str,
        text: String,
    ) -> Result<i32, Stop> {
        let path = write_script(self.tmp.path(), name, &text)
            .map_err(|e| Stop::Driver(Failure::User(e)))?;
        report.start(name);
        let took = Instant::now();
        match stage::run::run(settings, &self.env, &path, name).await {
            Ok(()) => {
                report.passed(name, took.elapsed());
                Ok(0)
            }
            Err(Failure::Script(code)) => {
                report.failed(
                    name,
                    &format!("failed with exit code {code}"),
                    took.elapsed(),
                );
                Ok(i32::try_from(code).unwrap_or(1))
            }
            Err(failure) => {
                report.failed(name, "", took.elapsed());
                Err(Stop::Driver(failure))
            }
        }
    }

    async fn cleanup(&self, settings: &Settings, report: &Report) {
        report.start("cleanup");
        let took = Instant::now();
        match stage::cleanup::cleanup(settings, &self.env).await {
            Ok(()) => report.passed("cleanup", took.elapsed()),
            Err(failure) => report.failed("cleanup", &failure.to_string(), took.elapsed()),
        }
    }
}

/// Why the steps stopped early.
pub(super) enum Stop {
    Driver(Failure),
    Interrupted,
}

#[cfg(test)]
mod tests {
    use super::{gitlab_token, read_pipeline, MAX_PIPELINE_BYTES};

    /// A checkout's pipeline file that links out of it (to another file, to `/dev/zero`) is
    /// refused, and a large one is not read whole; a link inside the checkout, and a file the
    /// person names outside it, are read.
    #[test]
    fn the_pipeline_file_stays_in_the_checkout_and_is_read_bounded() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.yml");
        std::fs::write(&secret, "token: hunter2\n").unwrap();
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        std::fs::create_dir(root.join("ci")).unwrap();
        std::fs::write(root.join("ci/real.yml"), "job: {script: [x]}\n").unwrap();
        symlink(&secret, root.join(".gitlab-ci.yml")).unwrap();
        symlink("/dev/zero", root.join("zero.yml")).unwrap();
        symlink("ci/real.yml", root.join("inside.yml")).unwrap();
        symlink(outside.path(), root.join("out")).unwrap();
        for name in [
            ".gitlab-ci.yml",
            "zero.yml",
            "out/secret.yml",
            "ci/../out/secret.yml",
        ] {
            let e = read_pipeline(&root.join(name), root).unwrap_err();
            assert!(e.contains("outside the checkout"), "{name}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
        assert!(read_pipeline(&root.join("inside.yml"), root)
            .unwrap()
            .starts_with("job:"));
        // Named by the person outside the checkout: read where it is.
        assert!(read_pipeline(&secret, root).is_ok());
        let big = root.join("big.yml");
        std::fs::write(&big, vec![b'#'; MAX_PIPELINE_BYTES as usize + 1]).unwrap();
        let e = read_pipeline(&big, root).unwrap_err();
        assert!(e.contains("larger than 4 MiB"), "{e}");
        let e = read_pipeline(&root.join("ci"), root).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    /// A token in the shell goes only to an instance the config names; `--gitlab-token`
    /// always counts.
    #[test]
    fn tokens_from_the_environment_need_the_instance_named() {
        let both: &[(&str, &str)] = &[("GITLAB_TOKEN", "p"), ("CI_JOB_TOKEN", "j")];
        let job: &[(&str, &str)] = &[("CI_JOB_TOKEN", "j"), ("GITLAB_TOKEN", "")];
        let shown = |t: Option<crate::local::include::Token>| t.map(|t| format!("{t:?}"));
        let (token, unused) = gitlab_token(None, env(both), false);
        assert_eq!((shown(token), unused), (None, Some("GITLAB_TOKEN")));
        let (token, unused) = gitlab_token(None, env(both), true);
        assert_eq!(
            (shown(token), unused),
            (Some("Token(Private, <hidden>)".into()), None)
        );
        let (token, _) = gitlab_token(None, env(job), true);
        assert_eq!(shown(token), Some("Token(Job, <hidden>)".into()));
        let (token, unused) = gitlab_token(Some("given"), env(&[]), false);
        assert_eq!(
            (shown(token), unused),
            (Some("Token(Private, <hidden>)".into()), None)
        );
        assert_eq!(gitlab_token(None, env(&[]), true).1, None);
    }
}
