//! What gitlab-runner would hand the driver for a local job: its environment (`protocol.md`
//! §3), the job payload with the trusted facts, and a fresh script file per stage call.

use std::path::{Path, PathBuf};

use crate::env::JobEnv;

/// The environment gitlab-runner gives a driver (`protocol.md` §3), for these variables.
pub fn runner_env(variables: &[(String, String)], tmp: &Path) -> JobEnv {
    let tmp = tmp.display().to_string();
    let mut pairs = vec![
        ("TMPDIR".to_string(), tmp.clone()),
        ("BUILD_FAILURE_EXIT_CODE".to_string(), "1".to_string()),
        ("SYSTEM_FAILURE_EXIT_CODE".to_string(), "2".to_string()),
        (
            "BUILD_EXIT_CODE_FILE".to_string(),
            format!("{tmp}/build_exit_code"),
        ),
    ];
    pairs.extend(
        variables
            .iter()
            .map(|(k, v)| (format!("CUSTOM_ENV_{k}"), v.clone())),
    );
    JobEnv::from_vars(pairs)
}

/// The trusted facts gitlab-runner would put in `JOB_RESPONSE_FILE`, so a local run meets the
/// config's policy as a runner job of this project on an unprotected ref would; with the job's
/// services and its variables (public, as a job's `variables:` are) for them.
pub fn write_payload(
    tmp: &Path,
    variables: &[(String, String)],
    private: &[String],
) -> Result<(), String> {
    let id: u64 = lookup(variables, "CI_PROJECT_ID")
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    let payload = serde_json::json!({
        "job_info": {
            "project_id": id,
            "project_full_path": lookup(variables, "CI_PROJECT_PATH"),
        },
        "git_info": { "protected": false },
        "variables": variables
            .iter()
            .map(|(k, v)| serde_json::json!({"key": k, "value": v, "public": !private.contains(k)}))
            .collect::<Vec<_>>(),
        "services": lookup(variables, "CI_JOB_SERVICES")
            .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
            .unwrap_or_else(|| serde_json::json!([])),
    });
    std::fs::write(tmp.join("response.json"), payload.to_string())
        .map_err(|e| format!("cannot write the job payload: {e}"))
}

pub fn lookup(variables: &[(String, String)], name: &str) -> Option<String> {
    variables
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// A fresh `scriptNNN/script` per call, mode 0700, as the runner writes them.
pub fn write_script(tmp: &Path, stage: &str, text: &str) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("script")
        .tempdir_in(tmp)
        .map_err(|e| format!("cannot write the {stage} script: {e}"))?
        .keep();
    let path = dir.join("script");
    std::fs::write(&path, text).map_err(|e| format!("cannot write the {stage} script: {e}"))?;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700));
    Ok(path)
}
