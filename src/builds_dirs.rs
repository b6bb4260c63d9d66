//! Socket mode's builds directories on the engine's host (`socket.builds_host_dir`): one per
//! job, bind-mounted into its containers, holding its checkout and the file-type variables
//! (secrets) gitlab-runner writes beside it. The helper's stages write there with `umask 0000`,
//! so the directory above them must let no other local user in; and a job whose cleanup never
//! ran must not leave its directory for good.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::outcome::say;

/// Make sure the directory holding socket jobs' builds exists and is the driver's (root's)
/// alone: the engine would create it `0755` on first bind. Said, not fatal, when it cannot be
/// (a driver not running as root): the jobs still run.
pub fn secure_root(root: &str) {
    let path = Path::new(root);
    if let Err(e) = std::fs::create_dir_all(path) {
        say(&format!(
            "could not create {root} ({e}); socket jobs' builds go there"
        ));
        return;
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)) {
                say(&format!(
                    "{root} is open to other users and could not be closed ({e}); \
                     run `chmod 0700 {root}`: socket jobs' checkouts and secrets are in it"
                ));
            }
        }
        Ok(_) => {}
        Err(e) => say(&format!("could not read {root} ({e})")),
    }
}

/// Builds directories of jobs that have nothing left on the engine (a cleanup that never ran
/// to its end), older than `grace`, of runner `runner` when given: removed (or, with
/// `dry_run`, named). Only names the driver makes (`executor-r<runner>-...`) are touched,
/// never followed: `remove_dir_all` does not follow links.
pub fn sweep(
    root: &str,
    runner: Option<&str>,
    has_resources: impl Fn(&str) -> bool,
    grace: Duration,
    dry_run: bool,
) -> usize {
    let prefix = match runner {
        Some(r) => format!("executor-r{r}-"),
        None => "executor-r".to_string(),
    };
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&prefix) || has_resources(&name) {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        // A link is a job's name for an adopted warm job set's directory (`warm.jobs`).
        let link = meta.file_type().is_symlink();
        if !(meta.is_dir() || link) || age < grace {
            continue;
        }
        let dir = entry.path().display().to_string();
        if dry_run {
            say(&format!(
                "would remove builds directory {dir} (its job has nothing left)"
            ));
            removed += 1;
            continue;
        }
        let gone = match link {
            true => std::fs::remove_file(entry.path()),
            false => std::fs::remove_dir_all(entry.path()),
        };
        match gone {
            Ok(()) => {
                say(&format!(
                    "removed builds directory {dir} (its job has nothing left)"
                ));
                removed += 1;
            }
            Err(e) => say(&format!("could not remove builds directory {dir}: {e}")),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_orphaned_directories_of_the_runner_go() {
        let root = tempfile::tempdir().unwrap();
        let root_s = root.path().display().to_string();
        for name in [
            "executor-r7-p1-c0-j1",
            "executor-r7-p1-c0-j2",
            "executor-r8-p1-c0-j3",
            "other",
        ] {
            std::fs::create_dir(root.path().join(name)).unwrap();
            std::fs::write(root.path().join(name).join("f"), "x").unwrap();
        }
        // A link named like a job's directory (an adopted warm job set's, `warm.jobs`) is
        // removed, never followed.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("executor-r7-p1-c0-j4"))
            .unwrap();
        let live = |key: &str| key == "executor-r7-p1-c0-j2";
        assert_eq!(
            sweep(&root_s, Some("7"), live, Duration::from_secs(3600), false),
            0
        );
        assert_eq!(sweep(&root_s, Some("7"), live, Duration::ZERO, true), 2);
        assert_eq!(sweep(&root_s, Some("7"), live, Duration::ZERO, false), 2);
        let left: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !left.contains(&"executor-r7-p1-c0-j1".to_string()),
            "{left:?}"
        );
        for kept in ["executor-r7-p1-c0-j2", "executor-r8-p1-c0-j3", "other"] {
            assert!(left.contains(&kept.to_string()), "{kept}: {left:?}");
        }
        assert!(!left.contains(&"executor-r7-p1-c0-j4".to_string()));
        assert!(outside.path().join("keep").exists());
    }

    #[test]
    fn the_root_is_made_the_drivers_alone() {
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join("builds");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        secure_root(&root.display().to_string());
        let mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let fresh = parent.path().join("new/builds");
        secure_root(&fresh.display().to_string());
        assert!(fresh.is_dir());
    }
}
