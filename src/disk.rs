//! Disk usage of a directory on this host, as `du -sx` counts it: allocated blocks, each inode
//! once (image layers share files through hard links), one filesystem, symlinks not followed.
//! Used for project layer caches and kept `cache_dir` volumes when the engine's volumes are
//! readable here. What is measured is the job's (it writes the cache), so the walk never follows
//! a symlink, ends by a deadline, and its memory is bounded whatever the job put there: it goes
//! depth first holding one open directory per level (a million directories side by side cost
//! nothing), remembers only hard-linked files, and gives up past fixed caps.

use std::collections::HashSet;
use std::fmt;
use std::fs::ReadDir;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long measuring a layer cache may take: a large one (a few hundred thousand files) takes
/// a few seconds; a job that filled it with millions of tiny files must not hold cleanup up.
pub const MEASURE_TIME: Duration = Duration::from_secs(30);

/// Why a directory has no size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmeasured {
    /// Not a directory this host can read (a remote engine, or not root).
    NotHere,
    /// More entries, hard links or depth than the caps, or not walked by the deadline: the job
    /// made it so, and callers treat it as over any size cap.
    TooLarge,
}

impl fmt::Display for Unmeasured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unmeasured::NotHere => "volume not readable here",
            Unmeasured::TooLarge => "too many entries",
        })
    }
}

/// What a walk may hold. The defaults keep the driver's peak far under its 64 MiB bound.
#[derive(Debug, Clone, Copy)]
struct Caps {
    /// Entries looked at: a large real layer cache has a few hundred thousand to a million.
    entries: u64,
    /// Hard-linked files remembered so they count once: about 20 bytes each.
    linked: usize,
    /// Directories open at once: one file descriptor and a read buffer each.
    depth: usize,
}

const CAPS: Caps = Caps {
    entries: 4_000_000,
    linked: 500_000,
    depth: 128,
};

/// The kernel refuses longer paths (`PATH_MAX`); what lies below one could not be read, so a
/// job could hide a cache's bulk there. Such a tree counts as too large, not as empty.
const MAX_PATH: usize = 4095;

/// Bytes allocated under `root`, or why there is no answer: [`Unmeasured::NotHere`] when `root`
/// is not a directory that can be read here, [`Unmeasured::TooLarge`] past a cap or `deadline`.
/// Unreadable entries below it are skipped.
pub fn usage(root: &Path, deadline: Instant) -> Result<u64, Unmeasured> {
    walk(root, deadline, CAPS)
}

fn walk(root: &Path, deadline: Instant, caps: Caps) -> Result<u64, Unmeasured> {
    let top = std::fs::symlink_metadata(root)
        .ok()
        .filter(|m| m.is_dir())
        .ok_or(Unmeasured::NotHere)?;
    let first = std::fs::read_dir(root).map_err(|_| Unmeasured::NotHere)?;
    // Only files with more than one link can be met twice; directories cannot be hard-linked.
    let mut linked = HashSet::new();
    let mut total = top.blocks() * 512;
    let mut entries = 0;
    // The directories being listed, root first: memory grows with depth, never with width.
    let mut open: Vec<ReadDir> = vec![first];
    while let Some(dir) = open.last_mut() {
        let Some(entry) = dir.next() else {
            open.pop();
            continue;
        };
        entries += 1;
        if entries > caps.entries || Instant::now() > deadline {
            return Err(Unmeasured::TooLarge);
        }
        let Ok(entry) = entry else {
            continue;
        };
        // `DirEntry::metadata` is an lstat: a symlink is counted, never followed.
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.dev() != top.dev() {
            continue;
        }
        if !meta.is_dir() && meta.nlink() > 1 {
            if !linked.insert(meta.ino()) {
                continue;
            }
            if linked.len() > caps.linked {
                return Err(Unmeasured::TooLarge);
            }
        }
        total += meta.blocks() * 512;
        if !meta.is_dir() {
            continue;
        }
        let path = entry.path();
        if open.len() >= caps.depth || path.as_os_str().len() > MAX_PATH {
            return Err(Unmeasured::TooLarge);
        }
        if !still_the_dir(&path, top.dev(), meta.ino()) {
            continue;
        }
        if let Ok(sub) = std::fs::read_dir(&path) {
            open.push(sub);
        }
    }
    Ok(total)
}

