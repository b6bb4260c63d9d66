//! Where each include entry's files are and how each is read. A file is read in the place of
//! the file that includes it, as GitLab does: `local:` in the project holding the including
//! file (this project, or another project's clone or GitLab API at its ref); a remote file or
//! a template has no project, so a `local:` include inside one is an error there as in GitLab.

use std::path::{Path, PathBuf};

use base64::Engine;

use super::cache;
use super::entry::{Entry, Location};
use super::fetch::{FetchError, Request};
use super::glob;
use super::Options;

/// The project a file belongs to, which its own `local:` includes are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Place {
    /// The project being run, at the root given to `resolve`.
    Root,
    /// Another project, read from a local clone (`local.projects`).
    Clone { project: String, dir: PathBuf },
    /// Another project, fetched from the GitLab API at a ref (`None`: its default branch).
    Api {
        project: String,
        reference: Option<String>,
    },
    /// A remote file or a template.
    Outside,
}

/// One file to read.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// Equal for the same file in the same place: what cycles and the read-once table use.
    pub identity: String,
    /// How messages and the job list name it.
    pub name: String,
    /// Where its own includes are read.
    pub place: Place,
    read: Read,
}

#[derive(Debug, Clone)]
enum Read {
    File(PathBuf, PathBuf),
    Url {
        url: String,
        token: bool,
        integrity: Option<String>,
    },
}

/// The files `entry` names when read from `place`; a pattern may name none (`Ok(vec![])`).
pub(super) fn targets(
    entry: &Entry,
    place: &Place,
    root: &Path,
    options: &Options,
) -> Result<Vec<Target>, String> {
    let shown = &entry.written;
    let targets = match (&entry.location, place) {
        (Location::Local(path), Place::Outside) => {
            return Err(format!(
                "`local: {path}` is inside a remote file or a template, which belongs to no \
                 project; GitLab refuses it too: use `remote:` or `project:` there"
            ))
        }
        (Location::Local(path), _) if path.trim_matches(['/', '.']).is_empty() => {
            return Err(format!(
                "include `{shown}` names no file once its variables are expanded; set them \
                 (with --var) or name the file"
            ))
        }
        (Location::Local(path), _) => local(path, place, root)?,
        (
            Location::Project {
                project,
                reference,
                file,
            },
            _,
        ) => {
            let place = match options.projects.get(project) {
                Some(dir) => Place::Clone {
                    project: project.clone(),
                    dir: dir.clone(),
                },
                None => Place::Api {
                    project: project.clone(),
                    reference: reference.clone(),
                },
            };
            if glob::is_pattern(file) {
                return Err(format!(
                    "`file: {file}` of project `{project}` has a `*`; GitLab takes file names \
                     there, not patterns"
                ));
            }
            local(file, &place, root)?
        }
        (Location::Remote { url, integrity }, _) => vec![Target {
            identity: format!("remote:{url}"),
            name: if url == shown {
                without_userinfo(url)
            } else {
                shown.clone()
            },
            place: Place::Outside,
            read: Read::Url {
                url: url.clone(),
                token: false,
                integrity: integrity.clone(),
            },
        }],
        (Location::Template(name), _) => {
            if !name.ends_with(".gitlab-ci.yml") || name.split('/').any(|p| p == "..") {
                return Err(format!(
                    "`template: {name}` is not a template name; GitLab's template names end in \
                     `.gitlab-ci.yml`, such as `Jobs/Build.gitlab-ci.yml`"
                ));
            }
            let base = options.template_base.trim_end_matches('/');
            vec![Target {
                identity: format!("template:{name}"),
                name: format!("template {name}"),
                place: Place::Outside,
                read: Read::Url {
                    url: format!("{base}/{}", encode(name, true)),
                    token: false,
                    integrity: None,
                },
            }]
        }
    };
    for target in &targets {
        let base = target
            .identity
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default();
        let yaml = base.to_ascii_lowercase();
        if base.len() < 5 || !(yaml.ends_with(".yml") || yaml.ends_with(".yaml")) {
            return Err(format!(
                "include `{}` is not a YAML file; GitLab includes only files ending in `.yml` \
                 or `.yaml`",
                target.name
            ));
        }
    }
    Ok(targets)
}

