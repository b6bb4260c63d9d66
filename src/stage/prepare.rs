//! `prepare_exec`: create the job's world. Plan first, then a list of named steps; every
//! resource carries the job's labels, so whatever a failed attempt leaves, the runner's
//! following `cleanup` (and this stage's first step on retry) removes it (`design.md` rule 3).

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::halt::{self, Halt};
use super::{
    cache, entrypoint, images, login, readiness, service_logs, services, sidecar, warm, warm_job,
};
use crate::docker::{self, Engine};
use crate::env::JobEnv;
use crate::outcome::{say, Failure, StageResult};
use crate::payload::{self, TrustedFacts};
use crate::plan::{self, ContainerSpec, Plan};
use crate::settings::{DockerHost, Mode, Settings};
use crate::signal::Signals;

/// How long a signalled prepare lets the requests in flight finish; a second signal ends the
/// wait at once.
const FINISH_IN_FLIGHT: Duration = Duration::from_secs(15);

pub async fn prepare(settings: &Settings, env: &JobEnv) -> StageResult {
    // A cancelled prepare finishes what it has asked the engine for, begins nothing new, and
    // fails as a system failure; everything it made is labelled, and the runner's cleanup
    // (which always follows a failed prepare) removes it (`halt`).
    let mut signals = Signals::install();
    let (raise, halt) = halt::halt();
    let work = steps(settings, env, &halt);
    tokio::pin!(work);
    let stop = tokio::select! {
        result = &mut work => return result,
        stop = signals.recv() => stop,
    };
    raise.raise(stop);
    say(&format!(
        "{}: prepare lets the requests in flight finish, then stops",
        stop.name()
    ));
    tokio::select! {
        result = tokio::time::timeout(FINISH_IN_FLIGHT, &mut work) => match result {
            // Done before it saw the signal: the runner is cancelling all the same.
            Ok(Ok(())) => Err(halt::stopped(stop, "the end of prepare")),
            Ok(Err(failure)) => Err(failure),
            Err(_) => Err(halt::stopped(stop, "a request that did not finish in time")),
        },
        again = signals.recv() => Err(halt::stopped(again, "a second signal")),
    }
}

async fn steps(settings: &Settings, env: &JobEnv, halt: &Halt) -> StageResult {
    let started = Instant::now();
    let facts = trusted_facts(env)?;
    let plan = plan::plan(settings, env, facts.as_ref()).map_err(|e| Failure::User(e.0))?;
    check_socket_path(settings, &plan)?;
    let engine = Engine::connect(settings)?.negotiate().await?;
    // Independent looks at the engine, at once: each is a few milliseconds that would
    // otherwise add up before the first create. The job's network and volumes need only the
    // MTU and an earlier attempt's leftovers gone, not the images: they are made alongside
    // (unless a warm set, dind's or a job's, may bring its own).
    let warm_jobs = warm_job::wanted(settings, &plan).is_ok();
    let early = !(warm_jobs || settings.dind_warm && plan.sidecar.is_some());
    let (about, world, images, cache_dir, cpus) = futures_util::join!(
        engine.about(),
        clear_the_way(&engine, &plan, early, halt),
        images::ensure_images(&engine, settings, env, facts.as_ref(), &plan),
        cache_dir_volume(&engine, settings, &plan),
        engine.cpu_count(),
    );
    let key = plan.identity.key();
    let looked = async {
        say(&about?);
        announce(&plan);
        let world = world?;
        // Made only now: removing an earlier attempt's leftovers would take it with them.
        let plan = match cache_dir? {
            true => {
                let plan = plan.without_cache_dir();
                docker::create_volume(&engine, &plan.cache_dir_volume).await?;
                plan
            }
            false => plan,
        };
        Ok((world, plan, images?))
    };
    let (world, plan, images) = match looked.await {
        Ok(looked) => looked,
        // What the network step made is the job's: gone again before the failure is told,
        // so a refused job leaves nothing even before its cleanup. Not after a signal: that
        // prepare begins nothing new, and the runner's cleanup follows it.
        Err(failure) => {
            if halt.check("removing what the first phase made").is_ok() {
                let _ = docker::remove_job_resources(&engine, &key).await;
            }
            return Err(failure);
        }
    };
    let World { mtu, made } = world;
    let sidecar_image_id = plan
        .sidecar
        .as_ref()
        .and_then(|s| images::of(&images, s))
        .map(|facts| facts.id.clone());
    let (plan, clamped) = finish_plan(settings, plan, &images, mtu, cpus);
    for line in clamped {
        say(&line);
    }
    // Socket mode's builds root closed to other users, alongside the containers' start (on a
    // remote engine it takes a container of its own; the job's directory in it is made by
    // the engine at the job container's create, either way).
    let securing = plan.builds_host_dir.is_some().then(|| plan.clone());
    let secure_root = async {
        if let Some(plan) = &securing {
            super::host_dirs::secure_root(&engine, settings, plan).await;
        }
    };
    halt.check("the job's first create")?;
    let mut unfit_jobs = Vec::new();
    // The kept cache_dir looked at again (see `cache_dir_taken`): a set holding it is adopted
    // only while no other live job does.
    if warm_jobs && !cache_dir_taken(&engine, settings, &plan).await? {
        let found = warm_job::adopt(&engine, settings, &plan).await?;
        if let Some(adopted) = found.adopted {
            let (result, ()) = futures_util::join!(
                start_warm_job(&engine, settings, env, adopted, started, halt),
                warm_job::discard_all(&engine, settings, found.unfit),
            );
            return result;
        }
        unfit_jobs = found.unfit;
    }
    let mut unfit = Vec::new();
    if settings.dind_warm {
        let found = warm::adopt(&engine, settings, &plan, sidecar_image_id.as_deref()).await?;
        if let Some(adopted) = found.adopted {
            let (result, ()) = futures_util::join!(
                start_adopted(&engine, settings, env, adopted, started, halt),
                warm::discard_all(&engine, found.unfit),
            );
            return result;
        }
        unfit = found.unfit;
    }
    let (result, (), (), ()) = futures_util::join!(
        start_cold(&engine, settings, env, plan, made, started, halt),
        warm::discard_all(&engine, unfit),
        warm_job::discard_all(&engine, settings, unfit_jobs),
        secure_root,
    );
    result
}

