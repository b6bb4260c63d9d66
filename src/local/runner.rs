//! What gitlab-runner would hand the driver for a local job: its environment (`protocol.md`
//! §3), the job payload with the trusted facts, and a fresh script file per stage call.

use std::path::{Path, PathBuf};

use super::gitlab_ci::Image;
use super::vars::LocalIds;
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
        // Written by `write_payload`: the job's identity and trusted facts come from it.
        (
            "JOB_RESPONSE_FILE".to_string(),
            format!("{tmp}/response.json"),
        ),
        (crate::env::LOCAL_RUN.to_string(), "1".to_string()),
    ];
    // The person's own registry credentials, as their Docker client has them.
    for name in ["HOME", "DOCKER_CONFIG", "DOCKER_AUTH_CONFIG"] {
        if let Ok(value) = std::env::var(name) {
            pairs.push((name.to_string(), value));
        }
    }
    pairs.extend(
        variables
            .iter()
            .map(|(k, v)| (format!("CUSTOM_ENV_{k}"), v.clone())),
    );
    JobEnv::from_vars(pairs)
}

/// The job payload gitlab-runner would put in `JOB_RESPONSE_FILE`, so a local run meets the
/// config's policy as a runner job of this project on an unprotected ref would; with the job's
/// services and its variables (public, as a job's `variables:` are) for them. The job's
/// identity comes from `ids` (the run's own, or the person's `--var`), never from the file's
/// `variables:`: GitLab's predefined copies come first in the list, as in a real payload.
pub fn write_payload(
    tmp: &Path,
    ids: &LocalIds,
    variables: &[(String, String)],
    private: &[String],
    image: Option<&Image>,
) -> Result<(), String> {
    let number = |id: &str| id.parse::<u64>().ok();
    let predefined = [
        ("CI_JOB_ID", &ids.job_id),
        ("CI_PROJECT_ID", &ids.project_id),
        ("CI_RUNNER_ID", &ids.runner_id),
        ("CI_PIPELINE_ID", &ids.job_id),
        ("CI_PROJECT_PATH", &ids.project_path),
    ]
    .map(|(k, v)| serde_json::json!({"key": k, "value": v, "public": true}));
    let payload = serde_json::json!({
        "id": number(&ids.job_id),
        "job_info": {
            "project_id": number(&ids.project_id),
            "project_full_path": ids.project_path,
        },
        "git_info": { "protected": false },
        "variables": predefined
            .into_iter()
            .chain(variables.iter().map(|(k, v)| {
                serde_json::json!({"key": k, "value": v, "public": !private.contains(k)})
            }))
            .collect::<Vec<_>>(),
        "services": lookup(variables, "CI_JOB_SERVICES")
            .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
            .unwrap_or_else(|| serde_json::json!([])),
        // The job's `image:` options, as GitLab sends them.
        "image": image.map(|i| serde_json::json!({
            "name": i.name,
            "entrypoint": i.entrypoint,
            "executor_opts": {"docker": {"user": i.user, "platform": i.platform}},
            "pull_policy": i.pull_policy,
        })),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::checkout::Checkout;

    #[test]
    fn var_values_are_private_in_the_payload_so_no_service_gets_them() {
        let tmp = tempfile::tempdir().unwrap();
        let ids = LocalIds::new(&Checkout::fake(Some("main"), None, None));
        let variables = vec![
            ("POSTGRES_DB".to_string(), "app".to_string()),
            ("DEPLOY_TOKEN".to_string(), "from --var".to_string()),
        ];
        write_payload(tmp.path(), &ids, &variables, &["DEPLOY_TOKEN".into()], None).unwrap();
        let facts = crate::payload::load(&tmp.path().join("response.json")).unwrap();
        let public: Vec<&str> = facts
            .public_variables
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert!(public.contains(&"POSTGRES_DB"), "{public:?}");
        assert!(!public.contains(&"DEPLOY_TOKEN"), "{public:?}");
    }
}
