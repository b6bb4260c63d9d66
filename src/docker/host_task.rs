//! A short-lived container that does one thing on the engine's host for the driver: make or
//! remove a socket job's builds directory when the engine is not on this host (nothing of the
//! engine's host is on the manager's disk). It runs an image of the admin's (never the job's:
//! it sees the directory every socket job's builds live in), with the driver's fixed command,
//! no network, small limits, and is removed when done or when its time is up.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::query_parameters::RemoveContainerOptionsBuilder;

use super::Engine;
use crate::plan::{ContainerSpec, Mount, Role, LABEL_MANAGED, LABEL_ROLE, LABEL_RUNNER_ID};

/// One task: `script` run by `/bin/sh -c` in `image`, with the engine host's `dir` mounted at
/// the same path (made by the engine if missing), or with `volume:NAME` mounted read-only at
/// [`VOLUME_TARGET`].
pub struct HostTask<'a> {
    pub image: &'a str,
    pub dir: &'a str,
    pub script: String,
    /// The runner whose task it is (for `executor gc`'s and the tests' look at leftovers).
    pub runner: &'a str,
    /// The runner manager (`runner.manager_id`): part of the task's name, as of every name.
    pub manager: &'a str,
}

/// Where a task sees a volume it measures.
pub const VOLUME_TARGET: &str = "/executor-volume";

/// The size of volume `name` on the engine's host (`du -skx` in a task container of `image`),
/// within `within`; a volume that takes longer (a job can fill one with millions of entries)
/// counts as too large, as on this host.
pub async fn volume_size(
    engine: &Engine,
    image: &str,
    name: &str,
    (runner, manager): (&str, &str),
    within: Duration,
) -> Result<u64, crate::disk::Unmeasured> {
    let dir = format!("volume:{name}");
    let task = HostTask {
        image,
        dir: &dir,
        // Its errors (they name the job's files) left out: the total alone is read.
        script: format!("du -skx {VOLUME_TARGET} 2>/dev/null"),
        runner,
        manager,
    };
    let answer = du_answer(run(engine, task, within).await);
    unmade_by_mount(engine, name).await;
    answer
}

/// A volume gone between its listing and its measuring is made anew, empty, by the task's
/// mount: such a one carries none of the driver's labels (every volume of a job does), and
/// goes again.
async fn unmade_by_mount(engine: &Engine, name: &str) {
    let Ok(volume) = engine.docker.inspect_volume(name).await else {
        return;
    };
    let ours = volume
        .labels
        .keys()
        .any(|key| key.starts_with(crate::plan::LABEL_PREFIX));
    if !ours {
        let _ = super::dind::remove_volume_named(engine, name).await;
    }
}

/// What a `du -skx` task's end says of the volume's size. The volume's contents are a job's:
/// a `du` that ran out of time, was killed (its memory limit: GNU `du` remembers every
/// hard-linked file, and a job can make millions) or met entries it could not read counts as
/// too large, as this host's walk counts a tree past its caps; not to have measured at all
/// (no image, no `du`) is no answer.
fn du_answer(ended: Result<(i64, String), String>) -> Result<u64, crate::disk::Unmeasured> {
    use crate::disk::Unmeasured;
    match ended {
        Ok((0, out)) => crate::disk::du_kib(&out),
        // SIGKILL: the memory limit (or the engine's OOM killer).
        Ok((137, _)) => Err(Unmeasured::TooLarge),
        // It walked, and could not reach everything (a path past PATH_MAX, which a job can
        // make to put a cache's bulk out of busybox `du`'s reach): its total is only a part.
        Ok((_, out)) if crate::disk::du_kib(&out).is_ok() => Err(Unmeasured::TooLarge),
        Ok(_) => Err(Unmeasured::NotHere),
        Err(why) if why.starts_with("did not finish") => Err(Unmeasured::TooLarge),
        Err(_) => Err(Unmeasured::NotHere),
    }
}

/// The most output lines of a task kept (one per builds directory in gc's listing).
const OUTPUT_LINES: usize = 4096;