/// With a warm job set adopted, its containers already run under the job's names: what is
/// left is the job's own part (services, the entrypoints' record, the directories given to
/// the image's user).
async fn start_warm_job(
    engine: &Engine,
    settings: &Settings,
    env: &JobEnv,
    plan: Plan,
    started: Instant,
    halt: &Halt,
) -> StageResult {
    let since = super::log_lines::now();
    halt.check("the job's services")?;
    let (job, helper, services) = futures_util::join!(
        async {
            await_entrypoint(engine, &plan, &plan.job, halt).await?;
            open_dirs(engine, &plan).await?;
            login::give(engine, env, &plan).await
        },
        async {
            match &plan.helper {
                Some(helper) => await_entrypoint(engine, &plan, helper, halt).await,
                None => Ok(()),
            }
        },
        services::start(engine, &plan),
    );
    job.and(helper).and(services)?;
    wait_for_services(engine, settings, env, &plan, halt).await?;
    super::limit_hits::memory_hits(engine, env, &plan.identity.key(), since).await;
    ready(&plan, started);
    Ok(())
}

/// The plan with what the engine said: the network's MTU, each container's image (its id,
/// HEALTHCHECK, entrypoint and user) and the engine's CPUs; and the lines saying which limits
/// were clamped to them. A warm job set is made through this too (`warm_job::replenish`), so
/// it fits the next job's plan exactly.
pub fn finish_plan(
    settings: &Settings,
    plan: Plan,
    images: &images::Found,
    mtu: Option<u32>,
    cpus: Option<u64>,
) -> (Plan, Vec<String>) {
    let plan = plan
        .with_mtu(mtu)
        .with_image_ids(|c| images::of(images, c).map(|f| f.id.clone()))
        .with_image_health(|c| images::of(images, c).map_or([0, 0], |f| f.health_intervals))
        .with_entrypoints(|c| images::of(images, c).map_or(&[], |f| f.entrypoint.as_slice()));
    let (mut plan, clamped) = plan.with_cpu_count(cpus);
    let job_image_user = images::of(images, &plan.job).map(|f| f.user.clone());
    let mirror_image = images.get(&(settings.mirror.image.clone(), None));
    plan.mirror_image_id = mirror_image.map(|f| f.id.clone()).filter(|_| plan.mirror);
    let plan = plan.with_image_user(settings, job_image_user.as_deref().unwrap_or_default());
    (plan, clamped)
}

