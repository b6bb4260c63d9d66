//! `executor gc`: collect what crashed or killed jobs left behind. Safe from cron while jobs
//! run: a job whose job container runs is live and never touched (unless older than
//! `gc.max_age`, longer than any job may run), and a job without one is collected only once its
//! newest resource is older than `gc.grace`, so a prepare in progress is left alone.
//!
//! It also removes warm sidecars that died, aged out, or are no longer wanted (`dind.warm`
//! off), and reports project layer caches, dropping those over `dind.cache_max_size` (or all
//! idle ones with `--drop-caches`) when no container uses them.
//!
//! Two runs at once (two cron lines, or one by hand during cron's) do the work of one: a
//! resource the other run removed, or is removing, is no error (`docker::remove_labelled`
//! waits for a container another caller is removing), and a job or cache the other run had
//! already taken is not reported as removed. Their counts for a job both remove at the same
//! moment can overlap: the engine tells both callers a container or volume went.

use std::time::Duration;

use crate::cli::GcArgs;
use crate::disk::Unmeasured;
use crate::docker::{self, sweep, Engine};
use crate::outcome::{say, Failure, StageResult};
use crate::plan::owner::{manager_of, owner_of, Owner};
use crate::plan::warm::{warm_sidecar_name, warm_token_name, LABEL_WARM_CACHE};
use crate::plan::warm_job::warm_job_name;
use crate::plan::LABEL_JOB_KEY;
use crate::settings::{human_size, parse_duration, DockerHost, Settings};

/// How long a claimed warm job set is given to be renamed by the prepare that claimed it.
const CLAIM_SETTLE: Duration = Duration::from_secs(2);

/// What one gc run decided and did.
struct Tally {
    collected: usize,
    kept: usize,
}

pub async fn gc(settings: &Settings, args: GcArgs) -> StageResult {
    let grace = duration(args.grace.as_deref(), settings.gc_grace, "--grace")?;
    let max_age = duration(args.max_age.as_deref(), settings.gc_max_age, "--max-age")?;
    let engine = Engine::connect(settings)?;
    let runner = args.runner_id.as_deref();
    let now = sweep::unix_now();
    let mut tally = Tally {
        collected: 0,
        kept: 0,
    };

    // Jobs left alone keep their socket builds directories (below).
    let mut kept = std::collections::BTreeSet::new();
    for (key, mut job) in sweep::footprints(&engine, runner).await? {
        let age = Duration::from_secs((now - job.newest).max(0) as u64);
        // A job that adopted a warm job set runs in a container made before the job was known,
        // without its labels: its name says it is the job's.
        if !job.live {
            job.live = docker::container_running(&engine, &format!("{key}-job"))
                .await?
                .unwrap_or(false);
        }
        let why = if age >= max_age {
            format!("newest resource {} old, past gc.max_age", human(age))
        } else if !job.live && age >= grace {
            format!(
                "job container not running, newest resource {} old",
                human(age)
            )
        } else {
            tally.kept += 1;
            kept.insert(key);
            continue;
        };
        if args.dry_run {
            say(&format!("would remove {key} ({why})"));
        } else {
            // With any warm set the job adopted.
            let removed = docker::dind::remove_job(&engine, &key).await?;
            if removed.is_empty() {
                // Its cleanup or another gc run took it since it was listed.
                say(&format!("{key} was already removed"));
                continue;
            }
            say(&format!("removed {key}: {removed} ({why})"));
        }
        tally.collected += 1;
    }
    let verb = if args.dry_run {
        "would collect"
    } else {
        "collected"
    };
    say(&format!(
        "gc {verb} {} jobs; left {} live or recent jobs alone",
        tally.collected, tally.kept
    ));
    (tally.collected, tally.kept) = (0, 0);
    for (key, set) in sweep::warm_footprints(&engine, runner).await? {
        let age = Duration::from_secs((now - set.newest).max(0) as u64);
        match warm_verdict(settings, &key, &set, age, (grace, max_age)) {
            Some(why) if args.dry_run => {
                say(&format!("would remove warm set {key} ({why})"));
                tally.collected += 1;
            }
            Some(why) => {
                if remove_warm(&engine, settings, &key, &set).await? {
                    say(&format!("removed warm set {key} ({why})"));
                    tally.collected += 1;
                } else {
                    tally.kept += 1;
                }
            }
            None => tally.kept += 1,
        }
    }

    if tally.collected + tally.kept > 0 {
        say(&format!(
            "gc {verb} {} warm sets; left {} alone",
            tally.collected, tally.kept
        ));
    }
    crate::stage::host_dirs::sweep_tasks(&engine, runner, grace, args.dry_run).await?;
    // Warm job sets' builds directories are kept with their sets, and the link a job that
    // adopted one has in its own name with it.
    for (key, set) in sweep::warm_footprints(&engine, runner).await? {
        kept.extend(adopter(&set).map(|(job, _)| job));
        kept.insert(key);
    }
    // Socket jobs' builds directories on this host: a collected job's now has nothing left
    // on the engine, and so has one whose cleanup stopped after the engine's part.
    if matches!(settings.docker_host, DockerHost::Unix(_)) {
        crate::builds_dirs::sweep(
            &settings.socket_builds_host_dir,
            runner,
            |key| kept.contains(key),
            grace,
            args.dry_run,
        );
    } else {
        crate::stage::host_dirs::sweep_remote(
            &engine,
            settings,
            runner,
            &kept,
            grace,
            args.dry_run,
        )
        .await;
    }

    caches(&engine, settings, runner, args.drop_caches, args.dry_run).await?;
    mirrors(&engine, settings, args.drop_caches, args.dry_run).await
}

