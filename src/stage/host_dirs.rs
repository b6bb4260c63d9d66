//! Socket mode's builds directories (`socket.builds_host_dir`) live on the engine's host. With
//! the engine here they are handled on this disk (`crate::builds_dirs`); with a remote engine,
//! through it: a short-lived container of the helper image (the admin's, never the job's: it
//! sees every socket job's directory) closes the root to other users at prepare and removes
//! the job's directory at cleanup.

use std::time::Duration;

use crate::docker::host_task::{self, HostTask};
use crate::docker::Engine;
use crate::outcome::say;
use crate::plan::Plan;
use crate::settings::Settings;

/// How long one such task may take (a job's checkout may be large to remove).
const TASK_TIME: Duration = Duration::from_secs(120);

/// The image a task runs: the helper's, as prepare found it on the engine.
fn task_image(plan: &Plan) -> Option<&str> {
    let helper = plan.helper.as_ref()?;
    Some(helper.image_id.as_deref().unwrap_or(&helper.image))
}

/// A path the driver may put in single quotes of a shell command.
fn quotable(path: &str) -> bool {
    path.starts_with('/') && !path.contains('\'') && !path.contains('\n')
}

/// The builds root, made and closed to other users (mode 0700) on the engine's host. Through
/// a remote engine that takes a task container (~0.1 s), so once done it is recorded on that
/// engine by an empty volume ([`closed_marker`]) and later prepares skip it; every socket
/// job's cleanup closes the root again in the task that removes its directory, so a root
/// removed and made anew on that host (by the engine, `0755`) is closed by the next cleanup.
pub async fn secure_root(engine: &Engine, settings: &Settings, plan: &Plan) {
    let root = settings.socket_builds_host_dir.trim_end_matches('/');
    if settings.docker_host.is_local() {
        crate::builds_dirs::secure_root(root);
        return;
    }
    let marker = closed_marker(root);
    if crate::docker::dind::volume_exists(engine, &marker.name).await {
        return;
    }
    let Some(image) = task_image(plan).filter(|_| quotable(root)) else {
        say(&format!(
            "cannot close {root} on the engine's host to other users (no helper container to \
             do it with); run `chmod 0700 {root}` there: socket jobs' checkouts are in it"
        ));
        return;
    };
    let task = HostTask {
        image,
        dir: root,
        script: format!("chmod 0700 '{root}'"),
        runner: &plan.identity.runner_id,
        manager: &plan.identity.manager_id,
    };
    let failed = format!(
        "could not close {root} on the engine's host to other users (run `chmod 0700 {root}` \
         there)"
    );
    if ran(engine, task, &failed).await.is_some() {
        // Not recorded is only slower: the next prepare closes it again.
        let _ = crate::docker::create_volume(engine, &marker).await;
    }
}

/// The empty volume that records on an engine that its host's builds root `root` was closed:
/// named after the root (several configs may name several roots), labelled as the driver's
/// but with no job's key, so no gc takes it (`executor gc --all` does not either: it is not a
/// job's). Removing it by hand only makes the next socket prepare close the root again.
pub fn closed_marker(root: &str) -> crate::plan::VolumeSpec {
    // A stable hash (not the std one, whose seed may change between releases).
    let hash = root.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    crate::plan::VolumeSpec {
        name: format!("executor-builds-root-closed-{hash:016x}"),
        labels: std::collections::BTreeMap::from([
            (crate::plan::LABEL_MANAGED.to_string(), "true".to_string()),
            (
                crate::plan::LABEL_ROLE.to_string(),
                "builds-root".to_string(),
            ),
            ("io.executor.builds-root".to_string(), root.to_string()),
        ]),
    }
}

/// Run `task`; its output when it exited 0, else a line saying `failed` and why, and `None`.
async fn ran(engine: &Engine, task: HostTask<'_>, failed: &str) -> Option<String> {
    match host_task::run(engine, task, TASK_TIME).await {
        Ok((0, out)) => Some(out),
        Ok((code, _)) => {
            say(&format!("{failed}: it exited {code}"));
            None
        }
        Err(why) => {
            say(&format!("{failed}: {why}"));
            None
        }
    }
}

/// The job's builds directory `dir` (under the root), removed where it is. Removing a missing
/// one is done.
pub async fn remove(engine: &Engine, settings: &Settings, plan: &Plan, dir: &str) {
    if settings.docker_host.is_local() {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => say(&format!("removed builds directory {dir}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => say(&format!("could not remove builds directory {dir}: {e}")),
        }
        return;
    }
    let root = settings.socket_builds_host_dir.trim_end_matches('/');
    let inside = dir
        .strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| !name.is_empty() && !name.contains('/') && name != "..");
    let Some(image) = task_image(plan).filter(|_| inside && quotable(dir)) else {
        say(&format!(
            "builds directory {dir} is on the engine's host and no helper container can remove \
             it from there; remove it on that host"
        ));
        return;
    };
    // rm does not follow links: a job's link out of its directory takes nothing else along.
    let task = HostTask {
        image,
        dir: root,
        // The root closed again (see `secure_root`).
        script: format!("chmod 0700 '{root}'; rm -rf -- '{dir}'"),
        runner: &plan.identity.runner_id,
        manager: &plan.identity.manager_id,
    };
    let failed = format!("could not remove builds directory {dir} on the engine's host");
    if ran(engine, task, &failed).await.is_some() {
        say(&format!(
            "removed builds directory {dir} on the engine's host"
        ));
    }
}