/// No warm sidecar: create the job's network, volumes and sidecar, and start both containers.
async fn start_cold(
    engine: &Engine,
    settings: &Settings,
    env: &JobEnv,
    plan: Plan,
    made: Option<Made>,
    started: Instant,
    halt: &Halt,
) -> StageResult {
    // The kept cache_dir's second look goes alongside the layer cache's claim: both are looks
    // at who holds a volume now, after the pulls.
    let looked_at = plan.clone();
    let cache_dir_taken = cache_dir_taken(engine, settings, &looked_at);
    let claimed = async {
        match made {
            Some(made) => Ok((
                claim_after_the_looks(engine, settings, plan, &made, halt).await?,
                made.socket_dir,
            )),
            None => {
                let plan = cache::claim(engine, settings, plan).await?;
                let (socket_dir, _) = build_the_network(engine, &plan, halt).await?;
                Ok::<_, Failure>((plan, socket_dir))
            }
        }
    };
    let (claimed, cache_dir_taken) = futures_util::join!(claimed, cache_dir_taken);
    let (plan, socket_dir) = claimed?;
    let plan = own_cache_dir_if(engine, plan, cache_dir_taken?, halt).await?;
    join_mirror(engine, settings, &plan).await?;
    halt.check("the dind sidecar")?;
    let since = super::log_lines::now();
    start_sidecar(engine, &plan).await?;
    halt.check("the job container")?;
    // The job container starts while the sidecar's daemon boots. Both are awaited even when
    // one fails: a create request abandoned mid-flight still completes in the engine, after
    // this process is gone, and the container would appear behind cleanup's back. Only the
    // wait for the daemon ends at once on a signal.
    let (job, helper, services, sidecar) = futures_util::join!(
        start_job(engine, env, &plan, halt),
        start_helper(engine, &plan, halt),
        services::start(engine, &plan),
        halt.or(
            "the dind daemon's boot",
            wait_for_sidecar(engine, env, &plan, socket_dir, since)
        ),
    );
    sidecar.and(job).and(helper).and(services)?;
    wait_for_services(engine, settings, env, &plan, halt).await?;
    // A service (or an entrypoint) killed for memory while the job got ready.
    super::limit_hits::memory_hits(engine, env, &plan.identity.key(), since).await;
    ready(&plan, started);
    Ok(())
}

/// The job's services get ready, or not (a warning, as the docker executor gives); a signal
/// ends the wait. Then, with `CI_DEBUG_SERVICES`, what they printed so far.
async fn wait_for_services(
    engine: &Engine,
    settings: &Settings,
    env: &JobEnv,
    plan: &Plan,
    halt: &Halt,
) -> StageResult {
    let wait = async {
        services::wait(engine, settings, plan).await;
        service_logs::after_prepare(settings, env, engine, &plan.services).await;
        Ok(())
    };
    halt.or("the services' readiness", wait).await
}

/// With a warm sidecar adopted, only the job container is left to start; the daemon has
/// usually answered long ago, and the readiness check says so at once.
async fn start_adopted(
    engine: &Engine,
    settings: &Settings,
    env: &JobEnv,
    adopted: warm::Adopted,
    started: Instant,
    halt: &Halt,
) -> StageResult {
    let plan = adopted.plan;
    let since = super::log_lines::now();
    join_mirror(engine, settings, &plan).await?;
    halt.check("the job container")?;
    let running = adopted.job_running;
    let (job, helper, services, sidecar) = futures_util::join!(
        async {
            if !running {
                docker::start_container(engine, &plan.job.name).await?;
            }
            await_entrypoint(engine, &plan, &plan.job, halt).await?;
            open_dirs(engine, &plan).await?;
            login::give(engine, env, &plan).await
        },
        async {
            match (&plan.helper, running) {
                (Some(helper), true) => await_entrypoint(engine, &plan, helper, halt).await,
                _ => start_helper(engine, &plan, halt).await,
            }
        },
        services::start(engine, &plan),
        halt.or(
            "the dind daemon's answer",
            wait_for_sidecar(engine, env, &plan, adopted.socket_dir, since)
        ),
    );
    sidecar.and(job).and(helper).and(services)?;
    wait_for_services(engine, settings, env, &plan, halt).await?;
    // A service (or an entrypoint) killed for memory while the job got ready.
    super::limit_hits::memory_hits(engine, env, &plan.identity.key(), since).await;
    ready(&plan, started);
    Ok(())
}

