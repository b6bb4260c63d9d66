//! Creating things: images present, the job's network, volumes and containers.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount as DockerMount,
    MountType, NetworkCreateRequest, NetworkingConfig, ResourcesUlimits, VolumeCreateRequest,
};
use bollard::query_parameters::CreateContainerOptionsBuilder;

use super::raw::{self, Answer};
use super::Engine;
use crate::outcome::Failure;
use crate::plan::{ContainerSpec, Mount, VolumeSpec, LABEL_PREFIX};
use crate::settings::PullPolicy;

/// What prepare needs to know of an image on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    pub id: String,
    /// Its `ENTRYPOINT`; empty when it has none.
    pub entrypoint: Vec<String>,
    /// The platform it is for: `os`, `architecture` and `variant` (often empty).
    pub platform: [String; 3],
    /// Its `USER`; empty for root.
    pub user: String,
    /// Its HEALTHCHECK's interval and start interval in nanoseconds (0: the engine's default,
    /// or no check).
    pub health_intervals: [i64; 2],
    /// The names the engine has for it (`RepoTags`, `RepoDigests`): what a job that names it
    /// by its id is checked against.
    pub names: Vec<String>,
}

impl ImageFacts {
    /// Whether it is for `platform` (`linux/arm64`). An image that names no platform (an old
    /// or hand-made one) fits any.
    fn fits(&self, platform: &str) -> bool {
        let [os, arch, variant] = &self.platform;
        if os.is_empty() && arch.is_empty() {
            return true;
        }
        crate::plan::platform::fits(platform, os, arch, variant)
    }
}

/// Make sure `image` is present, pulling it as the policy says (for `platform`, when the job
/// asked for one); returns what prepare needs of it.
pub async fn ensure_image(
    engine: &Engine,
    image: &str,
    policy: PullPolicy,
    platform: Option<&str>,
    auth: &super::pull::Pulls<'_>,
) -> Result<ImageFacts, Failure> {
    let shown = crate::plan::shown_name(image);
    let present = || inspect_image(engine, image);
    let found = match policy {
        PullPolicy::Always => None,
        PullPolicy::Never | PullPolicy::IfNotPresent => present().await?,
    };
    // The engine's copy is for another platform: `if-not-present` pulls the job's (a
    // multi-platform tag has it); under `never` the engine's copy stays, and the create names
    // the mismatch.
    let wanted = platform.or(auth.native_platform.as_deref());
    let found = match (found, wanted, policy) {
        (Some(facts), Some(wanted), PullPolicy::IfNotPresent) if !facts.fits(wanted) => None,
        (found, ..) => found,
    };
    match (found, policy) {
        // `never` uses the engine's copy just as `if-not-present` does.
        (Some(facts), PullPolicy::IfNotPresent | PullPolicy::Never) => {
            super::pull::check_access(engine, image, &facts, auth).await?;
            Ok(facts)
        }
        (Some(facts), PullPolicy::Always) => Ok(facts),
        (None, PullPolicy::Never) => Err(Failure::User(format!(
            "image {shown} is not on the engine and pull_policy is never; load it first or change pull_policy"
        ))),
        (None, _) => {
            super::pull::pull(engine, image, platform, auth).await?;
            let facts = present().await?.ok_or_else(|| {
                Failure::System(format!("image {shown} was pulled but is not on the engine"))
            })?;
            // Another job's pull of another platform of this tag can land between the two.
            match wanted {
                Some(wanted) if !facts.fits(wanted) => Err(Failure::System(format!(
                    "image {shown} was pulled for {wanted}, but the engine's tag now names an \
                     image for {} (another job pulled another platform of it at the same time)",
                    facts.platform.join("/").trim_end_matches('/')
                ))),
                _ => Ok(facts),
            }
        }
    }
}

/// The HEALTHCHECK intervals of `image` on the engine ([`ImageFacts::health_intervals`]; none
/// when it is not there), for a container made outside prepare (a warm sidecar).
pub async fn image_health(engine: &Engine, image: &str) -> Result<[i64; 2], Failure> {
    let facts = inspect_image(engine, image).await?;
    Ok(facts.map_or([0, 0], |f| f.health_intervals))
}

