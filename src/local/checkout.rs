//! The local checkout a job runs from: where it is, its commit, and the files that reach the
//! job (tracked plus untracked-but-not-ignored, as `git ls-files` lists them, when git's own
//! directory is the checkout's `.git`; every file under it otherwise). Nothing outside the
//! checkout is ever read: someone else may have written it, `.git` included. The files travel
//! as a tar archive inside the `get_sources` stage script, so they go through the same `run`
//! path as every other stage.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Facts about the checkout, read once.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub root: PathBuf,
    /// The directory's name: the project name in `CI_PROJECT_NAME`.
    pub name: String,
    pub sha: Option<String>,
    pub branch: Option<String>,
    /// The tag HEAD is at when HEAD is detached there (a tag pipeline); a branch checkout is a
    /// branch pipeline, tagged or not, as on GitLab.
    pub tag: Option<String>,
    /// `group/project` from the `origin` remote's URL, when it has one.
    pub remote_path: Option<String>,
    /// The branch `origin/HEAD` names.
    pub default_branch: Option<String>,
    /// Whether `root` is a git work tree whose files git lists; otherwise a plain directory.
    git: bool,
}

impl Checkout {
    /// The git work tree containing `dir`, or `dir` itself when it is not in one.
    pub fn find(dir: &Path) -> Checkout {
        let (root, in_git) = match git_root(dir) {
            Some(root) => (root, true),
            // Its real path: the project id and the kept caches are made from the root, and
            // `.` (how a run in a plain directory names it) was one root for every directory.
            None => (
                dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
                false,
            ),
        };
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "project".into());
        let ask = |args: &[&str]| in_git.then(|| git(&root, args)).flatten();
        // Four independent questions, asked at once: a git process costs a few ms to start,
        // and listing a pipeline should not wait for them one by one.
        let [branch, sha, remote, default_branch] = match in_git {
            true => git_all(
                &root,
                [
                    &["rev-parse", "--abbrev-ref", "HEAD"],
                    &["rev-parse", "HEAD"],
                    &["remote", "get-url", "origin"],
                    &["symbolic-ref", "--short", "refs/remotes/origin/HEAD"],
                ],
            ),
            false => [None, None, None, None],
        };
        let branch = branch.filter(|b| b != "HEAD");
        let tag = match (&branch, in_git) {
            (None, true) => ask(&["describe", "--exact-match", "--tags", "HEAD"]),
            _ => None,
        };
        Checkout {
            sha,
            branch,
            tag,
            remote_path: remote.and_then(|url| project_path(&url)),
            default_branch: default_branch
                .and_then(|r| r.strip_prefix("origin/").map(str::to_string)),
            git: in_git,
            root,
            name,
        }
    }

    /// Files changed (relative paths) between the merge base of `reference` and HEAD, and in
    /// the work tree since: what a push of this checkout would change against that ref.
    /// `Err` names a ref git does not know, or a checkout without git.
    pub fn changed_since(&self, reference: &str) -> Result<Vec<String>, String> {
        if !self.git {
            return Err(format!("{} is not a git checkout", self.root.display()));
        }
        if reference.starts_with('-') {
            return Err(format!("`{reference}` is not a git ref"));
        }
        let base = git(&self.root, &["merge-base", reference, "HEAD"])
            .ok_or_else(|| format!("git knows no commit `{reference}` shared with HEAD here"))?;
        let out = git_command(&self.root)
            .envs(no_filters(&self.root))
            .args(["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff"])
            // A submodule's own config and filters are the checkout's too: its work tree is
            // not looked into (git would run `status` there), its commit still counts.
            .args(["--no-textconv", "--ignore-submodules=dirty", &base, "--"])
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !out.status.success() {
            return Err(format!("git diff against {reference} failed"));
        }
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    /// A checkout with the given git facts and no files (for tests of what is made of them).
    #[cfg(test)]
    pub fn fake(branch: Option<&str>, tag: Option<&str>, remote_path: Option<&str>) -> Checkout {
        Checkout {
            root: PathBuf::from("/nonexistent/project"),
            name: "project".into(),
            sha: Some("a".repeat(40)),
            branch: branch.map(str::to_string),
            tag: tag.map(str::to_string),
            remote_path: remote_path.map(str::to_string),
            default_branch: None,
            git: false,
        }
    }

    /// Paths (relative to the root) of the files a job sees. Git's list is checked path by
    /// path: an index is data someone else wrote, and `link/id_rsa` in it would be read
    /// through an untracked symlink `link -> ~/.ssh`, so only paths whose every directory is a
    /// real directory inside the root are kept.
    pub fn files(&self) -> Result<Vec<PathBuf>, String> {
        if !self.git {
            return walk(&self.root);
        }
        let listed = git_command(&self.root)
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .output();
        match listed {
            Ok(out) if out.status.success() => Ok(out
                .stdout
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
                .filter(|p| inside(&self.root, p))
                .collect()),
            _ => walk(&self.root),
        }
    }

    /// A tar archive of [`Checkout::files`], modes and symlinks kept.
    pub fn archive(&self) -> Result<Vec<u8>, String> {
        let mut builder = tar::Builder::new(Vec::new());
        builder.follow_symlinks(false);
        for path in self.files()? {
            builder
                .append_path_with_name(self.root.join(&path), &path)
                .map_err(|e| {
                    format!("cannot add {} to the sources archive: {e}", path.display())
                })?;
        }
        builder
            .into_inner()
            .map_err(|e| format!("cannot finish the sources archive: {e}"))
    }
}

