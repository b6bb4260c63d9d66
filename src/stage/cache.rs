//! `dind.cache: project`: the sidecar's `/var/lib/docker` on a volume kept per project and
//! concurrency slot. Two daemons must never open one data directory, so prepare makes sure
//! nothing else holds the volume before a sidecar starts on it, and the sidecar is stopped
//! gracefully (dockerd flushes its state) before it is removed. A cache grown past
//! `dind.cache_max_size` is dropped whole after its job.

use std::path::PathBuf;
use std::time::Instant;

use crate::disk::{self, Unmeasured};
use crate::docker::{self, Engine};
use crate::outcome::{say, Failure};
use crate::plan::owner::{owner_of, Owner};
use crate::plan::{Plan, DIND_DATA_DIR};
use crate::settings::{human_size, DockerHost, Settings};

/// How long a sidecar's dockerd gets to shut down before it is killed.
pub const STOP_GRACE_SECS: i32 = 10;

/// Make sure no other daemon holds the plan's cache volume. A holder left by an earlier job of
/// this slot whose job container no longer runs (a crashed runner, a killed cleanup) is
/// removed; a warm sidecar that was not adopted is removed; anything live, or not ours, keeps
/// the volume and this job runs with a fresh one instead. Owners are read from container
/// names, which the driver chose, not from labels, which an image can carry.
pub async fn claim(engine: &Engine, settings: &Settings, plan: Plan) -> Result<Plan, Failure> {
    let Some(cache) = plan.cache_volume.clone() else {
        return Ok(plan);
    };
    let ours = plan.identity.key();
    for holder in docker::dind::volume_holders(engine, &cache.name).await? {
        let busy = match owner_of(&holder.name) {
            Owner::Job(key) if key == ours => false,
            Owner::Job(key) => {
                if job_alive(engine, settings, &key, &holder).await? {
                    true
                } else {
                    docker::dind::stop_container(engine, &holder.name, STOP_GRACE_SECS).await?;
                    let removed = docker::dind::remove_job(engine, &key).await?;
                    say(&format!(
                        "removed {key}, an earlier job that still held the layer cache: {removed}"
                    ));
                    false
                }
            }
            // A warm set on this cache that a job adopted meanwhile holds it for that job.
            Owner::Warm(warm) => !super::warm::discard(engine, &warm, true, false).await?,
            Owner::Foreign => true,
        };
        if busy {
            say(&format!(
                "layer cache {} is in use by {}; this job gets an empty one",
                cache.name, holder.name
            ));
            return Ok(plan.without_cache());
        }
    }
    Ok(plan)
}

