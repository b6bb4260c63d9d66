//! Files the helper's stages write (the checkout, caches, artifacts) must be the job's to
//! change, whatever user its image runs as. As gitlab-runner's docker executor does, those
//! stages run with `umask 0000`; with `FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR` set for the job,
//! they keep the default umask and the builds directory is handed to the job image's user and
//! group after each of them instead.

use std::time::Duration;

use crate::docker::{self, Engine};
use crate::env::JobEnv;
use crate::outcome::{Failure, StageResult};
use crate::payload::TrustedFacts;
use crate::plan::{self, helper, JobIdentity};
use crate::settings::Settings;

/// The job variable that turns the helper stages' `umask 0000` off, as gitlab-runner's docker
/// executor reads it.
pub const FF_DISABLE_UMASK: &str = "FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR";

/// The helper stages after which the docker executor hands files over (they create them).
const HANDED_OVER_AFTER: [&str; 3] = ["get_sources", "restore_cache", "download_artifacts"];

/// How long finding the user and handing over may take. `chown -R` of a large checkout is
/// fast on a local volume; a minute means the job's container is not answering.
const HAND_OVER_TIME: Duration = Duration::from_secs(60);

/// A feature flag set for the job, read as gitlab-runner reads one (`strconv.ParseBool`).
pub fn feature_flag(env: &JobEnv, name: &str) -> bool {
    matches!(
        env.job_var(name),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True")
    )
}

/// The line a stage's shell starts with: `umask 0000` for the helper's stages, unless the job
/// asked for the hand-over instead.
pub fn umask_line(env: &JobEnv, stage: &str) -> &'static str {
    if helper::runs_in_helper(stage) && !feature_flag(env, FF_DISABLE_UMASK) {
        "umask 0000\n"
    } else {
        ""
    }
}

/// After a stage that ran in the helper container, with the feature flag set: give the
/// builds directory to the user and group the job container runs as (`id -u`, `id -g` there;
/// root needs nothing). Only the job's own builds directory is touched, by its driver-chosen
/// path; what `id` prints is the job's, so it is read bounded and must be two numbers.
pub async fn hand_over(
    engine: &Engine,
    settings: &Settings,
    env: &JobEnv,
    facts: Option<&TrustedFacts>,
    identity: &JobIdentity,
    stage: &str,
) -> StageResult {
    if !feature_flag(env, FF_DISABLE_UMASK) || !HANDED_OVER_AFTER.contains(&stage) {
        return Ok(());
    }
    let job = identity.job_container();
    let id = |flag: &str| {
        let cmd = vec!["id".to_string(), flag.to_string()];
        docker::exec_output(engine, &job, cmd, HAND_OVER_TIME)
    };
    let (uid, gid) = futures_util::try_join!(id("-u"), id("-g"))?;
    let number = |(code, out): (i64, String)| -> Result<u32, Failure> {
        out.trim()
            .parse::<u32>()
            .ok()
            .filter(|_| code == 0)
            .ok_or_else(|| {
                Failure::User(format!(
                    "{FF_DISABLE_UMASK} is set but the job container's user has no numeric id \
                     (`id -u`/`id -g`); unset the flag or give the image a user"
                ))
            })
    };
    let (uid, gid) = (number(uid)?, number(gid)?);
    if uid == 0 {
        return Ok(());
    }
    let mode = plan::choose_mode(settings, env, facts).map_err(|e| Failure::User(e.0))?;
    let builds = helper::builds_dir(settings, mode, identity);
    let chown = vec![
        "chown".into(),
        "-R".into(),
        format!("{uid}:{gid}"),
        builds.clone(),
    ];
    // What the job put in its builds directory decides how this goes (a file chown cannot
    // change, millions of files): the job's to fix, not the runner's to retry.
    match docker::exec_status(engine, &identity.helper_container(), chown, HAND_OVER_TIME).await? {
        Some(0) => Ok(()),
        Some(code) => Err(Failure::User(format!(
            "handing {builds} to {uid}:{gid} after {stage} failed (chown exited {code}); \
             unset {FF_DISABLE_UMASK} or check what the job leaves there"
        ))),
        None => Err(Failure::User(format!(
            "handing {builds} to {uid}:{gid} after {stage} took longer than {} s; unset \
             {FF_DISABLE_UMASK} or leave fewer files there",
            HAND_OVER_TIME.as_secs()
        ))),
    }
}