/// `git` in `dir`, made safe for a checkout someone else wrote: its `.git/config` may name
/// programs for git to run (`core.fsmonitor` runs one on every `ls-files`), so every setting
/// that makes these read-only commands start a program is overridden on the command line, which
/// wins over any config file.
fn git_command(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .args([
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.pager=cat",
            "-c",
            "core.sshCommand=false",
            "-c",
            "protocol.allow=never",
        ])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .current_dir(dir);
    command
}

/// Settings that turn off every filter driver the checkout's git config names, for a `git
/// diff` against the work tree. Git hashes a work-tree file whose stat changed through its
/// `clean` filter (or `process`), named by `.gitattributes` (`* filter=x`) and defined in
/// `.git/config`: a program the checkout chose, which ran on a dry run's `changes:` rules.
/// Given as `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` (after any the person
/// set), which win over config files and, unlike `-c`, take a name holding `=` whole; an empty
/// command is no filter.
fn no_filters(root: &Path) -> Vec<(String, String)> {
    let keys = git_command(root)
        .args(["config", "-z", "--name-only", "--get-regexp", r"^filter\."])
        .output()
        .map(|out| out.stdout)
        .unwrap_or_default();
    let mut names: Vec<String> = keys
        .split(|b| *b == 0)
        .filter_map(|key| std::str::from_utf8(key).ok())
        .filter_map(|key| Some(key.strip_prefix("filter.")?.rsplit_once('.')?.0.to_string()))
        .collect();
    names.sort();
    names.dedup();
    let mut count: usize = std::env::var("GIT_CONFIG_COUNT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut env = Vec::new();
    for name in names {
        for (setting, value) in [
            ("clean", ""),
            ("smudge", ""),
            ("process", ""),
            ("required", "false"),
        ] {
            env.push((
                format!("GIT_CONFIG_KEY_{count}"),
                format!("filter.{name}.{setting}"),
            ));
            env.push((format!("GIT_CONFIG_VALUE_{count}"), value.to_string()));
            count += 1;
        }
    }
    if !env.is_empty() {
        env.push(("GIT_CONFIG_COUNT".to_string(), count.to_string()));
    }
    env
}

/// The top of the git work tree containing `dir`, accepted only when git's own directory is
/// `<top>/.git`, a real directory. A checkout's `.git/config` can set `core.worktree` (say
/// `../../..`), and git then names a directory above the checkout as the work tree, so every
/// untracked file there (`~/.ssh/id_rsa`) would be listed; a `.git` symlink or `gitdir:` file
/// can point at another repository. Any of those, or no git at all, gives `None`, and the
/// caller treats `dir` as a plain directory ([`walk`]). Linked worktrees (`git worktree add`)
/// land there too.
fn git_root(dir: &Path) -> Option<PathBuf> {
    let out = git(dir, &["rev-parse", "--absolute-git-dir", "--show-toplevel"])?;
    let mut lines = out.lines();
    let (git_dir, top) = (lines.next()?, lines.next()?);
    let top = Path::new(top).canonicalize().ok()?;
    let own = top.join(".git");
    let real_dir = own.symlink_metadata().is_ok_and(|m| m.is_dir());
    let same = Path::new(git_dir).canonicalize().is_ok_and(|d| d == own);
    (real_dir && same).then_some(top)
}

/// Whether `path`, as git listed it, names an existing entry inside `root` reached through
/// real directories only: no absolute path, no `..`, no symlink among its parents (checked
/// with lstat, which does not follow links). The entry itself may be a symlink; it is archived
/// as a link, never followed.
fn inside(root: &Path, path: &Path) -> bool {
    let mut at = root.to_path_buf();
    let mut parts = path.components().peekable();
    while let Some(part) = parts.next() {
        let Component::Normal(name) = part else {
            return false;
        };
        at.push(name);
        let Ok(meta) = at.symlink_metadata() else {
            // A tracked file deleted from the work tree is not there to copy.
            return false;
        };
        if parts.peek().is_some() && !meta.is_dir() {
            return false;
        }
    }
    at != root
}

/// `group/sub/project` from a remote URL: `https://host/group/project.git`,
/// `ssh://git@host:22/group/project.git` or `git@host:group/project.git`.
pub fn project_path(url: &str) -> Option<String> {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/')?.1,
        None => url.split_once(':')?.1,
    };
    let path = path
        .trim_matches('/')
        .trim_end_matches(".git")
        .trim_matches('/');
    let parts: Vec<&str> = path.split('/').collect();
    let fine = parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    fine.then(|| path.to_string())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    answer(git_command(dir).args(args).output().ok()?)
}

