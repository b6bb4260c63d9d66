//! Files a local run moves between jobs and runs, where gitlab-runner would upload and download
//! them through GitLab: `artifacts:` (and `reports:dotenv`) of a finished job into the jobs
//! that need or depend on it, `cache:` paths into the user's cache dir and back.
//!
//! Out: the driver lists the files of the job's project dir in the job's container
//! (`find`), picks the ones asked for on this side ([`select`]), and reads a tar archive of
//! exactly those back (`tar -T -`), bounded in size and time; nothing the job made is ever
//! unpacked, followed or written on this machine (a dotenv file is parsed in memory, a cache is
//! kept as one opaque `.tar`). In: the archive travels base64 inside a stage script
//! (`download_artifacts`, `restore_cache`), the way the checkout does in `get_sources`.
//! Tools the job image needs for it: `sh`, `find`, `tar` (GNU or busybox).

pub mod dotenv;
pub mod select;
mod steps;

use std::cell::RefCell;
use std::time::Duration;

use crate::docker::{self, Engine};
use crate::env::JobEnv;
use crate::plan::JobIdentity;
use crate::settings::Settings;
use select::Wanted;

pub use steps::Carry;

/// The largest artifacts archive a local run moves; it travels inside a stage script.
pub const MAX_ARTIFACTS: usize = 64 << 20;
/// The most a file list from the job's project dir may take.
const MAX_LIST: usize = 8 << 20;
/// How long listing or archiving may take.
const READ_TIME: Duration = Duration::from_secs(300);

/// What a finished job hands on: its artifacts archive and its dotenv variables.
#[derive(Debug, Default, Clone)]
pub struct Output {
    pub archive: Option<Vec<u8>>,
    pub dotenv: Vec<(String, String)>,
}

/// A job's container and project dir, to read files from.
pub struct Source<'a> {
    pub settings: &'a Settings,
    pub env: &'a JobEnv,
    pub project_dir: &'a str,
    /// The paths that came with the checkout (for `untracked:`), filled in when first needed.
    pub tracked: &'a RefCell<Option<std::collections::HashSet<String>>>,
    pub checkout: &'a super::checkout::Checkout,
}

impl Source<'_> {
    /// A tar archive of the files `wanted` picks (`None` when it picks none), with notes for
    /// the person (patterns outside the project, names a tar list cannot carry).
    pub async fn archive(
        &self,
        wanted: &Wanted<'_>,
        cap: usize,
    ) -> Result<(Option<Vec<u8>>, Vec<String>), String> {
        let (engine, container) = self.container()?;
        let dir = sh_quote(self.project_dir);
        let listing = match select::roots(wanted) {
            None => format!("cd -- {dir} && find . ! -type d -print0"),
            // Every pattern leaves the project dir: nothing to list.
            Some(roots) if roots.is_empty() => "true".to_string(),
            Some(roots) => {
                let roots: Vec<String> =
                    roots.iter().map(|r| sh_quote(&format!("./{r}"))).collect();
                format!(
                    "cd -- {dir} && for p in {}; do if [ -e \"$p\" ] || [ -L \"$p\" ]; then find \"$p\" ! -type d -print0; fi; done",
                    roots.join(" ")
                )
            }
        };
        let (code, listed) = docker::exec_read(
            &engine,
            &container,
            sh(&listing),
            Vec::new(),
            MAX_LIST,
            READ_TIME,
        )
        .await
        .map_err(|e| format!("cannot list the project dir's files: {e}"))?;
        if code != 0 {
            return Err(format!("listing the project dir's files failed (exit code {code}); the job image needs `find`"));
        }
        let listed: Vec<String> = listed
            .split(|b| *b == 0)
            .filter_map(|p| std::str::from_utf8(p).ok())
            .filter_map(|p| p.strip_prefix("./"))
            .map(str::to_string)
            .collect();
        // Overlapping roots (`out` and `out/sub`) list a file twice.
        let mut seen = std::collections::HashSet::new();
        let listed: Vec<String> = listed
            .into_iter()
            .filter(|p| seen.insert(p.clone()))
            .collect();
        if wanted.untracked && self.tracked.borrow().is_none() {
            let files = self.checkout.files().unwrap_or_default();
            let set = files
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            *self.tracked.borrow_mut() = Some(set);
        }
        let (taken, outside) = {
            let tracked = self.tracked.borrow();
            let is_tracked = |f: &str| tracked.as_ref().is_some_and(|t| t.contains(f));
            select::select(&listed, wanted, &is_tracked)
        };
        let mut notes: Vec<String> = outside
            .iter()
            .map(|p| format!("`{p}` is outside the project dir; nothing taken for it"))
            .collect();
        // A tar list is one name a line, and GNU tar reads backslashes in it as escapes.
        let (odd, plain): (Vec<&str>, Vec<&str>) =
            taken.into_iter().partition(|p| p.contains(['\n', '\\']));
        notes.extend(odd.iter().map(|p| {
            format!(
                "`{}` has a newline or backslash in its name; left out",
                p.escape_debug()
            )
        }));
        if plain.is_empty() {
            return Ok((None, notes));
        }
        let list: String = plain.iter().map(|p| format!("./{p}\n")).collect();
        let tar = format!("cd -- {} && tar -cf - -T -", sh_quote(self.project_dir));
        let (code, archive) = docker::exec_read(
            &engine,
            &container,
            sh(&tar),
            list.into_bytes(),
            cap,
            READ_TIME,
        )
        .await
        .map_err(|e| e.to_string())?;
        if code != 0 {
            return Err(format!(
                "archiving {} files failed (tar exit code {code})",
                plain.len()
            ));
        }
        Ok((Some(archive), notes))
    }

    fn container(&self) -> Result<(Engine, String), String> {
        let facts = crate::stage::prepare::trusted_facts(self.env).map_err(|e| e.to_string())?;
        let identity = JobIdentity::resolve(self.settings, self.env, facts.as_ref())
            .map_err(|e| e.0)?
            .identity;
        let engine = Engine::connect(self.settings).map_err(|e| e.to_string())?;
        Ok((engine, identity.job_container()))
    }
}

