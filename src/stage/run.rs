//! `run_exec <script> <stage>`: run one stage script inside the job's containers
//! (`protocol.md` §2.4). The predefined stages that need git and gitlab-runner run in the
//! helper container (`helper.mode: container`), every other stage name, known or not, in the
//! job container; with bash, or sh when the image has no bash, as gitlab-runner's docker
//! executor falls back.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use super::{log_lines, ownership, service_logs};
use crate::docker::{self, Engine, OpenLine};
use crate::env::JobEnv;
use crate::outcome::{say, Failure, StageResult};
use crate::plan::{helper, JobIdentity, JOB_KEY_VARIABLE};
use crate::settings::{HelperMode, Settings};
use crate::signal::{Signals, Stop};

/// How long a signalled stage gets to end before its processes are killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Receives the script on stdin into a file, then runs it. Bash reads a script from a pipe
/// one byte at a time; from a file it reads in blocks, and the script's own commands cannot
/// swallow the rest of it. The TERM handler (not `trap ''`, whose "ignore" bash would inherit)
/// keeps this shell alive when a cancel signals every process, so it reports the script's own
/// exit status: the runner's wrapper turns TERM into `exit 1`.
/// An image without `/tmp` (a `FROM scratch` one) gets one (the `[ -d ]` test is a shell
/// builtin, so the usual case starts no extra process); one whose root is not writable falls
/// back to the home directory.
const STAGE_SHELL: &str = r#"trap 'true' TERM
t=${TMPDIR:-/tmp}; [ -d "$t" ] || mkdir -p "$t" 2>/dev/null
s=$(mktemp "$t/executor-stage.XXXXXX" 2>/dev/null || mktemp "${HOME:-.}/.executor-stage.XXXXXX") && cat > "$s" || exit 1
if command -v bash >/dev/null 2>&1; then bash "$s"; else sh "$s"; fi
rc=$?; rm -f "$s"; exit $rc"#;

/// The shell a stage runs in: it starts from the environment the container's entrypoint set
/// up (`plan::entrypoint`), and a stage of the helper's (sources, caches, artifacts) writes
/// files the job's user can change (`ownership`). In the helper container it also makes sure
/// `gitlab-runner` is callable: the container's keep-alive links it at start, but prepare does
/// not wait for that, so a stage right after prepare could come first.
fn stage_shell(env: &JobEnv, key: &str, stage: &str, in_helper: bool) -> String {
    // The job's key after the recorded environment: a warm job container (`warm.jobs`) was
    // started before the job was known, and its environment names the warm set instead.
    format!(
        "{}\nexport {JOB_KEY_VARIABLE}={key}\n{}{}{STAGE_SHELL}",
        crate::plan::entrypoint::load_env(),
        if in_helper {
            helper::LINK_RUNNER_BINARY
        } else {
            ""
        },
        ownership::umask_line(env, stage)
    )
}

pub async fn run(settings: &Settings, env: &JobEnv, script: &Path, stage: &str) -> StageResult {
    // The services' output shown with `CI_DEBUG_SERVICES` is what they print from here on.
    let started = log_lines::now();
    let facts = super::prepare::trusted_facts(env)?;
    let identity = JobIdentity::resolve(settings, env, facts.as_ref())
        .map_err(|e| Failure::User(e.0))?
        .identity;
    let in_helper =
        matches!(settings.helper_mode, HelperMode::Container) && helper::runs_in_helper(stage);
    let container = match in_helper {
        true => identity.helper_container(),
        false => identity.job_container(),
    };
    let body = std::fs::read(script).map_err(|e| {
        Failure::System(format!(
            "cannot read the {stage} script {}: {e}",
            script.display()
        ))
    })?;
    let engine = Engine::connect(settings)?;
    let mut signals = Signals::install();
    let command = vec![
        "/bin/sh".into(),
        "-c".into(),
        stage_shell(env, &identity.key(), stage, in_helper),
    ];
    if stage == super::limit_hits::LAST_STAGE {
        super::limit_hits::usage_report(&engine, &identity.key()).await;
    }
    let open_line = OpenLine::default();
    let exec = docker::exec_script(&engine, &container, command, body, &open_line);
    let key = identity.key();
    let exec = service_logs::during(settings, env, &engine, &key, started, &open_line, exec);
    tokio::pin!(exec);
    let finished = tokio::select! {
        finished = &mut exec => finished,
        stop = signals.recv() => stop_stage(&engine, &container, stage, stop, exec).await,
    };
    let code = match finished {
        Ok(code) => code,
        Err(failure) => return Err(explain(&engine, env, &container, started, failure).await),
    };
    if code == 0 {
        // The stage passed, but a service or a process of the stage may have been killed.
        super::limit_hits::memory_hits(&engine, env, &key, started).await;
        if in_helper {
            ownership::hand_over(&engine, settings, env, facts.as_ref(), &identity, stage).await?;
        }
        return Ok(());
    }
    let killed_for_memory =
        super::limit_hits::report(&engine, env, &key, &container, in_helper, started).await;
    if container_went_away(&engine, &container, code).await? && !killed_for_memory {
        return Err(Failure::System(format!(
            "container {container} stopped or was removed during the {stage} stage"
        )));
    }
    Err(Failure::Script(code))
}

