//! `run_exec <script> <stage>`: run one stage script inside the job container (`protocol.md`
//! §2.4). Any stage name is accepted; all stages run in the job container with bash (sh when
//! the image has no bash, as gitlab-runner's docker executor falls back).

use std::path::Path;

use crate::docker::{self, Engine};
use crate::env::JobEnv;
use crate::outcome::{Failure, StageResult};
use crate::plan::JobIdentity;
use crate::settings::Settings;

/// Receives the script on stdin into a file, then runs it. Bash reads a script from a pipe
/// one byte at a time; from a file it reads in blocks, and the script's own commands cannot
/// swallow the rest of it.
const STAGE_SHELL: &str = r#"s=$(mktemp "${TMPDIR:-/tmp}/executor-stage.XXXXXX") && cat > "$s" || exit 1
if command -v bash >/dev/null 2>&1; then bash "$s"; else sh "$s"; fi
rc=$?; rm -f "$s"; exit $rc"#;

pub async fn run(settings: &Settings, env: &JobEnv, script: &Path, stage: &str) -> StageResult {
    let identity = JobIdentity::from_env(env).map_err(|e| Failure::User(e.0))?;
    let container = identity.job_container();
    let body = std::fs::read(script).map_err(|e| {
        Failure::System(format!(
            "cannot read the {stage} script {}: {e}",
            script.display()
        ))
    })?;
    let engine = Engine::connect(settings)?;
    let command = vec!["/bin/sh".into(), "-c".into(), STAGE_SHELL.into()];
    let code = match docker::exec_script(&engine, &container, command, body).await {
        Ok(code) => code,
        Err(failure) => return Err(explain(&engine, &container, failure).await),
    };
    if code == 0 {
        return Ok(());
    }
    // A non-zero code from a container that has stopped is the environment failing, not the
    // script (e.g. killed by the OOM killer or removed under us).
    if docker::container_running(&engine, &container).await? != Some(true) {
        return Err(Failure::System(format!(
            "job container {container} stopped during the {stage} stage"
        )));
    }
    Err(Failure::Script(code))
}

/// Replace the engine's "no such container" with what it means for the job.
async fn explain(engine: &Engine, container: &str, failure: Failure) -> Failure {
    match docker::container_running(engine, container).await {
        Ok(None) => Failure::System(format!(
            "job container {container} does not exist; prepare did not run for this job or its container was removed"
        )),
        Ok(Some(false)) => Failure::System(format!("job container {container} is not running")),
        _ => failure,
    }
}
