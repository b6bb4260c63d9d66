//! Pure planning (`design.md` rule 4): from the job's environment and the settings, compute
//! every name, label, network, volume and container the engine will be asked to create. No I/O
//! and no async here; `--dry-run` prints a [`Plan`] and unit tests check it without a daemon.

mod dind;
pub mod entrypoint;
pub mod helper;
mod identity;
pub mod limits;
pub mod mirror;
mod options;
pub mod owner;
pub mod platform;
mod policy;
mod pulls;
mod render;
pub mod services;
mod spec;
pub mod warm;
pub mod warm_job;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::env::{self, JobEnv};
use crate::payload::TrustedFacts;
use crate::settings::{DindCache, Entrypoint, HelperMode, Mode, Settings};
pub use entrypoint::Start;

use dind::{job_docker_env, sidecar_env, tls_sans};
pub use identity::{
    printable as printable_value, runner_stem, shown_name, JobIdentity, PlanError, Resolved,
    MIN_RUNNER_VERSION,
};
pub use limits::ContainerLimits;
pub use policy::{choose_mode, DIND_IMAGE_VARIABLE};
pub use spec::{ContainerSpec, Mount, Role, VolumeSpec};

/// The prefix of every label the driver sets; images carrying one are refused.
pub const LABEL_PREFIX: &str = "io.executor.";
/// Label every resource carries, so a sweep can tell ours from everything else.
pub const LABEL_MANAGED: &str = "io.executor.managed";
/// Label holding the job key; `cleanup` and the next `prepare` find the job's resources by it.
pub const LABEL_JOB_KEY: &str = "io.executor.job-key";
pub const LABEL_JOB_ID: &str = "io.executor.job-id";
pub const LABEL_PROJECT_ID: &str = "io.executor.project-id";
pub const LABEL_RUNNER_ID: &str = "io.executor.runner-id";
/// The runner manager of a job's resources (see `JobIdentity::manager_id`).
pub const LABEL_MANAGER_ID: &str = "io.executor.manager-id";
pub const LABEL_PIPELINE_ID: &str = "io.executor.pipeline-id";
pub const LABEL_ROLE: &str = "io.executor.role";
pub const LABEL_MODE: &str = "io.executor.mode";
/// On a service: the name its log lines carry with `CI_DEBUG_SERVICES`, so each `run` finds it
/// with the container instead of planning again.
pub const LABEL_SERVICE: &str = "io.executor.service";
/// The runner's concurrency slot (`CI_CONCURRENT_ID`).
pub const LABEL_SLOT: &str = "io.executor.slot";
/// On kept volumes: whether they belong to protected refs (`true`) or not (`false`).
pub const LABEL_PROTECTED: &str = "io.executor.protected";
/// Role of a project's kept dind data volume.
pub const ROLE_CACHE: &str = "dind-cache";
/// Role of a project's kept `cache_dir` volume.
pub const ROLE_CACHE_DIR: &str = "cache-dir";

/// Where dockerd keeps its data in the sidecar: the layer cache volume's mount.
pub const DIND_DATA_DIR: &str = "/var/lib/docker";
/// Where the sidecar's daemon listens, in a per-job volume that the job container mounts too:
/// no TCP, no certificates, no network exposure of a root API.
pub const DIND_SOCKET_DIR: &str = "/var/run/dind";
/// The job container's Docker client configuration with `dind.login` (`DOCKER_CONFIG`).
pub const DOCKER_LOGIN_DIR: &str = "/executor/docker";
pub const DIND_SOCKET: &str = "/var/run/dind/docker.sock";
/// Where docker:dind writes client certificates; shared so TLS jobs (tcp://docker:2376) work.
pub const DIND_CLIENT_CERTS: &str = "/certs/client";
/// The sidecar's TLS directory (`DOCKER_TLS_CERTDIR`) and where its server set lives.
pub const DIND_CERT_DIR: &str = "/certs";
pub const DIND_SERVER_CERTS: &str = "/certs/server";
/// The address a job reaches the sidecar at with `dind.tls`.
pub const DIND_TLS_HOST: &str = "tcp://docker:2376";
/// The MTU dockerd uses when not told otherwise.
const DOCKERD_DEFAULT_MTU: u32 = 1500;

