//! `executor doctor` on `container:`: what the admin's options give every job that an admin
//! may not have meant to give (warnings), and what would make every job fail on this engine (a
//! runtime it lacks, a device this host lacks).

use super::{Findings, Level};
use crate::docker::{probe, Engine};
use crate::settings::{DockerHost, Settings, VolumeSource};

/// Capabilities that let a process reach past its container: the kernel's own administration,
/// modules, raw I/O, other processes' memory, files by handle, kernel programs.
const RISKY_CAPABILITIES: [&str; 7] = [
    "ALL",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_PTRACE",
    "DAC_READ_SEARCH",
    "BPF",
];

/// Host directories whose contents are the host itself.
const SYSTEM_DIRS: [&str; 8] = [
    "/etc", "/root", "/boot", "/proc", "/sys", "/dev", "/usr", "/home",
];

/// What the options give every job, read from the file alone.
pub(super) fn config(out: &mut Findings, s: &Settings) {
    let c = &s.container;
    for cap in c
        .cap_add
        .iter()
        .filter(|c| RISKY_CAPABILITIES.contains(&c.as_str()))
    {
        out.say(
            Level::Warn,
            &format!(
                "container.cap_add gives every job {cap}, with which a job can reach the host \
                 kernel or escape its container; add narrower capabilities, or run such jobs on a \
                 runner of their own"
            ),
        );
    }
    for opt in &c.security_opt {
        let loosened = opt.shown.ends_with("=unconfined") || opt.shown == "label=disable";
        if loosened {
            out.say(
                Level::Warn,
                &format!(
                    "container.security_opt {} turns off a protection of the host for every job; \
                     keep it only if jobs cannot run without it",
                    opt.shown
                ),
            );
        }
    }
    if c.userns_mode.as_deref() == Some("host") {
        out.say(
            Level::Warn,
            "container.userns_mode host: where the engine remaps users, root in a job is root on \
             the host again",
        );
    }
    for volume in &c.volumes {
        let VolumeSource::Host(path) = &volume.source else {
            continue;
        };
        let system = SYSTEM_DIRS
            .iter()
            .any(|d| path == d || path.starts_with(&format!("{d}/")));
        if system {
            let how = if volume.read_only() { "read" } else { "change" };
            out.say(
                Level::Warn,
                &format!(
                    "container.volumes gives every job the host's {path} to {how}; bind a \
                     directory made for jobs instead"
                ),
            );
        }
    }
}

/// What the engine and this host must have for the options to work at all.
pub(super) async fn engine(out: &mut Findings, engine: &Engine, s: &Settings) {
    if let Some(wanted) = &s.container_runtime {
        match probe::runtimes(engine).await {
            Ok(runtimes) if runtimes.contains(wanted) => out.say(
                Level::Ok,
                &format!("container.runtime {wanted} is registered"),
            ),
            Ok(runtimes) => out.say(
                Level::Fail,
                &format!(
                    "container.runtime {wanted} is not registered with the engine (it has: {}); \
                     install it or remove container.runtime",
                    runtimes.join(", ")
                ),
            ),
            // `runtime` already said that the engine's info cannot be read.
            Err(_) => {}
        }
    }
    // Devices are the engine host's: only a local engine's can be looked at from here.
    if matches!(s.docker_host, DockerHost::Unix(_)) {
        for device in &s.container.devices {
            if !std::path::Path::new(&device.host).exists() {
                out.say(
                    Level::Fail,
                    &format!(
                        "container.devices {} does not exist on this host; every job would fail \
                         to start: load its driver or remove it",
                        device.host
                    ),
                );
            }
        }
    }
}
