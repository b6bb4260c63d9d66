//! The variables of a local run: the predefined ones a job commonly reads (from the checkout
//! where possible), then the file's, then `--var` overrides, each layered over the ones before
//! it with [`super::expand::layer`].

use std::time::{SystemTime, UNIX_EPOCH};

use super::checkout::Checkout;
use crate::settings::Local;

/// The most digits an id may have: GitLab's are 64-bit integers.
const MAX_ID_DIGITS: usize = 20;

/// The gitlab-runner version a local run stands in for.
pub const LOCAL_RUNNER_VERSION: &str = "17.11.0";

/// Ids that name a local job's resources, the payload's facts; the person's `--var
/// CI_JOB_ID=...` and friends override them, a `.gitlab-ci.yml`'s `variables:` never do.
pub struct LocalIds {
    pub runner_id: String,
    pub project_id: String,
    pub job_id: String,
    pub project_path: String,
}

impl LocalIds {
    /// Runner 0 marks local runs; the project id is stable per checkout; the job id is unique
    /// per run (milliseconds plus pid), so two runs at once never share a name.
    pub fn new(checkout: &Checkout) -> LocalIds {
        let project_path = checkout
            .remote_path
            .clone()
            .unwrap_or_else(|| format!("local/{}", checkout.name));
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        LocalIds {
            runner_id: "0".into(),
            project_id: project_id(&checkout.root).to_string(),
            job_id: format!(
                "{}{:05}",
                millis % 10_000_000_000_000,
                std::process::id() % 100_000
            ),
            project_path,
        }
    }

    /// Refuse a person's `--var` of an id that names what the run creates unless it is a
    /// number, as GitLab's ids are; the value is not shown (a `--var` may be a secret).
    pub fn check_overrides(overrides: &[(String, String)]) -> Result<(), String> {
        const NAMING: [&str; 5] = [
            "CI_JOB_ID",
            "CI_PIPELINE_ID",
            "CI_PROJECT_ID",
            "CI_RUNNER_ID",
            "CI_CONCURRENT_ID",
        ];
        let number = |v: &str| {
            !v.is_empty() && v.len() <= MAX_ID_DIGITS && v.bytes().all(|b| b.is_ascii_digit())
        };
        match overrides
            .iter()
            .find(|(k, v)| NAMING.contains(&k.as_str()) && !number(v))
        {
            Some((key, _)) => Err(format!(
                "--var {key}=...: must be a number of at most {MAX_ID_DIGITS} digits, as \
                 GitLab's ids are (the run names what it creates by it)"
            )),
            None => Ok(()),
        }
    }

    /// These ids with the person's `--var` overrides of them applied.
    pub fn overridden(mut self, overrides: &[(String, String)]) -> LocalIds {
        for (key, value) in overrides {
            let slot = match key.as_str() {
                "CI_RUNNER_ID" => &mut self.runner_id,
                "CI_PROJECT_ID" => &mut self.project_id,
                "CI_JOB_ID" => &mut self.job_id,
                "CI_PROJECT_PATH" => &mut self.project_path,
                _ => continue,
            };
            *slot = value.clone();
        }
        self
    }
}

/// What the predefined variables are made from.
pub struct JobFacts<'a> {
    pub job_name: &'a str,
    pub stage: &'a str,
    pub builds_dir: &'a str,
    pub image: &'a str,
}

