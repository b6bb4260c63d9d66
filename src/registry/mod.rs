//! Registry credentials for the images the driver pulls, found as gitlab-runner's docker
//! executor finds them. Sources, first that has one for a registry wins:
//!
//! 1. the job's `DOCKER_AUTH_CONFIG` variable (its `auths` only);
//! 2. the runner's: `DOCKER_AUTH_CONFIG` in the driver's own environment, then the file
//!    `registry.auth_config` (default the runner user's `~/.docker/config.json`), with their
//!    `credHelpers` and `credsStore`;
//! 3. the job payload's `credentials` (GitLab's registry, with the job's token).
//!
//! Within those, the longest matching registry path wins (`reg.example/grp` before
//! `reg.example`), as Docker and gitlab-runner match. A job's configuration never names a
//! credential helper the driver runs: those are the admin's alone.

mod config_file;
mod helper;
pub mod names;

use std::fmt;
use std::path::PathBuf;

use crate::env::JobEnv;
use crate::outcome::{say, Failure};
use crate::payload::RegistryCredential;
use crate::settings::Settings;

/// The most of a configuration file read: a Docker config is a few KiB.
const FILE_MAX: u64 = 1024 * 1024;

/// One registry login. Its `Debug` shows no secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
    pub identity_token: Option<String>,
    pub registry_token: Option<String>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential {{ username: {:?}, .. }}", self.username)
    }
}

impl Credential {
    /// A user name and password (GitLab's registry login in the payload).
    pub fn login(username: &str, password: &str) -> Credential {
        Credential {
            username: username.to_string(),
            password: password.to_string(),
            ..Credential::default()
        }
    }
}

/// Where a credential came from; what messages and `doctor` name (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    JobVariable,
    RunnerVariable,
    RunnerFile(PathBuf),
    Payload,
}

impl Source {
    /// A job's own credential, as opposed to one the admin shares with every job.
    pub fn is_the_jobs(&self) -> bool {
        matches!(self, Source::JobVariable | Source::Payload)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::JobVariable => f.write_str("the job's DOCKER_AUTH_CONFIG"),
            Source::RunnerVariable => f.write_str("the runner's DOCKER_AUTH_CONFIG"),
            Source::RunnerFile(path) => write!(f, "the runner's {}", path.display()),
            Source::Payload => f.write_str("the job payload (GitLab's registry, the job's token)"),
        }
    }
}

enum Entry {
    Login(Credential),
    /// A helper the admin named, asked with `server`.
    Helper {
        name: String,
        server: String,
    },
}

/// A credential found for an image.
#[derive(Debug, Clone)]
pub struct Found {
    pub credential: Credential,
    pub source: Source,
}

/// Every credential source of one job, read once.
#[derive(Default)]
pub struct Registries {
    /// Lookup path, source, entry; in source order.
    entries: Vec<(String, usize, Entry)>,
    /// A source's `credsStore`, asked for any registry.
    stores: Vec<(usize, String)>,
    sources: Vec<Source>,
}

impl Registries {
    /// The job's sources: its variable, the runner's, its payload. An unreadable runner
    /// configuration is a system failure (the admin's to fix); a broken job variable is
    /// ignored with a note, as gitlab-runner ignores it.
    pub fn gather(
        settings: &Settings,
        env: &JobEnv,
        payload: &[RegistryCredential],
    ) -> Result<Registries, Failure> {
        let mut registries = Registries::default();
        if let Some(text) = env.job_var_non_empty("DOCKER_AUTH_CONFIG") {
            match config_file::parse(text) {
                Ok(file) => {
                    if !file.helpers.is_empty() || file.store.is_some() {
                        say(
                            "the job's DOCKER_AUTH_CONFIG names credential helpers; only the \
                             runner's configuration may, so they are not used (its `auths` are)",
                        );
                    }
                    registries.add_logins(Source::JobVariable, file.auths);
                }
                Err(why) => say(&format!(
                    "the job's DOCKER_AUTH_CONFIG {why}; it is not used, fix the variable"
                )),
            }
        }
        if let Some(text) = env.runner_auth_config() {
            let file = config_file::parse(text).map_err(|why| {
                Failure::System(format!(
                    "the runner's DOCKER_AUTH_CONFIG (the driver's environment) {why}; fix it"
                ))
            })?;
            registries.add_file(Source::RunnerVariable, file);
        }
        if let Some(path) = runner_file(settings, env) {
            if let Some(file) = read_runner_file(&path, settings.registry_auth_config.is_some())? {
                registries.add_file(Source::RunnerFile(path), file);
            }
        }
        let logins = payload
            .iter()
            .map(|c| (c.url.clone(), Credential::login(c.username(), c.password())))
            .collect();
        registries.add_logins(Source::Payload, logins);
        Ok(registries)
    }

