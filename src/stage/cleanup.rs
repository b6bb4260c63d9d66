//! `cleanup_exec`: remove everything labelled with the job. Idempotent: it runs after every
//! failed prepare attempt and once at the end, whatever state the job is in (`protocol.md`
//! §2.5). Its output reaches only the runner's own log.
//!
//! With `dind.cache: project` the sidecar is first stopped gracefully and its cache measured;
//! with `dind.warm` a fresh sidecar for the slot's next job is started last.

use std::time::Duration;

use super::{cache, prepare::trusted_facts, warm, warm_job};
use crate::docker::{self, Engine};
use crate::env::JobEnv;
use crate::outcome::{say, StageResult};
use crate::plan::owner::{owner_of, Owner};
use crate::plan::warm::LABEL_WARM_KEY;
use crate::plan::{self, JobIdentity, Plan, DIND_DATA_DIR};
use crate::settings::Settings;

pub async fn cleanup(settings: &Settings, env: &JobEnv) -> StageResult {
    // Without a valid identity prepare created nothing, so there is nothing to find.
    let facts = match trusted_facts(env) {
        Ok(facts) => facts,
        Err(e) => {
            say(&format!("nothing to clean up: {e}"));
            return Ok(());
        }
    };
    let identity = match JobIdentity::resolve(settings, env, facts.as_ref()) {
        Ok(resolved) => resolved.identity,
        Err(e) => {
            say(&format!("nothing to clean up: {e}"));
            return Ok(());
        }
    };
    let engine = Engine::connect(settings)?;
    let key = identity.key();
    let job_container = identity.job_container();
    // One look at the job container: whether it exists (prepare got that far) and, for an
    // adopted warm job set, its key: the set's builds directory (socket mode) goes with the
    // job's.
    let job_labels = docker::dind::labels_of(&engine, &job_container).await?;
    let prepared = job_labels.is_some();
    let warm_set = job_labels
        .and_then(|labels| labels.get(LABEL_WARM_KEY).cloned())
        .filter(|key| owner_of(&format!("{key}-job")) == Owner::Warm(key.clone()));
    // The job's own plan says what it had; a job whose plan fails created nothing.
    let plan = plan::plan(settings, env, facts.as_ref()).ok();
    // What the sidecar really ran on: a job whose project cache was held by a live daemon ran
    // on a volume of its own, and must neither measure, drop nor warm up on the held cache.
    let sidecar_data = match plan.as_ref().and_then(|p| p.sidecar.as_ref()) {
        Some(s) => docker::dind::mounted_volume(&engine, &s.name, DIND_DATA_DIR).await?,
        None => None,
    };
    let had_sidecar = sidecar_data.is_some();
    let fell_back = match (&plan, &sidecar_data) {
        (Some(p), Some(data)) => p.cache_volume.as_ref().is_some_and(|c| c.name != *data),
        _ => false,
    };
    let plan = plan.map(|p| if fell_back { p.without_cache() } else { p });
    // `warm.jobs`: the slot's next job set is made by a process of its own, so neither the
    // runner's next job nor the person at the terminal waits for it. That process also takes
    // this job's networks (by id), whose removal is most of a cleanup's time.
    let refill = plan
        .as_ref()
        .filter(|p| prepared && !had_sidecar && warm_job::wanted(settings, p).is_ok());
    // The networks kept for that process; filled as they are found, so a removal that fails
    // midway still hands them on.
    let mut kept = Vec::new();
    let removal = async {
        let evict = match (&plan, had_sidecar) {
            (Some(p), true) => cache::retire(&engine, settings, p).await,
            _ => None,
        };
        let keep = refill.is_some();
        let mut removed =
            docker::dind::remove_job_but(&engine, &key, keep.then_some(&mut kept)).await?;
        if !prepared {
            // No job container: prepare failed or was killed, perhaps with a create request
            // still in flight, which the engine completes after its caller is gone. Look once
            // more when such a request has had time to land.
            tokio::time::sleep(SETTLE).await;
            // (Nothing is kept here: only a prepared job's cleanup starts a warm-up.)
            removed += docker::dind::remove_job(&engine, &key).await?;
        }
        if let Some(volume) = evict {
            docker::dind::remove_volume_named(&engine, &volume).await?;
        }
        say(&format!("cleanup of {key}: removed {removed}"));
        if let Some(p) = plan.as_ref() {
            if let Some(dir) = p.builds_host_dir.as_deref() {
                super::host_dirs::remove(&engine, settings, p, dir).await;
            }
        }
        if let Some(key) = &warm_set {
            warm_job::remove_dir(settings, key);
        }
        Ok::<_, crate::outcome::Failure>(())
    };
    // A job that ran without the slot's cache leaves the slot's warm-up to the cache's holder.
    let warm = plan
        .as_ref()
        .filter(|_| had_sidecar && !fell_back && settings.dind_warm);
    let removed = match warm {
        // The next sidecar shares nothing with this job's, so both happen at once; with a
        // layer cache the old daemon must let go of the volume first.
        Some(p) if p.cache_volume.is_none() => {
            let (removed, ()) = futures_util::join!(removal, warm_up(&engine, settings, p));
            removed
        }
        Some(p) => match removal.await {
            Ok(()) => {
                warm_up(&engine, settings, p).await;
                Ok(())
            }
            failed => failed,
        },
        None => removal.await,
    };
    // The slot's next set is started even when this job's removal failed (as a warm sidecar
    // is), and takes the networks found.
    let refilled = match refill {
        Some(p) => refill_later(&engine, settings, env, p, &kept).await,
        None => Ok(()),
    };
    removed.and(refilled)
}

/// Hand the slot's next warm job set, and the removal of this job's networks `kept`, to a
/// process of its own. One that cannot start leaves the networks to this cleanup.
async fn refill_later(
    engine: &Engine,
    settings: &Settings,
    env: &JobEnv,
    plan: &Plan,
    kept: &[String],
) -> StageResult {
    match warm_job::refill_later(settings, env, plan, kept) {
        Ok(key) if kept.is_empty() => {
            say(&format!(
                "starting warm job set {key} for the slot's next job"
            ));
            Ok(())
        }
        Ok(key) => {
            say(&format!(
                "starting warm job set {key} for the slot's next job, in a process that also \
                 removes this job's {}",
                plural(kept.len(), "network")
            ));
            Ok(())
        }
        Err(e) => {
            say(&format!("could not start a warm job set: {e}"));
            let removed = docker::remove_networks(engine, kept).await?;
            say(&format!("removed {}", plural(removed, "network")));
            Ok(())
        }
    }
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// How long after a failed prepare cleanup looks again (a network create takes ~0.1 s here).
const SETTLE: Duration = Duration::from_secs(1);

/// Start the slot's next sidecar. A failure here is not the finished job's: say it and go on;
/// the next job then starts cold.
async fn warm_up(engine: &Engine, settings: &Settings, plan: &Plan) {
    let plan = match plan.mtu {
        Some(_) => plan.clone(),
        None => plan
            .clone()
            .with_mtu(docker::probe::engine_mtu(engine).await),
    };
    match warm::replenish(engine, settings, &plan).await {
        Ok(key) => say(&format!(
            "started warm sidecar {key} for the slot's next job"
        )),
        Err(e) => say(&format!("could not start a warm sidecar: {e}")),
    }
}