/// [`git`] for several commands, all started before any is waited for.
fn git_all<const N: usize>(dir: &Path, commands: [&[&str]; N]) -> [Option<String>; N] {
    let children = commands.map(|args| {
        git_command(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()
    });
    children.map(|child| answer(child?.wait_with_output().ok()?))
}

/// A command's trimmed stdout, when it succeeded and said something.
fn answer(out: std::process::Output) -> Option<String> {
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Every file under `root` except `.git`, for a directory that is not a git checkout.
fn walk(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let entries = std::fs::read_dir(root.join(&rel))
            .map_err(|e| format!("cannot list {}: {e}", root.join(&rel).display()))?;
        for entry in entries.flatten() {
            let path = rel.join(entry.file_name());
            match entry.file_type() {
                Ok(t) if t.is_dir() && entry.file_name() != ".git" => pending.push(path),
                Ok(t) if !t.is_dir() => found.push(path),
                _ => {}
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Standard base64 with padding, for the archive inside the stage script.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_paths_come_from_every_remote_url_form() {
        for (url, want) in [
            (
                "https://gitlab.com/group/project.git",
                Some("group/project"),
            ),
            ("https://gitlab.example.com:8443/a/b/c", Some("a/b/c")),
            (
                "ssh://git@gitlab.com:22/group/project.git",
                Some("group/project"),
            ),
            (
                "git@gitlab.com:group/sub/project.git",
                Some("group/sub/project"),
            ),
            ("git@gitlab.com:project.git", None),
            ("https://gitlab.com/../etc", None),
            ("/srv/git/project.git", None),
            ("https://gitlab.com/g/p q", None),
        ] {
            assert_eq!(project_path(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn base64_matches_the_standard_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn a_plain_directory_named_relatively_has_its_real_path_as_root() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        // `real` as a path relative to the tests' directory, as `.` is relative to the run's.
        let here = std::env::current_dir().unwrap().canonicalize().unwrap();
        let up = "../".repeat(here.components().count() - 1);
        let relative = PathBuf::from(format!("{up}{}", real.display()).replace("//", "/"));
        assert!(relative.is_relative());
        let checkout = Checkout::find(&relative);
        assert_eq!(checkout.root, real);
        assert_eq!(
            Some(checkout.name.as_str()),
            real.file_name().and_then(|n| n.to_str())
        );
    }

    #[test]
    fn files_are_tracked_and_untracked_but_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let sh = |cmd: &str| {
            let ok = Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(root)
                .status()
                .unwrap();
            assert!(ok.success(), "{cmd}");
        };
        sh("git init -q . && git config user.email t@t && git config user.name t");
        sh("echo a > tracked && echo 'ignored*' > .gitignore && git add . && git commit -qm init");
        sh("echo b > untracked && echo c > ignored.txt && mkdir sub && echo d > sub/new");
        let checkout = Checkout::find(root);
        let mut files = checkout.files().unwrap();
        files.sort();
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(names, [".gitignore", "sub/new", "tracked", "untracked"]);
        assert_eq!(checkout.sha.as_ref().map(String::len), Some(40));
        let archive = checkout.archive().unwrap();
        let mut entries: Vec<String> = tar::Archive::new(archive.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        entries.sort();
        assert_eq!(entries, names);
    }

    #[test]
    fn a_checkouts_own_git_config_cannot_run_a_program() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let marker = root.join("ran");
        let sh = |cmd: &str| {
            assert!(Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(root)
                .status()
                .unwrap()
                .success());
        };
        sh("git init -q . && git config user.email t@t && git config user.name t");
        sh("echo a > tracked && git add . && git commit -qm init");
        // What a hostile repository ships: git runs core.fsmonitor on ls-files and status.
        let hook = root.join("hook.sh");
        std::fs::write(&hook, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
        sh("chmod +x hook.sh && git config core.fsmonitor \"$PWD/hook.sh\"");
        sh("git ls-files --others >/dev/null 2>&1");
        assert!(marker.exists(), "the hook should run for plain git");
        std::fs::remove_file(&marker).unwrap();
        let checkout = Checkout::find(root);
        checkout.files().unwrap();
        assert!(!marker.exists(), "core.fsmonitor ran");
    }

    /// A checkout's `.git/config` and `.gitattributes` can name a filter for git to run on
    /// every file whose stat changed when it compares the work tree: `changes:` must not run it.
    #[test]
    fn a_checkouts_filters_do_not_run_when_changes_are_compared() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let marker = root.join("ran");
        sh(
            root,
            "git init -q -b main . && git config user.email t@t && git config user.name t",
        );
        sh(
            root,
            "echo a > a.txt && echo '* filter=evil' > .gitattributes",
        );
        sh(
            root,
            "git add . && git commit -qm init && git checkout -q -b feature",
        );
        sh(root, "echo b >> a.txt && git commit -qam change");
        for name in ["evil", "odd=name"] {
            sh(
                root,
                &format!(
                    "git config 'filter.{name}.clean' 'touch {}; cat' && \
                     git config 'filter.{name}.required' true && \
                     echo '* filter={name}' > .gitattributes",
                    marker.display()
                ),
            );
            sh(
                root,
                "touch -d 2001-01-01 a.txt && git diff --name-only main -- >/dev/null",
            );
            assert!(marker.exists(), "the filter should run for plain git");
            std::fs::remove_file(&marker).unwrap();
            sh(root, "touch -d 2002-01-01 a.txt");
            let changed = Checkout::find(root).changed_since("main").unwrap();
            assert!(!marker.exists(), "filter {name} ran");
            assert!(changed.contains(&"a.txt".to_string()), "{changed:?}");
        }
        // A submodule with its own filter: plain git runs `status` in it.
        let sub = root.join("sub");
        std::fs::create_dir(&sub).unwrap();
        sh(
            &sub,
            "git init -q . && git config user.email t@t && git config user.name t",
        );
        sh(
            &sub,
            "echo a > f.txt && echo '* filter=inner' > .gitattributes",
        );
        sh(&sub, "git add . && git commit -qm sub");
        sh(
            &sub,
            &format!(
                "git config filter.inner.clean 'touch {}; cat'",
                marker.display()
            ),
        );
        sh(root, "git add sub 2>/dev/null && git commit -qm sub");
        sh(
            root,
            "touch -d 2003-01-01 sub/f.txt && git diff --name-only main -- >/dev/null",
        );
        assert!(
            marker.exists(),
            "the submodule's filter should run for plain git"
        );
        std::fs::remove_file(&marker).unwrap();
        sh(root, "touch -d 2004-01-01 sub/f.txt");
        let changed = Checkout::find(root).changed_since("main").unwrap();
        assert!(!marker.exists(), "the submodule's filter ran");
        assert!(changed.contains(&"sub".to_string()), "{changed:?}");
    }

    /// Run `cmd` with `sh -c` in `dir`.
    fn sh(dir: &Path, cmd: &str) {
        let ok = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(ok.success(), "{cmd}");
    }

    /// Every entry of `checkout`'s archive, with the bytes of its regular files.
    fn archived(checkout: &Checkout) -> Vec<(String, Vec<u8>)> {
        let archive = checkout.archive().unwrap();
        let mut tar = tar::Archive::new(archive.as_slice());
        let mut entries: Vec<(String, Vec<u8>)> = tar
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
                (e.path().unwrap().display().to_string(), bytes)
            })
            .collect();
        entries.sort();
        entries
    }

    #[test]
    fn a_core_worktree_above_the_checkout_is_not_its_root() {
        let home = tempfile::tempdir().unwrap();
        sh(
            home.path(),
            "mkdir -p .ssh src/proj && echo KEY > .ssh/id_rsa",
        );
        let proj = home.path().join("src/proj");
        sh(
            &proj,
            "git init -q . && git config core.worktree ../../.. && echo a > a",
        );
        // Plain git would list the whole home directory.
        assert_eq!(
            git(&proj, &["rev-parse", "--show-toplevel"]).map(PathBuf::from),
            Some(home.path().canonicalize().unwrap())
        );
        let checkout = Checkout::find(&proj);
        assert_eq!(checkout.root, proj);
        assert_eq!(
            (checkout.sha.as_deref(), checkout.name.as_str()),
            (None, "proj")
        );
        assert_eq!(checkout.files().unwrap(), [PathBuf::from("a")]);
        assert_eq!(archived(&checkout), [("a".to_string(), b"a\n".to_vec())]);
    }

    #[test]
    fn an_index_entry_under_an_untracked_symlink_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        sh(
            dir.path(),
            "mkdir outside repo && echo KEY > outside/id_rsa",
        );
        let root = dir.path().join("repo");
        sh(
            &root,
            "git init -q . && git config user.email t@t && git config user.name t",
        );
        sh(&root, "mkdir link && echo x > link/id_rsa && echo a > a");
        sh(&root, "git add . && git commit -qm init");
        // The index still lists link/id_rsa; the work tree now has a symlink out instead.
        sh(&root, "rm -r link && ln -s ../outside link");
        let checkout = Checkout::find(&root);
        assert!(checkout.git && checkout.sha.is_some());
        let mut files = checkout.files().unwrap();
        files.sort();
        assert_eq!(files, [PathBuf::from("a"), PathBuf::from("link")]);
        let entries = archived(&checkout);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "link"]);
        assert!(entries.iter().all(|(_, bytes)| bytes != b"KEY\n"));
    }

    #[test]
    fn paths_that_leave_the_root_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        sh(
            dir.path(),
            "mkdir -p root/sub && echo s > secret && echo f > root/sub/f",
        );
        sh(&root, "ln -s .. up && ln -s sub alias");
        for (path, kept) in [
            ("sub/f", true),
            ("up", true),
            ("alias", true),
            ("alias/f", false),
            ("up/secret", false),
            ("../secret", false),
            ("sub/../../secret", false),
            ("missing", false),
            ("", false),
        ] {
            assert_eq!(inside(&root, Path::new(path)), kept, "{path}");
        }
        let absolute = dir.path().join("secret");
        assert!(!inside(&root, &absolute));
    }
}
