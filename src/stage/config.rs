//! `config_exec`: tell the runner where builds live and who we are, as one JSON object on
//! stdout and nothing else (`protocol.md` §4, pitfall §8.6).

use serde::Serialize;

use crate::outcome::{Failure, StageResult};
use crate::settings::Settings;

/// What `config_exec` tells the runner (`protocol.md` §4); local runs read it the same way.
#[derive(Serialize)]
pub struct ConfigOutput<'a> {
    pub builds_dir: &'a str,
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

pub fn config(settings: &Settings) -> StageResult {
    let output = config_output(settings);
    let json = serde_json::to_string(&output)
        .map_err(|e| Failure::system("encode the config output", e))?;
    println!("{json}");
    Ok(())
}

pub fn config_output(settings: &Settings) -> ConfigOutput<'_> {
    ConfigOutput {
        builds_dir: &settings.builds_dir,
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
