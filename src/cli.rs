//! Command-line definitions only (clap). gitlab-runner calls `config`, `prepare`,
//! `run <script> <stage>` and `cleanup` (`protocol.md` §2; see `config/gitlab-runner.toml`);
//! a person runs `executor run [JOB]` in a checkout.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "executor",
    version,
    about = "gitlab-runner custom executor driver: each job gets a container with Docker in \
             dind, socket or none mode",
    after_help = "The config path defaults to $EXECUTOR_CONFIG, then /etc/executor/executor.yaml \
                  (missing there means built-in defaults)."
)]
pub struct Cli {
    /// Driver config file (YAML).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// config_exec: print the runner settings as one JSON object on stdout.
    Config,
    /// prepare_exec: create the job's network, volumes, dind sidecar and job container.
    Prepare {
        /// Print what would be created, without contacting the Docker engine.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run a .gitlab-ci.yml job locally, or (for gitlab-runner) one stage script.
    #[command(after_long_help = RUN_FORMS)]
    Run(RunArgs),
    /// cleanup_exec: remove every container, network and volume of the job.
    Cleanup,
    /// Check the config, the engine, privileged containers and the images; exit 1 on blockers.
    Doctor,
    /// Remove what killed or crashed jobs left behind; a running job is left alone until
    /// gc.max_age.
    Gc(GcArgs),
    /// Started by cleanup with `warm.jobs`: make the slot's next warm job set, detached from
    /// the runner, with the job's payload on stdin.
    #[command(hide = true)]
    WarmUp {
        /// The new set's key, chosen (and said) by cleanup.
        key: String,
        /// A mode the job's run offered beyond the config file's defaults (`executor run
        /// --mode`), so the set is made for the plan the run had.
        #[arg(long = "allow-mode", value_name = "MODE")]
        allow_modes: Vec<String>,
        /// A finished job's network (by id) to remove meanwhile, which its cleanup left to
        /// this process.
        #[arg(long = "remove-network", value_name = "ID")]
        remove_networks: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Collect a job without a running job container once its newest resource is this old
    /// (default: gc.grace, 10m).
    #[arg(long, value_name = "DURATION")]
    pub grace: Option<String>,

    /// Collect any job whose newest resource is this old (default: gc.max_age, 24h).
    #[arg(long, value_name = "DURATION")]
    pub max_age: Option<String>,

    /// Only jobs of this runner id.
    #[arg(long, value_name = "ID")]
    pub runner_id: Option<String>,

    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Also remove every kept project volume that no container uses: dind.cache layer caches
    /// and cache_dir volumes.
    #[arg(long)]
    pub drop_caches: bool,
}

const RUN_FORMS: &str = "\
Two forms, told apart by the environment:

  executor run SCRIPT STAGE
      The protocol form, used when gitlab-runner's environment is present
      (BUILD_FAILURE_EXIT_CODE or SYSTEM_FAILURE_EXIT_CODE is set, as the runner does
      on every call). Exactly two arguments: the stage script and the stage name.

  executor run [JOB] [--file PATH] [--mode MODE] [--var KEY=VALUE]... [--dry-run [--json]]
      The local form, used otherwise: runs JOB from .gitlab-ci.yml in this checkout
      through the same config/prepare/run/cleanup code gitlab-runner drives. Without
      JOB, lists the jobs (with --dry-run: the whole pipeline for this ref). Exits with
      the job script's own exit code.";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Local form: the job to run. Protocol form: SCRIPT STAGE.
    #[arg(value_name = "JOB | SCRIPT STAGE", num_args = 0..=2)]
    pub args: Vec<String>,

    /// The pipeline file (local form).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Docker mode for this run, instead of the job's variable (local form).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,

    /// Set a job variable, overriding the file's (local form; repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,

    /// Print what would be created and which stages would run, without contacting Docker.
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: print one JSON document for tools instead of text (local form; the
    /// fields are listed in docs/local-runs.md).
    #[arg(long, requires = "dry_run")]
    pub json: bool,

    /// Run the job even where its `rules:`/`only:`/`except:` leave it out of this ref's
    /// pipeline (local form).
    #[arg(long)]
    pub force: bool,

    /// Compare `changes:` rules with this git ref's merge base (local form; default: the
    /// default branch's, `origin/<branch>`).
    #[arg(long, value_name = "REF")]
    pub changes_from: Option<String>,

    /// Give the pipeline file's `spec:inputs` input NAME this value (local form; repeatable).
    #[arg(long = "input", value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,

    /// Fetch `include:` files again instead of using the cached copies (local form).
    #[arg(long)]
    pub refresh: bool,

    /// Token for `include: project:` files fetched from `local.gitlab_url` (local form;
    /// default: `GITLAB_TOKEN`, else `CI_JOB_TOKEN`, when the config names local.gitlab_url).
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub gitlab_token: Option<String>,

    /// Run the job's `needs:` and `dependencies:` first, handing on artifacts and dotenv
    /// variables (local form).
    #[arg(long)]
    pub needs: bool,

    /// Run the jobs of this stage that run on this ref, one after another (local form).
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,

    /// Neither adopt a warm job container (`warm.jobs`) nor leave one for the next run
    /// (local form).
    #[arg(long)]
    pub no_warm: bool,
}

impl RunArgs {
    /// Whether any flag of the local form was given.
    pub fn has_local_flags(&self) -> bool {
        self.file.is_some()
            || self.mode.is_some()
            || !self.vars.is_empty()
            || self.dry_run
            || self.json
            || self.force
            || self.changes_from.is_some()
            || self.refresh
            || !self.inputs.is_empty()
            || self.gitlab_token.is_some()
            || self.needs
            || self.stage.is_some()
            || self.no_warm
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Dind,
    Socket,
    None,
}

impl ModeArg {
    pub fn as_str(self) -> &'static str {
        match self {
            ModeArg::Dind => "dind",
            ModeArg::Socket => "socket",
            ModeArg::None => "none",
        }
    }
}
