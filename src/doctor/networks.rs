//! Whether the engine's address pools leave room for warm sets: each slot may hold its job's
//! network and a waiting set's at once, and dockerd's default pools give about 30 bridge
//! networks. Past them a job's network create fails ("all predefined address pools have been
//! fully subnetted") and the job fails as a system failure.

use super::{Findings, Level};
use crate::docker::{probe, Engine};
use crate::settings::Settings;

/// Where dockerd reads its own settings on a local host (not a rootless or remote one's).
const DAEMON_JSON: &str = "/etc/docker/daemon.json";

/// dockerd's built-in pools: 172.17–19/16, 172.20/14, 172.24/14, 172.28/14 split into /16s (15),
/// and 192.168/16 split into /20s (16).
const DEFAULT_POOLS: u64 = 31;

pub(super) async fn room(out: &mut Findings, engine: &Engine, s: &Settings) {
    if !(s.dind_warm || s.warm_jobs) {
        return;
    }
    let (pools, source) = match s.docker_host.is_local().then(read_daemon_json).flatten() {
        Some(text) => match pools_in(&text) {
            Some(n) => (n, DAEMON_JSON),
            None => (DEFAULT_POOLS, "dockerd's defaults"),
        },
        None => (DEFAULT_POOLS, "dockerd's defaults, assumed"),
    };
    let others = match probe::bridge_networks(engine).await {
        Ok(networks) => networks.iter().filter(|managed| !**managed).count() as u64,
        Err(e) => {
            return out.say(
                Level::Info,
                &format!("cannot list the engine's networks: {e}"),
            )
        }
    };
    let room = pools.saturating_sub(others);
    let need = s.slots.saturating_mul(2);
    if need > room {
        out.say(
            Level::Warn,
            &format!(
                "warm sets may need {need} networks (2 per slot, slots: {}) and the engine's \
                 address pools leave room for {room} ({pools} from {source}, {others} taken by \
                 other networks); set slots to the runner's limit, or widen dockerd's \
                 default-address-pools",
                s.slots
            ),
        );
    } else {
        out.say(
            Level::Ok,
            &format!(
                "room for {room} networks ({pools} from {source}); warm sets need at most {need}"
            ),
        );
    }
}

/// At most 1 MiB of dockerd's settings file; `None` when it cannot be read.
fn read_daemon_json() -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(DAEMON_JSON)
        .ok()?
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// How many subnets `default-address-pools` in a daemon.json gives (IPv4 pools), or `None`
/// when it sets none (dockerd's defaults apply) or cannot be read.
fn pools_in(daemon_json: &str) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(daemon_json).ok()?;
    let pools = value.get("default-address-pools")?.as_array()?;
    let mut total: u64 = 0;
    for pool in pools {
        let base = pool.get("base")?.as_str()?;
        let size = pool.get("size")?.as_u64()?;
        let (address, prefix) = base.split_once('/')?;
        let prefix: u64 = prefix.parse().ok()?;
        if address.parse::<std::net::Ipv4Addr>().is_err() || size < prefix || size > 32 {
            continue;
        }
        total = total.saturating_add(1u64 << (size - prefix).min(32));
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::pools_in;

    #[test]
    fn address_pools_are_counted_in_subnets() {
        let two = r#"{"default-address-pools": [
            {"base": "10.10.0.0/16", "size": 24},
            {"base": "172.80.0.0/16", "size": 20},
            {"base": "fd00::/104", "size": 112}
        ]}"#;
        assert_eq!(pools_in(two), Some(256 + 16));
        // No pools set (or no file, or not JSON): dockerd's defaults apply.
        assert_eq!(pools_in(r#"{"runtimes": {}}"#), None);
        assert_eq!(pools_in("not json"), None);
        assert_eq!(
            pools_in(r#"{"default-address-pools": [{"base": "10.0.0.0/8", "size": 4}]}"#),
            Some(0),
            "a size below the prefix gives nothing"
        );
    }
}