    fn source(&mut self, source: Source) -> usize {
        self.sources.push(source);
        self.sources.len() - 1
    }

    fn add_logins(&mut self, source: Source, logins: Vec<(String, Credential)>) {
        if logins.is_empty() {
            return;
        }
        let index = self.source(source);
        for (key, credential) in logins {
            let path = names::key_path(&key);
            self.entries.push((path, index, Entry::Login(credential)));
        }
    }

    fn add_file(&mut self, source: Source, file: config_file::ConfigFile) {
        let index = self.source(source);
        for (key, credential) in file.auths {
            let path = names::key_path(&key);
            self.entries.push((path, index, Entry::Login(credential)));
        }
        for (key, name) in file.helpers {
            let path = names::key_path(&key);
            self.entries
                .push((path, index, Entry::Helper { name, server: key }));
        }
        if let Some(store) = file.store {
            self.stores.push((index, store));
        }
    }

    /// The credential to pull `image` with, if any source has one for its registry.
    pub async fn for_image(&self, image: &str) -> Result<Option<Found>, Failure> {
        let path = names::image_path(image);
        let host = names::registry_of(image);
        for prefix in names::lookup_order(&path) {
            for (index, source) in self.sources.iter().enumerate() {
                let entries = self
                    .entries
                    .iter()
                    .filter(|(p, i, _)| *i == index && p == prefix)
                    .map(|(_, _, entry)| entry);
                let store = self
                    .stores
                    .iter()
                    .filter(|(i, _)| *i == index && prefix == host)
                    .map(|(_, name)| name);
                for entry in entries {
                    if let Some(credential) = ask(entry, source).await? {
                        return Ok(Some(Found {
                            credential,
                            source: source.clone(),
                        }));
                    }
                }
                for name in store {
                    let entry = Entry::Helper {
                        name: name.clone(),
                        server: names::server_address(&host),
                    };
                    if let Some(credential) = ask(&entry, source).await? {
                        return Ok(Some(Found {
                            credential,
                            source: source.clone(),
                        }));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The job's own login (its `DOCKER_AUTH_CONFIG`, its payload) for `image`'s registry, even
    /// where an admin's credential comes first for pulls: the `if-not-present` access check asks
    /// the registry with it, so an admin's wider login never vouches for the job.
    pub fn jobs_own(&self, image: &str) -> Option<Found> {
        let path = names::image_path(image);
        for prefix in names::lookup_order(&path) {
            for (p, index, entry) in &self.entries {
                let source = &self.sources[*index];
                if p != prefix || !source.is_the_jobs() {
                    continue;
                }
                if let Entry::Login(credential) = entry {
                    return Some(Found {
                        credential: credential.clone(),
                        source: source.clone(),
                    });
                }
            }
        }
        None
    }

    /// For `doctor`: each source and the registries it names (never a secret).
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let mut names: Vec<String> = self
                .entries
                .iter()
                .filter(|(_, i, _)| *i == index)
                .map(|(path, _, entry)| match entry {
                    Entry::Login(_) => path.clone(),
                    Entry::Helper { name, .. } => format!("{path} (helper {name})"),
                })
                .collect();
            if let Some((_, store)) = self.stores.iter().find(|(i, _)| *i == index) {
                names.push(format!("any other registry (store {store})"));
            }
            let names = crate::outcome::one_line(&names.join(", "));
            lines.push(format!("{source}: {names}"));
        }
        lines
    }
}

async fn ask(entry: &Entry, source: &Source) -> Result<Option<Credential>, Failure> {
    match entry {
        Entry::Login(credential) => Ok(Some(credential.clone())),
        Entry::Helper { name, server } => helper::get(name, server)
            .await
            .map_err(|why| Failure::System(format!("{why} (named by {source})"))),
    }
}

/// The job's own logins, for its Docker client (`dind.login`): the `auths` of its
/// `DOCKER_AUTH_CONFIG`, then the payload's (GitLab's registry, the job's token), each registry
/// once, the first one winning. Never the runner's: those serve the driver's pulls only.
pub fn job_logins(env: &JobEnv, payload: &[RegistryCredential]) -> Vec<(String, Credential)> {
    let from_variable = env
        .job_var_non_empty("DOCKER_AUTH_CONFIG")
        .and_then(|text| config_file::parse(text).ok())
        .map(|file| file.auths)
        .unwrap_or_default();
    let from_payload = payload
        .iter()
        .map(|c| (c.url.clone(), Credential::login(c.username(), c.password())));
    // The job writes the variable: each key is looked at once, not against every one before.
    let mut seen = std::collections::HashSet::new();
    let mut logins: Vec<(String, Credential)> = Vec::new();
    for (key, credential) in from_variable.into_iter().chain(from_payload) {
        if seen.insert(names::key_path(&key)) {
            logins.push((key, credential));
        }
    }
    logins
}

/// `logins` as a Docker client's `config.json`.
pub fn client_config(logins: &[(String, Credential)]) -> String {
    use base64::Engine as _;
    let auths: serde_json::Map<String, serde_json::Value> = logins
        .iter()
        .map(|(key, c)| {
            let mut entry = serde_json::Map::new();
            if !c.username.is_empty() || !c.password.is_empty() {
                let pair = format!("{}:{}", c.username, c.password);
                let auth = base64::engine::general_purpose::STANDARD.encode(pair);
                entry.insert("auth".into(), auth.into());
            }
            if let Some(token) = &c.identity_token {
                entry.insert("identitytoken".into(), token.clone().into());
            }
            if let Some(token) = &c.registry_token {
                entry.insert("registrytoken".into(), token.clone().into());
            }
            (key.clone(), serde_json::Value::Object(entry))
        })
        .collect();
    serde_json::json!({ "auths": auths }).to_string()
}

/// The runner's configuration file: `registry.auth_config`, else `$DOCKER_CONFIG/config.json`,
/// else `~/.docker/config.json`; `registry.auth_config: ""` reads none.
fn runner_file(settings: &Settings, env: &JobEnv) -> Option<PathBuf> {
    match settings.registry_auth_config.as_deref() {
        Some("") => None,
        Some(path) => Some(PathBuf::from(path)),
        None => env
            .runner_docker_config_dir()
            .map(|dir| dir.join("config.json")),
    }
}

/// The file, read bounded; a missing default one is no file, a missing named one a failure.
fn read_runner_file(
    path: &std::path::Path,
    named: bool,
) -> Result<Option<config_file::ConfigFile>, Failure> {
    use std::io::Read;
    let unreadable = |why: String| {
        Failure::System(format!(
            "registry.auth_config {} {why}; fix the file or the setting",
            path.display()
        ))
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => return Ok(None),
        Err(e) => return Err(unreadable(format!("cannot be read ({e})"))),
    };
    let mut text = String::new();
    file.take(FILE_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(format!("cannot be read ({e})")))?;
    if text.len() as u64 > FILE_MAX {
        return Err(unreadable(format!(
            "is larger than {} KiB",
            FILE_MAX / 1024
        )));
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    config_file::parse(&text).map(Some).map_err(unreadable)
}

#[cfg(test)]
mod tests;
