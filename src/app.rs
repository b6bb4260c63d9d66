//! Dispatch: read the settings once, then run the chosen stage.

use crate::cli::{Cli, Command};
use crate::env::JobEnv;
use crate::outcome::{Failure, StageResult};
use crate::settings::Settings;
use crate::stage;

pub async fn run(cli: Cli, env: &JobEnv) -> StageResult {
    let path = cli
        .config
        .as_deref()
        .or(env.config_path().map(|p| p.as_path()));
    // A broken config is the admin's to fix; retrying cannot help.
    let settings = Settings::load(path, None).map_err(|e| Failure::User(e.to_string()))?;
    match cli.command {
        Command::Config => stage::config::config(&settings),
        Command::Prepare => stage::prepare::prepare(&settings, env).await,
        Command::Run { script, stage } => stage::run::run(&settings, env, &script, &stage).await,
        Command::Cleanup => stage::cleanup::cleanup(&settings, env).await,
    }
}
