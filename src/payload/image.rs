//! The job's own `image:` as GitLab sends it in the payload: the entrypoint override and the
//! docker executor's options (`image: docker: user/platform`). The job writes these, like any
//! job variable; they shape only the job's own container, never what separates one job,
//! project or ref from another.

use serde::Deserialize;

/// What the job asked of its image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobImage {
    /// `image: entrypoint:`: `None` keeps the image's `ENTRYPOINT`; `[""]` turns it off; any
    /// other list replaces it. An empty list is `None`, as the docker executor takes it (it
    /// overrides only with a non-empty list).
    pub entrypoint: Option<Vec<String>>,
    /// `image: docker: user:`, the user the job container (and so every stage) runs as.
    pub user: Option<String>,
    /// `image: docker: platform:`, e.g. `linux/arm64`.
    pub platform: Option<String>,
    /// `image: pull_policy:`, the policies to try in order, as written (checked by the plan).
    pub pull_policy: Vec<String>,
}

impl JobImage {
    /// Whether the job turned the image's entrypoint off (`entrypoint: [""]`).
    pub fn entrypoint_off(&self) -> bool {
        matches!(&self.entrypoint, Some(list) if !list.is_empty() && list.iter().all(String::is_empty))
    }
}

#[derive(Deserialize)]
pub(super) struct RawImage {
    entrypoint: Option<Vec<String>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pull_policy: Vec<String>,
    executor_opts: Option<RawExecutorOpts>,
}

#[derive(Deserialize)]
struct RawExecutorOpts {
    docker: Option<RawDockerOpts>,
}

#[derive(Deserialize)]
struct RawDockerOpts {
    platform: Option<String>,
    /// GitLab sends a string or a number (`user: 1000`).
    user: Option<serde_json::Value>,
}

impl From<RawImage> for JobImage {
    fn from(raw: RawImage) -> JobImage {
        let docker = raw.executor_opts.and_then(|o| o.docker);
        let (platform, user) = match docker {
            Some(d) => (d.platform, d.user),
            None => (None, None),
        };
        let user = match user {
            Some(serde_json::Value::String(s)) => Some(s),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        JobImage {
            entrypoint: raw.entrypoint.filter(|list| !list.is_empty()),
            user: user.filter(|u| !u.is_empty()),
            platform: platform.filter(|p| !p.is_empty()),
            pull_policy: raw.pull_policy,
        }
    }
}

/// `pull_policy` as GitLab sends it: a list of names, or one name (or null).
pub(super) fn one_or_many<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(name)) => vec![name],
        Some(OneOrMany::Many(names)) => names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(json: &str) -> JobImage {
        JobImage::from(serde_json::from_str::<RawImage>(json).unwrap())
    }

    #[test]
    fn reads_the_entrypoint_and_the_docker_options() {
        let image = parsed(
            r#"{"name": "x", "entrypoint": ["/bin/tool", "--flag"],
                "executor_opts": {"docker": {"platform": "linux/arm64", "user": 1000}}}"#,
        );
        assert_eq!(
            image,
            JobImage {
                entrypoint: Some(vec!["/bin/tool".into(), "--flag".into()]),
                user: Some("1000".into()),
                platform: Some("linux/arm64".into()),
                pull_policy: Vec::new(),
            }
        );
        assert!(!image.entrypoint_off());
        assert_eq!(
            parsed(r#"{"executor_opts": {"docker": {"user": "app:app"}}}"#).user,
            Some("app:app".into())
        );
    }

    #[test]
    fn pull_policies_as_a_list_or_one_name() {
        assert_eq!(
            parsed(r#"{"pull_policy": ["always", "if-not-present"]}"#).pull_policy,
            ["always", "if-not-present"]
        );
        assert_eq!(parsed(r#"{"pull_policy": "never"}"#).pull_policy, ["never"]);
        assert!(parsed(r#"{"pull_policy": null}"#).pull_policy.is_empty());
    }

    #[test]
    fn an_empty_entrypoint_turns_it_off_and_absent_keeps_the_images() {
        assert!(parsed(r#"{"entrypoint": [""]}"#).entrypoint_off());
        // The docker executor overrides only with a non-empty list: `[]` keeps the image's.
        assert_eq!(parsed(r#"{"entrypoint": []}"#), JobImage::default());
        let kept = parsed(r#"{"name": "x"}"#);
        assert_eq!(kept, JobImage::default());
        assert!(!kept.entrypoint_off());
    }
}