/// Set in the job container to the job key (the value of [`LABEL_JOB_KEY`]).
pub const JOB_KEY_VARIABLE: &str = "EXECUTOR_JOB_KEY";
/// Set in the job container to the per-job network's name, as the docker executor does.
pub const NETWORK_VARIABLE: &str = "CI_BUILD_NETWORK_NAME";
/// Where the host socket appears in socket-mode jobs, the path every Docker client tries first.
pub const SOCKET_TARGET: &str = "/var/run/docker.sock";

/// Keeps the job container alive, run by the image's entrypoint (or as the entrypoint with
/// `entrypoint: ignore`); stages run through `exec`. In dind mode it also points the
/// conventional socket path at the sidecar's socket, for jobs that hardcode /var/run/docker.sock.
///
/// As PID 1 it ends on TERM, so a stop is quick. Under an entrypoint that stays PID 1 (an init
/// such as dumb-init or tini, which the default helper image has) it is an ordinary process,
/// and a cancelled stage's `kill -TERM -1` (every process but PID 1) would reach it and stop
/// the container: then it ignores TERM and INT.
/// It then notes its PID (in [`KEEP_ALIVE_PID_FILES`], the first that takes it) so a stage's
/// KILL spares it too.
const KEEP_ALIVE: &str = "if [ $$ = 1 ]; then trap 'exit 0' TERM INT; else trap '' TERM INT; \
for f in /.executor-keep-alive /dev/shm/.executor-keep-alive /tmp/.executor-keep-alive; do \
{ echo $$; } 2>/dev/null > \"$f\" && break; done; fi; while :; do sleep 3600 & wait $!; done";
/// Where a keep-alive that is not PID 1 notes its PID.
pub const KEEP_ALIVE_PID_FILES: &str =
    "/.executor-keep-alive /dev/shm/.executor-keep-alive /tmp/.executor-keep-alive";
const LINK_DIND_SOCKET: &str =
    "[ -e /var/run/docker.sock ] || ln -s /var/run/dind/docker.sock /var/run/docker.sock 2>/dev/null; ";

/// Whether a shell script is (or ends in) the driver's keep-alive.
pub fn is_keep_alive(script: &str) -> bool {
    script.ends_with(KEEP_ALIVE)
}

/// Everything prepare creates for one job.
#[derive(Debug, Clone)]
pub struct Plan {
    pub identity: JobIdentity,
    /// What prepare says about the identity: job variables that disagreed with the payload
    /// and were ignored (names only), or that there was no payload.
    pub ignored: Vec<String>,
    pub mode: Mode,
    pub network: String,
    pub network_labels: BTreeMap<String, String>,
    /// MTU of the per-job network (and the inner daemon); `None` until known.
    pub mtu: Option<u32>,
    pub volumes: Vec<VolumeSpec>,
    /// The dind sidecar, started first so its daemon boots while the job container starts.
    pub sidecar: Option<ContainerSpec>,
    pub job: ContainerSpec,
    /// The volume holding the sidecar's socket, polled for readiness.
    pub dind_socket_volume: Option<String>,
    pub dind_ready_timeout: Duration,
    /// The project's kept daemon data (`dind.cache: project`); not labelled with the job, so
    /// cleanup keeps it.
    pub cache_volume: Option<VolumeSpec>,
    /// Certificates the driver makes before the sidecar starts (`dind.tls`).
    pub tls: Option<TlsSpec>,
    /// The project's kept `cache_dir` for this runner and slot; not labelled with the job.
    pub cache_dir_volume: VolumeSpec,
    /// Runs the predefined stages that need git and gitlab-runner (`helper.mode: container`).
    pub helper: Option<ContainerSpec>,
    /// Socket mode: the per-job builds directory on the engine's host, removed by cleanup.
    pub builds_host_dir: Option<String>,
    /// The job's `services:` (a dind service in a dind job is the sidecar, not in here).
    pub services: Vec<ContainerSpec>,
    /// How the job container starts: through which entrypoint, if any.
    pub job_start: Start,
    /// How the helper container starts.
    pub helper_start: Start,
    /// Containers that start through an entrypoint, with that entrypoint: prepare waits until
    /// it has run the keep-alive (known once prepare has read their images).
    pub entrypoint_waits: Vec<(String, Vec<String>)>,
    /// With `helper.mode: job` the helper's stages run as the job image's user, and a user
    /// other than root could not create the checkout in the root-owned builds directory (nor
    /// caches in the cache volume): prepare gives those directories (not what is in them) to
    /// that user. The user, then the directories; known once prepare has read the image.
    pub give_dirs: Option<(String, Vec<String>)>,
    /// `mirror.managed` in a dind job: prepare joins the managed mirror to the job's network.
    pub mirror: bool,
    /// The mirror image's id, once prepare has checked it.
    pub mirror_image_id: Option<String>,
    /// `dind.login`: prepare writes the job's own registry logins to the job container's
    /// Docker client configuration, in this directory (a tmpfs, `DOCKER_CONFIG`).
    pub login_dir: Option<String>,
}