/// The runner cancels by signalling our process group, which does not reach the script: it
/// runs in the container, under the engine. Signal it there, as the runner's shell expects
/// (its wrapper turns SIGTERM into `exit 1`), wait a little for the stage to end, then kill.
async fn stop_stage(
    engine: &Engine,
    container: &str,
    stage: &str,
    stop: Stop,
    mut exec: Pin<&mut impl Future<Output = Result<i64, Failure>>>,
) -> Result<i64, Failure> {
    say(&format!(
        "{}: stopping the {stage} stage inside container {container}",
        stop.name()
    ));
    docker::signal_all(engine, container, "TERM").await;
    if let Ok(finished) = tokio::time::timeout(STOP_GRACE, &mut exec).await {
        return finished;
    }
    docker::signal_all(engine, container, "KILL").await;
    match tokio::time::timeout(STOP_GRACE, exec).await {
        Ok(finished) => finished,
        Err(_) => Err(Failure::System(format!(
            "the {stage} stage did not stop in container {container} after SIGKILL"
        ))),
    }
}

/// A non-zero code from a container that stopped is the environment failing, not the script
/// (the OOM killer, or a cleanup removing it under a dying run). A container being removed
/// still reports `running` for a moment after its processes were killed, and inspect cannot
/// tell that apart from a live one, so a stage killed by a signal (code above 128) waits
/// briefly to see whether the container goes too, and any failure ends with a probe: a
/// container that cannot run `true` any more is going away.
///
/// The probe runs the job's `true`, which the job may have replaced (issue 11): it is started
/// detached, its output never read, and bounded by [`docker::PROBE_TIME`]. A probe still
/// running then did start, so the container runs processes and the script's own failure
/// stands: calling it a system failure would have the runner retry a hostile job.
async fn container_went_away(engine: &Engine, container: &str, code: i64) -> Result<bool, Failure> {
    if docker::container_running(engine, container).await? != Some(true) {
        return Ok(true);
    }
    if code > 128 {
        let stopped = docker::wait_until_exit(engine, container);
        if tokio::time::timeout(SIGNAL_DEATH_WAIT, stopped)
            .await
            .is_ok()
        {
            return Ok(true);
        }
    }
    let probe = docker::exec_status(engine, container, vec!["true".into()], docker::PROBE_TIME);
    Ok(!matches!(probe.await, Ok(Some(0) | None)))
}

/// How long a stage killed by a signal waits to see whether its container is going away.
const SIGNAL_DEATH_WAIT: Duration = Duration::from_secs(2);

/// Replace the engine's "no such container" with what it means for the job.
async fn explain(
    engine: &Engine,
    env: &JobEnv,
    container: &str,
    started: log_lines::Moment,
    failure: Failure,
) -> Failure {
    match docker::container_running(engine, container).await {
        Ok(None) => Failure::System(format!(
            "container {container} does not exist; prepare did not run for this job or its container was removed"
        )),
        // Gone with a process killed under its own memory limit: the job's to fix.
        Ok(Some(false)) => match super::limit_hits::too_little_memory(engine, env, container, started).await {
            Some(why) => Failure::User(format!("container {container} stopped: {why}")),
            None => Failure::System(format!("container {container} is not running")),
        },
        _ => failure,
    }
}
