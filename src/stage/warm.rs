//! `dind.warm`: after a dind job's cleanup, a fresh sidecar is started for its slot so the
//! slot's next job adopts a daemon that has already booted (`plan::warm` has the naming).
//! Prepare adopts only a sidecar that fits the job exactly (same template, same image id,
//! running, younger than `dind.warm_max_age`); any other warm set of the slot is removed, and
//! the job starts cold as without `dind.warm`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::docker::{self, Engine};
use crate::outcome::{say, Failure};
use crate::plan::owner::{owner_of, Owner};
use crate::plan::warm::{
    warm_key, warm_sidecar_name, warm_token_name, LABEL_WARM_CACHE, LABEL_WARM_KEY,
    LABEL_WARM_TEMPLATE,
};
use crate::plan::{
    Plan, Role, DIND_SOCKET_DIR, LABEL_MANAGER_ID, LABEL_ROLE, LABEL_RUNNER_ID, LABEL_SLOT,
};
use crate::settings::Settings;

use super::{cache, sidecar};

/// A warm sidecar this job adopted.
pub struct Adopted {
    /// The plan rewritten onto the warm set's network and volumes.
    pub plan: Plan,
    /// Where the adopted sidecar's socket volume lives on the engine's host.
    pub socket_dir: Option<String>,
    /// Whether the set's job container (and helper container) was taken too (`warm.jobs`):
    /// then they run already, under the job's names.
    pub job_running: bool,
}

/// What prepare found among the slot's warm sidecars.
pub struct Found {
    pub adopted: Option<Adopted>,
    /// Warm sets that do not fit this job, to remove; the caller does so while the job's own
    /// sidecar starts, so a replaced warm sidecar costs the job no time.
    pub unfit: Vec<Unfit>,
}

/// A warm set to remove.
pub struct Unfit {
    key: String,
    holds_cache: bool,
}

/// Adopt the slot's warm sidecar if one fits. On adoption the job container is created (not
/// started) and the sidecar renamed to the job's sidecar name.
pub async fn adopt(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
    image_id: Option<&str>,
) -> Result<Found, Failure> {
    let mut found = Found {
        adopted: None,
        unfit: Vec::new(),
    };
    let (Some(template), Some(spec), Some(image_id)) =
        (plan.warm_template(), plan.sidecar.as_ref(), image_id)
    else {
        return Ok(found);
    };
    let now = docker::sweep::unix_now();
    let mut chosen = None;
    for warm in free_sets(engine, plan).await? {
        let labels = &warm.listed.labels;
        let why_not = if !warm.listed.running {
            Some("is not running")
        } else if now - warm.listed.created >= settings.dind_warm_max_age.as_secs() as i64 {
            Some("is older than dind.warm_max_age")
        } else if labels.get(LABEL_WARM_TEMPLATE) != Some(&template) {
            Some("was made for other settings")
        } else if warm.listed.image_id != image_id {
            Some("runs an older image")
        } else if chosen.is_some() {
            Some("is one too many")
        } else {
            // `warm.jobs`: the job container beside the daemon had it at hand since it started.
            super::warm_job::unfit_beside_sidecar(engine, settings, plan, &warm.key)
                .await?
                .map(|_| "had a job container that does not fit this job beside it")
        };
        match why_not {
            None => chosen = Some(warm.key),
            Some(why) => {
                say(&format!(
                    "warm sidecar {} {why}: replacing it",
                    warm.listed.name
                ));
                found.unfit.push(Unfit {
                    holds_cache: labels.contains_key(LABEL_WARM_CACHE),
                    key: warm.key,
                });
            }
        }
    }
    let Some(key) = chosen else {
        return Ok(found);
    };
    // The claim: whoever removes the set's token owns it (a discard or another adopter may be
    // racing for it); the loser starts cold.
    if !docker::dind::remove_volume_named(engine, &warm_token_name(&key)).await? {
        return Ok(found);
    }
    let adopted = plan.adopt(&key);
    // The job container first: it carries the warm key, so from here on cleanup and gc see
    // the set as this job's, whatever happens next. With `warm.jobs` the set's own may fit.
    let job_running = super::warm_job::take_with_sidecar(engine, settings, plan, &key).await?;
    if !job_running {
        docker::create_container(engine, &adopted.job).await?;
    }
    if !docker::dind::rename_container(engine, &warm_sidecar_name(&key), &spec.name).await? {
        // Gone since it was listed: start cold.
        docker::remove_job_resources(engine, &plan.identity.key()).await?;
        return Ok(found);
    }
    let socket_dir = docker::dind::mount_source(engine, &spec.name, DIND_SOCKET_DIR).await?;
    say(&format!("adopted warm sidecar {key}"));
    found.adopted = Some(Adopted {
        plan: adopted,
        socket_dir,
        job_running,
    });
    Ok(found)
}