/// What the driver's certificates must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSpec {
    /// Subject alternative names beyond `docker`, `localhost` and the loopback addresses: the
    /// names and addresses of the job's `DOCKER_TLS_SAN`, without their `DNS:`/`IP:` prefix.
    pub extra_sans: Vec<String>,
}

impl Plan {
    /// Set the MTU for the job's network and, in dind mode, for the inner daemon, so traffic
    /// from inner containers fits the host's path (no hanging TLS downloads on a smaller MTU).
    pub fn with_mtu(mut self, mtu: Option<u32>) -> Plan {
        self.mtu = mtu;
        // dockerd's own default is 1500: then the sidecar keeps the image's command as users
        // know it. Otherwise docker:dind's entrypoint passes `-` arguments on to dockerd.
        if let (Some(mtu), Some(sidecar)) = (
            mtu.filter(|m| *m != DOCKERD_DEFAULT_MTU),
            self.sidecar.as_mut(),
        ) {
            let flags = sidecar.cmd.get_or_insert_with(Vec::new);
            flags.retain(|f| !f.starts_with("--mtu="));
            flags.push(format!("--mtu={mtu}"));
        }
        self
    }

    /// This plan with a fresh per-job data volume instead of the project cache (when the cache
    /// is held by a live daemon).
    pub fn without_cache(mut self) -> Plan {
        let Some(cache) = self.cache_volume.take() else {
            return self;
        };
        let key = self.identity.key();
        let mut labels = self.network_labels.clone();
        labels.insert(LABEL_ROLE.into(), "dind-data".into());
        let data = VolumeSpec {
            name: format!("{key}-dind-data"),
            labels,
        };
        if let Some(sidecar) = self.sidecar.as_mut() {
            for mount in &mut sidecar.mounts {
                if let Mount::Volume { name, .. } = mount {
                    if *name == cache.name {
                        *name = data.name.clone();
                    }
                }
            }
        }
        self.volumes.push(data);
        self
    }

    /// This plan with a per-job `cache_dir` volume instead of the project's kept one (when a
    /// live job holds that): labelled with the job, so cleanup removes it.
    pub fn without_cache_dir(mut self) -> Plan {
        let kept = self.cache_dir_volume.name.clone();
        let mut labels = self.network_labels.clone();
        labels.insert(LABEL_ROLE.into(), "cache-dir-job".into());
        let own = VolumeSpec {
            name: format!("{}-cache-dir", self.identity.key()),
            labels,
        };
        for container in std::iter::once(&mut self.job).chain(self.helper.as_mut()) {
            for mount in &mut container.mounts {
                if let Mount::Volume { name, .. } = mount {
                    if *name == kept {
                        *name = own.name.clone();
                    }
                }
            }
        }
        self.cache_dir_volume = own;
        self
    }

