//! Disk usage of a directory on this host, as `du -sx` counts it: allocated blocks, each inode
//! once (image layers share files through hard links), one filesystem, symlinks not followed.
//! Used for project layer caches when the engine's volumes are readable here.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Bytes allocated under `root`; `None` when `root` cannot be read (a remote engine, or not
/// root). Unreadable entries below it are skipped.
pub fn usage(root: &Path) -> Option<u64> {
    let top = std::fs::symlink_metadata(root).ok()?;
    std::fs::read_dir(root).ok()?;
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.dev() != top.dev() || !seen.insert(meta.ino()) {
                continue;
            }
            total += meta.blocks() * 512;
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Some(total + top.blocks() * 512)
}

#[cfg(test)]
mod tests {
    use super::usage;

    #[test]
    fn counts_files_once_and_nothing_missing() {
        let dir = tempfile::tempdir().unwrap();
        let empty = usage(dir.path()).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), vec![7u8; 256 * 1024]).unwrap();
        std::fs::hard_link(dir.path().join("sub/a"), dir.path().join("b")).unwrap();
        let full = usage(dir.path()).unwrap();
        assert!(full >= empty + 256 * 1024, "{empty} {full}");
        assert!(
            full < empty + 2 * 256 * 1024,
            "hard link counted twice: {full}"
        );
        assert_eq!(usage(&dir.path().join("missing")), None);
    }
}