/// What prepare needs of `image` when it is on the engine (never pulled), for a container
/// made outside prepare (a warm job container).
pub async fn image_facts(engine: &Engine, image: &str) -> Result<Option<ImageFacts>, Failure> {
    inspect_image(engine, image).await
}

/// The image's id and entrypoint when it is on the engine, read bounded (`raw`): an image whose
/// configuration is larger than [`raw::MAX_INSPECT`] is refused before anything is made from
/// it, and so is one carrying the driver's own labels.
async fn inspect_image(engine: &Engine, image: &str) -> Result<Option<ImageFacts>, Failure> {
    let shown = crate::plan::shown_name(image);
    let path = format!("/images/{image}/json");
    let answer = raw::get(&engine.dialer, &path, raw::MAX_INSPECT)
        .await
        .map_err(|e| Failure::system(format!("inspect image {shown}"), e))?;
    let body = match answer {
        Answer::Ok(body) => body,
        Answer::NotFound => return Ok(None),
        Answer::TooLarge => {
            return Err(Failure::User(format!(
                "image {shown} has a configuration (labels, environment, ...) larger than {} KiB; \
                 use an image with a smaller one",
                raw::MAX_INSPECT / 1024
            )))
        }
        // The engine answers 400 to a name that is no image reference, and redirects one with
        // `..` or `//` in it to a cleaned path: the job's mistake either way.
        Answer::Status(line) if matches!(line.split(' ').nth(1), Some(code) if code == "400" || code.starts_with('3')) => {
            return Err(Failure::User(format!(
                "image {} is not a valid image name; fix the name",
                crate::plan::printable_value(image)
            )))
        }
        Answer::Status(line) => {
            return Err(Failure::System(format!(
                "failed to inspect image {shown}: the engine answered {}",
                crate::outcome::one_line(&line)
            )))
        }
    };
    let info: InspectedImage = serde_json::from_slice(&body)
        .map_err(|e| Failure::system(format!("read the engine's answer about image {shown}"), e))?;
    let config = info.config.unwrap_or_default();
    refuse_our_labels(image, &config.labels.unwrap_or_default())?;
    Ok(Some(ImageFacts {
        id: info.id,
        entrypoint: config.entrypoint.unwrap_or_default(),
        platform: [info.os, info.architecture, info.variant],
        user: config.user.unwrap_or_default(),
        health_intervals: config
            .healthcheck
            .map(|h| [h.interval.unwrap_or(0), h.start_interval.unwrap_or(0)])
            .unwrap_or_default(),
        names: info
            .repo_tags
            .into_iter()
            .chain(info.repo_digests)
            .collect(),
    }))
}

/// The parts of an image inspect the driver reads.
#[derive(serde::Deserialize)]
struct InspectedImage {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Config")]
    config: Option<InspectedConfig>,
    #[serde(rename = "Os", default)]
    os: String,
    #[serde(rename = "Architecture", default)]
    architecture: String,
    #[serde(rename = "Variant", default)]
    variant: String,
    #[serde(rename = "RepoTags", default, deserialize_with = "null_as_empty")]
    repo_tags: Vec<String>,
    #[serde(rename = "RepoDigests", default, deserialize_with = "null_as_empty")]
    repo_digests: Vec<String>,
}

/// A list the engine may send as `null`.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize;
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

#[derive(serde::Deserialize, Default)]
struct InspectedConfig {
    #[serde(rename = "Labels")]
    labels: Option<HashMap<String, String>>,
    #[serde(rename = "Entrypoint")]
    entrypoint: Option<Vec<String>>,
    #[serde(rename = "User")]
    user: Option<String>,
    #[serde(rename = "Healthcheck")]
    healthcheck: Option<InspectedHealth>,
}

#[derive(serde::Deserialize, Default)]
struct InspectedHealth {
    #[serde(rename = "Interval")]
    interval: Option<i64>,
    #[serde(rename = "StartInterval")]
    start_interval: Option<i64>,
}