    /// Given each container's image's own `ENTRYPOINT`, note which of the job and helper
    /// containers start through one, so prepare waits for it.
    pub fn with_entrypoints<'a>(
        mut self,
        entrypoint_of: impl Fn(&ContainerSpec) -> &'a [String],
    ) -> Plan {
        let mut waits = Vec::new();
        let starts = [
            (&self.job_start, Some(&self.job)),
            (&self.helper_start, self.helper.as_ref()),
        ];
        for (start, container) in starts {
            let Some(container) = container else { continue };
            let own = entrypoint_of(container);
            if start.runs_entrypoint(own) {
                let runs = match start {
                    Start::Given(list) => list.clone(),
                    _ => own.to_vec(),
                };
                waits.push((container.name.clone(), runs));
            }
        }
        self.entrypoint_waits = waits;
        self
    }

    /// Given the job image's `USER`: with `helper.mode: job` and a job container that does not
    /// run as root, the builds and cache directories are given to it (see [`Plan::give_dirs`]).
    /// The image's `USER` is the job's to write, so one that is no plain user name or id is
    /// left alone (the stages then fail as they would have).
    pub fn with_image_user(mut self, settings: &Settings, image_user: &str) -> Plan {
        let user = self.job.user.as_deref().unwrap_or(image_user);
        let root = matches!(user.split(':').next(), Some("" | "root" | "0"));
        if self.helper.is_none() && !root && entrypoint::plain_user(user) {
            let builds = helper::builds_dir(settings, self.mode, &self.identity);
            self.give_dirs = Some((user.to_string(), vec![builds, settings.cache_dir.clone()]));
        }
        self
    }

    /// Each container made from the image prepare checked (`id_of` gives its id), not from
    /// its name: another job's pull can move the name to another image (another platform's)
    /// between the check and the create.
    pub fn with_image_ids(mut self, id_of: impl Fn(&ContainerSpec) -> Option<String>) -> Plan {
        for container in self.containers_mut() {
            container.image_id = id_of(container);
        }
        self
    }

    /// Given each container's image HEALTHCHECK intervals: those under the floor are raised.
    pub fn with_image_health(mut self, intervals_of: impl Fn(&ContainerSpec) -> [i64; 2]) -> Plan {
        for container in self.containers_mut() {
            container.limits = container.limits.with_image_health(intervals_of(container));
        }
        self
    }

    /// The engine refuses a CPU limit above its CPU count: such limits become the count. One
    /// line for each container clamped.
    pub fn with_cpu_count(mut self, cpus: Option<u64>) -> (Plan, Vec<String>) {
        let mut lines = Vec::new();
        let Some(count) = cpus else {
            return (self, lines);
        };
        let most = count.saturating_mul(1000);
        for container in self.containers_mut() {
            if container.limits.cpus > most {
                lines.push(format!(
                    "{} would get {} CPUs; the engine has {count}, so it gets {count}",
                    container.name,
                    crate::settings::show_cpus(container.limits.cpus)
                ));
                container.limits.cpus = most;
            }
        }
        (self, lines)
    }

    /// Every container, sidecar first, to change.
    fn containers_mut(&mut self) -> impl Iterator<Item = &mut ContainerSpec> {
        self.sidecar
            .iter_mut()
            .chain(self.services.iter_mut())
            .chain(self.helper.iter_mut())
            .chain(std::iter::once(&mut self.job))
    }

    /// Every container, sidecar first.
    pub fn containers(&self) -> impl Iterator<Item = &ContainerSpec> {
        self.sidecar
            .iter()
            .chain(self.services.iter())
            .chain(self.helper.iter())
            .chain(std::iter::once(&self.job))
    }
}

/// The inner daemon's flags from the runner's config (the managed mirror first, then
/// `dind.registry_mirrors`, `dind.insecure_registries`): the sidecar's command, which docker:dind's entrypoint hands
/// to dockerd. `None` keeps the image's command.
fn dind_flags(settings: &Settings) -> Option<Vec<String>> {
    let managed = settings.mirror.managed.then(mirror::daemon_flag);
    let flags: Vec<String> = managed
        .into_iter()
        .chain(
            settings
                .dind_registry_mirrors
                .iter()
                .map(|m| format!("--registry-mirror={m}")),
        )
        .chain(
            settings
                .dind_insecure_registries
                .iter()
                .map(|r| format!("--insecure-registry={r}")),
        )
        .collect();
    (!flags.is_empty()).then_some(flags)
}

/// The image the job runs in: its own `image:`, else the configured default.
pub fn job_image(settings: &Settings, env: &JobEnv) -> String {
    env.job_var_non_empty(env::CI_JOB_IMAGE)
        .unwrap_or(&settings.image)
        .to_string()
}