/// Whether another live job holds the plan's kept `cache_dir` volume. One job per slot holds
/// it, but the slot (`CI_CONCURRENT_ID`) is the one name part a job can forge: a job that
/// copies a running job's slot must not write that job's cache under it.
pub async fn cache_dir_busy(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
) -> Result<bool, Failure> {
    let ours = plan.identity.key();
    for holder in docker::dind::volume_holders(engine, &plan.cache_dir_volume.name).await? {
        let busy = match owner_of(&holder.name) {
            Owner::Job(key) if key == ours => false,
            Owner::Job(key) => job_alive(engine, settings, &key, &holder).await?,
            Owner::Warm(_) => false,
            Owner::Foreign => true,
        };
        if busy {
            say(&format!(
                "cache_dir volume {} is in use by {}; this job gets an empty one",
                plan.cache_dir_volume.name, holder.name
            ));
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the job `key`, one of whose containers (`holder`) holds a kept volume, may still be
/// alive: its job container runs or is being started, or it has none yet and the holder is
/// younger than `gc.grace` (a prepare in progress: a cold one creates and starts the sidecar
/// before the job container). A holder is dead,
/// and removed, only when none of that holds: a job that forged this slot must never be able
/// to remove a live job mid-prepare.
async fn job_alive(
    engine: &Engine,
    settings: &Settings,
    key: &str,
    holder: &docker::dind::Listed,
) -> Result<bool, Failure> {
    let job = docker::container_status(engine, &format!("{key}-job")).await?;
    Ok(match job.as_deref() {
        Some("running" | "created" | "restarting") => true,
        Some(_) => false,
        // Created but not yet started, or booting: young is alive.
        None => docker::sweep::unix_now() - holder.created < settings.gc_grace.as_secs() as i64,
    })
}

/// After a cached job: stop its sidecar gracefully and say whether the cache grew past the
/// cap. Returns the cache volume to drop, if any. Best effort: a sidecar that is already gone
/// has nothing to measure.
pub async fn retire(engine: &Engine, settings: &Settings, plan: &Plan) -> Option<String> {
    let cache = plan.cache_volume.as_ref()?;
    let sidecar = &plan.sidecar.as_ref()?.name;
    // Through a remote engine the volume is measured once the daemon has stopped, in a task
    // of the admin's image: the sidecar is the job's (root in its daemon, the job can replace
    // the sidecar's `du` or make it outlast its time), so its answer would be the job's.
    let here = match settings.docker_host.is_local() {
        true => Some(measure(engine, settings, sidecar).await),
        false => None,
    };
    if let Err(e) = docker::dind::stop_container(engine, sidecar, STOP_GRACE_SECS).await {
        say(&format!("could not stop {sidecar} gracefully: {e}"));
    }
    let size = match here {
        Some(size) => size,
        None => {
            let image = docker::host_task::admin_image(settings);
            let who = (&*plan.identity.runner_id, &*plan.identity.manager_id);
            docker::host_task::volume_size(engine, image, &cache.name, who, disk::MEASURE_TIME)
                .await
        }
    };
    match size {
        Ok(bytes) if bytes > settings.dind_cache_max_size => {
            say(&format!(
                "layer cache {} holds {}, over dind.cache_max_size {}: dropping it",
                cache.name,
                human_size(bytes),
                human_size(settings.dind_cache_max_size)
            ));
            Some(cache.name.clone())
        }
        Ok(bytes) => {
            say(&format!(
                "layer cache {} holds {}",
                cache.name,
                human_size(bytes)
            ));
            None
        }
        // Only a job makes a cache this large: one that cannot be measured within the walk's
        // caps is taken as over the cap, or it could grow past it unseen.
        Err(Unmeasured::TooLarge) => {
            say(&format!(
                "layer cache {} is too large to measure ({}), taken as over dind.cache_max_size: dropping it",
                cache.name,
                Unmeasured::TooLarge
            ));
            Some(cache.name.clone())
        }
        Err(Unmeasured::NotHere) => None,
    }
}

/// Bytes under the sidecar's `/var/lib/docker` with the engine on this host. The job filled
/// it, so nothing of the job's runs when it need not: a cache volume this host can read is
/// walked here; otherwise `du` runs inside the sidecar, its output bounded and its time too.
async fn measure(engine: &Engine, settings: &Settings, sidecar: &str) -> Result<u64, Unmeasured> {
    let deadline = Instant::now() + disk::MEASURE_TIME;
    match host_dir(engine, settings, sidecar).await {
        Some(dir) => disk::usage(&dir, deadline),
        None => du_inside(engine, sidecar).await,
    }
}

/// The cache volume's directory on this host, when the engine is local and it can be read.
async fn host_dir(engine: &Engine, settings: &Settings, sidecar: &str) -> Option<PathBuf> {
    if !matches!(settings.docker_host, DockerHost::Unix(_)) {
        return None;
    }
    let source = docker::dind::mount_source(engine, sidecar, DIND_DATA_DIR).await;
    let dir = PathBuf::from(source.ok()??);
    std::fs::read_dir(&dir).is_ok().then_some(dir)
}

/// `du`'s answer, or [`Unmeasured::NotHere`] when it gave none.
async fn du_inside(engine: &Engine, sidecar: &str) -> Result<u64, Unmeasured> {
    let cmd = ["du", "-skx", DIND_DATA_DIR].map(String::from).to_vec();
    match docker::exec_output(engine, sidecar, cmd, disk::MEASURE_TIME).await {
        Ok((0, out)) => disk::du_kib(&out),
        Ok(_) => Err(Unmeasured::NotHere),
        Err(e) => {
            say(&format!(
                "could not measure the layer cache in {sidecar}: {e}"
            ));
            Err(Unmeasured::NotHere)
        }
    }
}
