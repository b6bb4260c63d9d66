//! Where each stage runs, and what makes the builds directory the same everywhere.
//!
//! gitlab-runner's predefined stages need `git` and a `gitlab-runner` binary (`protocol.md`
//! §5.3), which job images rarely have; the docker executor runs them in its helper container.
//! So does executor (`helper.mode: container`), with the builds and cache volumes shared, or, if
//! the admin says so, in the job container with the host's binary mounted read-only.

use crate::env::JobEnv;
use crate::settings::{HelperMode, Mode, Settings};

use super::{JobIdentity, Mount, PlanError};

/// The stages the docker executor runs in its helper container (`getPredefinedEnv`), except
/// `prepare_script`, which runs where the job's own scripts do.
const HELPER_STAGES: [&str; 9] = [
    "get_sources",
    "clear_worktree",
    "restore_cache",
    "download_artifacts",
    "archive_cache",
    "archive_cache_on_failure",
    "upload_artifacts_on_success",
    "upload_artifacts_on_failure",
    "cleanup_file_variables",
];

/// Where the host's gitlab-runner binary appears in `helper.mode: job`: on every image's PATH.
pub const RUNNER_BINARY_TARGET: &str = "/usr/local/bin/gitlab-runner";

/// Whether `stage` runs in the helper container (when there is one). Unknown names run in the
/// job container, as `step_*` and future user stages should.
pub fn runs_in_helper(stage: &str) -> bool {
    HELPER_STAGES.contains(&stage)
}

/// The builds directory the runner is told (`config_exec`) and the containers mount. In socket
/// mode it is a per-job directory on the engine's host, mounted at the same path, so a sibling
/// container started with `-v "$CI_PROJECT_DIR:/src"` (resolved by the host engine) sees the
/// checkout. Elsewhere it is `builds_dir` on a per-job volume.
pub fn builds_dir(settings: &Settings, mode: Mode, identity: &JobIdentity) -> String {
    match mode {
        Mode::Socket => format!(
            "{}/{}",
            settings.socket_builds_host_dir.trim_end_matches('/'),
            identity.key()
        ),
        Mode::Dind | Mode::None => settings.builds_dir.clone(),
    }
}

/// The image of the helper container: `helper.image` with `${CI_RUNNER_VERSION}` (the job's
/// runner) and `${ARCH}` (this machine, named as gitlab-runner's helper tags name it) filled in,
/// and held to `policy.job_images` like every image a job runs.
///
/// `CI_RUNNER_VERSION` is one of the few variables gitlab-runner sets after the job's own, so a
/// job cannot redefine it; it is still read as a version only: the docker executor tags its
/// helper with the `X.Y.Z` it starts with, and so does executor.
pub fn helper_image(settings: &Settings, env: &JobEnv) -> Result<String, PlanError> {
    let template = &settings.helper_image;
    let mut image = template.replace("${ARCH}", arch());
    if image.contains("${CI_RUNNER_VERSION}") {
        let version = env
            .job_var_non_empty("CI_RUNNER_VERSION")
            .and_then(release_version)
            .ok_or_else(|| {
                PlanError(format!(
                    "helper.image {template} needs the runner's release version (X.Y.Z), and \
                     CI_RUNNER_VERSION is not one; set helper.image to an image with git and \
                     gitlab-runner"
                ))
            })?;
        image = image.replace("${CI_RUNNER_VERSION}", version);
    }
    super::policy::check_job_image(settings, &image)
        .map_err(|e| PlanError(format!("helper {}", e.0)))?;
    Ok(image)
}

/// The `X.Y.Z` a runner version starts with (`17.11.0`, `v17.11.0`, `17.11.0~pre.12.gabc`),
/// as gitlab-runner's helper image tags use it; `None` for anything else.
fn release_version(text: &str) -> Option<&str> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let mut end = 0;
    for part in 0..3 {
        let digits = text[end..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        end += digits;
        if part < 2 {
            if text.as_bytes().get(end) != Some(&b'.') {
                return None;
            }
            end += 1;
        }
    }
    Some(&text[..end])
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The job container's extra mount in `helper.mode: job` with a runner binary.
pub fn runner_binary_mount(settings: &Settings) -> Option<Mount> {
    match &settings.helper_mode {
        HelperMode::Job {
            runner_binary: Some(path),
        } => Some(Mount::BindReadOnly {
            source: path.clone(),
            target: RUNNER_BINARY_TARGET.into(),
        }),
        _ => None,
    }
}

/// The helper's keep-alive also makes `gitlab-runner` callable where the image has only
/// `gitlab-runner-helper` (gitlab-runner's helper images): the custom executor's scripts call
/// the former by that name.
pub const LINK_RUNNER_BINARY: &str = "command -v gitlab-runner >/dev/null 2>&1 || { h=$(command -v gitlab-runner-helper) && mkdir -p /usr/local/bin && ln -s \"$h\" /usr/local/bin/gitlab-runner; } 2>/dev/null; ";

#[cfg(test)]
mod tests {
    use super::release_version;

    #[test]
    fn runner_versions_as_helper_tags_use_them() {
        assert_eq!(release_version("17.11.0"), Some("17.11.0"));
        assert_eq!(release_version("v19.4.1"), Some("19.4.1"));
        assert_eq!(release_version("17.11.0~pre.12.gabcdef01"), Some("17.11.0"));
        assert_eq!(release_version("17.11.0-rc1"), Some("17.11.0"));
        for bad in [
            "development version",
            "17.11",
            "1.2.x",
            "../../x",
            "",
            "v",
            "1..2",
        ] {
            assert_eq!(release_version(bad), None, "{bad}");
        }
    }
}
