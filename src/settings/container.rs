//! `container:` validated: the admin's options for a job's containers, named and written as
//! gitlab-runner's `[runners.docker]` has them. Only the admin's file sets them: nothing a job
//! sends (`CUSTOM_ENV_*`, the payload) is read here or anywhere else for them, so no job can add
//! or widen one. Which container gets which option is decided in `crate::plan::options`.
//!
//! Mount paths are checked against the driver's own mounts, so an admin's volume can neither
//! hide a job's builds or cache nor reach into the dind socket and certificates; and a host path
//! that would hand jobs the engine's socket is refused, since that is root on the host, which
//! only socket mode gives, and only to the jobs the policy names.

use std::collections::BTreeMap;

use super::container_checks as checks;
use super::container_paths::{reserved_targets, target, volume};
use super::container_privileges as privileges;
pub use super::gpus::Gpus;
use super::raw_container::RawContainer;
use super::{Invalid, Settings};

/// The admin's container options; empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerOptions {
    pub volumes: Vec<AdminVolume>,
    pub devices: Vec<Device>,
    pub gpus: Option<Gpus>,
    /// `host:address`, as `docker run --add-host`.
    pub extra_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    /// Capability names without `CAP_`, upper case (`NET_RAW`, `ALL`).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<SecurityOpt>,
    pub sysctls: BTreeMap<String, String>,
    /// Mount path -> mount options (`rw,size=64m`; empty: the engine's).
    pub tmpfs: BTreeMap<String, String>,
    pub userns_mode: Option<String>,
}

/// One `volumes` entry: a host directory or a named volume at a path in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminVolume {
    pub source: VolumeSource,
    pub target: String,
    /// As written after the second colon, split at commas (`ro`, `z`, `rshared`, ...).
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// A path on the engine's host.
    Host(String),
    /// A named volume, made by the engine on first use and never removed by the driver.
    Named(String),
}

impl AdminVolume {
    pub fn read_only(&self) -> bool {
        self.options.iter().any(|o| o == "ro")
    }

    /// The engine's `Binds` form, `source:target[:options]`, as `docker run -v` writes it.
    pub fn bind(&self) -> String {
        let source = match &self.source {
            VolumeSource::Host(path) | VolumeSource::Named(path) => path,
        };
        match self.options.is_empty() {
            true => format!("{source}:{}", self.target),
            false => format!("{source}:{}:{}", self.target, self.options.join(",")),
        }
    }
}

/// One `devices` entry: `host[:container[:permissions]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub host: String,
    pub container: String,
    /// Some of `rwm`.
    pub permissions: String,
}

/// One `security_opt` entry: as shown to people, and as handed to the engine (a seccomp
/// profile named by its path goes to the engine as its JSON, as the docker CLI sends it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityOpt {
    pub shown: String,
    pub engine: String,
}

/// Where the driver mounts its own things in the job and helper containers, whatever the
/// settings say; kept equal to the plan's constants by a test in `crate::plan::options`.
pub const DRIVER_TARGETS: [(&str, &str); 3] = [
    ("/var/run/dind", "the dind sidecar's socket"),
    ("/certs/client", "the dind client certificates"),
    (
        "/var/run/docker.sock",
        "the Docker socket of dind and socket jobs",
    ),
];
/// Where `helper.runner_binary` is mounted (`crate::plan::helper::RUNNER_BINARY_TARGET`).
pub const RUNNER_BINARY_TARGET: &str = "/usr/local/bin/gitlab-runner";

/// Validate `container:`; returns the options and `container.runtime`.
pub(super) fn validate(
    raw: Option<RawContainer>,
    s: &Settings,
) -> Result<(ContainerOptions, Option<String>), Invalid> {
    let Some(raw) = raw else {
        return Ok((ContainerOptions::default(), None));
    };
    let at = |key: &'static str| move |m: String| (vec!["container", key], m);
    let reserved = reserved_targets(s);
    let mut taken: Vec<String> = Vec::new();
    let mut volumes = Vec::new();
    for entry in raw.volumes.unwrap_or_default() {
        let volume = volume(&entry, s, &reserved).map_err(at("volumes"))?;
        once(&mut taken, &volume.target).map_err(at("volumes"))?;
        volumes.push(volume);
    }
    let mut tmpfs = BTreeMap::new();
    for (path, options) in raw.tmpfs.unwrap_or_default() {
        let target = target(&path, &reserved).map_err(at("tmpfs"))?;
        once(&mut taken, &target).map_err(at("tmpfs"))?;
        tmpfs.insert(
            target,
            checks::tmpfs_options(&path, &options.0).map_err(at("tmpfs"))?,
        );
    }
    let cap_add = each(raw.cap_add, privileges::capability).map_err(at("cap_add"))?;
    let cap_drop = each(raw.cap_drop, privileges::capability).map_err(at("cap_drop"))?;
    if let Some(both) = cap_add.iter().find(|c| cap_drop.contains(c)) {
        let m = format!("{both} is in both cap_add and cap_drop; keep it in one of them");
        return Err(at("cap_drop")(m));
    }
    let options = ContainerOptions {
        volumes,
        tmpfs,
        cap_add,
        cap_drop,
        devices: each(raw.devices, checks::device).map_err(at("devices"))?,
        gpus: match raw.gpus {
            Some(text) => Some(super::gpus::parse(&text.0).map_err(at("gpus"))?),
            None => None,
        },
        extra_hosts: each(raw.extra_hosts, checks::extra_host).map_err(at("extra_hosts"))?,
        dns: each(raw.dns, checks::dns_server).map_err(at("dns"))?,
        dns_search: each(raw.dns_search, checks::dns_search).map_err(at("dns_search"))?,
        security_opt: each(raw.security_opt, privileges::security_opt)
            .map_err(at("security_opt"))?,
        sysctls: {
            let sysctls = raw.sysctls.unwrap_or_default().into_iter();
            let checked = sysctls.map(|(name, value)| privileges::sysctl(name, value.0));
            checked.collect::<Result<_, _>>().map_err(at("sysctls"))?
        },
        userns_mode: match raw.userns_mode {
            Some(mode) => Some(privileges::userns_mode(&mode).map_err(at("userns_mode"))?),
            None => None,
        },
    };
    let runtime = match raw.runtime {
        Some(name) => Some(checks::runtime(&name).map_err(at("runtime"))?),
        None => None,
    };
    Ok((options, runtime))
}

fn each<T>(
    list: Option<Vec<String>>,
    check: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    list.unwrap_or_default().iter().map(|e| check(e)).collect()
}

/// A path in the container is mounted once, by one option.
fn once(taken: &mut Vec<String>, target: &str) -> Result<(), String> {
    if taken.iter().any(|t| t == target) {
        return Err(format!(
            "{target} is mounted twice (in volumes or tmpfs); mount each path once"
        ));
    }
    taken.push(target.to_string());
    Ok(())
}