/// Remove warm sets that did not fit. Not the job's failure if it fails: said, and left to gc.
pub async fn discard_all(engine: &Engine, unfit: Vec<Unfit>) {
    let removals = unfit
        .iter()
        .map(|u| discard(engine, &u.key, u.holds_cache, false));
    for (u, result) in unfit
        .iter()
        .zip(futures_util::future::join_all(removals).await)
    {
        if let Err(e) = result {
            say(&format!("could not remove warm set {}: {e}", u.key));
        }
    }
}

/// Start a fresh warm set for the plan's slot, replacing any the slot still has. The sidecar
/// is started, not waited for: its daemon boots while the runner fetches the next job.
pub async fn replenish(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
) -> Result<String, Failure> {
    for warm in free_sets(engine, plan).await? {
        let holds_cache = warm.listed.labels.contains_key(LABEL_WARM_CACHE);
        discard(engine, &warm.key, holds_cache, false).await?;
    }
    super::warm_job::sweep_remnants(engine, settings, plan).await;
    let id = &plan.identity;
    let key = warm_key(&id.runner_id, &id.manager_id, &id.concurrent_id, &nonce());
    // Clamped as the adopting job's prepare clamps, or the engine refuses it and no template
    // would ever match; and its image's HEALTHCHECK held to the floor, as prepare holds it.
    let health = match &plan.sidecar {
        Some(sidecar) => docker::image_health(engine, &sidecar.image).await?,
        None => [0, 0],
    };
    let (clamped, _) = plan
        .clone()
        .with_image_health(|c| if c.role == Role::Dind { health } else { [0, 0] })
        .with_cpu_count(engine.cpu_count().await);
    let Some(set) = clamped.warm_set(&key) else {
        return Ok(String::new());
    };
    let created = async {
        let volumes = set
            .volumes
            .iter()
            .chain(plan.cache_volume.as_ref())
            .map(|v| docker::create_volume(engine, v));
        let network = docker::create_network(engine, &set.network, &set.network_labels, plan.mtu);
        futures_util::try_join!(network, futures_util::future::try_join_all(volumes))?;
        // `warm.jobs`: the job container (and helper) started beside the sidecar.
        let jobs = async {
            if !settings.warm_jobs {
                return Ok(());
            }
            match super::warm_job::finished_set(engine, settings, plan, &key).await? {
                Ok((_, jobs)) => super::warm_job::start_containers(engine, &jobs).await,
                Err(why) => {
                    say(&format!(
                        "no warm job container for the slot's next job: {why}"
                    ));
                    Ok(())
                }
            }
        };
        futures_util::try_join!(
            sidecar::start(engine, &set.sidecar, plan.tls.as_ref()),
            jobs
        )?;
        // The token last: only a complete set can be claimed. A job claiming it before its
        // job container came would get that container (the finished job's image, another
        // project's perhaps) started beside its own, with its daemon at hand.
        docker::create_volume(engine, &set.token).await?;
        Ok::<_, Failure>(())
    };
    if let Err(e) = created.await {
        // Half a warm set is no use to anyone.
        docker::remove_labelled(engine, &format!("{LABEL_WARM_KEY}={key}")).await?;
        return Err(e);
    }
    Ok(key)
}