fn ready(plan: &Plan, started: Instant) {
    say(&format!(
        "job container {} ready in {:.1} s",
        plan.job.name,
        started.elapsed().as_secs_f64()
    ));
}

/// `prepare --dry-run`: print the plan; the engine is not contacted.
pub fn dry_run(settings: &Settings, env: &JobEnv) -> StageResult {
    let facts = trusted_facts(env)?;
    let plan = plan::plan(settings, env, facts.as_ref()).map_err(|e| Failure::User(e.0))?;
    print!("{plan}");
    Ok(())
}

/// The job's trusted facts from `JOB_RESPONSE_FILE`, when the runner gave one (14.1+). A file
/// that is named but unreadable or not a payload is the runner's failure, not the job's.
pub fn trusted_facts(env: &JobEnv) -> Result<Option<TrustedFacts>, Failure> {
    env.job_response_file()
        .map(|path| payload::load(path).map_err(Failure::System))
        .transpose()
}

/// With a local engine, a missing `socket.host_path` is known before anything is created.
fn check_socket_path(settings: &Settings, plan: &Plan) -> StageResult {
    let local = matches!(settings.docker_host, DockerHost::Unix(_));
    let path = std::path::Path::new(&settings.socket_host_path);
    if plan.mode == Mode::Socket && local && !path.exists() {
        return Err(Failure::User(format!(
            "socket.host_path {} does not exist on this host; point it at the engine's socket",
            path.display()
        )));
    }
    Ok(())
}

fn announce(plan: &Plan) {
    for ignored in &plan.ignored {
        say(ignored);
    }
    let mut line = format!(
        "mode {}: job image {}",
        plan.mode,
        plan::shown_name(&plan.job.image)
    );
    if let Some(sidecar) = &plan.sidecar {
        let privileged = if sidecar.privileged {
            ", privileged"
        } else {
            ""
        };
        line.push_str(&format!(
            ", dind image {}{privileged}",
            plan::shown_name(&sidecar.image)
        ));
    }
    say(&line);
}

/// The runner retries prepare up to three times; start each attempt from nothing.
async fn remove_leftovers(engine: &Engine, plan: &Plan) -> StageResult {
    let removed = docker::dind::remove_job(engine, &plan.identity.key()).await?;
    if !removed.is_empty() {
        say(&format!("removed what an earlier attempt left: {removed}"));
    }
    Ok(())
}

/// The project's kept `cache_dir` volume, created on the project's first job in the slot and
/// found after; unless another live job holds it. Returns whether it does (this job then gets
/// a per-job one).
async fn cache_dir_volume(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
) -> Result<bool, Failure> {
    let busy = cache::cache_dir_busy(engine, settings, plan).await?;
    if !busy {
        docker::create_volume(engine, &plan.cache_dir_volume).await?;
    }
    Ok(busy)
}

/// What the first phase found and made for the job's network.
struct World {
    /// The MTU the job's network and sidecar get.
    mtu: Option<u32>,
    /// The network and volumes, when made alongside the other looks.
    made: Option<Made>,
}

/// The job's network and volumes, made (not the layer cache's: see [`clear_the_way`]).
struct Made {
    socket_dir: Option<String>,
    network_id: String,
    /// The names of the volumes made.
    volumes: Vec<String>,
}

/// The MTU, an earlier attempt's leftovers removed, and with `early`, the job's network and
/// volumes made. Not the layer cache's volume: a claim holds only until the sidecar starts on
/// it (until then no container shows it taken), and the image pulls between here and the
/// sidecar can take minutes, as long as a registry the job names likes. The claim is made
/// right before the sidecar ([`claim_after_the_looks`]).
async fn clear_the_way(
    engine: &Engine,
    plan: &Plan,
    early: bool,
    halt: &Halt,
) -> Result<World, Failure> {
    let (mtu, leftovers) = futures_util::join!(
        async {
            match plan.mtu {
                Some(mtu) => Some(mtu),
                None => docker::probe::engine_mtu(engine).await,
            }
        },
        remove_leftovers(engine, plan),
    );
    leftovers?;
    if !early {
        return Ok(World { mtu, made: None });
    }
    let mut uncached = plan.clone().with_mtu(mtu);
    uncached.cache_volume = None;
    let (socket_dir, network_id) = build_the_network(engine, &uncached, halt).await?;
    let made = Made {
        socket_dir,
        network_id,
        volumes: uncached.volumes.iter().map(|v| v.name.clone()).collect(),
    };
    Ok(World {
        mtu,
        made: Some(made),
    })
}

