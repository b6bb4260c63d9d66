//! `local:`: settings of local runs (`executor run JOB` in a checkout) only. The protocol form
//! never reads them: a runner's jobs get GitLab's own values from the job payload.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::validate::Invalid;

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with gitlab_url, templates_url, projects, registry, images and default_branch"
)]
pub struct RawLocal {
    pub gitlab_url: Option<String>,
    pub templates_url: Option<String>,
    pub projects: Option<BTreeMap<String, String>>,
    pub registry: Option<String>,
    pub images: Option<BTreeMap<String, String>>,
    pub default_branch: Option<String>,
}

/// What a local run stands in for: the GitLab instance, its registry, and where to find what
/// the file names but this machine cannot fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// The GitLab instance (`CI_SERVER_URL`, `include: project:`), without a trailing `/`.
    pub gitlab_url: String,
    /// Whether the config names the instance (not the default): only then does a local run
    /// send it a token from the person's environment (`GITLAB_TOKEN`, `CI_JOB_TOKEN`).
    pub gitlab_url_named: bool,
    /// Where `include: template:` files are fetched from, ending in `/`.
    pub templates_url: String,
    /// `include: project:` paths read from a local clone instead of the instance.
    pub projects: BTreeMap<String, String>,
    /// `CI_REGISTRY` (host and optional port).
    pub registry: String,
    /// An image the file names, replaced by a local one.
    pub images: BTreeMap<String, String>,
    /// `CI_DEFAULT_BRANCH`, over what the checkout says (its `origin/HEAD`).
    pub default_branch: Option<String>,
}

pub const DEFAULT_GITLAB_URL: &str = "https://gitlab.com";

pub(super) fn validate(raw: Option<RawLocal>) -> Result<Local, Invalid> {
    let raw = raw.unwrap_or_default();
    let gitlab_url_named = raw.gitlab_url.is_some();
    let gitlab_url = match raw.gitlab_url {
        Some(url) => web_url(&url, "gitlab_url")?,
        None => DEFAULT_GITLAB_URL.to_string(),
    };
    let templates_url = match raw.templates_url {
        Some(url) => format!("{}/", web_url(&url, "templates_url")?),
        None => format!("{gitlab_url}/gitlab-org/gitlab/-/raw/master/lib/gitlab/ci/templates/"),
    };
    let registry = match raw.registry {
        Some(host) => registry_host(&host)?,
        None => default_registry(&gitlab_url),
    };
    let mut projects = BTreeMap::new();
    for (project, dir) in raw.projects.unwrap_or_default() {
        if project.trim_matches('/').is_empty() || project.contains("..") {
            return Err((
                vec!["local", "projects"],
                format!("`{project}` is not a project path (group/project)"),
            ));
        }
        if !dir.starts_with('/') {
            return Err((
                vec!["local", "projects"],
                format!("`{project}: {dir}`: the clone's directory must be an absolute path"),
            ));
        }
        projects.insert(project.trim_matches('/').to_string(), dir);
    }
    let images = raw.images.unwrap_or_default();
    if let Some((from, _)) = images
        .iter()
        .find(|(from, to)| from.trim().is_empty() || to.trim().is_empty())
    {
        return Err((
            vec!["local", "images"],
            format!("`{from}`: both the image the file names and its replacement must be given"),
        ));
    }
    let default_branch = match raw.default_branch {
        Some(b) if b.trim().is_empty() => {
            return Err((vec!["local", "default_branch"], "must not be empty".into()))
        }
        other => other,
    };
    Ok(Local {
        gitlab_url,
        gitlab_url_named,
        templates_url,
        projects,
        registry,
        images,
        default_branch,
    })
}

/// An `http(s)://host[:port][/path]` URL, without its trailing `/`.
fn web_url(url: &str, key: &'static str) -> Result<String, Invalid> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.contains(char::is_whitespace) =>
        {
            Ok(trimmed.to_string())
        }
        _ => Err((
            vec!["local", key],
            format!("`{url}` is not an http(s) URL such as https://gitlab.example.com"),
        )),
    }
}

fn registry_host(host: &str) -> Result<String, Invalid> {
    let host = host.trim().trim_end_matches('/');
    let ok = !host.is_empty()
        && !host.contains("://")
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:_/".contains(&b));
    match ok {
        true => Ok(host.to_string()),
        false => Err((
            vec!["local", "registry"],
            format!("`{host}` is not a registry address such as registry.example.com:5050"),
        )),
    }
}

/// GitLab.com's registry is `registry.gitlab.com`; a self-managed instance's is most often
/// served on port 5050 of its own host (Linux package installations).
fn default_registry(gitlab_url: &str) -> String {
    let host = gitlab_url
        .split_once("://")
        .map_or(gitlab_url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let name = host.split(':').next().unwrap_or(host);
    match name {
        "gitlab.com" => "registry.gitlab.com".to_string(),
        _ => format!("{name}:5050"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str) -> Result<Local, String> {
        let raw: Option<RawLocal> = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        validate(raw).map_err(|(path, m)| format!("{}: {m}", path.join(".")))
    }

    #[test]
    fn defaults_stand_for_gitlab_com() {
        let l = local("{}").unwrap();
        assert_eq!(l.gitlab_url, "https://gitlab.com");
        assert_eq!(l.registry, "registry.gitlab.com");
        assert_eq!(
            l.templates_url,
            "https://gitlab.com/gitlab-org/gitlab/-/raw/master/lib/gitlab/ci/templates/"
        );
        assert!(l.projects.is_empty() && l.images.is_empty() && l.default_branch.is_none());
        assert!(!l.gitlab_url_named);
        assert!(
            local("gitlab_url: https://gitlab.com\n")
                .unwrap()
                .gitlab_url_named
        );
    }

    #[test]
    fn a_self_managed_instance_gets_its_own_registry_and_templates() {
        let l = local("gitlab_url: https://git.corp.example:8443/\n").unwrap();
        assert_eq!(l.gitlab_url, "https://git.corp.example:8443");
        assert_eq!(l.registry, "git.corp.example:5050");
        assert!(l
            .templates_url
            .starts_with("https://git.corp.example:8443/gitlab-org/"));
        let l =
            local("gitlab_url: https://git.corp.example\nregistry: reg.corp.example\n").unwrap();
        assert_eq!(l.registry, "reg.corp.example");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, want) in [
            (
                "gitlab_url: git.corp.example",
                "local.gitlab_url: `git.corp.example` is not",
            ),
            ("templates_url: ftp://x", "local.templates_url"),
            ("registry: https://reg", "local.registry"),
            ("projects: {group/p: relative/dir}", "absolute path"),
            ("projects: {../p: /x}", "not a project path"),
            ("images: {\"node:20\": \"\"}", "local.images"),
            ("default_branch: \"\"", "local.default_branch"),
        ] {
            let err = local(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        assert!(local("unknown: 1").unwrap_err().contains("unknown field"));
    }
}