/// Predefined variables, as gitlab-runner and GitLab would set them for this job: a push
/// pipeline for the checkout's branch (or the tag a detached HEAD is at), on the instance and
/// registry `local:` names.
pub fn predefined(
    facts: &JobFacts,
    checkout: &Checkout,
    ids: &LocalIds,
    local: &Local,
) -> Vec<(String, String)> {
    let path = ids.project_path.clone();
    let project_dir = format!("{}/{path}", facts.builds_dir.trim_end_matches('/'));
    let sha = checkout.sha.clone().unwrap_or_else(|| "0".repeat(40));
    let ref_name = checkout
        .tag
        .clone()
        .or_else(|| checkout.branch.clone())
        .unwrap_or_else(|| "local".into());
    let namespace = path
        .rsplit_once('/')
        .map_or("local", |(ns, _)| ns)
        .to_string();
    let server = Server::of(&local.gitlab_url);
    let project_url = format!("{}/{path}", local.gitlab_url);
    let registry_image = format!("{}/{}", local.registry, path.to_ascii_lowercase());
    let proxy = format!("{}:{}", server.host, server.port);
    let group = format!(
        "{proxy}/{}/dependency_proxy/containers",
        namespace.split('/').next().unwrap_or_default()
    );
    let default_branch = local
        .default_branch
        .clone()
        .or_else(|| checkout.default_branch.clone())
        .unwrap_or_else(|| "main".into());
    let mut pairs = vec![
        ("CI", "true".to_string()),
        ("GITLAB_CI", "true".into()),
        ("CI_SERVER", "yes".into()),
        ("CI_JOB_NAME", facts.job_name.into()),
        ("CI_JOB_STAGE", facts.stage.into()),
        ("CI_JOB_ID", ids.job_id.clone()),
        ("CI_JOB_IMAGE", facts.image.into()),
        ("CI_JOB_STATUS", "running".into()),
        // GitLab's value for a job without `parallel:`; the jobs `parallel:` makes set their
        // own, with `CI_NODE_INDEX`, which a job without it does not get.
        ("CI_NODE_TOTAL", "1".into()),
        ("CI_PIPELINE_ID", ids.job_id.clone()),
        ("CI_PIPELINE_SOURCE", "push".into()),
        (
            "CI_PIPELINE_URL",
            format!("{project_url}/-/pipelines/{}", ids.job_id),
        ),
        ("CI_JOB_URL", format!("{project_url}/-/jobs/{}", ids.job_id)),
        ("CI_RUNNER_ID", ids.runner_id.clone()),
        // No runner here: the version whose helper image (`helper.image`'s default) a local
        // run uses. `--var CI_RUNNER_VERSION=...` picks another.
        ("CI_RUNNER_VERSION", LOCAL_RUNNER_VERSION.into()),
        ("CI_CONCURRENT_ID", "0".into()),
        ("CI_CONCURRENT_PROJECT_ID", "0".into()),
        ("CI_PROJECT_ID", ids.project_id.clone()),
        ("CI_PROJECT_NAME", checkout.name.clone()),
        ("CI_PROJECT_NAMESPACE", namespace.clone()),
        (
            "CI_PROJECT_ROOT_NAMESPACE",
            namespace.split('/').next().unwrap_or_default().into(),
        ),
        ("CI_PROJECT_PATH", path.clone()),
        ("CI_PROJECT_PATH_SLUG", slug(&path)),
        ("CI_PROJECT_URL", project_url.clone()),
        ("CI_PROJECT_VISIBILITY", "private".into()),
        ("CI_DEFAULT_BRANCH", default_branch),
        ("CI_SERVER_URL", local.gitlab_url.clone()),
        ("CI_SERVER_HOST", server.host.clone()),
        ("CI_SERVER_PORT", server.port.clone()),
        ("CI_SERVER_PROTOCOL", server.protocol.clone()),
        ("CI_SERVER_FQDN", server.fqdn.clone()),
        ("CI_API_V4_URL", format!("{}/api/v4", local.gitlab_url)),
        ("CI_REGISTRY", local.registry.clone()),
        ("CI_REGISTRY_IMAGE", registry_image),
        ("CI_DEPENDENCY_PROXY_SERVER", proxy.clone()),
        ("CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX", group.clone()),
        ("CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX", group),
        ("CI_BUILDS_DIR", facts.builds_dir.into()),
        ("CI_PROJECT_DIR", project_dir),
        ("CI_COMMIT_SHA", sha.clone()),
        ("CI_COMMIT_SHORT_SHA", sha.chars().take(8).collect()),
        ("CI_COMMIT_BEFORE_SHA", "0".repeat(40)),
        ("CI_COMMIT_REF_NAME", ref_name.clone()),
        ("CI_COMMIT_REF_SLUG", slug(&ref_name)),
        ("CI_COMMIT_REF_PROTECTED", "false".into()),
        ("CI_SHARED_ENVIRONMENT", "true".into()),
    ];
    // A tag pipeline has CI_COMMIT_TAG and no CI_COMMIT_BRANCH; a branch pipeline the reverse.
    match &checkout.tag {
        Some(tag) => pairs.push(("CI_COMMIT_TAG", tag.clone())),
        None => pairs.push(("CI_COMMIT_BRANCH", ref_name)),
    }
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The parts of the instance's URL GitLab's `CI_SERVER_*` variables give.
struct Server {
    protocol: String,
    host: String,
    port: String,
    fqdn: String,
}

impl Server {
    fn of(url: &str) -> Server {
        let (protocol, rest) = url.split_once("://").unwrap_or(("https", url));
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
                (host.to_string(), port.to_string())
            }
            _ => {
                let port = if protocol == "http" { "80" } else { "443" };
                (authority.to_string(), port.to_string())
            }
        };
        Server {
            protocol: protocol.to_string(),
            fqdn: authority.to_string(),
            host,
            port,
        }
    }
}