/// Docker copies an image's `LABEL`s onto every container made from it; an image carrying the
/// driver's own labels could pass its containers off as another job's or a warm sidecar.
fn refuse_our_labels(image: &str, labels: &HashMap<String, String>) -> Result<(), Failure> {
    let mut ours: Vec<&String> = labels
        .keys()
        .filter(|k| k.starts_with(LABEL_PREFIX))
        .collect();
    ours.sort();
    match ours.first() {
        Some(label) => Err(Failure::User(format!(
            "image {} carries the label {}, which only executor sets; use an image without \
             {LABEL_PREFIX}* labels",
            crate::plan::printable_value(image),
            crate::plan::printable_value(label)
        ))),
        None => Ok(()),
    }
}

/// The engine's answer, which quotes the job's entrypoint or user: one line, cut.
fn cut_engine_text(message: &str) -> String {
    super::pull::cut(&crate::outcome::one_line(message))
}

pub async fn create_network(
    engine: &Engine,
    name: &str,
    labels: &BTreeMap<String, String>,
    mtu: Option<u32>,
) -> Result<String, Failure> {
    let options =
        mtu.map(|m| HashMap::from([(super::probe::MTU_OPTION.to_string(), m.to_string())]));
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".into()),
        labels: Some(to_map(labels)),
        options,
        ..Default::default()
    };
    let created = engine
        .docker
        .create_network(request)
        .await
        .map_err(|e| Failure::system(format!("create network {name}"), e))?;
    Ok(created.id)
}

/// Create a volume; returns where the engine keeps its data on the engine's host.
pub async fn create_volume(engine: &Engine, spec: &VolumeSpec) -> Result<String, Failure> {
    let request = VolumeCreateRequest {
        name: Some(spec.name.clone()),
        labels: Some(to_map(&spec.labels)),
        ..Default::default()
    };
    let volume = engine
        .docker
        .create_volume(request)
        .await
        .map_err(|e| Failure::system(format!("create volume {}", spec.name), e))?;
    Ok(volume.mountpoint)
}

pub async fn create_container(engine: &Engine, spec: &ContainerSpec) -> Result<(), Failure> {
    let endpoint = EndpointSettings {
        aliases: Some(spec.aliases.clone()),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(spec.image_id.clone().unwrap_or_else(|| spec.image.clone())),
        entrypoint: spec.entrypoint.clone(),
        cmd: spec.cmd.clone(),
        user: spec.user.clone(),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(to_map(&spec.labels)),
        healthcheck: healthcheck(&spec.limits),
        host_config: Some(super::options::apply(
            &spec.options,
            HostConfig {
                nano_cpus: positive(spec.limits.cpus.saturating_mul(1_000_000)),
                memory: positive(spec.limits.memory),
                // The same figure: no swap beyond the memory limit, so it means what it says.
                memory_swap: positive(spec.limits.memory),
                pids_limit: positive(spec.limits.pids),
                shm_size: positive(spec.limits.shm_size),
                ulimits: (spec.limits.nofile != 0).then(|| {
                    let n = positive(spec.limits.nofile);
                    vec![ResourcesUlimits {
                        name: Some("nofile".into()),
                        soft: n,
                        hard: n,
                    }]
                }),
                privileged: Some(spec.privileged),
                runtime: spec.runtime.clone(),
                mounts: Some(spec.mounts.iter().filter_map(to_docker_mount).collect()),
                binds: Some(spec.mounts.iter().filter_map(to_bind).collect()),
                network_mode: Some(spec.network.clone()),
                ..Default::default()
            },
        )),
        // API 1.41 (Docker 20.10) accepts exactly one network at create time: ours.
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(spec.network.clone(), endpoint)])),
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .platform(spec.platform.as_deref().unwrap_or_default())
        .build();
    let mut created = engine
        .docker
        .create_container(Some(options.clone()), body.clone())
        .await;
    if let Err(e) = &created {
        if super::is_conflict(e) {
            // A container of this name that a killed earlier attempt created after this
            // attempt removed its leftovers: it is ours to replace.
            super::remove_container_named(engine, &spec.name).await?;
            created = engine.docker.create_container(Some(options), body).await;
        }
    }
    match created {
        Ok(_) => Ok(()),
        // The engine refuses the request itself (e.g. socket.host_path does not exist): the
        // config is wrong and a retry would fail the same way.
        Err(BollardError::DockerResponseServerError {
            status_code: 400,
            message,
        }) => Err(Failure::User(format!(
            "the engine refused container {}: {}; check the config",
            spec.name,
            message.trim()
        ))),
        // The engine holds the image for another platform than the job's (pull_policy never,
        // or a registry without that platform): the job's choice to change.
        Err(BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        }) if message.contains("does not match the specified platform") => {
            Err(Failure::User(format!(
                "image {} is not for platform {} ({}); use an image built for it, or change \
                 image: docker: platform:",
                crate::plan::shown_name(&spec.image),
                spec.platform.as_deref().unwrap_or_default(),
                super::pull::cut(&crate::outcome::one_line(&message))
            )))
        }
        Err(e) => Err(Failure::system(
            format!("create container {}", spec.name),
            e,
        )),
    }
}

