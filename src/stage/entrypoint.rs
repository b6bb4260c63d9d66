//! Prepare's wait for a container that starts through an entrypoint: the entrypoint does its
//! set-up, then runs the driver's keep-alive, which records the environment the stages start
//! from (`plan::entrypoint`). Until then a stage would start without that set-up, so prepare
//! waits; an entrypoint that is a tool rather than a wrapper (`ENTRYPOINT ["terraform"]`) never
//! runs the keep-alive but exits at once, and that is the job's mistake, said in one line.

use std::time::Duration;

use crate::docker::{self, Engine};
use crate::outcome::{one_line, Failure, StageResult};
use crate::plan::{entrypoint, shown_name, Plan};

/// How long an entrypoint may take to set up before it runs the keep-alive. The docker
/// executor has no such wait (it attaches the job's shell at once); one that prepares for a
/// minute is waiting on something that will not come.
pub const ENTRYPOINT_LIMIT: Duration = Duration::from_secs(60);

/// How many of the container's last output lines a failure shows.
const TAIL_LINES: usize = 3;

/// Wait for `name`'s entrypoint, if it starts through one (see [`Plan::entrypoint_waits`]).
pub async fn wait(engine: &Engine, plan: &Plan, name: &str, image: &str) -> StageResult {
    let Some((_, runs)) = plan.entrypoint_waits.iter().find(|(n, _)| n == name) else {
        return Ok(());
    };
    let command = vec!["/bin/sh".into(), "-c".into(), entrypoint::wait_for_env()];
    let waiting = docker::exec_status(engine, name, command, ENTRYPOINT_LIMIT);
    let exited = docker::wait_until_exit(engine, name);
    let how = tokio::select! {
        status = waiting => match status {
            Ok(Some(0)) => return Ok(()),
            Ok(None) => return Err(Failure::User(format!(
                "the entrypoint {} of image {} did not run the job's shell within {} s; \
                 fix the entrypoint or set image: entrypoint: [\"\"] to start without it",
                shown(runs),
                shown_name(image),
                ENTRYPOINT_LIMIT.as_secs()
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
    Err(Failure::User(format!(
        "the entrypoint {} of image {} {how} instead of running the job's shell (last output: \
         {tail}); an image whose ENTRYPOINT is a tool, not a wrapper that ends in exec \"$@\", \
         needs image: entrypoint: [\"\"] in the job",
        shown(runs),
        shown_name(image)
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