/// Parse `--var KEY=VALUE`.
pub fn parse_override(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("--var {text}: write it as KEY=VALUE"))?;
    let valid = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "--var {key}=...: `{key}` is not a variable name (letters, digits, _)"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// GitLab's slug: lowercase, non-alphanumerics to `-`, trimmed, at most 63 characters.
fn slug(text: &str) -> String {
    let mapped: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    mapped.trim_matches('-').to_string()
}

/// The run's project id for the checkout at `root`: SHA-256 of its path, 63 bits (a GitLab id
/// is a signed 64-bit number), so no other checkout can share it. It names the project's
/// kept caches (`cache:` archives, the `/cache` volume). It was FNV-1a modulo 10^9: a checkout
/// whose directory name someone chose (a cloned repository's name) could be found in a
/// second to collide with another project's path, and read and rewrite its caches.
fn project_id(root: &std::path::Path) -> u64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, root.to_string_lossy().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first) >> 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::test_vars::get;

    #[test]
    fn overrides_must_be_key_equals_value() {
        assert_eq!(parse_override("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(
            parse_override("EMPTY="),
            Ok(("EMPTY".into(), String::new()))
        );
        assert!(parse_override("novalue").is_err());
        assert!(parse_override("1X=y").is_err());
        assert!(parse_override("A-B=y").is_err());
    }

    fn predefined_for(checkout: &Checkout, config: &str) -> Vec<(String, String)> {
        let settings = crate::settings::Settings::from_text(config, "t").unwrap();
        let facts = JobFacts {
            job_name: "build",
            stage: "test",
            builds_dir: "/builds",
            image: "",
        };
        predefined(&facts, checkout, &LocalIds::new(checkout), &settings.local)
    }

    #[test]
    fn a_branch_checkout_is_a_push_pipeline_on_the_configured_instance() {
        let checkout = Checkout::fake(Some("feature/x"), None, Some("Group/Sub/App"));
        let vars = predefined_for(&checkout, "");
        for (key, want) in [
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_BRANCH", "feature/x"),
            ("CI_COMMIT_REF_NAME", "feature/x"),
            ("CI_COMMIT_REF_SLUG", "feature-x"),
            ("CI_PROJECT_PATH", "Group/Sub/App"),
            ("CI_PROJECT_NAMESPACE", "Group/Sub"),
            ("CI_PROJECT_ROOT_NAMESPACE", "Group"),
            ("CI_PROJECT_DIR", "/builds/Group/Sub/App"),
            ("CI_PROJECT_URL", "https://gitlab.com/Group/Sub/App"),
            ("CI_SERVER_URL", "https://gitlab.com"),
            ("CI_SERVER_HOST", "gitlab.com"),
            ("CI_SERVER_PORT", "443"),
            ("CI_API_V4_URL", "https://gitlab.com/api/v4"),
            ("CI_REGISTRY", "registry.gitlab.com"),
            ("CI_REGISTRY_IMAGE", "registry.gitlab.com/group/sub/app"),
            ("CI_DEPENDENCY_PROXY_SERVER", "gitlab.com:443"),
            (
                "CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX",
                "gitlab.com:443/Group/dependency_proxy/containers",
            ),
            ("CI_DEFAULT_BRANCH", "main"),
        ] {
            assert_eq!(get(&vars, key), Some(want), "{key}");
        }
        assert_eq!(get(&vars, "CI_COMMIT_TAG"), None);
    }

    #[test]
    fn a_detached_tag_is_a_tag_pipeline_and_local_settings_name_the_instance() {
        let checkout = Checkout::fake(None, Some("v1.2.0"), None);
        let config = "local:\n  gitlab_url: http://git.corp:8080\n  default_branch: trunk\n";
        let vars = predefined_for(&checkout, config);
        assert_eq!(get(&vars, "CI_COMMIT_TAG"), Some("v1.2.0"));
        assert_eq!(get(&vars, "CI_COMMIT_BRANCH"), None);
        assert_eq!(get(&vars, "CI_COMMIT_REF_NAME"), Some("v1.2.0"));
        assert_eq!(get(&vars, "CI_PROJECT_PATH"), Some("local/project"));
        assert_eq!(get(&vars, "CI_SERVER_PORT"), Some("8080"));
        assert_eq!(get(&vars, "CI_SERVER_PROTOCOL"), Some("http"));
        assert_eq!(get(&vars, "CI_REGISTRY"), Some("git.corp:5050"));
        assert_eq!(
            get(&vars, "CI_REGISTRY_IMAGE"),
            Some("git.corp:5050/local/project")
        );
        assert_eq!(get(&vars, "CI_DEFAULT_BRANCH"), Some("trunk"));
    }

    #[test]
    fn the_default_branch_is_the_configs_then_origin_heads_then_main() {
        let mut checkout = Checkout::fake(Some("feature"), None, None);
        checkout.default_branch = Some("master".into());
        let named = "local:\n  default_branch: trunk\n";
        assert_eq!(
            get(&predefined_for(&checkout, named), "CI_DEFAULT_BRANCH"),
            Some("trunk")
        );
        assert_eq!(
            get(&predefined_for(&checkout, ""), "CI_DEFAULT_BRANCH"),
            Some("master")
        );
        checkout.default_branch = None;
        assert_eq!(
            get(&predefined_for(&checkout, ""), "CI_DEFAULT_BRANCH"),
            Some("main")
        );
    }

    #[test]
    fn node_total_is_one_and_node_index_unset_without_parallel() {
        let vars = predefined_for(&Checkout::fake(Some("main"), None, None), "");
        assert_eq!(get(&vars, "CI_NODE_TOTAL"), Some("1"));
        assert_eq!(get(&vars, "CI_NODE_INDEX"), None);
    }

    #[test]
    fn ids_given_by_the_person_must_be_numbers() {
        let given = |k: &str, v: &str| LocalIds::check_overrides(&[(k.into(), v.into())]);
        assert_eq!(given("CI_JOB_ID", "42"), Ok(()));
        assert_eq!(given("CI_CONCURRENT_ID", "3"), Ok(()));
        assert_eq!(given("OTHER", "secret value"), Ok(()));
        for (key, value) in [
            ("CI_JOB_ID", "abc"),
            ("CI_CONCURRENT_ID", "s3cret"),
            ("CI_PROJECT_ID", ""),
            ("CI_RUNNER_ID", &"9".repeat(21)),
            ("CI_PIPELINE_ID", "-1"),
        ] {
            let message = given(key, value).unwrap_err();
            assert_eq!(
                message,
                format!(
                    "--var {key}=...: must be a number of at most 20 digits, as GitLab's ids \
                     are (the run names what it creates by it)"
                )
            );
        }
    }

    #[test]
    fn no_chosen_directory_name_shares_a_projects_id() {
        // Found by trying names for a second: under FNV-1a modulo 10^9 these two checkouts had
        // one id (392833969), so the second read and rewrote the first one's caches.
        let id = |root: &str| {
            let mut checkout = Checkout::fake(Some("main"), None, None);
            checkout.root = root.into();
            LocalIds::new(&checkout).project_id
        };
        let (app, chosen) = (id("/tmp/rev17/src/app"), id("/tmp/rev17/src/tool-amcyykd"));
        assert_ne!(app, chosen);
        assert_eq!(app, id("/tmp/rev17/src/app"), "stable per checkout");
        for id in [app, chosen, id("/")] {
            assert!(id.len() <= 19 && id.parse::<i64>().is_ok(), "{id}");
        }
    }

    #[test]
    fn slugs_are_gitlab_shaped() {
        assert_eq!(slug("Feature/My_Branch!"), "feature-my-branch");
    }
}
