//! How a plan reads for a person (`--dry-run` and prepare's summary). Environment variables are
//! shown by name only: values may be secrets.

use std::fmt;

use super::{ContainerSpec, Mount, Plan};

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

impl fmt::Display for ContainerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "container: {} ({})", self.name, self.role.as_str())?;
        writeln!(f, "  image: {}", self.image)?;
        writeln!(
            f,
            "  privileged: {}",
            if self.privileged { "yes" } else { "no" }
        )?;
        if let Some(runtime) = &self.runtime {
            writeln!(f, "  runtime: {runtime}")?;
        }
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
