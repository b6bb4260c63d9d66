//! `cache:` kept between local runs: each cache is a tar archive of its paths, saved after a
//! job under `$XDG_CACHE_HOME/executor/cache/<project id>/<key>.tar` (else `~/.cache/...`)
//! and unpacked into the next run's project dir before its scripts. The key is GitLab's:
//! `key:` with variables expanded, or for `key:files:` a hash of those files; GitLab uses the
//! SHA of the last commit that changed them, a local run hashes their contents (SHA-256 of
//! each file's path and bytes), which changes exactly when they do in the work tree, committed
//! or not. A missing file counts as absent; none there gives the key `default`, as on GitLab.
//!
//! GitLab appends `-protected` or `-non_protected` to every key and fallback key, as the
//! pipeline's ref is protected or not (the project setting "Use separate caches for protected
//! branches", on by default; `Ci::Build#cache`), so a job on an unprotected branch never
//! restores what a protected one saved. A local run takes whether its ref is protected from
//! the job payload, the driver's one trusted source ([`ref_protected`]), as the runner policy
//! and the kept volumes do; a local payload never calls the ref protected, and the run's
//! `CI_COMMIT_REF_PROTECTED` is `false` to match.

use std::path::{Path, PathBuf};

use super::expand;
use super::gitlab_ci::{Cache, CacheKey, CachePolicy};
use crate::env::JobEnv;

/// The largest cache a local run keeps or restores: the archive travels inside a stage script.
pub const MAX_CACHE: usize = 64 << 20;

/// The names a cache is looked up under, in order, and saved under (the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The key, as a file name.
    pub key: String,
    /// `fallback_keys:`, as file names, tried in order when the key has no archive.
    pub fallbacks: Vec<String>,
}

/// The keys of `cache` for a ref that is `protected` or not: its key and each fallback key
/// with `variables` expanded, made safe as a file name, then GitLab's suffix for the ref
/// ([`suffix`]). The suffix comes after the file name is cut to length, so the two kinds of
/// ref never share an archive. (`cache:unprotect:`, which keeps a protected ref's job on the
/// `-non_protected` cache, is not read: a local run's ref is never protected.)
pub fn keys(cache: &Cache, variables: &[(String, String)], root: &Path, protected: bool) -> Keys {
    let expanded = |text: &str| {
        let lookup = |name: &str| expand::last(variables, name);
        expand::expand(text, lookup, 1024).unwrap_or_default()
    };
    let suffixed = |key: &str| format!("{}{}", file_name(key), suffix(protected));
    let key = match &cache.key {
        // GitLab suffixes the key as written and the runner expands it: an unset `$VAR`
        // leaves the suffix alone.
        CacheKey::Name(name) => expanded(name),
        CacheKey::Files { files, prefix } => {
            let hash = files_hash(files, root).unwrap_or_else(|| "default".into());
            match prefix.as_deref().map(expanded).filter(|p| !p.is_empty()) {
                Some(prefix) => format!("{prefix}-{hash}"),
                None => hash,
            }
        }
    };
    Keys {
        key: suffixed(&key),
        fallbacks: cache
            .fallback_keys
            .iter()
            .map(|k| suffixed(&expanded(k)))
            .collect(),
    }
}

