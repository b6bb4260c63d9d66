//! `*` and `**` in `include: local:` paths, as GitLab matches them against the project's files:
//! `*` is any run of characters but `/`, `**` any run at all, and the pattern must match the
//! whole path. So `configs/*.yml` takes the `.yml` files right in `configs/`, `configs/**.yml`
//! those at any depth under it, and `configs/**/*.yml` only those in its subfolders.
//! Matches come in path order; GitLab takes a pattern that matches nothing as no file.

use std::path::Path;

/// The most directory entries one pattern may visit: a pattern rooted at a huge tree (a
/// `node_modules`) fails with a message instead of reading it all.
const MAX_VISITED: usize = 200_000;

/// The most matching all the patterns of one walk may cost, in [`matches`]'s steps (pattern
/// bytes times path bytes): a file's long pattern (`*a*a*a…`, 4 KiB of it) against a big tree
/// costs billions of steps, and a listing would hang for minutes.
const MAX_WORK: usize = 1 << 28;

/// What matching may still cost in one walk of the includes ([`MAX_WORK`]).
pub(super) struct Work {
    left: usize,
}

impl Work {
    pub fn new() -> Work {
        Work { left: MAX_WORK }
    }
}

pub(super) fn is_pattern(path: &str) -> bool {
    path.contains('*')
}

/// Whether `path` (relative, `/`-separated) matches `pattern` as a whole.
pub(super) fn matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.as_bytes();
    let path = path.as_bytes();
    // Positions in `path` the pattern so far can end at; a set, so `**` stays linear.
    let mut ends = vec![false; path.len() + 1];
    ends[0] = true;
    let mut next = vec![false; path.len() + 1];
    let mut i = 0;
    while i < pattern.len() {
        next.fill(false);
        if pattern[i] == b'*' {
            let any = pattern.get(i + 1) == Some(&b'*');
            let mut reach = false;
            for at in 0..=path.len() {
                reach = ends[at] || (reach && (any || path[at - 1] != b'/'));
                next[at] = reach;
            }
            i += if any { 2 } else { 1 };
        } else {
            for at in 0..path.len() {
                next[at + 1] = ends[at] && path[at] == pattern[i];
            }
            i += 1;
        }
        std::mem::swap(&mut ends, &mut next);
    }
    ends[path.len()]
}

