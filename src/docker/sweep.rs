//! What `executor gc` needs from the engine: every job (and warm set) that has resources here,
//! whether its job container runs, and when its newest resource was made.

use std::collections::BTreeMap;
use std::collections::HashMap;

use bollard::query_parameters::{ListNetworksOptionsBuilder, ListVolumesOptionsBuilder};

use super::dind::Listed;
use super::Engine;
use crate::outcome::Failure;
use crate::plan::warm::LABEL_WARM_KEY;
use crate::plan::{Role, LABEL_JOB_KEY, LABEL_ROLE, LABEL_RUNNER_ID};

/// One job's (or warm set's) footprint on the engine.
#[derive(Debug, Clone, Default)]
pub struct Footprint {
    /// Whether its job container is running: then the job is live.
    pub live: bool,
    /// Unix seconds of its newest container, network or volume.
    pub newest: i64,
    /// Its containers.
    pub containers: Vec<Listed>,
    /// The names of its volumes.
    pub volumes: Vec<String>,
}

/// Every job with resources on the engine, by job key; only runner `runner_id` when given.
pub async fn footprints(
    engine: &Engine,
    runner_id: Option<&str>,
) -> Result<BTreeMap<String, Footprint>, Failure> {
    grouped(engine, LABEL_JOB_KEY, runner_id).await
}

/// Every warm set on the engine, by warm key; only runner `runner_id` when given.
pub async fn warm_footprints(
    engine: &Engine,
    runner_id: Option<&str>,
) -> Result<BTreeMap<String, Footprint>, Failure> {
    grouped(engine, LABEL_WARM_KEY, runner_id).await
}

/// Resources carrying `group_by`, grouped by its value.
async fn grouped(
    engine: &Engine,
    group_by: &str,
    runner_id: Option<&str>,
) -> Result<BTreeMap<String, Footprint>, Failure> {
    let mut labels = vec![group_by.to_string()];
    if let Some(id) = runner_id {
        labels.push(format!("{LABEL_RUNNER_ID}={id}"));
    }
    let filters = HashMap::from([("label".to_string(), labels.clone())]);
    let mut groups: BTreeMap<String, Footprint> = BTreeMap::new();
    fn note<'a>(
        groups: &'a mut BTreeMap<String, Footprint>,
        group_by: &str,
        labels: &HashMap<String, String>,
        created: i64,
    ) -> Option<&'a mut Footprint> {
        let group = groups.entry(labels.get(group_by)?.clone()).or_default();
        group.newest = group.newest.max(created);
        Some(group)
    }

    for c in super::dind::containers_labelled(engine, &labels).await? {
        // Only the job container says the job is alive: a sibling a socket job left running
        // does not keep its job from being collected.
        let is_job = c.labels.get(LABEL_ROLE).map(String::as_str) == Some(Role::Job.as_str());
        if let Some(group) = note(&mut groups, group_by, &c.labels, c.created) {
            group.live |= is_job && c.running;
            group.containers.push(c);
        }
    }

    let options = ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    let networks = engine.docker.list_networks(Some(options)).await;
    for n in networks.map_err(|e| Failure::system("list networks", e))? {
        let created = n.created.as_deref().and_then(unix_seconds).unwrap_or(0);
        note(
            &mut groups,
            group_by,
            &n.labels.unwrap_or_default(),
            created,
        );
    }

    let options = ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let volumes = engine.docker.list_volumes(Some(options)).await;
    let volumes = volumes.map_err(|e| Failure::system("list volumes", e))?;
    for v in volumes.volumes.unwrap_or_default() {
        let created = v.created_at.as_deref().and_then(unix_seconds).unwrap_or(0);
        if let Some(group) = note(&mut groups, group_by, &v.labels, created) {
            group.volumes.push(v.name);
        }
    }
    Ok(groups)
}

/// Now, in Unix seconds, to compare with what the engine reports.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unix seconds of an RFC 3339 time as the engine writes it (`2026-11-28T09:08:01.123Z`,
/// or with a `+01:00` offset).
pub fn unix_seconds(text: &str) -> Option<i64> {
    let (date, rest) = text.split_once('T')?;
    let mut ymd = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let hms: String = rest.chars().take(8).collect();
    let mut parts = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (parts.next()??, parts.next()??, parts.next()??);
    let zone = rest.trim_end_matches('Z');
    let offset = match zone.rfind(['+', '-']).filter(|i| *i >= 8) {
        Some(i) => {
            let sign = if zone.as_bytes()[i] == b'-' { -1 } else { 1 };
            let (oh, om) = zone[i + 1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
        None => 0,
    };
    Some(days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;

    #[test]
    fn engine_times() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_seconds("2026-11-28T09:08:01.123456789Z"),
            Some(1_795_856_881)
        );
        assert_eq!(
            unix_seconds("2026-11-28T10:08:01+01:00"),
            Some(1_795_856_881)
        );
        assert_eq!(unix_seconds("2000-02-29T12:00:00Z"), Some(951_825_600));
        assert_eq!(unix_seconds("not a time"), None);
    }
}