/// `executor gc`: task containers (above) of `runner` (all runners' without one) whose caller
/// is gone: a cleanup or gc killed mid-task (neither catches SIGTERM) leaves its container,
/// which no job key names. Taken once older than `grace` and ended, or older than the time a
/// live caller gives its task before removing it itself. Returns how many went (or would).
pub async fn sweep_tasks(
    engine: &Engine,
    runner: Option<&str>,
    grace: Duration,
    dry_run: bool,
) -> Result<usize, crate::outcome::Failure> {
    use crate::plan::{LABEL_ROLE, LABEL_RUNNER_ID};
    let mut labels = vec![format!("{LABEL_ROLE}=host-task")];
    if let Some(id) = runner {
        labels.push(format!("{LABEL_RUNNER_ID}={id}"));
    }
    let now = crate::docker::sweep::unix_now();
    let mut gone = 0;
    for task in crate::docker::dind::containers_labelled(engine, &labels).await? {
        let age = Duration::from_secs((now - task.created).max(0) as u64);
        if age < grace || (task.running && age < TASK_TIME * 2) {
            continue;
        }
        if dry_run {
            say(&format!("would remove task container {}", task.name));
        } else {
            crate::docker::remove_container_named(engine, &task.name).await?;
            say(&format!("removed task container {}", task.name));
        }
        gone += 1;
    }
    Ok(gone)
}

/// `executor gc` with a remote engine: the builds directories on the engine's host of
/// `runner`'s jobs (all runners' without one) that `kept` does not hold (jobs with nothing
/// left on the engine) and older than `grace`, listed and removed by short-lived containers of
/// the config's helper image. Returns how many went (or would, with `dry_run`).
pub async fn sweep_remote(
    engine: &Engine,
    settings: &Settings,
    runner: Option<&str>,
    kept: &std::collections::BTreeSet<String>,
    grace: Duration,
    dry_run: bool,
) -> usize {
    let root = settings.socket_builds_host_dir.trim_end_matches('/');
    let image = host_task::admin_image(settings);
    if !quotable(root) {
        say(&format!(
            "builds directories on the engine's host ({root}) are not swept: the path cannot \
             be quoted (remove old ones there by hand)"
        ));
        return 0;
    }
    let prefix = match runner {
        Some(r) => format!("executor-r{r}-"),
        None => "executor-r".to_string(),
    };
    // Only plain directories (a link is not followed), with their age from the host's clock.
    let list = HostTask {
        image,
        dir: root,
        script: format!(
            "cd '{root}' || exit 0; now=$(date +%s); for d in executor-r*; do \
             [ -d \"$d\" ] && [ ! -L \"$d\" ] && echo \"$((now - $(stat -c %Y \"$d\"))) $d\"; \
             done; exit 0"
        ),
        runner: runner.unwrap_or("gc"),
        manager: &settings.manager_id,
    };
    let failed = format!("could not list {root} on the engine's host");
    let Some(listed) = ran(engine, list, &failed).await else {
        return 0;
    };
    let old: Vec<String> = listed
        .lines()
        .filter_map(|line| line.trim().split_once(' '))
        .filter(|(age, name)| {
            name.starts_with(&prefix)
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !kept.contains(*name)
                && age.parse::<u64>().is_ok_and(|s| s >= grace.as_secs())
        })
        .map(|(_, name)| name.to_string())
        .collect();
    if old.is_empty() {
        return 0;
    }
    for name in &old {
        let verb = if dry_run { "would remove" } else { "removing" };
        say(&format!(
            "{verb} builds directory {root}/{name} on the engine's host (its job has nothing left)"
        ));
    }
    if dry_run {
        return old.len();
    }
    let names: Vec<String> = old.iter().map(|n| format!("'{n}'")).collect();
    let remove = HostTask {
        image,
        dir: root,
        script: format!("cd '{root}' && rm -rf -- {}", names.join(" ")),
        runner: runner.unwrap_or("gc"),
        manager: &settings.manager_id,
    };
    match ran(engine, remove, "could not remove them").await {
        Some(_) => old.len(),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::closed_marker;

    #[test]
    fn each_root_has_its_own_stable_marker() {
        let a = closed_marker("/srv/builds");
        assert_eq!(a.name, closed_marker("/srv/builds").name);
        assert_ne!(a.name, closed_marker("/srv/builds2").name);
        assert!(a.name.starts_with("executor-builds-root-closed-"));
        assert!(a
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        assert_eq!(a.labels["io.executor.builds-root"], "/srv/builds");
    }
}