/// Compute the whole plan. Fails only on user input (bad mode or image, bad identity).
/// `facts` come from `JOB_RESPONSE_FILE`; without them policy rules with conditions never match.
pub fn plan(
    settings: &Settings,
    env: &JobEnv,
    facts: Option<&TrustedFacts>,
) -> Result<Plan, PlanError> {
    let Resolved { identity, ignored } = JobIdentity::resolve(settings, env, facts)?;
    let mode = choose_mode(settings, env, facts)?;
    let image = job_image(settings, env);
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PlanError(format!(
            "job image {} is not an image name; fix the job's image:",
            printable_value(&image)
        )));
    }
    policy::check_job_image(settings, &image)?;
    let key = identity.key();
    let base = identity.labels(mode);
    let labelled = |role: &str| {
        let mut labels = base.clone();
        labels.insert(LABEL_ROLE.into(), role.into());
        labels
    };
    let volume = |suffix: &str| VolumeSpec {
        name: format!("{key}-{suffix}"),
        labels: labelled(suffix),
    };

    let builds = volume("builds");
    let builds_root = helper::builds_dir(settings, mode, &identity);
    let (builds_mount, mut volumes, builds_host_dir) = match mode {
        Mode::Socket => (
            Mount::HostDir {
                path: builds_root.clone(),
            },
            Vec::new(),
            Some(builds_root.clone()),
        ),
        Mode::Dind | Mode::None => (
            volume_mount(&builds, &settings.builds_dir),
            vec![builds.clone()],
            None,
        ),
    };
    let cache_dir_volume = identity.cache_dir_volume();
    let cache_dir_mount = volume_mount(&cache_dir_volume, &settings.cache_dir);
    let mut job_mounts = vec![builds_mount.clone(), cache_dir_mount.clone()];
    job_mounts.extend(helper::runner_binary_mount(settings));
    // The job's own key, so a socket-mode job can label the sibling containers it starts
    // (`--label io.executor.job-key=$EXECUTOR_JOB_KEY`) and cleanup and gc remove them too;
    // the network's name, as the docker executor exports it, for `docker build --network`.
    let common_env = vec![
        (JOB_KEY_VARIABLE.to_string(), key.clone()),
        (NETWORK_VARIABLE.to_string(), key.clone()),
    ];
    let mut job_env = common_env.clone();
    let mut keep_alive = KEEP_ALIVE.to_string();
    let mut sidecar = None;
    let mut dind_socket_volume = None;
    let mut cache_volume = None;
    let mut tls = None;

    match mode {
        Mode::None => {}
        Mode::Socket => job_mounts.push(Mount::Bind {
            source: settings.socket_host_path.clone(),
            target: SOCKET_TARGET.into(),
        }),
        Mode::Dind => {
            let (sock, certs) = (volume("dind-sock"), volume("certs"));
            // The daemon's data: a fresh volume, or the project's kept cache.
            let data = match settings.dind_cache {
                DindCache::None => volume("dind-data"),
                DindCache::Project => {
                    let cache = identity.cache_volume();
                    cache_volume = Some(cache.clone());
                    cache
                }
            };
            job_mounts.push(read_only_mount(&sock, DIND_SOCKET_DIR));
            job_mounts.push(read_only_mount(&certs, DIND_CLIENT_CERTS));
            job_env.extend(job_docker_env(env, settings.dind_tls));
            keep_alive = format!("{LINK_DIND_SOCKET}{keep_alive}");
            let mut sidecar_mounts = vec![
                volume_mount(&data, DIND_DATA_DIR),
                volume_mount(&sock, DIND_SOCKET_DIR),
                volume_mount(&certs, DIND_CLIENT_CERTS),
                volume_mount(&builds, &settings.builds_dir),
            ];
            if settings.dind_tls {
                let server = volume("tls");
                sidecar_mounts.push(volume_mount(&server, DIND_SERVER_CERTS));
                tls = Some(TlsSpec {
                    extra_sans: tls_sans(env)?,
                });
                volumes.push(server);
            }
            sidecar = Some(ContainerSpec {
                name: format!("{key}-dind"),
                role: Role::Dind,
                image: policy::dind_image(settings, env)?,
                // A runtime such as sysbox-runc runs dockerd without privileged mode.
                image_id: None,
                privileged: settings.dind_privileged && settings.dind_runtime.is_none(),
                runtime: settings.dind_runtime.clone(),
                user: None,
                platform: None,
                ports: Vec::new(),
                pull_policies: Vec::new(),
                entrypoint: None,
                cmd: dind_flags(settings),
                env: sidecar_env(env, settings.dind_tls),
                mounts: sidecar_mounts,
                network: key.clone(),
                aliases: vec!["docker".into()],
                labels: labelled(Role::Dind.as_str()),
                options: options::names_only(settings),
                limits: limits::for_role(settings, env, facts, Role::Dind)?,
            });
            dind_socket_volume = Some(sock.name.clone());
            if cache_volume.is_none() {
                volumes.push(data);
            }
            volumes.extend([sock, certs]);
        }
    }

    let job_image = facts.map(|f| &f.job_image);
    let job_start = Start::for_job(settings, job_image);
    let mut job = ContainerSpec {
        name: identity.job_container(),
        role: Role::Job,
        image,
        image_id: None,
        privileged: false,
        entrypoint: None,
        cmd: None,
        env: job_env,
        mounts: job_mounts,
        network: key.clone(),
        aliases: vec!["build".into()],
        labels: labelled(Role::Job.as_str()),
        user: entrypoint::job_user(job_image)?,
        platform: platform::job_platform(job_image)?,
        ports: Vec::new(),
        pull_policies: pulls::policies(
            settings,
            "image",
            job_image.map(|i| &i.pull_policy[..]).unwrap_or_default(),
        )?,
        runtime: settings.container_runtime.clone(),
        options: options::for_job(settings),
        limits: limits::for_role(settings, env, facts, Role::Job)?,
    };
    job_start.apply(&mut job, &keep_alive);
    let helper_start = Start::for_helper(settings);

    let helper = match settings.helper_mode {
        HelperMode::Container => Some(ContainerSpec {
            name: identity.helper_container(),
            role: Role::Helper,
            image: helper::helper_image(settings, env)?,
            image_id: None,
            privileged: false,
            entrypoint: None,
            cmd: None,
            env: common_env,
            mounts: vec![builds_mount.clone(), cache_dir_mount],
            network: key.clone(),
            aliases: Vec::new(),
            labels: labelled(Role::Helper.as_str()),
            runtime: None,
            user: None,
            platform: None,
            ports: Vec::new(),
            pull_policies: Vec::new(),
            options: options::for_helper(settings),
            limits: limits::for_role(settings, env, facts, Role::Helper)?,
        }),
        HelperMode::Job { .. } => None,
    };
    let mut helper = helper;
    if let Some(helper) = helper.as_mut() {
        helper_start.apply(
            helper,
            &format!("{}{KEEP_ALIVE}", helper::LINK_RUNNER_BINARY),
        );
    }

    let planned = services::plan(settings, env, facts, mode, &job, &builds_mount)?;
    if let Some(sidecar) = sidecar.as_mut() {
        sidecar.aliases.extend(planned.sidecar_aliases);
        // Unless the driver makes the certificates itself, a dind service's own TLS settings
        // win over the job's, as they would for that service under the docker executor.
        if !settings.dind_tls {
            for (name, value) in planned.sidecar_env {
                sidecar.env.retain(|(k, _)| *k != name);
                sidecar.env.push((name, value));
            }
        }
    }

    if let Some(sidecar) = &sidecar {
        services::check_env_size(settings, "the dind sidecar", &sidecar.env, &[])?;
    }
    let login_dir = (settings.dind_login && mode != Mode::None).then(|| {
        job.mounts.push(Mount::Tmpfs {
            target: DOCKER_LOGIN_DIR.into(),
        });
        job.env
            .push(("DOCKER_CONFIG".into(), DOCKER_LOGIN_DIR.into()));
        DOCKER_LOGIN_DIR.to_string()
    });
    let plan = Plan {
        mirror: settings.mirror.managed && sidecar.is_some(),
        mirror_image_id: None,
        login_dir,
        entrypoint_waits: Vec::new(),
        give_dirs: None,
        job_start,
        helper_start,
        services: planned.containers,
        cache_dir_volume,
        helper,
        builds_host_dir,
        identity,
        ignored,
        mode,
        network: key.clone(),
        network_labels: labelled("network"),
        mtu: None,
        volumes,
        sidecar,
        job,
        dind_socket_volume,
        dind_ready_timeout: settings.dind_ready_timeout,
        cache_volume,
        tls,
    };
    Ok(plan.with_mtu(settings.dind_mtu))
}

fn volume_mount(volume: &VolumeSpec, target: &str) -> Mount {
    Mount::Volume {
        name: volume.name.clone(),
        target: target.into(),
        read_only: false,
    }
}

/// The job reads the sidecar's socket and certificates but must never write there: the
/// driver pings that socket during prepare, and a socket the job planted first would answer.
fn read_only_mount(volume: &VolumeSpec, target: &str) -> Mount {
    Mount::Volume {
        name: volume.name.clone(),
        target: target.into(),
        read_only: true,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dind;
#[cfg(test)]
mod tests_image_opts;
#[cfg(test)]
mod tests_parity;
