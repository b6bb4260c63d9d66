//! Reading one target: a file from a folder (the project or a clone), kept inside it, or a URL
//! through the cache (`cache.rs`) and [`super::Fetch`], bounded in size, with messages that say
//! what to check: the token for a refused `project:` file, the cache for an offline run.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;

use super::cache;
use super::fetch::{FetchError, Request};
use super::source::{Place, Read, Target};
use super::Options;

/// The time all fetches of one walk may still take ([`super::Options::total_timeout`]).
pub(super) struct Budget {
    total: Duration,
    left: Duration,
}

impl Budget {
    pub fn new(total: Duration) -> Budget {
        Budget { total, left: total }
    }
}

/// The file's text; the error is a one-line message naming it.
pub(super) fn read(
    target: &Target,
    options: &Options,
    budget: &mut Budget,
) -> Result<String, String> {
    let name = &target.name;
    let max = options.max_file_bytes;
    let bytes = match &target.read {
        Read::File(dir, path) => from_disk(dir, path, name, max)?,
        Read::Url {
            url,
            token,
            integrity,
        } => {
            let url = match url.starts_with('/') {
                true => format!("{}{url}", options.gitlab_url.trim_end_matches('/')),
                false => url.clone(),
            };
            let bytes = fetched(target, &url, *token, options, budget)?;
            if let Some(want) = integrity {
                check_integrity(&bytes, want, name)?;
            }
            bytes
        }
    };
    let text =
        String::from_utf8(bytes).map_err(|_| format!("include `{name}` is not UTF-8 text"))?;
    if text.trim().is_empty() {
        return Err(format!("include `{name}` is empty"));
    }
    Ok(text)
}

fn from_disk(dir: &Path, path: &Path, name: &str, max: usize) -> Result<Vec<u8>, String> {
    let full = dir.join(path);
    let missing = || format!("include `{name}` does not exist ({})", full.display());
    let real = full.canonicalize().map_err(|_| missing())?;
    let real_dir = dir.canonicalize().map_err(|_| missing())?;
    if !real.starts_with(&real_dir) || !real.is_file() {
        return Err(missing());
    }
    let size = std::fs::metadata(&real).map_err(|_| missing())?.len();
    if size > max as u64 {
        return Err(too_large(name, max));
    }
    std::fs::read(&real).map_err(|e| format!("include `{name}` cannot be read: {e}"))
}

/// `url` from the cache when a copy is kept (and `--refresh` is not set), else fetched and kept.
fn fetched(
    target: &Target,
    url: &str,
    token: bool,
    options: &Options,
    budget: &mut Budget,
) -> Result<Vec<u8>, String> {
    let name = &target.name;
    let header = match (token, &options.token) {
        (true, Some(token)) => Some(token.header()),
        _ => None,
    };
    // Keyed by the token sent too: a copy read with a token serves only runs that send it.
    let kept = options
        .cache_dir
        .as_deref()
        .map(|dir| cache::path_for(dir, url, header));
    if let (false, Some(path)) = (options.refresh, &kept) {
        if let Some(bytes) = cache::read(path, options.max_file_bytes) {
            return Ok(bytes);
        }
    }
    if budget.left.is_zero() {
        return Err(format!(
            "include `{name}` was not fetched: fetching the includes took {} s in all, the \
             most a local run waits; a server answers slowly (the copies kept so far are used \
             by the next run)",
            budget.total.as_secs()
        ));
    }
    let trusted = options.trusted_hosts();
    let request = Request {
        url,
        secret_header: header,
        max_bytes: options.max_file_bytes,
        timeout: options.timeout.min(budget.left),
        trusted_hosts: &trusted,
    };
    let started = Instant::now();
    let got = options.fetch.get(&request);
    budget.left = budget.left.saturating_sub(started.elapsed());
    match got {
        Ok(bytes) => {
            if let Some(path) = &kept {
                // A copy that cannot be kept only costs a fetch next time.
                let _ = cache::write(path, &bytes);
            }
            Ok(bytes)
        }
        Err(FetchError::Unreachable(why)) => Err(match (&kept, options.refresh) {
            (Some(path), true) if path.exists() => format!(
                "include `{name}` could not be fetched again ({why}); the copy kept at {} is \
                 used without --refresh",
                path.display()
            ),
            (Some(path), _) => format!(
                "include `{name}` could not be fetched ({why}) and no copy is kept at {}; run \
                 once with the network to keep one",
                path.display()
            ),
            (None, _) => format!(
                "include `{name}` could not be fetched ({why}) and there is no cache directory \
                 (set HOME or XDG_CACHE_HOME)"
            ),
        }),
        Err(FetchError::Status(code)) => Err(refused(target, code, options)),
        Err(FetchError::TooLarge) => Err(too_large(name, options.max_file_bytes)),
        Err(FetchError::Invalid(why)) => {
            Err(format!("include `{name}` could not be fetched: {why}"))
        }
    }
}

fn refused(target: &Target, code: u16, options: &Options) -> String {
    let name = &target.name;
    match (&target.place, code) {
        (Place::Api { project, .. }, 401 | 403 | 404) => {
            let token = match (&options.token, options.unused_token) {
                (Some(_), _) => "check that the token may read the project".to_string(),
                (None, Some(name)) => format!(
                    "{name} is set but not sent, as the config does not name this instance: \
                     set local.gitlab_url to it or pass --gitlab-token"
                ),
                (None, None) => {
                    "a private project needs a token (--gitlab-token, or GITLAB_TOKEN with \
                     local.gitlab_url set)"
                        .to_string()
                }
            };
            format!(
                "include `{name}`: {} answers HTTP {code}: project `{project}`, that file or \
                 that ref does not exist or cannot be read; check the names; {token}, or map \
                 the project to a local clone (`local.projects`)",
                options.gitlab_url
            )
        }
        _ => format!("include `{name}` could not be fetched: HTTP status {code}"),
    }
}

fn too_large(name: &str, max: usize) -> String {
    format!(
        "include `{name}` is larger than {} KiB, the most a local run reads for one file",
        max >> 10
    )
}

/// GitLab's `integrity: sha256-<base64>` check of a remote file.
fn check_integrity(bytes: &[u8], want: &str, name: &str) -> Result<(), String> {
    let Some(expected) = want.strip_prefix("sha256-") else {
        return Err(format!(
            "include `{name}` has `integrity: {want}`; only `sha256-<base64>` is supported"
        ));
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let got = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    if got != expected {
        return Err(format!(
            "include `{name}` does not match its `integrity:` (its content has sha256-{got}); \
             the file changed: check it, then update the hash"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_sha256_base64() {
        // sha256("") in base64.
        let empty = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert_eq!(check_integrity(b"", empty, "f"), Ok(()));
        assert!(check_integrity(b"x", empty, "f").is_err());
        assert!(check_integrity(b"", "md5-x", "f").is_err());
    }
}
