//! Prepare's wait for a container that starts through an entrypoint: the entrypoint does its
//! set-up, then runs the driver's keep-alive, which records the environment the stages start
//! from (`plan::entrypoint`). Until then a stage would start without that set-up, so prepare
//! waits; an entrypoint that is a tool rather than a wrapper (`ENTRYPOINT ["terraform"]`) never
//! runs the keep-alive but exits at once, and that is the job's mistake, said in one line.

use std::time::Duration;

use crate::docker::{self, Engine};
use crate::outcome::{one_line, Failure, StageResult};
use crate::plan::{entrypoint, shown_name, ContainerSpec, Plan, Role};

/// How long an entrypoint may take to set up before it runs the keep-alive. The docker
/// executor has no such wait (it attaches the job's shell at once); one that prepares for a
/// minute is waiting on something that will not come.
pub const ENTRYPOINT_LIMIT: Duration = Duration::from_secs(60);

/// How many of the container's last output lines a failure shows.
const TAIL_LINES: usize = 3;

/// Whose an entrypoint is: the job's image (the job's to fix, with `image: entrypoint:`) or
/// the helper image (the admin's, in the driver's config).
struct Owner {
    fault: fn(String) -> Failure,
    fix: &'static str,
}

const JOBS: Owner = Owner {
    fault: Failure::User,
    fix: "set image: entrypoint: [\"\"] in the job to start without it",
};

const HELPERS: Owner = Owner {
    fault: Failure::System,
    fix: "set entrypoint: ignore in the driver's config, or use a helper.image whose entrypoint \
          ends in exec \"$@\"",
};

/// Wait for `container`'s entrypoint, if it starts through one (see
/// [`Plan::entrypoint_waits`]).
pub async fn wait(engine: &Engine, plan: &Plan, container: &ContainerSpec) -> StageResult {
    let (name, image) = (container.name.as_str(), container.image.as_str());
    let Some((_, runs)) = plan.entrypoint_waits.iter().find(|(n, _)| n == name) else {
        return Ok(());
    };
    let owner = match container.role {
        Role::Helper => &HELPERS,
        _ => &JOBS,
    };
    let command = vec!["/bin/sh".into(), "-c".into(), entrypoint::wait_for_env()];
    let waiting = docker::exec_status(engine, name, command, ENTRYPOINT_LIMIT);
    let exited = docker::wait_until_exit(engine, name);
    let how = tokio::select! {
        status = waiting => match status {
            Ok(Some(0)) => return Ok(()),
            Ok(None) => return Err((owner.fault)(format!(
                "the entrypoint {} of image {} did not run the job's shell within {} s; \
                 fix the entrypoint or {}",
                shown(runs),
                shown_name(image),
                ENTRYPOINT_LIMIT.as_secs(),
                owner.fix
            ))),
            // The exec failed or ended early: most likely the container is gone.
            _ => match docker::container_running(engine, name).await? {
                Some(true) => return Err(Failure::System(format!(
                    "could not check that container {name}'s entrypoint ran the job's shell"
                ))),
                _ => docker::wait_until_exit(engine, name).await,
            },
        },
        how = exited => how,
    };
    let tail = one_line(docker::logs_tail(engine, name, TAIL_LINES).await.trim());
    let tail: String = tail.chars().take(300).collect();
    Err((owner.fault)(format!(
        "the entrypoint {} of image {} {how} instead of running the job's shell (last output: \
         {tail}); an image whose ENTRYPOINT is a tool, not a wrapper that ends in exec \"$@\", \
         cannot start this way: {}",
        shown(runs),
        shown_name(image),
        owner.fix
    )))
}

/// An entrypoint as the job log shows it: escaped, each part cut, at most four parts.
fn shown(runs: &[String]) -> String {
    let cut = |p: &String| -> String { one_line(p).chars().take(80).collect() };
    let mut parts: Vec<String> = runs.iter().take(4).map(cut).collect();
    if runs.len() > 4 {
        parts.push("…".into());
    }
    format!("[{}]", parts.join(", "))
}