/// `path` in the project `place` stands for, a pattern expanded where the files can be listed.
fn local(path: &str, place: &Place, root: &Path) -> Result<Vec<Target>, String> {
    // `/a.yml`, `./a.yml` and `a//b.yml` name the same files as `a.yml` and `a/b.yml`.
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    let path = &parts.join("/");
    if path.is_empty() || parts.contains(&"..") {
        return Err(format!(
            "`{path}` is not a file in the project; local includes name files inside it, \
             relative to its root"
        ));
    }
    let dir = match place {
        Place::Root => Some(root),
        Place::Clone { dir, .. } => Some(dir.as_path()),
        _ => None,
    };
    let paths = match (glob::is_pattern(path), dir) {
        (false, _) => vec![path.to_string()],
        (true, Some(dir)) => glob::files(dir, path)?,
        (true, None) => {
            return Err(format!(
                "`local: {path}` has a `*` inside a file fetched from the GitLab API, whose \
                 files a local run cannot list; map that project to a local clone \
                 (`local.projects`)"
            ))
        }
    };
    Ok(paths
        .into_iter()
        .map(|p| target_in(place, root, p))
        .collect())
}

fn target_in(place: &Place, root: &Path, path: String) -> Target {
    let (identity, name, read) = match place {
        Place::Root | Place::Outside => (
            format!("local:{path}"),
            path.clone(),
            Read::File(root.to_path_buf(), PathBuf::from(&path)),
        ),
        Place::Clone { project, dir } => (
            format!("project:{project}@clone:{path}"),
            format!("{project}:{path}"),
            Read::File(dir.clone(), PathBuf::from(&path)),
        ),
        Place::Api { project, reference } => {
            let at = reference
                .as_deref()
                .map_or(String::new(), |r| format!("@{r}"));
            let query = reference
                .as_deref()
                .map_or(String::new(), |r| format!("?ref={}", encode(r, false)));
            (
                format!("project:{project}{at}:{path}"),
                format!("{project}:{path}{at}"),
                Read::Url {
                    url: format!(
                        "/api/v4/projects/{}/repository/files/{}/raw{query}",
                        encode(project, false),
                        encode(&path, false)
                    ),
                    token: true,
                    integrity: None,
                },
            )
        }
    };
    Target {
        identity,
        name,
        place: place.clone(),
        read,
    }
}

/// The file's text; the error is a one-line message naming it.
pub(super) fn read(target: &Target, options: &Options) -> Result<String, String> {
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
            let bytes = fetched(target, &url, *token, options)?;
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
fn fetched(target: &Target, url: &str, token: bool, options: &Options) -> Result<Vec<u8>, String> {
    let name = &target.name;
    let kept = options
        .cache_dir
        .as_deref()
        .map(|dir| cache::path_for(dir, url));
    if let (false, Some(path)) = (options.refresh, &kept) {
        if let Some(bytes) = cache::read(path, options.max_file_bytes) {
            return Ok(bytes);
        }
    }
    let header = match (token, &options.token) {
        (true, Some(token)) => Some(token.header()),
        _ => None,
    };
    let request = Request {
        url,
        secret_header: header,
        max_bytes: options.max_file_bytes,
        timeout: options.timeout,
    };
    match options.fetch.get(&request) {
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
            let token = match options.token {
                Some(_) => "check that the token may read the project",
                None => "a private project needs a token (--gitlab-token or GITLAB_TOKEN)",
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

/// Percent-encode for a URL path: everything but letters, digits, `-`, `_`, `.` and `~`, and
/// `/` when `keep_slash`.
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A URL as messages show it: `user:password@` taken out.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_and_userinfo() {
        assert_eq!(encode("group/sub project", false), "group%2Fsub%20project");
        assert_eq!(
            encode("Jobs/Build.gitlab-ci.yml", true),
            "Jobs/Build.gitlab-ci.yml"
        );
        assert_eq!(
            without_userinfo("https://u:p@h/a@b.yml"),
            "https://h/a@b.yml"
        );
        assert_eq!(without_userinfo("https://h/a.yml"), "https://h/a.yml");
    }

    #[test]
    fn integrity_is_sha256_base64() {
        // sha256("") in base64.
        let empty = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert_eq!(check_integrity(b"", empty, "f"), Ok(()));
        assert!(check_integrity(b"x", empty, "f").is_err());
        assert!(check_integrity(b"", "md5-x", "f").is_err());
    }
}
