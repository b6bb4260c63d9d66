//! The payload's `credentials`: GitLab sends one of type `registry` for its container registry
//! (`CI_REGISTRY`, user `gitlab-ci-token`, the job's token), which the docker executor pulls
//! with. Kept only for pulls; never printed (`Debug` hides the password).

use serde::Deserialize;

/// One registry login from the payload.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RegistryCredential {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for RegistryCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RegistryCredential {{ url: {:?}, .. }}", self.url)
    }
}

impl RegistryCredential {
    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn password(&self) -> &str {
        &self.password
    }
}

/// The registry logins among `raw`; entries of other types (or none at all) are not read.
pub(super) fn registry_logins(raw: Option<Vec<RegistryCredential>>) -> Vec<RegistryCredential> {
    raw.unwrap_or_default()
        .into_iter()
        .filter(|c| c.kind == "registry" && !c.url.trim().is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn registry_logins_only_and_no_password_in_debug() {
        let json = br#"{"credentials": [
            {"type": "registry", "url": "registry.gitlab.example", "username": "gitlab-ci-token", "password": "glcbt-s3cret"},
            {"type": "other", "url": "x", "username": "u", "password": "p"},
            {"type": "registry", "url": "", "username": "u", "password": "p"}
        ]}"#;
        let facts = crate::payload::parse(json).unwrap();
        assert_eq!(facts.registry_credentials.len(), 1);
        let login = &facts.registry_credentials[0];
        assert_eq!(login.url, "registry.gitlab.example");
        assert_eq!(login.password(), "glcbt-s3cret");
        let shown = format!("{facts:?}");
        assert!(!shown.contains("glcbt-s3cret"), "{shown}");
        assert!(crate::payload::parse(br#"{"credentials": null}"#)
            .unwrap()
            .registry_credentials
            .is_empty());
    }
}
