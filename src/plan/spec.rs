//! What a plan is made of: containers, their mounts and roles, volumes.

use std::collections::BTreeMap;

use crate::settings::{ContainerOptions, PullPolicy};

/// What a container is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Job,
    Dind,
    Helper,
    Service,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Job => "job",
            Role::Dind => "dind",
            Role::Helper => "helper",
            Role::Service => "service",
        }
    }
}

/// A mount in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// A named volume; `read_only` where the container must not write what another reads.
    Volume {
        name: String,
        target: String,
        read_only: bool,
    },
    /// A host path that must exist: the engine socket in socket mode.
    Bind { source: String, target: String },
    /// A host path mounted read-only: the host's gitlab-runner binary (`helper.mode: job`).
    BindReadOnly { source: String, target: String },
    /// A per-job directory on the engine's host, mounted at the same path and created by the
    /// engine if missing: socket mode's builds directory.
    HostDir { path: String },
    /// A directory on the engine's host mounted at another path, created by the engine if
    /// missing: a warm job set's directory, at the builds root, so the directory its job gets
    /// at adoption (made in it on the host) has the job's path in the containers too.
    HostDirAt { source: String, target: String },
    /// Memory of the container's own, never on a volume, in an image layer or a commit: the
    /// job's Docker client login (`dind.login`).
    Tmpfs { target: String },
}

impl Mount {
    /// Where it appears inside the container.
    pub fn target(&self) -> &str {
        match self {
            Mount::Volume { target, .. }
            | Mount::Bind { target, .. }
            | Mount::BindReadOnly { target, .. }
            | Mount::HostDirAt { target, .. }
            | Mount::Tmpfs { target } => target,
            Mount::HostDir { path } => path,
        }
    }
}

/// A container to create and start.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub role: Role,
    pub image: String,
    /// The id of the image prepare found for it, which it is created from; `None` until then
    /// (a dry run), and then it is created from `image`.
    pub image_id: Option<String>,
    pub privileged: bool,
    /// `None` keeps the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// `None` keeps the image's command.
    pub cmd: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    pub network: String,
    pub aliases: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// OCI runtime to run it under; `None` is the engine's default.
    pub runtime: Option<String>,
    /// The user it runs as (`image: docker: user:`); `None` is the image's `USER`.
    pub user: Option<String>,
    /// The platform of its image (`image: docker: platform:`, `linux/arm64`); `None` is the
    /// engine's own.
    pub platform: Option<String>,
    /// A service's TCP ports as its `ports:` lists them: readiness waits for these instead of
    /// the image's exposed ones. Empty for every other container.
    pub ports: Vec<u16>,
    /// The pull policies to try in order, from the job's `pull_policy:` for its image or a
    /// service's; empty: the runner's `pull_policy`.
    pub pull_policies: Vec<PullPolicy>,
    /// The admin's container options this container gets (`super::options` says which).
    pub options: ContainerOptions,
    /// CPU, memory and pids limits, and what becomes of the image's HEALTHCHECK.
    pub limits: super::limits::ContainerLimits,
}

impl ContainerSpec {
    /// One of the driver's own short-lived containers (doctor's probe, a host task): `image`
    /// runs `sh -c script` as its entrypoint on `network`, with `mounts`, under small fixed
    /// limits (it does one thing; the bounds keep an image from doing more) and no HEALTHCHECK.
    pub fn tool(
        name: String,
        role: Role,
        image: &str,
        script: String,
        network: &str,
        mounts: Vec<Mount>,
        labels: BTreeMap<String, String>,
    ) -> ContainerSpec {
        ContainerSpec {
            name,
            role,
            image: image.to_string(),
            image_id: None,
            privileged: false,
            entrypoint: Some(vec!["/bin/sh".into(), "-c".into(), script]),
            cmd: None,
            env: Vec::new(),
            mounts,
            network: network.to_string(),
            aliases: Vec::new(),
            labels,
            runtime: None,
            user: None,
            platform: None,
            ports: Vec::new(),
            pull_policies: Vec::new(),
            options: Default::default(),
            limits: super::limits::ContainerLimits {
                cpus: 1000,
                memory: 256 << 20,
                pids: 64,
                no_healthcheck: true,
                ..Default::default()
            },
        }
    }
}

/// A per-job volume.
#[derive(Debug, Clone)]
pub struct VolumeSpec {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}