/// With the network made early: the layer cache claimed now, right before the sidecar starts
/// on it, and its volume made (the project's, or the job's own when another daemon holds that
/// one). Alongside, the job's networks other than its own removed again: a create sent by a
/// killed earlier attempt can land at any time since the first phase removed them.
async fn claim_after_the_looks(
    engine: &Engine,
    settings: &Settings,
    plan: Plan,
    made: &Made,
    halt: &Halt,
) -> Result<Plan, Failure> {
    let key = plan.identity.key();
    let (claimed, others) = futures_util::join!(
        cache::claim(engine, settings, plan),
        docker::remove_other_networks(engine, &key, &made.network_id),
    );
    let plan = claimed?;
    others?;
    let missing: Vec<_> = plan
        .volumes
        .iter()
        .chain(plan.cache_volume.as_ref())
        .filter(|v| !made.volumes.contains(&v.name))
        .collect();
    if !missing.is_empty() {
        halt.check("the layer cache's volume")?;
    }
    // Every request is awaited even when one fails: an abandoned one still completes.
    let created = join_all(
        missing
            .into_iter()
            .map(|v| docker::create_volume(engine, v)),
    );
    for result in created.await {
        result?;
    }
    Ok(plan)
}

/// The kept `cache_dir` volume looked at again right before the containers that mount it:
/// the first look ran beside the image pulls, which can take as long as a registry the job
/// names likes, and a live job of the same slot (one that forged its slot) may hold it by now.
async fn cache_dir_taken(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
) -> Result<bool, Failure> {
    let kept = plan.cache_dir_volume.labels.get(crate::plan::LABEL_ROLE);
    if kept.map(String::as_str) != Some(crate::plan::ROLE_CACHE_DIR) {
        return Ok(false);
    }
    cache::cache_dir_busy(engine, settings, plan).await
}

/// When the kept `cache_dir` was taken meanwhile ([`cache_dir_taken`]), this job gets a volume
/// of its own, as it would have at the first look.
async fn own_cache_dir_if(
    engine: &Engine,
    plan: Plan,
    taken: bool,
    halt: &Halt,
) -> Result<Plan, Failure> {
    if !taken {
        return Ok(plan);
    }
    halt.check("the job's own cache_dir volume")?;
    let plan = plan.without_cache_dir();
    docker::create_volume(engine, &plan.cache_dir_volume).await?;
    Ok(plan)
}

/// The job's network and volumes; returns the dind socket volume's directory on the engine's
/// host and the network's id.
async fn build_the_network(
    engine: &Engine,
    plan: &Plan,
    halt: &Halt,
) -> Result<(Option<String>, String), Failure> {
    halt.check("the job's network")?;
    let (network_id, socket_dir) = create_network_and_volumes(engine, plan).await?;
    // The engine allows two networks of one name, and containers then refuse to start
    // ("ambiguous"): a create sent by a killed earlier attempt can land after this attempt
    // removed its leftovers. Keep only ours.
    docker::remove_other_networks(engine, &plan.identity.key(), &network_id).await?;
    Ok((socket_dir, network_id))
}

/// Returns the network's id and the directory, on the engine's host, of the volume holding
/// the dind socket.
async fn create_network_and_volumes(
    engine: &Engine,
    plan: &Plan,
) -> Result<(String, Option<String>), Failure> {
    let network = docker::create_network(engine, &plan.network, &plan.network_labels, plan.mtu);
    // A project cache volume is created on its first use and found again after that. Every
    // request is awaited even when one fails: an abandoned one still completes in the engine.
    let volumes = join_all(
        plan.volumes
            .iter()
            .chain(plan.cache_volume.as_ref())
            .map(|v| docker::create_volume(engine, v)),
    );
    let (network_id, mountpoints) = futures_util::join!(network, volumes);
    let network_id = network_id?;
    let mountpoints = mountpoints.into_iter().collect::<Result<Vec<_>, _>>()?;
    let socket_dir = plan
        .volumes
        .iter()
        .chain(plan.cache_volume.as_ref())
        .zip(mountpoints)
        .find(|(v, _)| Some(&v.name) == plan.dind_socket_volume.as_ref())
        .map(|(_, mountpoint)| mountpoint);
    Ok((network_id, socket_dir))
}

