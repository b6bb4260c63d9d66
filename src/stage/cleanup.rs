//! `cleanup_exec`: remove everything labelled with the job. Idempotent: it runs after every
//! failed prepare attempt and once at the end, whatever state the job is in (`protocol.md`
//! §2.5). Its output reaches only the runner's own log.

use std::time::Duration;

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
    let key = identity.key();
    let prepared = docker::container_running(&engine, &identity.job_container())
        .await?
        .is_some();
    let mut removed = docker::remove_job_resources(&engine, &key).await?;
    if !prepared {
        // No job container: prepare failed or was killed, perhaps with a create request still
        // in flight, which the engine completes after its caller is gone. Look once more when
        // such a request has had time to land.
        tokio::time::sleep(SETTLE).await;
        removed += docker::remove_job_resources(&engine, &key).await?;
    }
    say(&format!("cleanup of {key}: removed {removed}"));
    Ok(())
}

/// How long after a failed prepare cleanup looks again (a network create takes ~0.1 s here).
const SETTLE: Duration = Duration::from_secs(1);