pub async fn start_container(engine: &Engine, name: &str) -> Result<(), Failure> {
    match engine.docker.start_container(name, None).await {
        Ok(()) => Ok(()),
        // `image: docker: user:` naming a user or group the image lacks: the job's to fix.
        Err(BollardError::DockerResponseServerError { message, .. })
            if message.contains("unable to find user") || message.contains("unable to find group") =>
        {
            Err(Failure::User(format!(
                "container {name} cannot start: {}; set image: docker: user: to a user (and group) the image has, or numeric ids",
                cut_engine_text(&message)
            )))
        }
        // An entrypoint or command that does not exist or cannot run (the image's, or the
        // job's `image: entrypoint:`): retrying cannot fix it.
        Err(BollardError::DockerResponseServerError { message, .. })
            if ["executable file not found", "no such file or directory", "permission denied"]
                .iter()
                .any(|m| message.contains(m)) =>
        {
            Err(Failure::User(format!(
                "container {name} cannot start: {}; check the image's entrypoint and command (image: entrypoint: in the job)",
                cut_engine_text(&message)
            )))
        }
        Err(e) => Err(Failure::system(format!("start container {name}"), e)),
    }
}

/// The `Mounts` entry of a mount; `None` for a [`Mount::HostDir`] or [`Mount::HostDirAt`],
/// which go in `Binds`.
fn to_docker_mount(mount: &Mount) -> Option<DockerMount> {
    let (typ, source, target, read_only) = match mount {
        Mount::Volume {
            name,
            target,
            read_only,
        } => (MountType::VOLUME, name, target, *read_only),
        // A bind mount (not a `Binds` entry) fails when the source is missing instead of
        // quietly creating a directory where the socket should be.
        Mount::Bind { source, target } => (MountType::BIND, source, target, false),
        Mount::BindReadOnly { source, target } => (MountType::BIND, source, target, true),
        Mount::HostDir { .. } | Mount::HostDirAt { .. } => return None,
        Mount::Tmpfs { target } => {
            return Some(DockerMount {
                typ: Some(MountType::TMPFS),
                target: Some(target.clone()),
                ..Default::default()
            })
        }
    };
    Some(DockerMount {
        typ: Some(typ),
        source: Some(source.clone()),
        target: Some(target.clone()),
        read_only: Some(read_only),
        ..Default::default()
    })
}

/// The `Binds` entry of a [`Mount::HostDir`] or [`Mount::HostDirAt`]: the engine creates a
/// missing source directory for these (and only these), which is what a per-job builds
/// directory wants.
fn to_bind(mount: &Mount) -> Option<String> {
    match mount {
        Mount::HostDir { path } => Some(format!("{path}:{path}")),
        Mount::HostDirAt { source, target } => Some(format!("{source}:{target}")),
        _ => None,
    }
}

/// A limit for the engine: 0 (no limit) is left out.
fn positive(n: u64) -> Option<i64> {
    (n != 0).then(|| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Job and helper containers: the image's HEALTHCHECK off. Others: raised to the floor where
/// the image checks more often (the engine takes what is not given here from the image).
fn healthcheck(limits: &crate::plan::ContainerLimits) -> Option<HealthConfig> {
    if limits.no_healthcheck {
        return Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
    }
    let [interval, start] = limits.health_intervals?;
    Some(HealthConfig {
        interval: Some(interval),
        start_interval: Some(start),
        ..Default::default()
    })
}

fn to_map(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
