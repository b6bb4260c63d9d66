//! Command-line definitions only (clap). gitlab-runner calls `config`, `prepare`,
//! `run <script> <stage>` and `cleanup` (`protocol.md` §2); see `config/gitlab-runner.toml`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    Prepare,
    /// run_exec: run one stage script inside the job container.
    Run {
        /// The stage script gitlab-runner wrote.
        script: PathBuf,
        /// The stage name (build_script, after_script, ...); any name is accepted.
        stage: String,
    },
    /// cleanup_exec: remove every container, network and volume of the job.
    Cleanup,
}
