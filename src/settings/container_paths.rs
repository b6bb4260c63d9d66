//! `container.volumes` and `container.tmpfs` paths: written plainly, clear of the driver's own
//! mounts, and never a way to the engine's socket or to other jobs' data.

use super::container::{AdminVolume, VolumeSource, DRIVER_TARGETS, RUNNER_BINARY_TARGET};
use super::container_checks::shown;
use super::{DockerHost, HelperMode, Settings};

/// The engine's usual data root: every job's volumes (builds, caches) live under it.
const ENGINE_DATA: &str = "/var/lib/docker";

/// The driver's own mount points, each with what the driver keeps there.
pub(super) fn reserved_targets(s: &Settings) -> Vec<(String, String)> {
    let mut reserved = vec![
        (
            s.builds_dir.clone(),
            "the job's builds (builds_dir)".to_string(),
        ),
        (
            s.cache_dir.clone(),
            "the project's cache (cache_dir)".into(),
        ),
        (
            s.socket_builds_host_dir.clone(),
            "socket jobs' builds (socket.builds_host_dir)".into(),
        ),
    ];
    reserved.extend(DRIVER_TARGETS.map(|(p, what)| (p.to_string(), what.to_string())));
    if matches!(
        s.helper_mode,
        HelperMode::Job {
            runner_binary: Some(_)
        }
    ) {
        let what = "gitlab-runner (helper.runner_binary)".to_string();
        reserved.push((RUNNER_BINARY_TARGET.into(), what));
    }
    reserved
        .into_iter()
        .map(|(path, what)| (clean(&path).unwrap_or(path), what))
        .collect()
}

/// A mount target: a plain absolute path that is not, does not hold, and does not lie inside
/// one of the driver's mounts.
pub(super) fn target(path: &str, reserved: &[(String, String)]) -> Result<String, String> {
    let target = clean(path).map_err(|why| format!("the target {why}"))?;
    for (mine, what) in reserved {
        let place = match overlap(&target, mine) {
            None => continue,
            Some("is") => format!("is where the driver mounts {what}"),
            Some(how) => format!("{how} {mine}, where the driver mounts {what}"),
        };
        return Err(format!(
            "the target {target} {place}; pick a path outside it"
        ));
    }
    Ok(target)
}

pub(super) fn volume(
    entry: &str,
    s: &Settings,
    reserved: &[(String, String)],
) -> Result<AdminVolume, String> {
    let shown = shown(entry);
    let parts: Vec<&str> = entry.split(':').collect();
    let (source, path, options) = match parts[..] {
        [only] if only.starts_with('/') => {
            return Err(format!(
                "`{shown}` names no source; write /host/dir:{only} for a host directory or \
                 name:{only} for a named volume (cache_dir already keeps a cache per project)"
            ))
        }
        [source, path] => (source, path, ""),
        [source, path, options] => (source, path, options),
        _ => {
            return Err(format!(
                "`{shown}` is not source:target[:options]; write /host/dir:/path or name:/path, \
                 with :ro to mount it read-only"
            ))
        }
    };
    let target = target(path, reserved).map_err(|m| format!("`{shown}`: {m}"))?;
    private_scratch(&target).map_err(|m| format!("`{shown}`: {m}"))?;
    let source = if source.starts_with('/') {
        let host = clean(source).map_err(|why| format!("`{shown}`: the source {why}"))?;
        host_source(&host, s).map_err(|m| format!("`{shown}` {m}"))?;
        // The text is not the whole story: a link (`/srv/run -> /run`) reaches what the path
        // does not say. With the engine on this host, what the path resolves to now is
        // checked too (each call reads the config afresh, so each prepare checks again).
        if matches!(s.docker_host, DockerHost::Unix(_)) {
            if let Ok(real) = std::fs::canonicalize(&host) {
                let real = real.display().to_string();
                if real != host {
                    host_source(&real, s)
                        .map_err(|m| format!("`{shown}` resolves to {real}, which {m}"))?;
                }
            }
        }
        VolumeSource::Host(host)
    } else {
        VolumeSource::Named(volume_name(source).map_err(|m| format!("`{shown}`: {m}"))?)
    };
    let named = matches!(source, VolumeSource::Named(_));
    let options = volume_options(options, named).map_err(|m| format!("`{shown}`: {m}"))?;
    Ok(AdminVolume {
        source,
        target,
        options,
    })
}

/// Each container's own scratch space, where stage scripts (with the job's secrets) are
/// written and the entrypoint's environment is recorded for the stages, the helper's (root)
/// included. A volume there would be shared by every job's job and helper containers: one job
/// could read another's scripts or have its own code run in another's helper. (A `tmpfs`
/// there is each container's own, and fine.)
const PRIVATE_SCRATCH: [&str; 2] = ["/tmp", "/dev/shm"];

pub(super) fn private_scratch(target: &str) -> Result<(), String> {
    for scratch in PRIVATE_SCRATCH {
        if let Some(how) = overlap(target, scratch) {
            return Err(format!(
                "{target} {how} {scratch}, each container's own scratch space (stage scripts \
                 and their secrets live there), which a shared volume must not cover; pick a \
                 path outside it (a tmpfs there is fine)"
            ));
        }
    }
    Ok(())
}

