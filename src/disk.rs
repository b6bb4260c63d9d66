//! Disk usage of a directory on this host, as `du -sx` counts it: allocated blocks, each inode
//! once (image layers share files through hard links), one filesystem, symlinks not followed.
//! Used for project layer caches when the engine's volumes are readable here. What is measured
//! is the job's (its daemon writes the cache), so the walk never follows a symlink and ends by
//! a deadline.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long measuring a layer cache may take: a large one (a few hundred thousand files) takes
/// a few seconds; a job that filled it with millions of tiny files must not hold cleanup up.
pub const MEASURE_TIME: Duration = Duration::from_secs(30);

/// Bytes allocated under `root`; `None` when `root` is not a directory that can be read here
/// (a remote engine, or not root) or the walk did not end by `deadline`. Unreadable entries
/// below it are skipped.
pub fn usage(root: &Path, deadline: Instant) -> Option<u64> {
    let top = std::fs::symlink_metadata(root)
        .ok()
        .filter(|m| m.is_dir())?;
    std::fs::read_dir(root).ok()?;
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut pending = vec![(root.to_path_buf(), top.ino())];
    while let Some((dir, ino)) = pending.pop() {
        if Instant::now() > deadline {
            return None;
        }
        if !still_the_dir(&dir, top.dev(), ino) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // `DirEntry::metadata` is an lstat: a symlink is counted, never followed.
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.dev() != top.dev() || !seen.insert(meta.ino()) {
                continue;
            }
            total += meta.blocks() * 512;
            if meta.is_dir() {
                pending.push((entry.path(), meta.ino()));
            }
        }
    }
    Some(total + top.blocks() * 512)
}

/// Whether `dir` is still the directory that was listed (same device and inode, not a
/// symlink): `read_dir` follows a symlink, and the job may have swapped the directory for one
/// since its parent was read. A swap between this check and the `read_dir` (microseconds)
/// remains; it can only make one directory elsewhere on the same filesystem be counted.
fn still_the_dir(dir: &Path, dev: u64, ino: u64) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && m.dev() == dev && m.ino() == ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soon() -> Instant {
        Instant::now() + MEASURE_TIME
    }

    #[test]
    fn counts_files_once_and_nothing_missing() {
        let dir = tempfile::tempdir().unwrap();
        let empty = usage(dir.path(), soon()).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), vec![7u8; 256 * 1024]).unwrap();
        std::fs::hard_link(dir.path().join("sub/a"), dir.path().join("b")).unwrap();
        let full = usage(dir.path(), soon()).unwrap();
        assert!(full >= empty + 256 * 1024, "{empty} {full}");
        assert!(
            full < empty + 2 * 256 * 1024,
            "hard link counted twice: {full}"
        );
        assert_eq!(usage(&dir.path().join("missing"), soon()), None);
    }

    #[test]
    fn never_follows_a_symlink() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("big"), vec![7u8; 1024 * 1024]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let measured = usage(dir.path(), soon()).unwrap();
        assert!(measured < 1024 * 1024, "followed the symlink: {measured}");
        assert_eq!(
            usage(&dir.path().join("link"), soon()),
            None,
            "a symlink root"
        );
    }

    #[test]
    fn a_directory_swapped_for_a_symlink_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let listed = std::fs::symlink_metadata(&sub).unwrap();
        assert!(still_the_dir(&sub, listed.dev(), listed.ino()));
        std::fs::remove_dir(&sub).unwrap();
        std::os::unix::fs::symlink(dir.path(), &sub).unwrap();
        assert!(!still_the_dir(&sub, listed.dev(), listed.ino()));
    }

    #[test]
    fn a_walk_past_its_deadline_has_no_answer() {
        let dir = tempfile::tempdir().unwrap();
        let past = Instant::now() - Duration::from_secs(1);
        assert_eq!(usage(dir.path(), past), None);
    }
}