/// The managed registry mirror of this config (`mirror.managed`; one per upstream, shared by
/// every runner of the engine that names it): reported with its size, and removed with its
/// data past `mirror.max_size` or with `--drop-caches`. The next dind job that wants it starts
/// it again, empty; a pull through it at that moment fails at the mirror, and the inner daemon
/// then pulls from the registry itself.
async fn mirrors(
    engine: &Engine,
    settings: &Settings,
    drop_all: bool,
    dry_run: bool,
) -> StageResult {
    if !settings.mirror.managed {
        return Ok(());
    }
    let own = docker::mirror::name(&settings.mirror);
    for mirror in docker::mirror::find_all(engine).await? {
        if mirror.name != own {
            continue;
        }
        let size = mirror.size(engine, settings).await;
        let shown = match size {
            Ok(bytes) => human_size(bytes),
            Err(why) => format!("size unknown ({why})"),
        };
        let why = match size {
            Ok(bytes) if bytes > settings.mirror.max_size => Some("over mirror.max_size"),
            Err(Unmeasured::TooLarge) => Some("taken as over mirror.max_size"),
            _ if drop_all => Some("--drop-caches"),
            _ => None,
        };
        match why {
            Some(why) if dry_run => say(&format!(
                "would empty mirror {} ({shown}, {why})",
                mirror.name
            )),
            Some(why) => {
                if docker::mirror::remove(engine, &mirror.name).await? {
                    say(&format!("emptied mirror {} ({shown}, {why})", mirror.name));
                }
            }
            None => {
                let state = if mirror.running { "running" } else { "stopped" };
                say(&format!("mirror {}: {shown}, {state}", mirror.name));
            }
        }
    }
    Ok(())
}

/// Why a warm set should go, or `None` to keep it. A warm sidecar adopted by a job is the
/// job's (its job container carries the warm key and the job's labels) and goes with the job.
/// A warm job set adopted by a job is that job's containers, renamed: it is judged as a job
/// (`gc.max_age`, or its job container stopped).
fn warm_verdict(
    settings: &Settings,
    key: &str,
    set: &sweep::Footprint,
    age: Duration,
    limits: (Duration, Duration),
) -> Option<String> {
    let (grace, max_age) = limits;
    if set
        .containers
        .iter()
        .any(|c| c.labels.contains_key(LABEL_JOB_KEY))
    {
        return None;
    }
    // No container: remnants of a removal cut short (or a finished job's network its warm-up
    // process did not get to), or a set being made, which has its network and volumes a
    // moment before its containers; judged by age alone, whatever is wanted.
    if set.containers.is_empty() {
        return (age >= grace).then(|| "it has no containers".into());
    }
    if let Some((_, job)) = adopter(set) {
        return match job.running {
            _ if age >= max_age => Some(format!(
                "its job's newest resource {} old, past gc.max_age",
                human(age)
            )),
            false if age >= grace => Some("its job's container stopped".into()),
            _ => None,
        };
    }
    let has_sidecar = set
        .containers
        .iter()
        .any(|c| c.name == warm_sidecar_name(key));
    // A warm dind set's job container goes with its sidecar, judged below.
    let free_job = set.containers.iter().find(|c| c.name == warm_job_name(key));
    if let Some(job) = free_job.filter(|_| !has_sidecar) {
        // Its token gone: claimed. A set being made gets its token last, within seconds.
        let claimed = !set.volumes.contains(&warm_token_name(key));
        return match job.running {
            _ if !settings.warm_jobs && manager_of(key) == settings.manager_id => {
                Some("warm.jobs is off".into())
            }
            false if age >= grace => Some("its job container stopped".into()),
            // A prepare adopting it renames it within milliseconds of the claim
            // (`remove_warm` looks again after a pause); one that was killed in between left
            // it, and no job will take it.
            true if claimed && age >= grace => {
                Some("claimed by a prepare that did not adopt it".into())
            }
            _ if age >= settings.warm_max_age + grace => {
                Some(format!("{} old, past warm.max_age", human(age)))
            }
            _ => None,
        };
    }
    let sidecar = set
        .containers
        .iter()
        .find(|c| c.name == warm_sidecar_name(key));
    let aged = settings.dind_warm_max_age + grace;
    match sidecar {
        // Another manager's set of the same runner id (on a shared engine) is wanted or not by
        // that manager's config, not this one's.
        _ if !settings.dind_warm && manager_of(key) == settings.manager_id => {
            Some("dind.warm is off".into())
        }
        Some(s) if !s.running && age >= grace => Some("its sidecar stopped".into()),
        Some(_) if age >= aged => Some(format!("{} old, past dind.warm_max_age", human(age))),
        None if age >= grace => Some("it has no sidecar".into()),
        _ => None,
    }
}

