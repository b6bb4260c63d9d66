//! `warm.jobs`: after a job's cleanup, the slot's next job container (and helper container)
//! is created and started ahead of time, on a network and volumes of its own, for the image
//! and settings the slot's last job had (`plan::warm_job` has the naming and the template).
//! Prepare adopts a set only if it fits the job exactly: same template (which holds the image
//! id, the mode, every setting fixed at create, and the project's `cache_dir` volume, so the
//! project, slot and ref protection), running, younger than `warm.max_age`. Any other free set
//! of the slot is removed, and the job starts cold.
//!
//! What cannot be fixed ahead of time is done at adoption: the containers are renamed to the
//! job's names (so `run`, `cleanup` and `gc` find them as the job's, and their warm-key label
//! takes the set along at cleanup); the job's key reaches its stage shells through `run`;
//! services start as for a cold job. In socket mode the builds directory the runner was told
//! about (named by the job's key) is made in the set's directory, which the containers mount
//! at the builds root, and on the host is a link to it.

use crate::docker::{self, Engine};
use crate::env::JobEnv;
use crate::outcome::{say, Failure};
use crate::plan::owner::{owner_of, Owner};
use crate::plan::warm::{warm_key, warm_sidecar_name, warm_token_name, LABEL_WARM_KEY};
use crate::plan::warm_job::{warm_helper_name, warm_job_name, WarmJobSet, LABEL_WARM_JOB_TEMPLATE};
use crate::plan::{Plan, Role, LABEL_MANAGER_ID, LABEL_ROLE, LABEL_RUNNER_ID, LABEL_SLOT};
use crate::settings::{Mode, Settings};

use super::{cache, images, prepare, warm};

/// Whether this job may use warm job sets at all, or why not (said once by the caller).
pub fn wanted(settings: &Settings, plan: &Plan) -> Result<(), &'static str> {
    if !settings.warm_jobs {
        return Err("warm.jobs is off");
    }
    // A dind job's warm job container comes with its warm sidecar (`stage::warm`).
    if plan.sidecar.is_some() {
        return Err("dind jobs take theirs with the warm sidecar (dind.warm)");
    }
    if let Some(why) = plan.warm_job_refusal() {
        return Err(why);
    }
    // The builds directory is linked on the engine's host, which is only this one's disk.
    if plan.mode == Mode::Socket && !settings.docker_host.is_local() {
        return Err("socket mode on a remote engine starts cold");
    }
    // The set's directory is made by the engine, as root: only a driver running as root can
    // make the job's directory in it at adoption.
    if plan.mode == Mode::Socket && !driver_is_root() {
        return Err("socket mode's warm sets need the driver to run as root");
    }
    Ok(())
}

/// Whether this process runs as root: `/proc/self` belongs to the process's effective user.
fn driver_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// What prepare found among the slot's warm job sets.
pub struct Found {
    /// The plan once adopted (containers renamed and running), if one fit.
    pub adopted: Option<Plan>,
    /// Warm sets that do not fit this job, for the caller to remove while the job starts.
    pub unfit: Vec<String>,
}

/// Adopt the slot's warm job set if one fits the finished plan (see the module comment).
pub async fn adopt(engine: &Engine, settings: &Settings, plan: &Plan) -> Result<Found, Failure> {
    let mut found = Found {
        adopted: None,
        unfit: Vec::new(),
    };
    let template = plan.warm_job_template();
    let now = docker::sweep::unix_now();
    let mut chosen = None;
    for (key, listed) in free_sets(engine, plan).await? {
        if !docker::dind::volume_exists(engine, &warm_token_name(&key)).await {
            // Being made (its token comes last), or claimed by another prepare: not this
            // job's to take or to remove, nor to speak of; gc takes one a killed prepare
            // claimed.
            continue;
        }
        let why_not = if !listed.running {
            Some("is not running")
        } else if now - listed.created >= settings.warm_max_age.as_secs() as i64 {
            Some("is older than warm.max_age")
        } else if plan.job.image_id.as_deref() != Some(listed.image_id.as_str()) {
            Some("runs another image")
        } else if listed.labels.get(LABEL_WARM_JOB_TEMPLATE) != Some(&template) {
            Some("was made for other settings")
        } else if chosen.is_some() {
            Some("is one too many")
        } else {
            None
        };
        match why_not {
            None => chosen = Some(key),
            Some(why) => {
                say(&format!("warm job set {key} {why}: replacing it"));
                found.unfit.push(key);
            }
        }
    }
    let Some(key) = chosen else {
        return Ok(found);
    };
    // The claim, as for warm sidecars: of this job and anyone discarding the set (another
    // job's prepare or cleanup, gc) exactly one removes the token; the loser starts cold.
    if !docker::dind::remove_volume_named(engine, &warm_token_name(&key)).await? {
        return Ok(found);
    }
    match take_over(engine, settings, plan, &key).await {
        Ok(true) => {
            say(&format!("adopted warm job set {key}"));
            found.adopted = Some(plan.adopt_job_set(&key));
        }
        // Gone since it was listed, or it cannot be linked: start cold without it.
        Ok(false) => remove(engine, settings, &key).await?,
        Err(e) => {
            remove(engine, settings, &key).await?;
            return Err(e);
        }
    }
    Ok(found)
}

