//! `limits:`: CPU, memory and pids of every container the driver makes for a job, per kind
//! (job, dind sidecar, services, helper), and `max`, the most a job may ask for by variable.
//! `0` means no limit for that key. CPUs are kept in thousandths (`0.5` is 500), sizes in bytes.

use serde::Deserialize;

use super::validate::Invalid;

/// One container kind's limits; 0 is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    /// Thousandths of a CPU.
    pub cpus: u64,
    pub memory: u64,
    pub pids: u64,
}

/// The most a job may request for one container; 0 is no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaxCaps {
    pub cpus: u64,
    pub memory: u64,
}

/// Validated `limits:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub job: Caps,
    pub dind: Caps,
    pub services: Caps,
    pub helper: Caps,
    pub max: MaxCaps,
    /// `/dev/shm` of the job container and services; 0 is the engine's default (64 MiB).
    pub shm_size: u64,
    /// The open-files ulimit (soft and hard) of the job, helper and service containers; 0 is
    /// the engine's default.
    pub nofile: u64,
}

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// The built-in defaults, as `config/executor.yaml` shows them.
pub const DEFAULTS: Limits = Limits {
    job: Caps {
        cpus: 2000,
        memory: 4 * GIB,
        pids: 4096,
    },
    dind: Caps {
        cpus: 2000,
        memory: 8 * GIB,
        pids: 16384,
    },
    services: Caps {
        cpus: 1000,
        memory: GIB,
        pids: 1024,
    },
    helper: Caps {
        cpus: 1000,
        memory: 512 * MIB,
        pids: 1024,
    },
    max: MaxCaps {
        cpus: 4000,
        memory: 16 * GIB,
    },
    shm_size: 0,
    nofile: 0,
};

/// A number as YAML writes it (`2`, `0.5`) or as a string (`"0.5"`, `4GiB`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, expecting = "a number or a string")]
pub enum RawValue {
    Whole(u64),
    Fraction(f64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with cpus, memory and pids"
)]
pub struct RawCaps {
    pub cpus: Option<RawValue>,
    pub memory: Option<RawValue>,
    pub pids: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with cpus and memory")]
pub struct RawMax {
    pub cpus: Option<RawValue>,
    pub memory: Option<RawValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with job, dind, services, helper, max, shm_size and nofile"
)]
pub struct RawLimits {
    pub job: Option<RawCaps>,
    pub dind: Option<RawCaps>,
    pub services: Option<RawCaps>,
    pub helper: Option<RawCaps>,
    pub max: Option<RawMax>,
    pub shm_size: Option<RawValue>,
    pub nofile: Option<u64>,
}

