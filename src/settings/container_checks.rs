//! One check per `container:` value, each returning the value as the engine takes it or a
//! message naming the entry and what to write instead. The formats are the docker CLI's (and so
//! gitlab-runner's): an admin's `config.toml` values carry over as written.

use std::net::IpAddr;

use super::container::Device;

/// An entry as it can appear in a one-line message: control characters escaped.
pub(super) fn shown(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c.is_control() {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    out
}

/// `host[:container[:permissions]]`, as `docker run --device`: the container path defaults to
/// the host's, the permissions to `rwm`.
pub(super) fn device(entry: &str) -> Result<Device, String> {
    let parts: Vec<&str> = entry.split(':').collect();
    let (host, container, permissions) = match parts[..] {
        [host] => (host, host, "rwm"),
        [host, mode] if is_mode(mode) => (host, host, mode),
        [host, container] => (host, container, "rwm"),
        [host, container, mode] => (host, container, mode),
        _ => ("", "", ""),
    };
    let absolute = |p: &str| p.starts_with('/') && !p.contains(['\n', '\0', ','] as [char; 3]);
    if !absolute(host) || !absolute(container) || !is_mode(permissions) {
        return Err(format!(
            "`{}` is not /dev/host[:/dev/in-container[:permissions]] with absolute paths and \
             permissions from rwm",
            shown(entry)
        ));
    }
    Ok(Device {
        host: host.into(),
        container: container.into(),
        permissions: permissions.into(),
    })
}

fn is_mode(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 3
        && text.chars().all(|c| "rwm".contains(c))
        && text
            .chars()
            .enumerate()
            .all(|(i, c)| !text[..i].contains(c))
}

/// `host:address`, as `docker run --add-host` (`host-gateway` is the engine's own address).
pub(super) fn extra_host(entry: &str) -> Result<String, String> {
    let fits = entry.split_once(':').is_some_and(|(host, address)| {
        is_domain(host) && (address == "host-gateway" || address.parse::<IpAddr>().is_ok())
    });
    match fits {
        true => Ok(entry.to_string()),
        false => Err(format!(
            "`{}` is not host:address (an IPv4 or IPv6 address, or host-gateway)",
            shown(entry)
        )),
    }
}

pub(super) fn dns_server(entry: &str) -> Result<String, String> {
    match entry.parse::<IpAddr>() {
        Ok(address) => Ok(address.to_string()),
        Err(_) => Err(format!("`{}` is not an IP address", shown(entry))),
    }
}

pub(super) fn dns_search(entry: &str) -> Result<String, String> {
    match is_domain(entry) || entry == "." {
        true => Ok(entry.to_string()),
        false => Err(format!("`{}` is not a domain name", shown(entry))),
    }
}

fn is_domain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        })
}

/// tmpfs mount options (`rw,noexec,size=64m,mode=1777`); empty: the engine's.
pub(super) fn tmpfs_options(path: &str, options: &str) -> Result<String, String> {
    let fits = |o: &str| {
        !o.is_empty()
            && o.chars()
                .all(|c| c.is_ascii_alphanumeric() || "=_.-".contains(c))
    };
    match options.is_empty() || options.split(',').all(fits) {
        true => Ok(options.to_string()),
        false => Err(format!(
            "{path}: `{}` is not a list of mount options such as rw,noexec,size=64m",
            shown(options)
        )),
    }
}

/// An OCI runtime's name as the engine registers it (`runc`, `nvidia`, `runsc`).
pub(super) fn runtime(name: &str) -> Result<String, String> {
    let fits = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    match fits {
        true => Ok(name.into()),
        false => Err(format!(
            "`{}` is not a runtime name as the engine registers them (runc, nvidia, runsc, ...)",
            shown(name)
        )),
    }
}