/// The policy `cache` has for a job with `variables`, as gitlab-runner decides it when the job
/// runs (`shells/abstract.go` expands `policy` with the job's variables; `spec.Cache#CheckPolicy`
/// reads an empty value as pull-push and refuses any other it does not know, which fails the
/// job). The message names the variables and reads after "failed to".
pub fn policy(cache: &Cache, variables: &[(String, String)]) -> Result<CachePolicy, String> {
    let CachePolicy::Variable(written) = &cache.policy else {
        return Ok(cache.policy.clone());
    };
    let lookup = |name: &str| expand::last(variables, name);
    let value = expand::expand(written, lookup, 1024).unwrap_or_default();
    match value.as_str() {
        "" | "pull-push" => Ok(CachePolicy::PullPush),
        "pull" => Ok(CachePolicy::Pull),
        "push" => Ok(CachePolicy::Push),
        _ => Err(format!(
            "use cache `policy: {written}`: it expands to an unknown cache policy; \
             set {} to pull, push or pull-push",
            expand::references(written)
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// GitLab's suffix of a cache key for a pipeline whose ref is `protected` or not.
pub fn suffix(protected: bool) -> &'static str {
    match protected {
        true => "-protected",
        false => "-non_protected",
    }
}

/// Whether the job's ref is protected, as its payload says (the job's variables cannot say
/// otherwise; a payload that does not say, or cannot be read, is an unprotected ref's, as
/// the runner policy reads it).
pub fn ref_protected(env: &JobEnv) -> bool {
    crate::stage::prepare::trusted_facts(env)
        .ok()
        .flatten()
        .and_then(|facts| facts.protected)
        .unwrap_or(false)
}

/// SHA-256 (first 20 bytes, hex) of each existing file's path and contents; `None` when none
/// of them is there. Only regular files inside `root` reached without symlinks are read.
fn files_hash(files: &[String], root: &Path) -> Option<String> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut found = false;
    for file in files {
        let Some(path) = inside(root, file) else {
            continue;
        };
        // Streamed, not read whole: the checkout's files are its writer's, and one of many
        // GiB named in `key: files:` would have been held in memory at once.
        let Ok(mut reader) = std::fs::File::open(&path) else {
            continue;
        };
        let Ok(meta) = reader.metadata() else {
            continue;
        };
        context.update(file.as_bytes());
        context.update(&[0]);
        context.update(&meta.len().to_le_bytes());
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            match std::io::Read::read(&mut reader, &mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => context.update(&chunk[..n]),
            }
        }
        found = true;
    }
    let digest = context.finish();
    found.then(|| {
        digest.as_ref()[..20]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// `root/file` when every part of it is a real directory or, last, a regular file.
fn inside(root: &Path, file: &str) -> Option<PathBuf> {
    let mut at = root.to_path_buf();
    for part in file.trim_start_matches("./").split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return None;
        }
        at.push(part);
        let meta = at.symlink_metadata().ok()?;
        if meta.file_type().is_symlink() {
            return None;
        }
    }
    at.symlink_metadata().ok()?.is_file().then_some(at)
}

/// A key as a file name: ASCII letters, digits, `-` and `_` kept, every other byte as `%XX`
/// (so `.`, `..` and `/` can never name a path), at most 200 bytes.
pub fn file_name(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
        if out.len() >= 200 {
            break;
        }
    }
    out
}

/// `$XDG_CACHE_HOME/executor/cache/<project>`, else under `~/.cache`; `None` without either.
pub fn dir(project_id: &str) -> Option<PathBuf> {
    let base = super::include::default_cache_dir()?;
    let executor = base.parent()?;
    Some(executor.join("cache").join(file_name(project_id)))
}

/// The archive saved under the key (or the first of the fallback keys that has one), when
/// there is one no larger than [`MAX_CACHE`]: the key it came from and its bytes.
pub fn load(dir: &Path, keys: &Keys) -> Option<(String, Vec<u8>)> {
    std::iter::once(&keys.key)
        .chain(&keys.fallbacks)
        .find_map(|k| {
            let path = dir.join(format!("{k}.tar"));
            let meta = path.symlink_metadata().ok()?;
            (meta.is_file() && meta.len() <= MAX_CACHE as u64)
                .then(|| std::fs::read(&path).ok())
                .flatten()
                .map(|bytes| (k.clone(), bytes))
        })
}

/// Save `archive` under `key`: written beside, then renamed, so a reader never sees half.
pub fn save(dir: &Path, key: &str, archive: &[u8]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, archive)
        .map_err(|e| format!("cannot write the cache in {}: {e}", dir.display()))?;
    let path = dir.join(format!("{key}.tar"));
    tmp.persist(&path)
        .map_err(|e| format!("cannot save {}: {e}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests;