/// Parse a CPU count (`2`, `0.5`, `1.25`) into thousandths, or say what was expected.
pub fn parse_cpus(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a number of CPUs; write e.g. 0.5, 1 or 2");
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    if fraction.len() > 3 {
        return Err(format!(
            "`{text}` has more than three decimals; write e.g. 0.5 or 1.25"
        ));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let milli: u64 = format!("{fraction:0<3}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1000)
        .and_then(|w| w.checked_add(milli))
        .filter(|&m| m <= 1_000_000_000)
        .ok_or_else(|| format!("`{text}` is too many CPUs"))
}

/// CPUs for people: `2`, `0.5`, `1.25`.
pub fn show_cpus(milli: u64) -> String {
    let text = format!("{}.{:03}", milli / 1000, milli % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn cpus(value: Option<RawValue>, default: u64, key: Vec<&'static str>) -> Result<u64, Invalid> {
    let text = match value {
        None => return Ok(default),
        Some(RawValue::Whole(n)) => n.to_string(),
        Some(RawValue::Fraction(f)) => f.to_string(),
        Some(RawValue::Text(t)) => t,
    };
    parse_cpus(&text).map_err(|m| (key, m))
}

fn size(value: Option<RawValue>, default: u64, key: Vec<&'static str>) -> Result<u64, Invalid> {
    match value {
        None => Ok(default),
        Some(RawValue::Whole(n)) => Ok(n),
        Some(RawValue::Fraction(_)) => {
            Err((key, "is not a size; write e.g. 512MiB or 4GiB".into()))
        }
        Some(RawValue::Text(t)) => super::size::parse(&t).map_err(|m| (key, m)),
    }
}

/// The least CPU limit (thousandths) a container can start with: the engine sets a quota of
/// `cpus` × its 100 ms period, and the kernel refuses one under 1 ms (the engine takes the
/// limit at create and fails the start, which would read as the engine failing).
pub const MIN_CPUS: u64 = 10;

/// The engine refuses a memory limit under 6 MiB; a pids limit of 1 cannot even start a shell.
fn check_caps(caps: Caps, kind: &'static str) -> Result<Caps, Invalid> {
    if caps.cpus != 0 && caps.cpus < MIN_CPUS {
        return Err((
            vec!["limits", kind, "cpus"],
            "is under 0.01 CPUs, the least the kernel can hold; write 0 for no limit".into(),
        ));
    }
    if caps.memory != 0 && caps.memory < 6 * MIB {
        return Err((
            vec!["limits", kind, "memory"],
            "is under 6 MiB, the least the engine accepts; write 0 for no limit".into(),
        ));
    }
    if caps.pids != 0 && caps.pids < 16 {
        return Err((
            vec!["limits", kind, "pids"],
            "is under 16, too few to run a shell and its commands; write 0 for no limit".into(),
        ));
    }
    Ok(caps)
}

fn caps(raw: Option<RawCaps>, default: Caps, kind: &'static str) -> Result<Caps, Invalid> {
    let raw = raw.unwrap_or_default();
    let caps = Caps {
        cpus: cpus(raw.cpus, default.cpus, vec!["limits", kind, "cpus"])?,
        memory: size(raw.memory, default.memory, vec!["limits", kind, "memory"])?,
        pids: raw.pids.unwrap_or(default.pids),
    };
    check_caps(caps, kind)
}

/// `max:` of `limits` or of a policy rule; keys left out come from `fallback`.
pub(super) fn max(
    raw: Option<RawMax>,
    fallback: MaxCaps,
    key: Vec<&'static str>,
) -> Result<MaxCaps, Invalid> {
    let raw = raw.unwrap_or_default();
    let with = |last: &'static str| {
        let mut k = key.clone();
        k.push(last);
        k
    };
    let caps = MaxCaps {
        cpus: cpus(raw.cpus, fallback.cpus, with("cpus"))?,
        memory: size(raw.memory, fallback.memory, with("memory"))?,
    };
    // A cap no request could meet would refuse every request while saying it allows some.
    if caps.cpus != 0 && caps.cpus < MIN_CPUS {
        return Err((
            with("cpus"),
            "is under 0.01 CPUs, less than any request can be; write 0 for no cap".into(),
        ));
    }
    if caps.memory != 0 && caps.memory < 6 * MIB {
        return Err((
            with("memory"),
            "is under 6 MiB, less than any request can be; write 0 for no cap".into(),
        ));
    }
    Ok(caps)
}

pub(super) fn validate(raw: Option<RawLimits>) -> Result<Limits, Invalid> {
    let raw = raw.unwrap_or_default();
    let d = DEFAULTS;
    Ok(Limits {
        job: caps(raw.job, d.job, "job")?,
        dind: caps(raw.dind, d.dind, "dind")?,
        services: caps(raw.services, d.services, "services")?,
        helper: caps(raw.helper, d.helper, "helper")?,
        max: max(raw.max, d.max, vec!["limits", "max"])?,
        shm_size: size(raw.shm_size, d.shm_size, vec!["limits", "shm_size"])?,
        nofile: raw.nofile.unwrap_or(d.nofile),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_counts() {
        for (text, milli) in [
            ("2", 2000),
            ("0.5", 500),
            ("1.25", 1250),
            (".5", 500),
            ("0", 0),
        ] {
            assert_eq!(parse_cpus(text), Ok(milli), "{text}");
        }
        for text in ["", ".", "-1", "1.2345", "two", "1e3", "1,5", "99999999999"] {
            assert!(parse_cpus(text).is_err(), "{text}");
        }
        assert_eq!(show_cpus(500), "0.5");
        assert_eq!(show_cpus(2000), "2");
        assert_eq!(show_cpus(1250), "1.25");
    }
}
