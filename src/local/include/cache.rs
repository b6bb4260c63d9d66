//! Fetched files kept on disk, one per URL (a `project:` file's URL holds its ref), so a second
//! run reads them without the network and an offline run still works. A copy is used whenever
//! it is there; `--refresh` fetches again and replaces it. The file name is a hash of the URL,
//! so nothing secret or odd reaches the file system (tokens travel in headers, never in URLs).

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

/// Where the copy of `url` is kept under `dir`.
pub(super) fn path_for(dir: &Path, url: &str) -> PathBuf {
    let digest = ring::digest::digest(&ring::digest::SHA256, url.as_bytes());
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
        let a = path_for(dir.path(), "https://h/a.yml");
        assert_eq!(a, path_for(dir.path(), "https://h/a.yml"));
        assert_ne!(a, path_for(dir.path(), "https://h/a.yml?ref=x"));
        assert_eq!(read(&a, 100), None);
        write(&a, b"job: 1\n").unwrap();
        assert_eq!(read(&a, 100).as_deref(), Some(&b"job: 1\n"[..]));
        assert_eq!(read(&a, 3), None);
    }
}
