//! `config_exec`: tell the runner where builds live and who we are, as one JSON object on
//! stdout and nothing else (`protocol.md` §4, pitfall §8.6).

use serde::Serialize;

use super::prepare;
use crate::env::JobEnv;
use crate::outcome::{Failure, StageResult};
use crate::plan;
use crate::settings::Settings;

/// What `config_exec` tells the runner (`protocol.md` §4); local runs read it the same way.
#[derive(Serialize)]
pub struct ConfigOutput<'a> {
    pub builds_dir: String,
    pub cache_dir: &'a str,
    /// Every job has its own builds volume, so the runner need not separate jobs by path.
    pub builds_dir_is_shared: bool,
    pub hostname: String,
    pub driver: Driver,
    pub shell: &'static str,
}

#[derive(Serialize)]
pub struct Driver {
    pub name: &'static str,
    pub version: &'static str,
}

pub fn config(settings: &Settings, env: &JobEnv) -> StageResult {
    let output = config_output(settings, env);
    let json = serde_json::to_string(&output)
        .map_err(|e| Failure::system("encode the config output", e))?;
    println!("{json}");
    Ok(())
}

/// The builds directory depends on the job's mode: socket jobs get a per-job directory on the
/// host (`plan::helper::builds_dir`). A job whose plan fails gets the default; its prepare
/// then fails with the reason.
pub fn config_output<'a>(settings: &'a Settings, env: &JobEnv) -> ConfigOutput<'a> {
    let builds_dir = prepare::trusted_facts(env)
        .ok()
        .and_then(|facts| plan::plan(settings, env, facts.as_ref()).ok())
        .map(|p| plan::helper::builds_dir(settings, p.mode, &p.identity))
        .unwrap_or_else(|| settings.builds_dir.clone());
    ConfigOutput {
        builds_dir,
        cache_dir: &settings.cache_dir,
        builds_dir_is_shared: false,
        hostname: hostname(),
        driver: Driver {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        shell: "bash",
    }
}

/// The machine the driver runs on, shown by the runner as "Running on ... via <hostname>".
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}
