//! `dind.login`: the job's Docker client starts logged in with the job's own registry logins
//! (GitLab's registry with the job's token, the `auths` of its `DOCKER_AUTH_CONFIG`), so
//! `docker push "$CI_REGISTRY_IMAGE"` needs no `docker login` line. The logins go to a
//! `config.json` in a tmpfs of the job container only (`DOCKER_CONFIG`), written through the
//! command's stdin: never in an image layer, a label, an argument, or the sidecar's or any
//! container's environment.

use std::time::Duration;

use crate::docker::{self, Engine};
use crate::env::JobEnv;
use crate::outcome::{Failure, StageResult};
use crate::plan::Plan;
use crate::registry;

/// A file write; the container's shell answers at once.
const WRITE_TIME: Duration = Duration::from_secs(20);

/// Write the job's logins, when the plan asks for them, as the job container's own user (the
/// file is theirs, readable by no one else).
pub async fn give(engine: &Engine, env: &JobEnv, plan: &Plan) -> StageResult {
    let Some(dir) = &plan.login_dir else {
        return Ok(());
    };
    let facts = super::prepare::trusted_facts(env)?;
    let payload = facts.map(|f| f.registry_credentials).unwrap_or_default();
    let logins = registry::job_logins(env, &payload);
    if logins.is_empty() {
        return Ok(());
    }
    let config = registry::client_config(&logins);
    let cmd = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        "umask 077 && cat > \"$0/config.json\"".to_string(),
        dir.clone(),
    ];
    let name = &plan.job.name;
    match docker::exec_with_input(engine, name, cmd, config.into_bytes(), WRITE_TIME).await? {
        Some(0) => Ok(()),
        // The job's image (its shell, its user) decides whether this works.
        other => Err(Failure::User(format!(
            "could not write the job's registry logins to {dir} in container {name} ({}); \
             dind.login needs /bin/sh and cat in the job image",
            match other {
                Some(code) => format!("the shell exited {code}"),
                None => "no answer".into(),
            }
        ))),
    }
}