/// Rename the claimed set's containers to the job's, job container first: it carries the warm
/// key, so from then on cleanup and gc take the whole set along with the job. Then, in socket
/// mode, the job's builds directory is made in the set's. `false`: the set cannot be
/// used (a container went, or the directory or link could not be made) and is the caller's
/// to remove.
async fn take_over(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
    key: &str,
) -> Result<bool, Failure> {
    if !docker::dind::rename_container(engine, &warm_job_name(key), &plan.job.name).await? {
        return Ok(false);
    }
    if let Some(helper) = &plan.helper {
        if !docker::dind::rename_container(engine, &warm_helper_name(key), &helper.name).await? {
            return Ok(false);
        }
    }
    let Some(dir) = &plan.builds_host_dir else {
        return Ok(true);
    };
    let root = settings.socket_builds_host_dir.trim_end_matches('/');
    let link = format!("{root}/{}", plan.identity.key());
    if *dir != link {
        return Ok(false);
    }
    // The job's directory is made in the set's, which the set's containers mount at the
    // builds root: there it has the job's path already. On the host, `<root>/<job key>`
    // becomes a relative link to it, for the containers the job starts through the host's
    // socket (and its services), which mount that path. Two file system calls, no engine.
    let name = plan.identity.key();
    if let Err(e) = job_dir(root, key, &name) {
        say(&format!(
            "could not make the job's directory in {root}/{key}: {e}"
        ));
        return Ok(false);
    }
    if let Err(e) = host_link(&format!("{key}/{name}"), &link) {
        say(&format!("could not link builds directory {link}: {e}"));
        return Ok(false);
    }
    Ok(true)
}

/// `<root>/<warm key>/<job key>`, made fresh: the set's directory must be the engine's own
/// (not a link), and nothing may be at the job's name in it yet. A set whose image's process
/// put something there (it runs before any job) is not used.
fn job_dir(root: &str, key: &str, name: &str) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let set = format!("{root}/{key}");
    if !std::fs::symlink_metadata(&set)?.is_dir() {
        return Err(std::io::Error::other("it is not a directory"));
    }
    // The mode the engine gives a cold job's directory it makes.
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(format!("{set}/{name}"))
}

/// `<root>/<job key>` on this host made a link to `target` (relative to the root); whatever an
/// earlier attempt of this job left at that path (its own link or directory) goes first.
fn host_link(target: &str, link: &str) -> std::io::Result<()> {
    match std::fs::symlink_metadata(link) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(link)?,
        Ok(_) => std::fs::remove_file(link)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::os::unix::fs::symlink(target, link)
}

/// Remove warm job sets that did not fit; a failure is said and left to gc.
pub async fn discard_all(engine: &Engine, settings: &Settings, unfit: Vec<String>) {
    let removals = unfit.iter().map(|key| discard(engine, settings, key));
    for (key, result) in unfit
        .iter()
        .zip(futures_util::future::join_all(removals).await)
    {
        if let Err(e) = result {
            say(&format!("could not remove warm job set {key}: {e}"));
        }
    }
}

/// Remove a free warm job set unless a job adopts it first (the token decides, as for warm
/// sidecars); returns whether it was removed.
pub async fn discard(engine: &Engine, settings: &Settings, key: &str) -> Result<bool, Failure> {
    if !docker::dind::remove_volume_named(engine, &warm_token_name(key)).await? {
        return Ok(false);
    }
    remove(engine, settings, key).await?;
    Ok(true)
}