/// Run it; its exit code and output (its last [`OUTPUT_LINES`] lines, read bounded), or why
/// it did not run to its end.
pub async fn run(
    engine: &Engine,
    task: HostTask<'_>,
    within: Duration,
) -> Result<(i64, String), String> {
    let name = format!(
        "{}-task-{}-{}",
        crate::plan::runner_stem(task.runner, task.manager),
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos()
    );
    let mount = match task.dir.strip_prefix("volume:") {
        Some(volume) => Mount::Volume {
            name: volume.to_string(),
            target: VOLUME_TARGET.to_string(),
            read_only: true,
        },
        None => Mount::HostDir {
            path: task.dir.to_string(),
        },
    };
    let mut spec = ContainerSpec::tool(
        name.clone(),
        Role::Helper,
        task.image,
        task.script,
        "none",
        vec![mount],
        BTreeMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_ROLE.to_string(), "host-task".to_string()),
            (LABEL_RUNNER_ID.to_string(), task.runner.to_string()),
        ]),
    );
    spec.user = Some("0".into());
    let ran = async {
        super::create_container(engine, &spec)
            .await
            .map_err(|e| e.to_string())?;
        super::start_container(engine, &name)
            .await
            .map_err(|e| e.to_string())?;
        let how = super::wait_until_exit(engine, &name).await;
        let code = how
            .strip_prefix("exited with code ")
            .and_then(|code| code.parse::<i64>().ok())
            .ok_or(how)?;
        Ok((code, super::logs_tail(engine, &name, OUTPUT_LINES).await))
    };
    let result = match tokio::time::timeout(within, ran).await {
        Ok(result) => result,
        Err(_) => Err(format!("did not finish within {} s", within.as_secs())),
    };
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let _ = engine.docker.remove_container(&name, Some(options)).await;
    result
}

/// The image a task runs without a job at hand (gc, doctor): the config's helper image, or,
/// where that names `${…}` variables only a job resolves, its dind image (the admin's too).
pub fn admin_image(settings: &crate::settings::Settings) -> &str {
    match settings.helper_image.contains('$') {
        false => &settings.helper_image,
        true => &settings.dind_image,
    }
}

/// The size of volume `name`: read on this host's disk at `mountpoint` when the engine is
/// here; through the engine otherwise, in a task of [`admin_image`].
pub async fn measure_volume(
    engine: &Engine,
    settings: &crate::settings::Settings,
    name: &str,
    mountpoint: &str,
) -> Result<u64, crate::disk::Unmeasured> {
    if settings.docker_host.is_local() {
        let deadline = std::time::Instant::now() + crate::disk::MEASURE_TIME;
        return crate::disk::usage(std::path::Path::new(mountpoint), deadline);
    }
    let image = admin_image(settings);
    let runner = settings.runner_id.as_deref().unwrap_or("gc");
    let who = (runner, settings.manager_id.as_str());
    volume_size(engine, image, name, who, crate::disk::MEASURE_TIME).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::Unmeasured;

    #[test]
    fn a_du_killed_or_out_of_time_counts_as_too_large() {
        assert_eq!(
            du_answer(Ok((0, "12\t/executor-volume\n".into()))),
            Ok(12 * 1024)
        );
        assert_eq!(du_answer(Ok((0, "".into()))), Err(Unmeasured::NotHere));
        assert_eq!(du_answer(Ok((137, "".into()))), Err(Unmeasured::TooLarge));
        assert_eq!(
            du_answer(Err("did not finish within 30 s".into())),
            Err(Unmeasured::TooLarge)
        );
        // A du that walked and met errors (busybox's on a path past PATH_MAX, where a job can
        // put a cache's bulk out of its reach) gives only part of the size: too large, as the
        // local walk counts such a path.
        assert_eq!(
            du_answer(Ok((1, "3248\t/executor-volume\n".into()))),
            Err(Unmeasured::TooLarge)
        );
        // No du in the image, or no image: not measured, not taken as over a cap.
        assert_eq!(du_answer(Ok((127, "".into()))), Err(Unmeasured::NotHere));
        assert_eq!(
            du_answer(Err("No such image: docker:dind".into())),
            Err(Unmeasured::NotHere)
        );
    }
}