/// The files under `root` matching `pattern`, relative and `/`-separated, in path order. Only
/// the folder before the first `*` is walked; `.git` and symbolic links to folders are not,
/// nor is that folder when a link takes it out of `root` (in git a link is a file, so GitLab
/// finds nothing there either). Matching is charged to `work`.
pub(super) fn files(root: &Path, pattern: &str, work: &mut Work) -> Result<Vec<String>, String> {
    let fixed = &pattern[..pattern.find('*').unwrap_or(pattern.len())];
    let base = &fixed[..fixed.rfind('/').map_or(0, |i| i + 1)];
    if base.split('/').any(|part| part == "..") {
        return Err(format!(
            "`{pattern}` leaves the project; local includes name files inside it"
        ));
    }
    // What every match ends with (`.yml` mostly): other files cost nothing to pass over.
    let tail = &pattern[pattern.rfind('*').map_or(0, |i| i + 1)..];
    let inside = match (root.join(base).canonicalize(), root.canonicalize()) {
        (Ok(real), Ok(real_root)) => real.starts_with(real_root),
        _ => false,
    };
    if !inside {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let mut pending = vec![base.to_string()];
    let mut visited = 0usize;
    while let Some(dir) = pending.pop() {
        let Ok(listing) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for item in listing.flatten() {
            visited += 1;
            if visited > MAX_VISITED {
                return Err(format!(
                    "`{pattern}` would look through more than {MAX_VISITED} files; start it \
                     with the folder that holds the files"
                ));
            }
            let Some(name) = item.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let path = format!("{dir}{name}");
            let Ok(kind) = item.file_type() else { continue };
            if kind.is_dir() {
                if name != ".git" {
                    pending.push(format!("{path}/"));
                }
            } else if path.ends_with(tail)
                && charge(work, pattern, &path)?
                && matches(pattern, &path)
                && root.join(&path).is_file()
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Take what matching `path` against `pattern` costs from `work`; past it, an error.
fn charge(work: &mut Work, pattern: &str, path: &str) -> Result<bool, String> {
    let cost = (pattern.len() + 1).saturating_mul(path.len() + 1);
    work.left = work.left.checked_sub(cost).ok_or_else(|| {
        "this `*` pattern, with those before it, takes too long to match against the \
         project's files; write shorter patterns, starting with the folder that holds the files"
            .to_string()
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_gitlab_documents() {
        let cases = [
            ("configs/*.yml", "configs/a.yml", true),
            ("configs/*.yml", "configs/sub/b.yml", false),
            ("configs/**.yml", "configs/a.yml", true),
            ("configs/**.yml", "configs/sub/deep/b.yml", true),
            ("configs/**/*.yml", "configs/a.yml", false),
            ("configs/**/*.yml", "configs/sub/b.yml", true),
            ("configs/*.yml", "configs/a.yaml", false),
            ("*.yml", "a.yml", true),
            ("*.yml", "dir/a.yml", false),
            ("**", "any/thing", true),
            ("a*b*c.yml", "aXbYc.yml", true),
            ("a*b*c.yml", "aXc.yml", false),
            ("ci/*-jobs.yml", "ci/build-jobs.yml", true),
            ("ci/*", "ci/", true),
        ];
        for (pattern, path, want) in cases {
            assert_eq!(matches(pattern, path), want, "{pattern} vs {path}");
        }
    }

    #[test]
    fn files_walk_only_the_fixed_folder_and_come_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "configs/b.yml",
            "configs/a.yml",
            "configs/sub/c.yml",
            "other/d.yml",
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x: 1\n").unwrap();
        }
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/e.yml"), "").unwrap();
        let cases: [(&str, &[&str]); 5] = [
            ("configs/*.yml", &["configs/a.yml", "configs/b.yml"]),
            (
                "configs/**.yml",
                &["configs/a.yml", "configs/b.yml", "configs/sub/c.yml"],
            ),
            ("configs/**/*.yml", &["configs/sub/c.yml"]),
            ("**/e.yml", &[]),
            ("nowhere/*.yml", &[]),
        ];
        for (pattern, want) in cases {
            assert_eq!(
                files(dir.path(), pattern, &mut Work::new()).unwrap(),
                want,
                "{pattern}"
            );
        }
        assert!(files(dir.path(), "../*.yml", &mut Work::new()).is_err());
    }

    /// A checkout's file chooses its patterns and its links: a link as the pattern's folder
    /// does not walk the tree it points to (GitLab, reading git's tree, finds nothing there),
    /// and a long pattern against many files stops at the walk's budget instead of hanging.
    #[test]
    fn a_pattern_cannot_walk_out_through_a_link_or_match_without_bound() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("a.yml"), "x: 1\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        std::fs::write(dir.path().join("in/a.yml"), "x: 1\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("in"), dir.path().join("inner")).unwrap();
        assert!(files(dir.path(), "out/*.yml", &mut Work::new())
            .unwrap()
            .is_empty());
        assert_eq!(
            files(dir.path(), "inner/*.yml", &mut Work::new()).unwrap(),
            ["inner/a.yml"]
        );
        for i in 0..300 {
            std::fs::write(dir.path().join(format!("in/{i:0>60}a.yml")), "").unwrap();
        }
        let long = format!("in/{}.yml", "*a".repeat(2000));
        let started = std::time::Instant::now();
        let mut work = Work::new();
        let mut refused = None;
        for _ in 0..150 {
            if let Err(e) = files(dir.path(), &long, &mut work) {
                refused = Some(e);
                break;
            }
        }
        let e = refused.expect("the budget ends the walk");
        assert!(e.contains("takes too long to match"), "{e}");
        assert!(!e.contains("*a*a"), "{e}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }
}