/// The job that adopted a warm job set, by its key, and its job container: the set's member
/// whose name (which the driver chose) is a job container's.
fn adopter(set: &sweep::Footprint) -> Option<(String, &docker::dind::Listed)> {
    set.containers.iter().find_map(|c| match owner_of(&c.name) {
        Owner::Job(job) if c.name == format!("{job}-job") => Some((job, c)),
        _ => None,
    })
}

/// Remove a warm set gc judged. A free one is claimed the way a job adopts it, so one adopted
/// meanwhile stays its job's; an adopted warm job set goes as its job does.
async fn remove_warm(
    engine: &Engine,
    settings: &Settings,
    key: &str,
    set: &sweep::Footprint,
) -> Result<bool, Failure> {
    if let Some((job, _)) = adopter(set) {
        let removed = docker::dind::remove_job(engine, &job).await?;
        crate::stage::warm_job::remove_dir(settings, key);
        return Ok(!removed.is_empty());
    }
    let has_sidecar = set
        .containers
        .iter()
        .any(|c| c.name == warm_sidecar_name(key));
    if !has_sidecar && set.containers.iter().any(|c| c.name == warm_job_name(key)) {
        if crate::stage::warm_job::discard(engine, settings, key).await? {
            return Ok(true);
        }
        // Its token is gone: a prepare claimed it. One adopting it now renames the job
        // container within milliseconds; one killed between the claim and the rename left it
        // as it was, and only then is it gc's.
        tokio::time::sleep(CLAIM_SETTLE).await;
        if docker::container_running(engine, &warm_job_name(key))
            .await?
            .is_none()
        {
            return Ok(false);
        }
        crate::stage::warm_job::remove(engine, settings, key).await?;
        return Ok(true);
    }
    let holds_cache = set
        .containers
        .iter()
        .any(|c| c.labels.contains_key(LABEL_WARM_CACHE));
    crate::stage::warm::discard(engine, key, holds_cache, true).await
}

/// Report each project layer cache; drop idle ones over the cap, or all idle ones if asked.
async fn caches(
    engine: &Engine,
    settings: &Settings,
    runner: Option<&str>,
    drop_all: bool,
    dry_run: bool,
) -> StageResult {
    for cache in docker::dind::cache_volumes(engine, runner).await? {
        let size =
            docker::host_task::measure_volume(engine, settings, &cache.name, &cache.mountpoint)
                .await;
        let shown = match size {
            Ok(bytes) => human_size(bytes),
            Err(why) => format!("size unknown ({why})"),
        };
        // Too large to measure is a job's doing; cleanup drops such a cache, and so does gc.
        let over = match size {
            Ok(bytes) => bytes > settings.dind_cache_max_size,
            Err(why) => why == Unmeasured::TooLarge,
        };
        let idle = cache.holders.is_empty();
        let why = match (idle, over, drop_all) {
            (false, _, _) => None,
            (true, true, _) if size.is_err() => Some("taken as over dind.cache_max_size"),
            (true, true, _) => Some("over dind.cache_max_size"),
            (true, false, true) => Some("--drop-caches"),
            (true, false, false) => None,
        };
        match why {
            Some(why) if dry_run => {
                say(&format!("would drop cache {} ({shown}, {why})", cache.name))
            }
            // Gone already: another gc run dropped it.
            Some(why) => {
                if docker::dind::remove_volume_named(engine, &cache.name).await? {
                    say(&format!("dropped cache {} ({shown}, {why})", cache.name));
                }
            }
            None => {
                let state = if idle { "idle" } else { "in use" };
                say(&format!("cache {}: {shown}, {state}", cache.name));
            }
        }
    }
    Ok(())
}

