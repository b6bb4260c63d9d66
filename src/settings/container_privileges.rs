//! `container:` values that widen or narrow what a job's processes may do: capabilities,
//! security options, sysctls, the user namespace. Spelled as the docker CLI takes them.

use super::container::SecurityOpt;
use super::container_checks::shown;

/// Linux capabilities, as the kernel names them (without `CAP_`), through 5.9.
const CAPABILITIES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// A capability as the docker CLI takes it: any case, with or without `CAP_`, or `ALL`; kept
/// in the kernel's spelling so a typo is found here and not at the job's start.
pub(super) fn capability(entry: &str) -> Result<String, String> {
    let upper = entry.trim().to_ascii_uppercase();
    let name = upper.strip_prefix("CAP_").unwrap_or(&upper);
    match name == "ALL" || CAPABILITIES.contains(&name) {
        true => Ok(name.to_string()),
        false => Err(format!(
            "`{}` is not a Linux capability (such as NET_RAW, SYS_PTRACE, or ALL)",
            shown(entry)
        )),
    }
}

/// A seccomp profile read from a file is at most this large.
const PROFILE_MAX: u64 = 1 << 20;

/// `key=value` (or the older `key:value`) for `seccomp`, `apparmor`, `label`,
/// `no-new-privileges` and `systempaths`, as the engine reads them. A seccomp profile named by
/// its path is read now, on this host, and handed to the engine as JSON, as the docker CLI and
/// gitlab-runner do (the engine itself takes no path).
pub(super) fn security_opt(entry: &str) -> Result<SecurityOpt, String> {
    let bad = |why: &str| format!("`{}` {why}", shown(entry));
    if entry == "no-new-privileges" {
        return Ok(plain(entry));
    }
    let Some(at) = entry.find(['=', ':']) else {
        return Err(bad(
            "is not key=value (seccomp, apparmor, label, no-new-privileges or systempaths)",
        ));
    };
    let (key, value) = (&entry[..at], &entry[at + 1..]);
    let written = format!("{key}={value}");
    let word = !value.is_empty() && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    match key {
        "no-new-privileges" if value == "true" || value == "false" => Ok(plain(&written)),
        "systempaths" if value == "unconfined" => Ok(plain(&written)),
        "apparmor" | "label" if word => Ok(plain(&written)),
        "seccomp" if value == "unconfined" => Ok(plain(&written)),
        "seccomp" if value.starts_with('/') => {
            let json = profile(value).map_err(|why| bad(&why))?;
            Ok(SecurityOpt {
                shown: written,
                engine: format!("seccomp={json}"),
            })
        }
        "seccomp" => Err(bad(
            "names no profile; write seccomp=unconfined or seccomp=/path/to/profile.json",
        )),
        "no-new-privileges" | "systempaths" | "apparmor" | "label" => {
            Err(bad("has a value the engine does not take"))
        }
        _ => Err(bad(
            "is not a security option (seccomp, apparmor, label, no-new-privileges or systempaths)",
        )),
    }
}

fn plain(text: &str) -> SecurityOpt {
    SecurityOpt {
        shown: text.into(),
        engine: text.into(),
    }
}

/// The profile at `path` as compact JSON.
fn profile(path: &str) -> Result<String, String> {
    use std::io::Read;
    let mut text = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|file| file.take(PROFILE_MAX + 1).read_to_end(&mut text));
    if let Err(e) = read {
        return Err(format!(
            "cannot be read ({e}); point it at a seccomp profile on this host"
        ));
    }
    if text.len() as u64 > PROFILE_MAX {
        return Err("names a profile larger than 1 MiB".into());
    }
    match serde_json::from_slice::<serde_json::Value>(&text) {
        Ok(json) if json.is_object() => Ok(json.to_string()),
        _ => Err("names a file that is not a seccomp profile (a JSON object)".into()),
    }
}

/// The sysctls the engine lets a container set, in its own namespaces: `net.*`,
/// `fs.mqueue.*` and the IPC ones.
pub(super) fn sysctl(name: String, value: String) -> Result<(String, String), String> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let shaped = name.split('.').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-/".contains(c))
    });
    let namespaced =
        name.starts_with("net.") || name.starts_with("fs.mqueue.") || IPC.contains(&name.as_str());
    if !shaped || !namespaced {
        return Err(format!(
            "`{}` is not a sysctl a container may set (net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*)",
            shown(&name)
        ));
    }
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(format!("{name} needs a value on one line"));
    }
    Ok((name, value))
}

/// The engine knows one user namespace mode besides its own default: `host`.
pub(super) fn userns_mode(mode: &str) -> Result<String, String> {
    match mode {
        "host" => Ok(mode.into()),
        _ => Err(format!(
            "`{}` is not a user namespace mode; write host, or leave the key out for the engine's default",
            shown(mode)
        )),
    }
}