/// Remove everything of the set `key`, its builds directory on this host included.
pub async fn remove(engine: &Engine, settings: &Settings, key: &str) -> Result<(), Failure> {
    docker::remove_labelled(engine, &format!("{LABEL_WARM_KEY}={key}")).await?;
    remove_dir(settings, key);
    Ok(())
}

/// A warm set's builds directory on this host (socket mode's; none elsewhere). The key is
/// read from a label only after the name it came from was checked (`owner_of`), or made here.
pub fn remove_dir(settings: &Settings, key: &str) {
    if !settings.docker_host.is_local() || key.contains('/') || !key.starts_with("executor-") {
        return;
    }
    let dir = format!(
        "{}/{key}",
        settings.socket_builds_host_dir.trim_end_matches('/')
    );
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => say(&format!("could not remove builds directory {dir}: {e}")),
    }
}

/// Start a fresh warm job set for the finished job's slot, for its image and settings,
/// replacing any free one the slot still has. Returns its key, or why none was made.
pub async fn replenish(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
    key: &str,
) -> Result<Result<String, String>, Failure> {
    for (key, _) in free_sets(engine, plan).await? {
        discard(engine, settings, &key).await?;
    }
    sweep_remnants(engine, settings, plan).await;
    // The project's cache_dir held by another live job (one that forged this slot): a set
    // made now would share it with that job once adopted.
    if cache::cache_dir_busy(engine, settings, plan).await? {
        return Ok(Err("the project's cache_dir volume is in use".into()));
    }
    let key = key.to_string();
    let (finished, set) = match finished_set(engine, settings, plan, &key).await? {
        Ok(made) => made,
        Err(why) => return Ok(Err(why)),
    };
    if let Err(e) = create(engine, &finished, &set).await {
        // Half a warm set is no use to anyone.
        remove(engine, settings, &key).await?;
        return Err(e);
    }
    Ok(Ok(key))
}

/// cleanup's part of `warm.jobs`: start `executor warm-up` (`refill_now`) detached from the
/// runner, so the job's cleanup returns once the job's containers, volumes and builds
/// directory are gone; the child removes the job's `networks` (by id: a retried prepare's new
/// network has the same labels) and then makes the next set. The child gets the payload on a
/// pipe (the runner removes the job's temp dir, and the file with it, once cleanup returns),
/// reads the same config file, runs in a process group of its own (the runner signals
/// cleanup's group when it times out) and writes nothing where the runner reads.
pub fn refill_later(
    settings: &Settings,
    env: &JobEnv,
    plan: &Plan,
    networks: &[String],
) -> Result<String, String> {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let payload = match env.job_response_file() {
        Some(path) => read_bounded(std::fs::File::open(path).map_err(|e| e.to_string())?)?,
        None => Vec::new(),
    };
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = std::process::Command::new(exe);
    if let Some(file) = &settings.file {
        command.arg("--config").arg(file);
    }
    let key = new_key(plan);
    command.arg("warm-up").arg(&key);
    for id in networks {
        command.arg("--remove-network").arg(id);
    }
    // Modes offered beyond the file's defaults (a local run's `--mode`), which the child's
    // reading of the file would not offer.
    if !settings.modes_allowed_by_file {
        for mode in &settings.modes_allowed {
            command.arg("--allow-mode").arg(mode.as_str());
        }
    }
    let mut child = command
        // The job's environment as this process got it (a local run builds its own, on top
        // of the person's: their DOCKER_HOST names the engine).
        .envs(env.all().iter().cloned())
        .env_remove(crate::env::JOB_RESPONSE_FILE)
        .env("TMPDIR", "/tmp")
        .current_dir("/")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&payload).map_err(|e| e.to_string())?;
    }
    Ok(key)
}

/// A new warm key for the plan's slot.
pub fn new_key(plan: &Plan) -> String {
    let id = &plan.identity;
    warm_key(
        &id.runner_id,
        &id.manager_id,
        &id.concurrent_id,
        &warm::nonce(),
    )
}

