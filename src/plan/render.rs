//! How a plan reads for a person (`--dry-run` and prepare's summary). Environment variables are
//! shown by name only: values may be secrets.

use std::fmt;

use super::{is_keep_alive, printable_value as printable, ContainerSpec, Mount, Plan};

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "mode: {}", self.mode)?;
        match self.mtu {
            Some(mtu) => writeln!(f, "network: {} (MTU {mtu})", self.network)?,
            None => writeln!(f, "network: {} (MTU of the host engine)", self.network)?,
        }
        for volume in &self.volumes {
            writeln!(f, "volume: {}", volume.name)?;
        }
        writeln!(
            f,
            "volume: {} (the project's cache_dir, kept after the job)",
            self.cache_dir_volume.name
        )?;
        if let Some(cache) = &self.cache_volume {
            writeln!(
                f,
                "volume: {} (project layer cache, kept after the job)",
                cache.name
            )?;
        }
        if self.tls.is_some() {
            writeln!(
                f,
                "tls: CA, server (docker) and client certificates made by the driver"
            )?;
        }
        for container in self.containers() {
            write!(f, "{container}")?;
        }
        Ok(())
    }
}

/// An entrypoint or command for a person: the driver's keep-alive by name, anything else (the
/// job's) escaped and cut.
fn shown_command(list: Option<&[String]>) -> String {
    match list {
        None => "the image's own".into(),
        Some([]) => "none".into(),
        Some(list) if list.last().is_some_and(|s| is_keep_alive(s)) => {
            "the driver's keep-alive (a shell that waits; stages run beside it)".into()
        }
        Some(list) => {
            let parts: Vec<String> = list.iter().take(8).map(|p| printable(p)).collect();
            let more = if list.len() > 8 { ", …" } else { "" };
            format!("[{}{more}]", parts.join(", "))
        }
    }
}

impl fmt::Display for ContainerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "container: {} ({})", self.name, self.role.as_str())?;
        writeln!(f, "  image: {}", self.image)?;
        writeln!(
            f,
            "  entrypoint: {}",
            shown_command(self.entrypoint.as_deref())
        )?;
        // The engine runs an image's command only with the image's entrypoint: one given at
        // create drops it.
        let command = match (&self.entrypoint, &self.cmd) {
            (Some(given), None) if !given.is_empty() => "none".to_string(),
            (_, cmd) => shown_command(cmd.as_deref()),
        };
        writeln!(f, "  command: {command}")?;
        if let Some(user) = &self.user {
            writeln!(f, "  user: {user}")?;
        }
        if !self.pull_policies.is_empty() {
            let names: Vec<&str> = self.pull_policies.iter().map(|p| p.name()).collect();
            writeln!(f, "  pull_policy: {}", names.join(", "))?;
        }
        if let Some(platform) = &self.platform {
            writeln!(f, "  platform: {platform}")?;
        }
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            writeln!(f, "  waits for TCP {} (its ports:)", ports.join(", "))?;
        }
        writeln!(
            f,
            "  privileged: {}",
            if self.privileged { "yes" } else { "no" }
        )?;
        if let Some(runtime) = &self.runtime {
            writeln!(f, "  runtime: {runtime}")?;
        }
        writeln!(f, "  limits: {}", self.limits.describe())?;
        if self.aliases.is_empty() {
            writeln!(f, "  network: {}", self.network)?;
        } else {
            writeln!(
                f,
                "  network: {} as {}",
                self.network,
                self.aliases.join(", ")
            )?;
        }
        for mount in &self.mounts {
            match mount {
                Mount::Volume {
                    name,
                    target,
                    read_only,
                } => {
                    let ro = if *read_only { ", read-only" } else { "" };
                    writeln!(f, "  mount: volume {name} at {target}{ro}")?
                }
                Mount::Bind { source, target } => {
                    writeln!(f, "  mount: host path {source} at {target}")?
                }
                Mount::BindReadOnly { source, target } => {
                    writeln!(f, "  mount: host path {source} at {target}, read-only")?
                }
                Mount::HostDir { path } => {
                    writeln!(f, "  mount: host directory {path} at the same path")?
                }
                Mount::HostDirAt { source, target } => {
                    writeln!(f, "  mount: host directory {source} at {target}")?
                }
                Mount::Tmpfs { target } => writeln!(
                    f,
                    "  mount: memory (tmpfs) at {target}, the Docker client's login (dind.login)"
                )?,
            }
        }
        for line in super::options::describe(&self.options) {
            writeln!(f, "  {line}")?;
        }
        if !self.env.is_empty() {
            let names: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
            writeln!(f, "  env: {}", names.join(", "))?;
        }
        Ok(())
    }
}
