//! Where each include entry's files are and how each is read. A file is read in the place of
//! the file that includes it, as GitLab does: `local:` in the project holding the including
//! file (this project, or another project's clone or GitLab API at its ref); a remote file or
//! a template has no project, so a `local:` include inside one is an error there as in GitLab.

use std::path::{Path, PathBuf};

use super::entry::{Entry, Location};
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
    pub read: Read,
}

/// How a target is read: a file under a folder, or a URL (a path alone is on the GitLab
/// instance).
#[derive(Debug, Clone)]
pub(super) enum Read {
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
    work: &mut glob::Work,
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
        (Location::Local(path), _) => local(path, place, root, work)?,
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
            local(file, &place, root, work)?
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
        // GitLab looks at the end of the whole location; a URL's path must end so too, or
        // `https://host/any/endpoint?.yml` would pass for a YAML file (stricter than GitLab).
        let path = target.identity.split(['?', '#']).next().unwrap_or_default();
        if !yaml_name(&target.identity) || !yaml_name(path) {
            return Err(format!(
                "include `{}` is not a YAML file; local runs include only files whose name \
                 ends in `.yml` or `.yaml` (a URL's path, before any `?`, too)",
                target.name
            ));
        }
    }
    Ok(targets)
}

/// Whether the last part of `location` is a name ending in `.yml` or `.yaml`.
fn yaml_name(location: &str) -> bool {
    let base = location.rsplit(['/', ':']).next().unwrap_or_default();
    let lower = base.to_ascii_lowercase();
    base.len() >= 5 && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
}

/// `path` in the project `place` stands for, a pattern expanded where the files can be listed.
fn local(
    path: &str,
    place: &Place,
    root: &Path,
    work: &mut glob::Work,
) -> Result<Vec<Target>, String> {
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
        (true, Some(dir)) => glob::files(dir, path, work)?,
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

/// Percent-encode for a URL path: everything but letters, digits, `-`, `_`, `.` and `~`, and
/// `/` when `keep_slash`.
pub(super) fn encode(text: &str, keep_slash: bool) -> String {
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
    fn a_urls_path_must_name_a_yaml_file_not_only_its_query() {
        assert!(yaml_name("remote:https://h/ci/a.yml"));
        assert!(yaml_name("local:a.YAML"));
        assert!(!yaml_name("remote:https://h/x.yml.txt"));
        assert!(!yaml_name(".yml"));
        let entry = |url: &str| Entry {
            location: Location::Remote {
                url: url.to_string(),
                integrity: None,
            },
            written: url.to_string(),
            rules: None,
            inputs: None,
        };
        let options = Options::new(".gitlab-ci.yml");
        let root = Path::new("/nonexistent");
        let mut work = glob::Work::new();
        for bad in [
            "https://h/admin/delete?.yml",
            "https://h/x#.yml",
            "https://h/a.yml?x",
        ] {
            let e = targets(&entry(bad), &Place::Root, root, &options, &mut work).unwrap_err();
            assert!(e.contains("is not a YAML file"), "{bad}: {e}");
        }
        let ok = targets(
            &entry("https://h/ci/a.yml"),
            &Place::Root,
            root,
            &options,
            &mut work,
        );
        assert!(ok.is_ok());
    }

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
}