/// `executor warm-up`: the slot's next warm job set, for the job whose payload is on stdin
/// (empty: no payload, as `payload.required: false` allows).
pub async fn refill_now(
    settings: &Settings,
    env: &JobEnv,
    key: &str,
    allow_modes: &[String],
    networks: &[String],
) -> crate::outcome::StageResult {
    // Only engine ids: the finished job's networks, as its cleanup listed them.
    if let Some(bad) = networks.iter().find(|id| !is_engine_id(id)) {
        return Err(Failure::User(format!("{bad:?} is not a network id")));
    }
    let engine = Engine::connect(settings)?;
    // First, so the slot holds no more networks than before while the set's is made (the
    // engine's address pools are small).
    if let Err(e) = docker::remove_networks(&engine, networks).await {
        // Nobody reads this process's output; gc takes a network left now.
        say(&format!(
            "could not remove the finished job's networks: {e}"
        ));
    }
    refill(&engine, settings, env, key, allow_modes).await
}

/// A full engine id: 64 lowercase hex digits.
fn is_engine_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The set itself, for [`refill_now`].
async fn refill(
    engine: &Engine,
    settings: &Settings,
    env: &JobEnv,
    key: &str,
    allow_modes: &[String],
) -> crate::outcome::StageResult {
    let mut settings = settings.clone();
    if !settings.modes_allowed_by_file {
        for mode in allow_modes.iter().filter_map(|m| Mode::parse(m)) {
            if !settings.modes_allowed.contains(&mode) {
                settings.modes_allowed.push(mode);
            }
        }
    }
    let settings = &settings;
    let payload = read_bounded(std::io::stdin()).map_err(Failure::System)?;
    let facts = match payload.is_empty() {
        true => None,
        false => Some(crate::payload::parse(&payload).map_err(Failure::System)?),
    };
    let plan = crate::plan::plan(settings, env, facts.as_ref()).map_err(|e| Failure::User(e.0))?;
    if let Err(why) = wanted(settings, &plan) {
        return Err(Failure::User(why.into()));
    }
    // The key is used as names: only one the driver makes for this job's slot is taken.
    if new_key_shape(&plan, key).is_none() {
        return Err(Failure::User(format!(
            "{key} is not a warm key of this job's slot"
        )));
    }
    match replenish(engine, settings, &plan, key).await? {
        Ok(_) => Ok(()),
        Err(why) => Err(Failure::User(why)),
    }
}

/// `Some` when `key` is a warm key of the plan's runner, manager and slot.
fn new_key_shape(plan: &Plan, key: &str) -> Option<()> {
    let id = &plan.identity;
    let stem = warm_key(&id.runner_id, &id.manager_id, &id.concurrent_id, "");
    let nonce = key.strip_prefix(&stem)?;
    let named = owner_of(&warm_job_name(key)) == Owner::Warm(key.to_string());
    (named && !nonce.is_empty()).then_some(())
}

/// All of `from`, up to the payload's own limit.
fn read_bounded(from: impl std::io::Read) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    from.take(crate::payload::MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    match bytes.len() as u64 > crate::payload::MAX_BYTES {
        true => Err("the job payload is too large".into()),
        false => Ok(bytes),
    }
}

/// How old a warm set without containers must be before a cleanup of its slot takes it as a
/// remnant: a set being made has its network and volumes for a moment before its containers,
/// for well under this.
const REMNANT_AGE: i64 = 30;

/// What of the slot's warm sets a killed removal left: a network and volumes, no container
/// (a prepare killed while it discarded an unfit set, or a cleanup killed mid-removal). Taken
/// when the slot's next set is made, so the engine's network address pools (about 30
/// networks by default) are not held by remnants until gc's grace has passed. Returns how many.
pub async fn sweep_remnants(engine: &Engine, settings: &Settings, plan: &Plan) -> usize {
    let id = &plan.identity;
    let slot_stem = warm_key(&id.runner_id, &id.manager_id, &id.concurrent_id, "");
    let Ok(sets) = docker::sweep::warm_footprints(engine, Some(&id.runner_id)).await else {
        return 0;
    };
    let now = docker::sweep::unix_now();
    let mut taken = 0;
    for (key, set) in sets {
        let ours = key
            .strip_prefix(&slot_stem)
            .is_some_and(|nonce| !nonce.is_empty() && !nonce.contains('-'));
        if !ours || !set.containers.is_empty() || now - set.newest < REMNANT_AGE {
            continue;
        }
        match remove(engine, settings, &key).await {
            Ok(()) => {
                say(&format!("removed remnants of warm set {key}"));
                taken += 1;
            }
            Err(e) => say(&format!("could not remove remnants of warm set {key}: {e}")),
        }
    }
    taken
}

