//! A Docker client configuration (`config.json`, or a `DOCKER_AUTH_CONFIG` value): its `auths`
//! (an `auth` of base64 `user:password`, or `username`/`password`, or an identity token),
//! `credHelpers` and `credsStore`. Everything else in the file is not read.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use super::Credential;

/// What a configuration says about registries, keys as written.
#[derive(Default)]
pub struct ConfigFile {
    pub auths: Vec<(String, Credential)>,
    /// Registry key → helper name (`docker-credential-<name>`).
    pub helpers: Vec<(String, String)>,
    /// The helper for every registry without an entry of its own.
    pub store: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    auths: BTreeMap<String, RawAuth>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
    registrytoken: Option<String>,
}

/// Parse `text`. Errors name where the JSON went wrong, never what it holds.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        format!(
            "is not a Docker config.json (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let mut auths = Vec::new();
    for (key, entry) in raw.auths {
        let credential = credential(entry)
            .map_err(|why| format!("has an `auths` entry for {} that {why}", shown_key(&key)))?;
        if let Some(credential) = credential {
            auths.push((key, credential));
        }
    }
    Ok(ConfigFile {
        auths,
        helpers: raw.cred_helpers.into_iter().collect(),
        store: raw.creds_store.filter(|s| !s.is_empty()),
    })
}

/// A key as it may appear in a message: escaped and short.
pub fn shown_key(key: &str) -> String {
    let key = crate::outcome::one_line(key);
    match key.char_indices().nth(100) {
        Some((end, _)) => format!("`{}…`", &key[..end]),
        None => format!("`{key}`"),
    }
}

/// An entry's credential; `None` for one that holds none (an empty `{}`, as `docker login`
/// leaves beside a credential store).
fn credential(entry: RawAuth) -> Result<Option<Credential>, &'static str> {
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let (mut username, mut password) = (non_empty(entry.username), non_empty(entry.password));
    if let Some(auth) = non_empty(entry.auth) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| "has an `auth` that is not base64")?;
        let decoded = String::from_utf8(decoded).map_err(|_| "has an `auth` that is not text")?;
        let (user, pass) = decoded
            .split_once(':')
            .ok_or("has an `auth` that is not `user:password` in base64")?;
        username = Some(user.to_string());
        password = Some(pass.to_string());
    }
    let identity_token = non_empty(entry.identitytoken);
    let registry_token = non_empty(entry.registrytoken);
    if username.is_none() && identity_token.is_none() && registry_token.is_none() {
        return Ok(None);
    }
    Ok(Some(Credential {
        username: username.unwrap_or_default(),
        password: password.unwrap_or_default(),
        identity_token,
        registry_token,
    }))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn auths_in_every_form_helpers_and_store() {
        let text = r#"{
            "auths": {
                "reg.example:5000": {"auth": "YWxpY2U6czNjcjp0"},
                "https://index.docker.io/v1/": {"username": "bob", "password": "pw"},
                "ghcr.io": {"identitytoken": "tok"},
                "empty.example": {}
            },
            "credHelpers": {"123.dkr.ecr.example": "ecr-login"},
            "credsStore": "desktop",
            "HttpHeaders": {"X": "y"}
        }"#;
        let file = parse(text).unwrap();
        let auths: Vec<(&str, &str, &str)> = file
            .auths
            .iter()
            .map(|(k, c)| (k.as_str(), c.username.as_str(), c.password.as_str()))
            .collect();
        assert_eq!(
            auths,
            [
                ("ghcr.io", "", ""),
                ("https://index.docker.io/v1/", "bob", "pw"),
                ("reg.example:5000", "alice", "s3cr:t"),
            ]
        );
        assert_eq!(file.auths[0].1.identity_token.as_deref(), Some("tok"));
        assert_eq!(
            file.helpers,
            [("123.dkr.ecr.example".to_string(), "ecr-login".to_string())]
        );
        assert_eq!(file.store.as_deref(), Some("desktop"));
    }

    #[test]
    fn errors_say_where_and_never_what() {
        let secret = "hunter2-secret";
        for (text, expected) in [
            (
                format!("{{\"auths\": {{\"r\": {secret}}}}}"),
                "line 1, column",
            ),
            (
                format!("{{\"auths\": {{\"r.example\": {{\"auth\": \"{secret}!\"}}}}}}"),
                "`auths` entry for `r.example` that has an `auth` that is not base64",
            ),
            (
                "{\"auths\": {\"r\": {\"auth\": \"bm9jb2xvbg==\"}}}".to_string(),
                "not `user:password` in base64",
            ),
        ] {
            let error = parse(&text).err().unwrap();
            assert!(error.contains(expected), "{error}");
            assert!(
                !error.contains(secret) && !error.contains("nocolon"),
                "{error}"
            );
        }
        assert_eq!(parse("{}").unwrap().auths.len(), 0);
    }
}
