//! Fetched files kept on disk, one per URL (a `project:` file's URL holds its ref) and token,
//! so a second run reads them without the network and an offline run still works. A copy is
//! used whenever it is there; `--refresh` fetches again and replaces it. The file name is a
//! hash of the URL and of the token sent for it, so nothing secret or odd reaches the file
//! system (tokens travel in headers, never in URLs).
//!
//! The token is part of the key because a private project's file read with it is only for
//! runs that hold it: keyed by URL alone, another checkout's `.gitlab-ci.yml` naming the same
//! `project:` file would be served the copy in a run without the token (or with one that may
//! not read the project) and could merge its content into jobs of its own.

use std::io::Write;
use std::path::{Path, PathBuf};

/// `$XDG_CACHE_HOME/executor/includes`, else `~/.cache/executor/includes`; `None` without a
/// home directory.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".cache"))
        })?;
    Some(base.join("executor").join("includes"))
}

/// Where the copy of `url`, fetched with `secret` (the header sent, if any), is kept under
/// `dir`. Without a secret the key is the URL alone; with one, its name and value are hashed in
/// too (after a NUL, which no URL holds), so each token has its own copies.
pub(super) fn path_for(dir: &Path, url: &str, secret: Option<(&str, &str)>) -> PathBuf {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(url.as_bytes());
    if let Some((name, value)) = secret {
        for part in [name, value] {
            context.update(b"\0");
            context.update(part.as_bytes());
        }
    }
    let digest = context.finish();
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.join(format!("{hex}.yml"))
}

/// The kept copy, when there is one no larger than `max` bytes.
pub(super) fn read(path: &Path, max: usize) -> Option<Vec<u8>> {
    let size = std::fs::metadata(path).ok()?.len();
    if size > max as u64 {
        return None;
    }
    std::fs::read(path).ok()
}

/// Keep `bytes` as the copy at `path`, whole or not at all (written aside, then renamed).
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let why = |e: std::io::Error| format!("cannot keep a copy in {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(why)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(why)?;
    file.write_all(bytes).map_err(why)?;
    file.persist(path).map_err(|e| why(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_named_by_url_and_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let a = path_for(dir.path(), "https://h/a.yml", None);
        assert_eq!(a, path_for(dir.path(), "https://h/a.yml", None));
        assert_ne!(a, path_for(dir.path(), "https://h/a.yml?ref=x", None));
        assert_eq!(read(&a, 100), None);
        write(&a, b"job: 1\n").unwrap();
        assert_eq!(read(&a, 100).as_deref(), Some(&b"job: 1\n"[..]));
        assert_eq!(read(&a, 3), None);
    }

    /// A copy fetched with a token is not the copy of a run without it, nor of a run with
    /// another token (or the same value in another header): each reads its own.
    #[test]
    fn copies_fetched_with_a_token_are_kept_apart() {
        let dir = tempfile::tempdir().unwrap();
        let url = "https://gitlab.example/api/v4/projects/g%2Fp/repository/files/a.yml/raw";
        let with = path_for(dir.path(), url, Some(("PRIVATE-TOKEN", "glpat-one")));
        assert_eq!(
            with,
            path_for(dir.path(), url, Some(("PRIVATE-TOKEN", "glpat-one")))
        );
        for other in [
            path_for(dir.path(), url, None),
            path_for(dir.path(), url, Some(("PRIVATE-TOKEN", "glpat-two"))),
            path_for(dir.path(), url, Some(("JOB-TOKEN", "glpat-one"))),
        ] {
            assert_ne!(with, other);
        }
        write(&with, b"secret: 1\n").unwrap();
        assert_eq!(read(&path_for(dir.path(), url, None), 100), None);
        // The token's value never names the file.
        assert!(!with.to_string_lossy().contains("glpat"));
    }
}