/// The sidecar starts first, so its daemon boots while the job container is being created.
async fn start_sidecar(engine: &Engine, plan: &Plan) -> StageResult {
    match &plan.sidecar {
        Some(spec) => sidecar::start(engine, spec, plan.tls.as_ref()).await,
        None => Ok(()),
    }
}

/// The job container: created and started (both always finish: see `start_cold`), then
/// its entrypoint awaited.
async fn start_job(engine: &Engine, env: &JobEnv, plan: &Plan, halt: &Halt) -> StageResult {
    start_container(engine, &plan.job).await?;
    await_entrypoint(engine, plan, &plan.job, halt).await?;
    open_dirs(engine, plan).await?;
    login::give(engine, env, plan).await
}

/// Give the builds and cache directories to the job image's user (see [`Plan::give_dirs`]),
/// as root in the job container: the directories themselves, by the driver's own paths, not
/// what is in them (nothing yet, or the project's kept cache). The user name is resolved by
/// the image, as `docker run --user` resolves it.
async fn open_dirs(engine: &Engine, plan: &Plan) -> StageResult {
    let Some((user, dirs)) = &plan.give_dirs else {
        return Ok(());
    };
    let mut chown = vec!["chown".to_string(), "--".to_string(), user.clone()];
    chown.extend(dirs.iter().cloned());
    // The image's own `chown` does this: one that fails or hangs is the image's, the job's.
    match docker::exec_status_as_root(engine, &plan.job.name, chown, OPEN_DIRS_TIME).await? {
        Some(0) => Ok(()),
        other => Err(Failure::User(format!(
            "could not give {} to the job's user {user} ({}); the image's chown must work, \
             or run the job as root",
            dirs.join(" and "),
            match other {
                Some(code) => format!("chown exited {code}"),
                None => "no answer".into(),
            }
        ))),
    }
}

/// A `chown` of two directories answers at once; this is for an engine under load.
const OPEN_DIRS_TIME: Duration = Duration::from_secs(30);

/// The helper container starts next to the job container (`helper.mode: container`).
async fn start_helper(engine: &Engine, plan: &Plan, halt: &Halt) -> StageResult {
    match &plan.helper {
        Some(helper) => {
            start_container(engine, helper).await?;
            await_entrypoint(engine, plan, helper, halt).await
        }
        None => Ok(()),
    }
}

/// `mirror.managed`: the mirror running and on the job's network before the inner daemon
/// pulls anything.
async fn join_mirror(engine: &Engine, settings: &Settings, plan: &Plan) -> StageResult {
    match &plan.mirror_image_id {
        Some(image_id) => {
            docker::mirror::attach(engine, &settings.mirror, image_id, &plan.network).await
        }
        None => Ok(()),
    }
}

/// A wait, so a signal ends it at once.
async fn await_entrypoint(
    engine: &Engine,
    plan: &Plan,
    container: &ContainerSpec,
    halt: &Halt,
) -> StageResult {
    let wait = entrypoint::wait(engine, plan, container);
    let what = match container.role {
        crate::plan::Role::Helper => "the entrypoint of the helper image",
        _ => "the entrypoint of the job's image",
    };
    halt.or(what, wait).await
}

async fn start_container(engine: &Engine, container: &ContainerSpec) -> StageResult {
    docker::create_container(engine, container).await?;
    docker::start_container(engine, &container.name).await
}

/// `since`: when the sidecar started, for the engine's `oom` events about it.
async fn wait_for_sidecar(
    engine: &Engine,
    env: &JobEnv,
    plan: &Plan,
    socket_dir: Option<String>,
    since: super::log_lines::Moment,
) -> StageResult {
    match &plan.sidecar {
        Some(sidecar) => {
            let timeout = plan.dind_ready_timeout;
            // A remote engine's volume path may exist here too, as some other directory.
            let socket_dir = socket_dir.filter(|_| engine.is_local());
            readiness::wait_for_dind(engine, env, &sidecar.name, socket_dir, timeout, since).await
        }
        None => Ok(()),
    }
}