/// The finished job's plan as the next job's prepare will have it (its images read on the
/// engine, never pulled; MTU, CPUs), and the warm job set `key` made from it; or why none.
pub async fn finished_set(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
    key: &str,
) -> Result<Result<(Plan, WarmJobSet), String>, Failure> {
    let mut found = images::Found::new();
    for container in std::iter::once(&plan.job).chain(plan.helper.as_ref()) {
        let Some(facts) = docker::image_facts(engine, &container.image).await? else {
            return Ok(Err(format!(
                "image {} is no longer on the engine",
                crate::plan::shown_name(&container.image)
            )));
        };
        found.insert((container.image.clone(), container.platform.clone()), facts);
    }
    let mtu = match plan.mtu {
        Some(mtu) => Some(mtu),
        None => docker::probe::engine_mtu(engine).await,
    };
    let cpus = engine.cpu_count().await;
    let (finished, _) = prepare::finish_plan(settings, plan.clone(), &found, mtu, cpus);
    Ok(finished.warm_job_set(key).map(|set| (finished, set)))
}

/// The set's job container (and helper container) created and started.
pub async fn start_containers(engine: &Engine, set: &WarmJobSet) -> Result<(), Failure> {
    let start = |spec| async move {
        docker::create_container(engine, spec).await?;
        docker::start_container(engine, &spec.name).await
    };
    futures_util::try_join!(start(&set.job), async {
        match &set.helper {
            Some(helper) => start(helper).await,
            None => Ok(()),
        }
    })?;
    Ok(())
}

/// Why a warm dind set (`dind.warm` with `warm.jobs`) may not be adopted by this job because
/// of the job container (and helper container) started beside its sidecar, or `None`. They
/// ran the finished job's image with the set's daemon at hand (its socket, `DOCKER_HOST`)
/// before any job came, and whatever that image did there (images, containers, volumes in
/// the daemon) stays in it: a set whose job container does not fit this job exactly, so was
/// made for another project, ref protection or image, or stopped, is no one else's to adopt.
/// A set without them (none were made) holds nothing but a fresh daemon.
pub async fn unfit_beside_sidecar(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
    key: &str,
) -> Result<Option<&'static str>, Failure> {
    let label = format!("{LABEL_WARM_KEY}={key}");
    let members = docker::dind::containers_labelled(engine, &[label]).await?;
    let job = members.iter().find(|c| c.name == warm_job_name(key));
    let helper = members.iter().find(|c| c.name == warm_helper_name(key));
    Ok(match (job, helper) {
        (None, None) => None,
        _ => unfit(settings, plan, job, helper),
    })
}

/// Why the set's job container (`job`) and helper container (`helper`) do not fit this job.
fn unfit(
    settings: &Settings,
    plan: &Plan,
    job: Option<&docker::dind::Listed>,
    helper: Option<&docker::dind::Listed>,
) -> Option<&'static str> {
    match job {
        None => Some("is missing"),
        Some(_) if !settings.warm_jobs => Some("warm.jobs is off"),
        Some(job) if !job.running => Some("is not running"),
        Some(job) if plan.job.image_id.as_deref() != Some(job.image_id.as_str()) => {
            Some("runs another image")
        }
        Some(job) if job.labels.get(LABEL_WARM_JOB_TEMPLATE) != Some(&plan.warm_job_template()) => {
            Some("was made for other settings")
        }
        Some(_) if plan.helper.is_some() != helper.is_some_and(|h| h.running) => {
            Some("has no running helper container")
        }
        Some(_) => None,
    }
}

