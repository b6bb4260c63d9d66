//! Which of the admin's container options (`container:`, [`ContainerOptions`]) each of a job's
//! containers gets, and how `--dry-run` shows them. Nothing here reads the job's variables or
//! payload: the options are the admin's alone, and a job can neither add nor widen one.
//!
//! - Name resolution (`extra_hosts`, `dns`, `dns_search`) goes to every container of the job,
//!   so a name resolves alike for the job's scripts, the helper's checkout and cache transfers
//!   (a GitLab or cache server the admin pins), the services, and in dind the inner daemon's
//!   pulls (a registry the admin pins). It changes `/etc/hosts` and `resolv.conf`, no
//!   privilege. The docker executor gives it to its build, helper and service containers too.
//! - `volumes` go to the job container, and read-only to the helper, so the helper's stages
//!   see at the same paths what the job sees, as the docker executor mounts them in both. Only
//!   read-only: the helper runs as root and runs programs (`git`, `gitlab-runner`, the shell's
//!   files under `$HOME`); a volume every job can write, mounted writable there, would let one
//!   project's job put code that another project's helper then runs as root. Not to services
//!   (images a job picks, which reach the job over the network), and never to the dind
//!   sidecar: in the privileged sidecar the job's own daemon could mount a directory into a
//!   privileged container of its own and write to a host directory mounted `:ro`.
//! - Everything else (`devices`, `gpus`, `cap_add`, `cap_drop`, `security_opt`, `sysctls`,
//!   `tmpfs`, `userns_mode`, `runtime`) goes to the job container only: it is for, or against,
//!   what the job's scripts run. The helper runs gitlab-runner's own image for git and
//!   transfers and needs none of it; services are images the job picks; the sidecar keeps the
//!   driver's setup for dockerd, which no admin option may weaken or change.

use crate::settings::{ContainerOptions, Settings, VolumeSource};

/// The job container's options: all of them (its runtime is `container.runtime`).
pub(super) fn for_job(settings: &Settings) -> ContainerOptions {
    settings.container.clone()
}

/// The helper container's: the volumes, read-only, and name resolution.
pub(super) fn for_helper(settings: &Settings) -> ContainerOptions {
    let volumes = settings
        .container
        .volumes
        .iter()
        .map(|v| {
            let mut v = v.clone();
            v.options.retain(|o| o != "rw" && o != "ro");
            v.options.push("ro".into());
            v
        })
        .collect();
    ContainerOptions {
        volumes,
        ..names_only(settings)
    }
}

/// The services' and the dind sidecar's: name resolution only.
pub(super) fn names_only(settings: &Settings) -> ContainerOptions {
    let c = &settings.container;
    ContainerOptions {
        extra_hosts: c.extra_hosts.clone(),
        dns: c.dns.clone(),
        dns_search: c.dns_search.clone(),
        ..ContainerOptions::default()
    }
}

/// One line per option set, as `--dry-run` prints them under a container.
pub(super) fn describe(o: &ContainerOptions) -> Vec<String> {
    let mut lines = Vec::new();
    for v in &o.volumes {
        let ro = if v.read_only() { ", read-only" } else { "" };
        let rest: Vec<&str> = v
            .options
            .iter()
            .map(String::as_str)
            .filter(|o| *o != "ro")
            .collect();
        let rest = match rest.is_empty() {
            true => String::new(),
            false => format!(" ({})", rest.join(",")),
        };
        lines.push(match &v.source {
            VolumeSource::Host(path) => {
                format!(
                    "mount: host path {path} at {}{ro}{rest} (container.volumes)",
                    v.target
                )
            }
            VolumeSource::Named(name) => format!(
                "mount: volume {name} at {}{ro}{rest} (container.volumes; the engine makes it, \
                 no cleanup removes it)",
                v.target
            ),
        });
    }
    for (path, options) in &o.tmpfs {
        match options.is_empty() {
            true => lines.push(format!("tmpfs: {path}")),
            false => lines.push(format!("tmpfs: {path} ({options})")),
        }
    }
    for d in &o.devices {
        lines.push(format!(
            "device: {} at {} ({})",
            d.host, d.container, d.permissions
        ));
    }
    if let Some(gpus) = &o.gpus {
        lines.push(format!("gpus: {}", gpus.written));
    }
    let mut list = |name: &str, items: &[String]| {
        if !items.is_empty() {
            lines.push(format!("{name}: {}", items.join(", ")));
        }
    };
    list("extra hosts", &o.extra_hosts);
    list("dns", &o.dns);
    list("dns search", &o.dns_search);
    list("cap add", &o.cap_add);
    list("cap drop", &o.cap_drop);
    let shown: Vec<String> = o.security_opt.iter().map(|s| s.shown.clone()).collect();
    list("security opt", &shown);
    let sysctls: Vec<String> = o.sysctls.iter().map(|(k, v)| format!("{k}={v}")).collect();
    list("sysctls", &sysctls);
    if let Some(mode) = &o.userns_mode {
        lines.push(format!("userns mode: {mode}"));
    }
    lines
}

#[cfg(test)]
mod tests;