/// The variables of the dotenv files in `archive` (regular files only, each read bounded).
/// GitLab keeps one dotenv report per job, however many files make it, and its limits (5 KiB,
/// 20 variables) are the report's: so they bound the files together here too, or a job
/// listing thousands of files would hand on thousands of variables.
pub fn dotenv_from(archive: &[u8], files: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut variables = Vec::new();
    let mut total = 0usize;
    let mut tar = tar::Archive::new(archive);
    let entries = tar
        .entries()
        .map_err(|e| format!("unreadable archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("unreadable archive: {e}"))?;
        let path = entry
            .path()
            .map(|p| p.to_string_lossy().trim_start_matches("./").to_string());
        let Ok(path) = path else { continue };
        if !entry.header().entry_type().is_file()
            || !files.iter().any(|f| f.trim_start_matches("./") == path)
        {
            continue;
        }
        if entry.size() > dotenv::MAX_BYTES as u64 {
            return Err(format!(
                "`{path}` is {} bytes; GitLab accepts at most {}",
                entry.size(),
                dotenv::MAX_BYTES
            ));
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut entry, dotenv::MAX_BYTES as u64 + 1),
            &mut bytes,
        )
        .map_err(|e| format!("cannot read `{path}`: {e}"))?;
        total += bytes.len();
        if total > dotenv::MAX_BYTES {
            return Err(format!(
                "the report's files hold more than {} bytes together; GitLab accepts at most \
                 that",
                dotenv::MAX_BYTES
            ));
        }
        let read = dotenv::parse(&bytes).map_err(|m| format!("`{path}` {m}"))?;
        for (key, value) in read {
            crate::local::expand::set(&mut variables, &key, &value);
        }
        if variables.len() > dotenv::MAX_VARIABLES {
            return Err(format!(
                "the report's files set more than {} variables together; GitLab accepts at \
                 most that",
                dotenv::MAX_VARIABLES
            ));
        }
    }
    Ok(variables)
}

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into()]
}

/// A word for `sh`, single-quoted.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *bytes).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn dotenv_comes_from_the_named_regular_files_of_the_archive() {
        let archive = tar_of(&[("./build.env", b"A=1\nB=2\n"), ("other.env", b"C=3\n")]);
        let wanted = vec!["build.env".to_string()];
        assert_eq!(
            dotenv_from(&archive, &wanted),
            Ok(vec![("A".into(), "1".into()), ("B".into(), "2".into())])
        );
        assert_eq!(dotenv_from(&archive, &["missing.env".into()]), Ok(vec![]));
        let bad = tar_of(&[("build.env", b"A=1\n\n")]);
        assert_eq!(
            dotenv_from(&bad, &wanted),
            Err("`build.env` line 2: `` is not KEY=VALUE".to_string())
        );
        let big = vec![b'x'; dotenv::MAX_BYTES + 1];
        let big = tar_of(&[("build.env", &big)]);
        assert!(dotenv_from(&big, &wanted)
            .unwrap_err()
            .contains("GitLab accepts at most 5120"));
    }

    /// The limits are the whole report's: several files together may not pass them.
    #[test]
    fn dotenv_limits_bound_the_files_together() {
        let twelve: String = (0..12).map(|i| format!("V{i}=x\n")).collect();
        let other: String = (0..12).map(|i| format!("W{i}=x\n")).collect();
        let wanted = vec!["a.env".to_string(), "b.env".to_string()];
        let archive = tar_of(&[("a.env", twelve.as_bytes()), ("b.env", other.as_bytes())]);
        let e = dotenv_from(&archive, &wanted).unwrap_err();
        assert!(e.contains("more than 20 variables"), "{e}");
        // The same names twice count once.
        let archive = tar_of(&[("a.env", twelve.as_bytes()), ("b.env", twelve.as_bytes())]);
        assert_eq!(dotenv_from(&archive, &wanted).unwrap().len(), 12);
        let half = format!("A={}\n", "x".repeat(dotenv::MAX_BYTES / 2));
        let archive = tar_of(&[("a.env", half.as_bytes()), ("b.env", half.as_bytes())]);
        let e = dotenv_from(&archive, &wanted).unwrap_err();
        assert!(e.contains("more than 5120 bytes"), "{e}");
    }

    #[test]
    fn shell_quoting_keeps_quotes() {
        assert_eq!(sh_quote("/builds/it's"), "'/builds/it'\\''s'");
    }
}