/// Whether `dir` is still the directory that was listed (same device and inode, not a
/// symlink): `read_dir` follows a symlink, and the job may have swapped the directory for one
/// since its parent was read. A swap between this check and the `read_dir` (microseconds)
/// remains; it can only make one directory elsewhere on the same filesystem be counted.
fn still_the_dir(dir: &Path, dev: u64, ino: u64) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && m.dev() == dev && m.ino() == ino)
}

/// The bytes in `du -sk`'s answer (its first word, KiB); [`Unmeasured::NotHere`] without one.
pub fn du_kib(out: &str) -> Result<u64, Unmeasured> {
    out.split_whitespace()
        .next()
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or(Unmeasured::NotHere)
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
        assert_eq!(
            usage(&dir.path().join("missing"), soon()),
            Err(Unmeasured::NotHere)
        );
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
            Err(Unmeasured::NotHere),
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
        std::fs::write(dir.path().join("a"), "a").unwrap();
        assert_eq!(usage(dir.path(), past), Err(Unmeasured::TooLarge));
    }

    fn caps(entries: u64, linked: usize, depth: usize) -> Caps {
        Caps {
            entries,
            linked,
            depth,
        }
    }

    /// Many directories side by side, as a job can make them: walked within the caps, and
    /// each counted (directories all have two links or more, yet none is taken for a repeat).
    #[test]
    fn a_wide_tree_is_walked_and_every_directory_counted() {
        let dir = tempfile::tempdir().unwrap();
        let empty = usage(dir.path(), soon()).unwrap();
        for i in 0..200 {
            std::fs::create_dir_all(dir.path().join(format!("d{i}/inner"))).unwrap();
        }
        let block = std::fs::symlink_metadata(dir.path().join("d0"))
            .unwrap()
            .blocks()
            * 512;
        let wide = walk(dir.path(), soon(), caps(400, 0, 3)).unwrap();
        assert!(wide >= empty + 400 * block, "{empty} {wide} {block}");
    }

    #[test]
    fn past_a_cap_the_size_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..10 {
            std::fs::write(dir.path().join(format!("f{i}")), "x").unwrap();
        }
        assert!(walk(dir.path(), soon(), caps(10, 0, 1)).is_ok());
        assert_eq!(
            walk(dir.path(), soon(), caps(9, 0, 1)),
            Err(Unmeasured::TooLarge),
            "entries"
        );

        std::fs::create_dir_all(dir.path().join("a/b/c")).unwrap();
        assert!(walk(dir.path(), soon(), caps(100, 0, 4)).is_ok());
        assert_eq!(
            walk(dir.path(), soon(), caps(100, 0, 3)),
            Err(Unmeasured::TooLarge),
            "depth"
        );

        for i in 0..3 {
            let name = dir.path().join(format!("link{i}"));
            std::fs::hard_link(dir.path().join(format!("f{i}")), name).unwrap();
        }
        assert!(walk(dir.path(), soon(), caps(100, 3, 4)).is_ok());
        assert_eq!(
            walk(dir.path(), soon(), caps(100, 2, 4)),
            Err(Unmeasured::TooLarge),
            "hard links remembered"
        );
    }

    /// A path longer than the kernel opens hides what is under it: too large, not empty. The
    /// tree is built bottom up by renames, whose paths stay short, as a job's shell can do.
    #[test]
    fn a_tree_too_deep_to_open_is_not_taken_for_empty() {
        let dir = tempfile::tempdir().unwrap();
        let long = "d".repeat(250);
        std::fs::create_dir(dir.path().join("top")).unwrap();
        for _ in 0..(MAX_PATH / 250 + 1) {
            std::fs::create_dir(dir.path().join("next")).unwrap();
            std::fs::rename(dir.path().join("top"), dir.path().join("next").join(&long)).unwrap();
            std::fs::rename(dir.path().join("next"), dir.path().join("top")).unwrap();
        }
        let walked = walk(dir.path(), soon(), caps(100, 0, 100));
        assert_eq!(walked, Err(Unmeasured::TooLarge));
    }
}
