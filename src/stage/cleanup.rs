//! `cleanup_exec`: remove everything labelled with the job. Idempotent: it runs after every
//! failed prepare attempt and once at the end, whatever state the job is in (`protocol.md`
//! §2.5). Its output reaches only the runner's own log.

use crate::docker::{self, Engine};
use crate::env::JobEnv;
use crate::outcome::{say, StageResult};
use crate::plan::JobIdentity;
use crate::settings::Settings;

pub async fn cleanup(settings: &Settings, env: &JobEnv) -> StageResult {
    // Without a valid identity prepare created nothing, so there is nothing to find.
    let identity = match JobIdentity::from_env(env) {
        Ok(identity) => identity,
        Err(e) => {
            say(&format!("nothing to clean up: {e}"));
            return Ok(());
        }
    };
    let engine = Engine::connect(settings)?;
    let removed = docker::remove_job_resources(&engine, &identity.key()).await?;
    say(&format!("cleanup of {}: removed {removed}", identity.key()));
    Ok(())
}
