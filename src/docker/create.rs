//! Creating things: images present, the job's network, volumes and containers.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount as DockerMount, MountType,
    NetworkCreateRequest, NetworkingConfig, VolumeCreateRequest,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, CreateImageOptionsBuilder};
use futures_util::StreamExt;

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
    /// Its `USER`; empty for root.
    pub user: String,
}

/// Make sure `image` is present, pulling it as the policy says; returns what prepare needs
/// of it.
pub async fn ensure_image(
    engine: &Engine,
    image: &str,
    policy: PullPolicy,
) -> Result<ImageFacts, Failure> {
    let shown = crate::plan::shown_name(image);
    let present = || inspect_image(engine, image);
    let found = match policy {
        PullPolicy::Always => None,
        PullPolicy::Never | PullPolicy::IfNotPresent => present().await?,
    };
    match (found, policy) {
        (Some(id), _) => Ok(id),
        (None, PullPolicy::Never) => Err(Failure::User(format!(
            "image {shown} is not on the engine and pull_policy is never; load it first or change pull_policy"
        ))),
        (None, _) => {
            // A pull can take minutes; the job log says what the wait is for.
            crate::outcome::say(&format!("pulling image {shown}"));
            pull(engine, image).await?;
            present().await?.ok_or_else(|| {
                Failure::System(format!("image {shown} was pulled but is not on the engine"))
            })
        }
    }
}

/// The image's id and entrypoint when it is on the engine, read bounded (`raw`): an image whose
/// configuration is larger than [`raw::MAX_INSPECT`] is refused before anything is made from
/// it, and so is one carrying the driver's own labels.
async fn inspect_image(engine: &Engine, image: &str) -> Result<Option<ImageFacts>, Failure> {
    let shown = crate::plan::shown_name(image);
    let path = format!("/images/{image}/json");
    let answer = raw::get(engine.host(), &path, raw::MAX_INSPECT)
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
        user: config.user.unwrap_or_default(),
    }))
}

/// The parts of an image inspect the driver reads.
#[derive(serde::Deserialize)]
struct InspectedImage {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Config")]
    config: Option<InspectedConfig>,
}

#[derive(serde::Deserialize, Default)]
struct InspectedConfig {
    #[serde(rename = "Labels")]
    labels: Option<HashMap<String, String>>,
    #[serde(rename = "Entrypoint")]
    entrypoint: Option<Vec<String>>,
    #[serde(rename = "User")]
    user: Option<String>,
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

/// Pull an image, following the engine's progress stream to its end.
async fn pull(engine: &Engine, image: &str) -> Result<(), Failure> {
    let mut options = CreateImageOptionsBuilder::default().from_image(image);
    if !image_has_tag(image) {
        options = options.tag("latest");
    }
    let options = options.build();
    let mut progress = engine.docker.create_image(Some(options), None, None);
    while let Some(step) = progress.next().await {
        step.map_err(|e| pull_failed(image, e))?;
    }
    Ok(())
}

/// What the engine says about a failed pull is mostly the registry's text, and the job picks
/// the registry: the engine passes a 404's text on whole (200 KB seen), so it is cut to this
/// many characters before it reaches the job log.
const REGISTRY_TEXT_MAX: usize = 200;

/// A failed pull as the runner should treat it. A registry that has no such image (404) or a
/// name the engine refuses (400: `Bad$(x)`, upper case) is the job's mistake, which a retry
/// cannot fix; anything else (the registry down or refusing, engine trouble) may pass on retry.
fn pull_failed(image: &str, e: BollardError) -> Failure {
    let shown = crate::plan::shown_name(image);
    match e {
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => Failure::User(format!(
            "image {shown} does not exist or cannot be pulled ({}); check the image name",
            cut(&message)
        )),
        BollardError::DockerResponseServerError {
            status_code: 400,
            message,
        } => Failure::User(format!(
            "image {} is not a valid image name ({}); fix the name",
            crate::plan::printable_value(image),
            cut(&message)
        )),
        BollardError::DockerResponseServerError { message, .. }
        | BollardError::DockerStreamError { error: message } => Failure::System(format!(
            "failed to pull image {shown}: {}; check that its registry is up and the Docker \
             engine can reach it",
            cut(&message)
        )),
        e => Failure::System(format!(
            "failed to pull image {shown}: {}",
            cut(&e.to_string())
        )),
    }
}

/// `text` trimmed and cut to [`REGISTRY_TEXT_MAX`] characters, with `…` when cut.
fn cut(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(REGISTRY_TEXT_MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// `name:tag` or `name@digest`, ignoring a registry port (`host:5000/name`).
fn image_has_tag(image: &str) -> bool {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.contains(':') || last.contains('@')
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
        image: Some(spec.image.clone()),
        entrypoint: spec.entrypoint.clone(),
        cmd: spec.cmd.clone(),
        user: spec.user.clone(),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(to_map(&spec.labels)),
        host_config: Some(super::options::apply(
            &spec.options,
            HostConfig {
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
        Err(e) => Err(Failure::system(
            format!("create container {}", spec.name),
            e,
        )),
    }
}

pub async fn start_container(engine: &Engine, name: &str) -> Result<(), Failure> {
    match engine.docker.start_container(name, None).await {
        Ok(()) => Ok(()),
        // `image: docker: user:` naming a user the image lacks: the job's to fix.
        Err(BollardError::DockerResponseServerError { message, .. })
            if message.contains("unable to find user") =>
        {
            Err(Failure::User(format!(
                "container {name} cannot start: {}; set image: docker: user: to a user the image has, or a numeric UID",
                crate::outcome::one_line(message.trim())
            )))
        }
        Err(e) => Err(Failure::system(format!("start container {name}"), e)),
    }
}

/// The `Mounts` entry of a mount; `None` for a [`Mount::HostDir`], which goes in `Binds`.
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
        Mount::HostDir { .. } => return None,
    };
    Some(DockerMount {
        typ: Some(typ),
        source: Some(source.clone()),
        target: Some(target.clone()),
        read_only: Some(read_only),
        ..Default::default()
    })
}

/// The `Binds` entry of a [`Mount::HostDir`]: the engine creates a missing source directory
/// for these (and only these), which is what a per-job builds directory wants.
fn to_bind(mount: &Mount) -> Option<String> {
    match mount {
        Mount::HostDir { path } => Some(format!("{path}:{path}")),
        _ => None,
    }
}

fn to_map(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::{cut, image_has_tag, REGISTRY_TEXT_MAX};

    #[test]
    fn a_registry_text_is_cut() {
        assert_eq!(cut("  manifest unknown \n"), "manifest unknown");
        let long = "é".repeat(REGISTRY_TEXT_MAX + 1);
        let shown = cut(&long);
        assert_eq!(shown.chars().count(), REGISTRY_TEXT_MAX + 1);
        assert!(shown.ends_with("é…"));
        assert_eq!(
            cut(&long[..2 * REGISTRY_TEXT_MAX]),
            long[..2 * REGISTRY_TEXT_MAX]
        );
    }

    #[test]
    fn tags_are_told_from_registry_ports() {
        assert!(image_has_tag("docker:dind"));
        assert!(image_has_tag("reg.example:5000/grp/img:1"));
        assert!(image_has_tag("img@sha256:abc"));
        assert!(!image_has_tag("reg.example:5000/grp/img"));
        assert!(!image_has_tag("alpine"));
    }
}