fn duration(flag: Option<&str>, configured: Duration, name: &str) -> Result<Duration, Failure> {
    match flag {
        Some(text) => parse_duration(text).map_err(|e| Failure::User(format!("{name}: {e}"))),
        None => Ok(configured),
    }
}

fn human(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        _ => format!("{} h", secs / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::dind::Listed;

    /// `dind.warm: false` in one manager's config removes that manager's free warm sets, never
    /// those of another manager sharing its runner id on the engine; a dead one goes whoever's.
    #[test]
    fn warm_off_removes_only_this_managers_warm_sets() {
        let settings =
            Settings::from_text("dind:\n  warm: false\nrunner:\n  manager_id: mine\n", "t")
                .unwrap();
        let set = |key: &str, running: bool| sweep::Footprint {
            live: false,
            newest: 0,
            containers: vec![Listed {
                name: warm_sidecar_name(key),
                labels: Default::default(),
                running,
                created: 0,
                image_id: String::new(),
            }],
            volumes: vec![],
        };
        let grace = Duration::from_secs(600);
        let young = Duration::from_secs(1);
        let verdict = |key: &str, running: bool, age: Duration| {
            warm_verdict(&settings, key, &set(key, running), age, (grace, DAY))
        };
        let mine = "executor-r7-mmine-c0-wabc";
        let theirs = "executor-r7-mtheirs-c0-wabc";
        assert_eq!(
            verdict(mine, true, young).as_deref(),
            Some("dind.warm is off")
        );
        assert_eq!(verdict(theirs, true, young), None);
        assert_eq!(
            verdict(theirs, false, grace).as_deref(),
            Some("its sidecar stopped")
        );
    }

    const DAY: Duration = Duration::from_secs(86400);

    fn member(name: &str, running: bool) -> Listed {
        Listed {
            name: name.into(),
            labels: Default::default(),
            running,
            created: 0,
            image_id: String::new(),
        }
    }

    /// A free warm job set goes when `warm.jobs` is off (this manager's), when its container
    /// stopped, or past `warm.max_age`; one adopted by a job is judged as that job: kept while
    /// its container runs (until `gc.max_age`), taken once it stopped.
    #[test]
    fn warm_job_sets_are_judged_free_or_as_their_job() {
        let on = Settings::from_text("warm:\n  jobs: true\n  max_age: 1h\n", "t").unwrap();
        let off = Settings::from_text("", "t").unwrap();
        let key = "executor-r7-c0-wabc";
        let free = |running| sweep::Footprint {
            containers: vec![member(&format!("{key}-job"), running)],
            volumes: vec![format!("{key}-token")],
            ..Default::default()
        };
        let claimed = sweep::Footprint {
            volumes: vec![],
            ..free(true)
        };
        let adopted = |running| sweep::Footprint {
            containers: vec![
                member("executor-r7-p2-c0-j9-job", running),
                member(&format!("{key}-helper"), running),
            ],
            ..Default::default()
        };
        let grace = Duration::from_secs(600);
        let young = Duration::from_secs(1);
        let verdict = |settings: &Settings, set: &sweep::Footprint, age| {
            warm_verdict(settings, key, set, age, (grace, DAY))
        };
        assert_eq!(verdict(&on, &free(true), young), None);
        assert_eq!(
            verdict(&off, &free(true), young).as_deref(),
            Some("warm.jobs is off")
        );
        assert_eq!(
            verdict(&on, &free(false), grace).as_deref(),
            Some("its job container stopped")
        );
        let aged = Duration::from_secs(3600) + grace;
        assert!(verdict(&on, &free(true), aged).is_some_and(|v| v.contains("warm.max_age")));
        // No containers (a set being made, or what a removal left): by age alone, whatever
        // warm.jobs and dind.warm say.
        let empty = sweep::Footprint::default();
        assert_eq!(verdict(&off, &empty, young), None);
        assert_eq!(
            verdict(&off, &empty, grace).as_deref(),
            Some("it has no containers")
        );
        // Claimed (its token gone) and never renamed: past gc.grace, no one will take it.
        assert_eq!(verdict(&on, &claimed, young), None);
        assert_eq!(
            verdict(&on, &claimed, grace).as_deref(),
            Some("claimed by a prepare that did not adopt it")
        );
        // Adopted: warm.jobs off or past warm.max_age does not matter, the job does.
        assert_eq!(verdict(&off, &adopted(true), aged), None);
        assert_eq!(
            verdict(&on, &adopted(false), grace).as_deref(),
            Some("its job's container stopped")
        );
        assert!(verdict(&on, &adopted(true), DAY).is_some_and(|v| v.contains("gc.max_age")));
    }
}