/// A warm set of the slot that no job has adopted.
struct FreeSet {
    key: String,
    listed: docker::dind::Listed,
}

/// The slot's warm sidecars that no job adopted (an adopted one bears its job's name).
async fn free_sets(engine: &Engine, plan: &Plan) -> Result<Vec<FreeSet>, Failure> {
    let id = &plan.identity;
    let labels = [
        LABEL_WARM_KEY.to_string(),
        format!("{LABEL_RUNNER_ID}={}", id.runner_id),
        format!("{LABEL_SLOT}={}", id.concurrent_id),
        format!("{LABEL_ROLE}={}", Role::Dind.as_str()),
    ];
    let listed = docker::dind::containers_labelled(engine, &labels).await?;
    Ok(listed
        .into_iter()
        .filter_map(|listed| {
            let key = listed.labels.get(LABEL_WARM_KEY)?.clone();
            // Another manager's of the same runner id counts its own slots.
            let manager = listed
                .labels
                .get(LABEL_MANAGER_ID)
                .map_or("", String::as_str);
            (listed.name == warm_sidecar_name(&key) && manager == id.manager_id)
                .then_some(FreeSet { key, listed })
        })
        .collect())
}

/// Remove a warm set, unless a job adopts it first; returns whether it was removed. The set
/// is claimed by removing its token volume, as adoption does (`WarmSet::token`): of a job
/// adopting the set and anyone discarding it (another job's prepare or cleanup, `gc`, a job
/// that forged this slot) exactly one wins, and an adopted set is never taken from its job.
/// With the token already gone the set is someone's; `orphans` (gc, which only discards sets
/// older than its grace) still removes it when no job container holds it: what a cleanup cut
/// short left. A daemon holding a layer cache is stopped gracefully first, so its data stays
/// consistent; a fresh one's data is thrown away, so it is simply removed.
pub async fn discard(
    engine: &Engine,
    key: &str,
    holds_cache: bool,
    orphans: bool,
) -> Result<bool, Failure> {
    let label = format!("{LABEL_WARM_KEY}={key}");
    let claimed = docker::dind::remove_volume_named(engine, &warm_token_name(key)).await?;
    if !claimed && (!orphans || adopted(engine, &label).await?) {
        return Ok(false);
    }
    if holds_cache {
        let sidecar = warm_sidecar_name(key);
        docker::dind::stop_container(engine, &sidecar, cache::STOP_GRACE_SECS).await?;
    }
    docker::remove_labelled(engine, &label).await?;
    Ok(true)
}

/// Whether a job holds the set: one of its containers bears a job's name (the adopter renamed
/// the sidecar after creating its job container) and that job's container still exists.
async fn adopted(engine: &Engine, label: &str) -> Result<bool, Failure> {
    let members = docker::dind::containers_labelled(engine, &[label.to_string()]).await?;
    for member in &members {
        if let Owner::Job(job) = owner_of(&member.name) {
            if docker::container_running(engine, &format!("{job}-job"))
                .await?
                .is_some()
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// A random part for the warm set's names, so no one can name a set before it exists: 64 bits
/// from the kernel (the time, should `/dev/urandom` be unreadable), in base 36.
pub(super) fn nonce() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    let mut n = match random {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    };
    let mut out = Vec::new();
    while n > 0 {
        out.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::nonce;

    /// Warm sets are named with 64 random bits, so no one can name a set before it exists:
    /// each nonce is a base-36 number that fits 64 bits, no two of 256 agree, and together
    /// they set each of the 64 bits (by chance, one bit stays clear with odds of 2^-256; a
    /// clock or a 32-bit source would leave the top bits clear every time).
    #[test]
    fn warm_sets_are_named_with_64_random_bits() {
        let mut seen = std::collections::HashSet::new();
        let mut bits = 0u64;
        for _ in 0..256 {
            let n = nonce();
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
                "{n}"
            );
            let value = u64::from_str_radix(&n, 36).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert!(seen.insert(value), "{n} came twice");
            bits |= value;
        }
        assert_eq!(bits, u64::MAX, "bits never set: {:#018x}", !bits);
    }
}
