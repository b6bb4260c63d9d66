//! How the job and helper containers start. As under gitlab-runner's docker executor, a
//! container starts through its image's `ENTRYPOINT` (or the job's `image: entrypoint:`), and
//! whatever that entrypoint sets up (variables exported, a toolchain activated) is what every
//! stage sees. Stages run through `exec`, which starts from the container's configured
//! environment, not the entrypoint's; so the command the entrypoint finally runs, the driver's
//! keep-alive, first records its environment in the container, and each stage's shell starts
//! from that record. With `entrypoint: ignore` the keep-alive is the entrypoint, as before.

use super::{printable_value, ContainerSpec, Entrypoint, PlanError, Settings};
use crate::payload::JobImage;

/// The job's `image: docker: user:`: a user name or id, optionally `:group`, as `docker run
/// --user` takes it. It only changes who the job's own container runs as.
pub fn job_user(image: Option<&JobImage>) -> Result<Option<String>, PlanError> {
    let Some(user) = image.and_then(|i| i.user.as_deref()) else {
        return Ok(None);
    };
    if !plain_user(user) {
        return Err(PlanError(format!(
            "image: docker: user: {} is not a user name or id; use NAME, UID or UID:GID",
            printable_value(user)
        )));
    }
    Ok(Some(user.to_string()))
}

/// Where the keep-alive records its environment, the first that takes it: the container's
/// own root (writable by root only, and no admin volume may be mounted at `/`), then
/// `/dev/shm` (a tmpfs every user may write, with the engine's default IPC), then `/tmp`. All
/// are the container's own: no volume may cover `/tmp` or `/dev/shm` (see
/// `settings::container_paths`), so only its own stages read the record, never another
/// job's, and never the driver.
const ENV_FILES: [&str; 3] = [
    "/.executor-env",
    "/dev/shm/.executor-env",
    "/tmp/.executor-env",
];

/// A user name or id, optionally `:group`, as `docker run --user` takes it: nothing a command
/// line could read as an option or a shell as syntax.
pub fn plain_user(user: &str) -> bool {
    let fine = |c: char| c.is_ascii_alphanumeric() || "_.-:".contains(c);
    !user.is_empty() && user.len() <= 256 && !user.starts_with('-') && user.chars().all(fine)
}

/// How a container starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// `entrypoint: ignore`: the keep-alive alone, the image's entrypoint never runs.
    Ignored,
    /// The job turned it off (`image: entrypoint: [""]`).
    Off,
    /// The job's own entrypoint (`image: entrypoint: [...]`).
    Given(Vec<String>),
    /// The image's `ENTRYPOINT`, if it has one (prepare reads the image to know).
    Image,
}

impl Start {
    /// For the job container: the admin's setting, then the job's choice.
    pub fn for_job(settings: &Settings, image: Option<&JobImage>) -> Start {
        match (settings.entrypoint, image) {
            (Entrypoint::Ignore, _) => Start::Ignored,
            (Entrypoint::Honor, Some(i)) if i.entrypoint_off() => Start::Off,
            (
                Entrypoint::Honor,
                Some(JobImage {
                    entrypoint: Some(list),
                    ..
                }),
            ) => Start::Given(list.clone()),
            (Entrypoint::Honor, _) => Start::Image,
        }
    }

    /// For the helper container: the admin's helper image, whose entrypoint runs unless
    /// `entrypoint: ignore`.
    pub fn for_helper(settings: &Settings) -> Start {
        match settings.entrypoint {
            Entrypoint::Ignore => Start::Ignored,
            Entrypoint::Honor => Start::Image,
        }
    }

    /// The container's entrypoint and command around the shell `keep_alive`.
    pub fn apply(&self, spec: &mut ContainerSpec, keep_alive: &str) {
        let shell = |script: String| vec!["/bin/sh".to_string(), "-c".to_string(), script];
        let recording = shell(format!("{}{keep_alive}", record_env()));
        (spec.entrypoint, spec.cmd) = match self {
            Start::Ignored => (Some(shell(keep_alive.to_string())), None),
            // An empty list (not `None`) is what tells the engine to drop the image's.
            Start::Off => (Some(Vec::new()), Some(shell(keep_alive.to_string()))),
            Start::Given(list) => (Some(list.clone()), Some(recording)),
            Start::Image => (None, Some(recording)),
        };
    }

    /// Whether an entrypoint will run, given the image's own: prepare then waits until it has
    /// run the keep-alive (or failed to).
    pub fn runs_entrypoint(&self, image_entrypoint: &[String]) -> bool {
        match self {
            Start::Ignored | Start::Off => false,
            Start::Given(list) => !list.is_empty(),
            Start::Image => !image_entrypoint.is_empty(),
        }
    }
}

/// The keep-alive's first act: write its environment (what the entrypoint exported) where the
/// stages find it, whole or not at all (written aside, then renamed). `export` is a special
/// builtin, and a failed redirection of one ends a POSIX shell: the braces make a place that
/// cannot take the record a mere failure, so the loop tries the next.
fn record_env() -> String {
    record_env_in(&ENV_FILES)
}

fn record_env_in(files: &[&str]) -> String {
    let files = files.join(" ");
    format!(
        "for f in {files}; do {{ export -p; }} 2>/dev/null > \"$f.new\" && mv -f \"$f.new\" \"$f\" && break; done; "
    )
}

/// A stage shell's first act: start from the recorded environment, if there is one.
pub fn load_env() -> String {
    load_env_from(&ENV_FILES)
}

fn load_env_from(files: &[&str]) -> String {
    let files = files.join(" ");
    format!("for f in {files}; do if [ -r \"$f\" ]; then . \"$f\"; break; fi; done")
}

/// Run in the container by prepare: ends once the keep-alive has recorded the environment.
pub fn wait_for_env() -> String {
    let any: Vec<String> = ENV_FILES.iter().map(|f| format!("[ -e {f} ]")).collect();
    format!(
        "until {}; do sleep 0.05 2>/dev/null || sleep 1; done",
        any.join(" || ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_environment_is_what_a_stage_starts_from() {
        // The same scripts over other paths, run for real: the first place cannot take the
        // record, the second does.
        let dir = tempfile::tempdir().unwrap();
        let second = format!("{}/.executor-env", dir.path().display());
        let files = ["/nonexistent/.executor-env", second.as_str()];
        let (record, load) = (record_env_in(&files), load_env_from(&files));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "export FROM_ENTRYPOINT='a b\nc'; {} true; unset FROM_ENTRYPOINT; {}; printf '%s' \"$FROM_ENTRYPOINT\"",
                record, load
            ))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b\nc");
    }

    #[test]
    fn only_a_real_entrypoint_is_waited_for() {
        let image_has = vec!["/entry.sh".to_string()];
        assert!(Start::Image.runs_entrypoint(&image_has));
        assert!(!Start::Image.runs_entrypoint(&[]));
        assert!(!Start::Off.runs_entrypoint(&image_has));
        assert!(!Start::Ignored.runs_entrypoint(&image_has));
        assert!(Start::Given(vec!["/x".into()]).runs_entrypoint(&[]));
    }
}