/// A host directory must not give jobs the engine (its socket is root on the host: socket
/// mode's own bind, granted by policy, is the one way to it), nor other jobs' data.
fn host_source(host: &str, s: &Settings) -> Result<(), String> {
    let mut sockets = vec![s.socket_host_path.clone()];
    // The usual places, with /var/run a link to /run on most hosts; containerd's socket under
    // the engine is root on the host as well.
    for dir in ["/var/run", "/run"] {
        sockets.push(format!("{dir}/docker.sock"));
        sockets.push(format!("{dir}/containerd/containerd.sock"));
    }
    if let DockerHost::Unix(path) = &s.docker_host {
        sockets.push(path.display().to_string());
    }
    for socket in sockets.iter().filter_map(|p| clean(p).ok()) {
        if host == socket || inside(&socket, host) {
            return Err(format!(
                "would give jobs the engine socket {socket}, which is root on the host; \
                 offer socket mode instead (mode.allowed, policy.rules), whose policy says who gets it"
            ));
        }
    }
    // The kernel's views: `/proc/1/root` is the host's whole file system (its sockets
    // included), `/sys` and `/dev` its devices; a device a job may use goes in
    // `container.devices`.
    for kernel in ["/proc", "/sys", "/dev"] {
        if let Some(how) = overlap(host, kernel) {
            let binds = match how {
                "is" => format!("binds {kernel}"),
                how => format!("binds a directory that {how} {kernel}"),
            };
            return Err(format!(
                "{binds}, the kernel's view of the host; bind a plain directory (devices go in \
                 container.devices)"
            ));
        }
    }
    let others = [
        (
            s.socket_builds_host_dir.as_str(),
            "other socket jobs' checkouts",
        ),
        (ENGINE_DATA, "the engine's data, every job's volumes"),
        // dockerd's own state: its containerd's socket (root on the host) and every
        // container's stdio pipes.
        (
            "/run/docker",
            "the engine's runtime state (its containerd socket, containers' stdio)",
        ),
        (
            "/var/run/docker",
            "the engine's runtime state (its containerd socket, containers' stdio)",
        ),
    ];
    for (path, what) in others {
        let path = clean(path).unwrap_or_else(|_| path.to_string());
        let binds = match overlap(host, &path) {
            None => continue,
            Some("is") => format!("binds {path}"),
            Some(how) => format!("binds a directory that {how} {path}"),
        };
        return Err(format!("{binds}, {what}; bind a directory outside it"));
    }
    Ok(())
}

/// `path` written plainly: absolute, no `.` or `..`, no doubled or trailing `/`.
pub(super) fn clean(path: &str) -> Result<String, String> {
    let shown = shown(path);
    if !path.starts_with('/') {
        return Err(format!("`{shown}` is not an absolute path"));
    }
    if path.chars().any(|c| c.is_control() || c == ',' || c == ':') {
        return Err(format!(
            "`{shown}` holds a character no mount path may (`,` `:` or a control character)"
        ));
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(format!(
            "`{shown}` has . or .. in it; write the path plainly"
        ));
    }
    Ok(format!("/{}", parts.join("/")))
}

/// How `path` stands to `other`: the same, inside it, or holding it.
fn overlap(path: &str, other: &str) -> Option<&'static str> {
    if path == other {
        Some("is")
    } else if inside(path, other) {
        Some("lies inside")
    } else if inside(other, path) {
        Some("holds")
    } else {
        None
    }
}

fn inside(child: &str, parent: &str) -> bool {
    child != parent
        && (parent == "/"
            || child
                .strip_prefix(parent)
                .is_some_and(|rest| rest.starts_with('/')))
}

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, the engine's rule for volume names; the driver's own volumes
/// (`executor-...`) are not the admin's to mount: one is another project's cache.
fn volume_name(name: &str) -> Result<String, String> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        return Err(format!(
            "the source `{}` is neither an absolute host path nor a volume name \
             ([a-zA-Z0-9][a-zA-Z0-9_.-]+)",
            shown(name)
        ));
    }
    if name.starts_with("executor-") {
        return Err(format!(
            "the volume {name} is named like the driver's own (jobs' builds and caches); \
             name it without the executor- prefix"
        ));
    }
    Ok(name.to_string())
}

/// What may follow the target: `ro` or `rw`, SELinux relabelling, `nocopy` for a named
/// volume, a propagation mode for a host directory.
fn volume_options(text: &str, named: bool) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let options: Vec<String> = text.split(',').map(str::to_string).collect();
    for option in &options {
        let known = match option.as_str() {
            "ro" | "rw" | "z" | "Z" => true,
            "nocopy" => named,
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" => !named,
            _ => false,
        };
        if !known {
            return Err(format!(
                "the option `{}` is not one of ro, rw, z, Z, nocopy (named volumes) or a \
                 propagation mode such as rshared (host directories)",
                shown(option)
            ));
        }
    }
    if options.iter().any(|o| o == "ro") && options.iter().any(|o| o == "rw") {
        return Err("give ro or rw, not both".into());
    }
    Ok(options)
}
