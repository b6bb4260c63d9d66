//! Dispatch: read the settings once, then run the chosen stage or the local run.

use crate::cli::{Cli, Command, RunArgs};
use crate::env::JobEnv;
use crate::outcome::{Failure, Outcome, StageResult};
use crate::settings::Settings;
use crate::stage;

pub async fn run(cli: Cli, env: &JobEnv) -> Outcome {
    let path = cli
        .config
        .as_deref()
        .or(env.config_path().map(|p| p.as_path()));
    if let Command::Doctor = cli.command {
        let default = crate::settings::DEFAULT_CONFIG_PATH;
        let source =
            path.map(|p| p.display().to_string()).unwrap_or_else(|| {
                match std::fs::metadata(default) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        format!("built-in defaults (no file at {default})")
                    }
                    _ => format!("{default} (default)"),
                }
            });
        let settings = Settings::load(path, None).map_err(|e| e.to_string());
        return Outcome::Local(crate::doctor::doctor(settings, &source).await);
    }
    // A broken config is the admin's to fix; retrying cannot help.
    let settings = match Settings::load(path, None) {
        Ok(settings) => settings,
        Err(e) => return Outcome::Stage(Err(Failure::User(e.to_string()))),
    };
    match cli.command {
        Command::Run(args) if !env.from_runner() => {
            Outcome::Local(crate::local::run(&settings, args, env).await)
        }
        command => Outcome::Stage(protocol(command, &settings, env).await),
    }
}

async fn protocol(command: Command, settings: &Settings, env: &JobEnv) -> StageResult {
    match command {
        Command::Config => stage::config::config(settings, env),
        Command::Prepare { dry_run: true } => stage::prepare::dry_run(settings, env),
        Command::Prepare { dry_run: false } => stage::prepare::prepare(settings, env).await,
        Command::Run(args) => {
            let (script, stage) = protocol_run_args(&args)?;
            stage::run::run(settings, env, script.as_ref(), stage).await
        }
        Command::Cleanup => stage::cleanup::cleanup(settings, env).await,
        Command::Gc(args) => crate::gc::gc(settings, args).await,
        Command::WarmUp {
            key,
            allow_modes,
            remove_networks,
        } => stage::warm_job::refill_now(settings, env, &key, &allow_modes, &remove_networks).await,
        // Dispatched in `run` before the settings are required; nothing to do here.
        Command::Doctor => Ok(()),
    }
}

/// gitlab-runner passes exactly `<script> <stage>` after `run_args`.
fn protocol_run_args(args: &RunArgs) -> Result<(&str, &str), Failure> {
    match args.args.as_slice() {
        [script, stage] if !args.has_local_flags() => Ok((script, stage)),
        _ => Err(Failure::User(
            "run_exec must be called as `executor run SCRIPT STAGE` (gitlab-runner's environment is \
             present, so this is the protocol form); check run_args in config.toml"
                .into(),
        )),
    }
}