/// In a claimed warm dind set (`dind.warm` with `warm.jobs`): take its job container (and
/// helper container) if they fit the job as a warm job set must, renaming them to the job's
/// names, job container first; otherwise remove them, for prepare to create the job's own.
/// Returns whether they were taken. (A set whose containers did not fit was refused before
/// the claim, [`unfit_beside_sidecar`]; this holds for a set that lost them since.)
pub async fn take_with_sidecar(
    engine: &Engine,
    settings: &Settings,
    plan: &Plan,
    key: &str,
) -> Result<bool, Failure> {
    let label = format!("{LABEL_WARM_KEY}={key}");
    let members = docker::dind::containers_labelled(engine, &[label]).await?;
    let job = members.iter().find(|c| c.name == warm_job_name(key));
    let helper = members.iter().find(|c| c.name == warm_helper_name(key));
    if job.is_none() && helper.is_none() {
        return Ok(false);
    }
    let why_not = match unfit(settings, plan, job, helper) {
        Some(why) => Some(why),
        None => {
            let renamed =
                docker::dind::rename_container(engine, &warm_job_name(key), &plan.job.name).await?;
            let helper_renamed = match &plan.helper {
                Some(h) if renamed => {
                    docker::dind::rename_container(engine, &warm_helper_name(key), &h.name).await?
                }
                _ => renamed,
            };
            if helper_renamed {
                say(&format!("adopted the warm job container of {key}"));
                return Ok(true);
            }
            Some("went away")
        }
    };
    if let Some(why) = why_not {
        say(&format!("warm job container of {key} {why}: replacing it"));
    }
    // Whatever of them is left, under either name, before the job's own are created.
    for name in [
        warm_job_name(key),
        warm_helper_name(key),
        plan.job.name.clone(),
    ]
    .into_iter()
    .chain(plan.helper.as_ref().map(|h| h.name.clone()))
    {
        docker::remove_container_named(engine, &name).await?;
    }
    Ok(false)
}

/// The set's network and volumes, its containers started, and its token last: only a
/// complete set can be claimed.
async fn create(engine: &Engine, plan: &Plan, set: &WarmJobSet) -> Result<(), Failure> {
    let volumes = set
        .volumes
        .iter()
        .chain(std::iter::once(&plan.cache_dir_volume))
        .map(|v| docker::create_volume(engine, v));
    let network = docker::create_network(engine, &set.network, &set.network_labels, plan.mtu);
    futures_util::try_join!(network, futures_util::future::try_join_all(volumes))?;
    start_containers(engine, set).await?;
    docker::create_volume(engine, &set.token).await?;
    Ok(())
}

/// The slot's warm job sets that no job adopted (an adopted one's job container bears its
/// job's name), by key.
async fn free_sets(
    engine: &Engine,
    plan: &Plan,
) -> Result<Vec<(String, docker::dind::Listed)>, Failure> {
    let id = &plan.identity;
    let labels = [
        LABEL_WARM_KEY.to_string(),
        format!("{LABEL_RUNNER_ID}={}", id.runner_id),
        format!("{LABEL_SLOT}={}", id.concurrent_id),
    ];
    let listed = docker::dind::containers_labelled(engine, &labels).await?;
    // A warm dind set's job container is its sidecar's (`stage::warm`), never a free job set.
    let sidecars: Vec<String> = listed
        .iter()
        .filter(|c| c.labels.get(LABEL_ROLE).map(String::as_str) == Some(Role::Dind.as_str()))
        .map(|c| c.name.clone())
        .collect();
    Ok(listed
        .into_iter()
        .filter(|c| c.labels.get(LABEL_ROLE).map(String::as_str) == Some(Role::Job.as_str()))
        .filter_map(|listed| {
            let key = listed.labels.get(LABEL_WARM_KEY)?.clone();
            let manager = listed
                .labels
                .get(LABEL_MANAGER_ID)
                .map_or("", String::as_str);
            // The key is used as a name (and a directory's), so it must be one the driver
            // makes: read from the container's name, which the label must agree with.
            let named = owner_of(&listed.name) == Owner::Warm(key.clone());
            let with_sidecar = sidecars.contains(&warm_sidecar_name(&key));
            (named
                && !with_sidecar
                && listed.name == warm_job_name(&key)
                && manager == id.manager_id)
                .then_some((key, listed))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::is_engine_id;

    #[test]
    fn only_full_engine_ids_name_networks_to_remove() {
        let id = "0123456789abcdef".repeat(4);
        assert!(is_engine_id(&id));
        for bad in [
            &id[..63],
            &format!("{id}0"),
            &id.to_uppercase(),
            "executor-r1-p1-c0-j1",
            "",
            &format!("{}/", &id[..63]),
        ] {
            assert!(!is_engine_id(bad), "{bad}");
        }
    }
}
