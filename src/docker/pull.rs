//! Pulling an image the plan needs, for the platform the job asked for and with the
//! credentials the job's sources give for its registry (`crate::registry`); what a failed pull
//! means for the job (its mistake, or the registry's trouble), in one line; and, for a private
//! image already on the engine, whether this job may use it at all.

use std::collections::HashMap;

use bollard::auth::DockerCredentials;

use super::{raw, Engine};
use crate::outcome::{say, Failure};
use crate::registry::{names, Credential, Found, Registries};

/// What the pulls of one job go by.
pub struct Pulls<'a> {
    pub registries: &'a Registries,
    /// The engine's own platform (`linux/amd64`): an image named without a platform must be
    /// for it. Another job's `image: docker: platform:` pull moves the shared tag to its
    /// platform; the next job that names none must not run that.
    pub native_platform: Option<String>,
    /// Check with the registry that a job whose own credentials (its variable, its payload)
    /// cover an image may read it before using the engine's copy: another project's job may
    /// have pulled it. Off for local runs, which serve one person.
    pub check_private: bool,
}

/// The most progress lines one pull writes: a layer changes state some seven times.
const PROGRESS_LINES_MAX: usize = 200;

/// Pull an image, following the engine's progress stream to its end and writing a line each
/// time a layer changes state. With `platform`, the engine picks that platform's image from a
/// multi-platform tag.
pub(super) async fn pull(
    engine: &Engine,
    image: &str,
    platform: Option<&str>,
    auth: &Pulls<'_>,
) -> Result<(), Failure> {
    let shown = crate::plan::shown_name(image);
    let registry = names::registry_of(image);
    let found = auth.registries.for_image(image).await?;
    // A pull can take minutes; the job log says what the wait is for.
    say(&format!(
        "pulling image {shown}{}{}",
        platform
            .map(|p| format!(" for platform {p}"))
            .unwrap_or_default(),
        match &found {
            Some(found) => format!(" with credentials from {}", found.source),
            None => String::new(),
        }
    ));
    let credentials = found.as_ref().map(|f| for_engine(&f.credential, &registry));
    let mut params = vec![("fromImage", image)];
    if !image_has_tag(image) {
        params.push(("tag", "latest"));
    }
    if let Some(platform) = platform.filter(|p| !p.is_empty()) {
        params.push(("platform", platform));
    }
    let target = format!("/images/create?{}", raw::query(&params));
    let auth_header = registry_auth(credentials.as_ref());
    let failed = |e: Failed| pull_failed(image, &registry, found.as_ref(), e);
    // The engine answers once the registry has, as bollard waited for it: `docker.timeout`.
    let headers = [("X-Registry-Auth", auth_header.as_str())];
    let opened = tokio::time::timeout(
        engine.timeout,
        raw::open(&engine.dialer, "POST", &target, &headers),
    )
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {} s", engine.timeout.as_secs())))
    .map_err(|e| failed(Failed::Other(e)))?;
    if opened.status != 200 {
        let status = opened.status;
        let (body, cut) = opened
            .body(ANSWER_MAX)
            .await
            .map_err(|e| failed(Failed::Other(e)))?;
        return Err(failed(Failed::Status(status, raw::message(&body, cut))));
    }
    let mut opened = opened;
    let mut shown_progress = Progress::default();
    while let Some((line, cut)) = opened
        .line(ANSWER_MAX)
        .await
        .map_err(|e| failed(Failed::Other(e)))?
    {
        // No progress line is this long: it is a registry's text the engine passed on.
        if cut {
            return Err(failed(Failed::Stream(raw::message(&line, cut))));
        }
        let Ok(step) = serde_json::from_slice::<Step>(&line) else {
            continue;
        };
        if let Some(error) = step.error {
            return Err(failed(Failed::Stream(error)));
        }
        shown_progress.step(step.id.as_deref(), step.status.as_deref());
    }
    Ok(())
}

/// One line of the engine's progress stream.
#[derive(serde::Deserialize)]
struct Step {
    id: Option<String>,
    status: Option<String>,
    error: Option<String>,
}

/// The most of one engine answer about a pull or a registry check read (an error, a progress
/// line): the engine passes the registry's text on whole, and the registry is the job's pick.
const ANSWER_MAX: usize = 64 * 1024;

/// `X-Registry-Auth` as the engine takes it: the credential as JSON, base64 (URL alphabet).
fn registry_auth(credentials: Option<&DockerCredentials>) -> String {
    use base64::Engine as _;
    let json = match credentials {
        Some(c) => serde_json::to_string(c).unwrap_or_default(),
        None => "{}".to_string(),
    };
    base64::engine::general_purpose::URL_SAFE.encode(json)
}

/// How a pull or a registry check failed, as [`pull_failed`] tells the job's mistake from
/// the registry's trouble.
enum Failed {
    /// The engine's status and its words.
    Status(u16, String),
    /// An error in the progress stream.
    Stream(String),
    /// No answer from the engine.
    Other(String),
}

/// The layers' states as last shown, so a line is written only when one changes (the engine
/// sends a `Downloading` event for every few KiB).
#[derive(Default)]
struct Progress {
    states: HashMap<String, String>,
    lines: usize,
}

impl Progress {
    fn step(&mut self, id: Option<&str>, status: Option<&str>) {
        let (Some(status), id) = (status, id.unwrap_or_default()) else {
            return;
        };
        if self.states.get(id).is_some_and(|last| last == status) || self.lines > PROGRESS_LINES_MAX
        {
            return;
        }
        self.states.insert(id.to_string(), status.to_string());
        self.lines += 1;
        let line = match (self.lines > PROGRESS_LINES_MAX, id.is_empty()) {
            (true, _) => "  (more progress not shown)".to_string(),
            (false, true) => format!("  {}", cut(status)),
            (false, false) => format!("  {}: {}", cut(id), cut(status)),
        };
        say(&line);
    }
}

/// `IfNotPresent` (or `Never`) found `image` on the engine: when the job's own credentials
/// cover its registry, the registry must say they may read it (`GET /distribution/…`, a
/// manifest request, no layers), or another project's private image pulled earlier would serve
/// this job. An image built on this engine and never pushed is not in the registry, and stays
/// usable. A job that names the image by its id (`sha256:…`, or any unique prefix of the hex,
/// which the engine resolves too) names no registry: each name the engine has for the image is
/// checked instead.
pub(super) async fn check_access(
    engine: &Engine,
    image: &str,
    facts: &super::ImageFacts,
    auth: &Pulls<'_>,
) -> Result<(), Failure> {
    if !auth.check_private {
        return Ok(());
    }
    if !names_by_id(image, &facts.id) {
        return check_name(engine, image, image, auth).await;
    }
    let mut checked: Vec<String> = Vec::new();
    for name in &facts.names {
        let path = names::image_path(name);
        if checked.contains(&path) {
            continue;
        }
        check_name(engine, image, name, auth).await?;
        checked.push(path);
    }
    Ok(())
}

/// Whether `image`, as a job wrote it, is `id` (or a prefix of its hex) rather than a name.
fn names_by_id(image: &str, id: &str) -> bool {
    let hex = image.strip_prefix("sha256:").unwrap_or(image);
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && id.starts_with(&hex.to_ascii_lowercase())
}

/// The registry check of [`check_access`] for one `name` of `image` (the job's).
async fn check_name(
    engine: &Engine,
    image: &str,
    name: &str,
    auth: &Pulls<'_>,
) -> Result<(), Failure> {
    let Some(found) = auth.registries.jobs_own(name) else {
        return Ok(());
    };
    let registry = names::registry_of(name);
    let credentials = for_engine(&found.credential, &registry);
    let auth_header = registry_auth(Some(&credentials));
    let headers = [("X-Registry-Auth", auth_header.as_str())];
    let path = format!("/distribution/{name}/json");
    // The answer of a readable image is not needed, only its status; an error's words are
    // the registry's, read bounded.
    let exchange = async {
        let opened = raw::open(&engine.dialer, "GET", &raw::encode(&path), &headers).await?;
        let status = opened.status;
        match status {
            200 => Ok((status, String::new())),
            _ => {
                let (body, cut) = opened.body(ANSWER_MAX).await?;
                Ok((status, raw::message(&body, cut)))
            }
        }
    };
    let answer = tokio::time::timeout(engine.timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", engine.timeout.as_secs())));
    let message = match answer {
        Ok((200, _)) => return Ok(()),
        Ok((404, _)) => return Ok(()),
        Ok((_, message)) => message,
        Err(e) => e,
    };
    let shown = match image == name {
        true => crate::plan::shown_name(image),
        false => format!(
            "{} ({})",
            crate::plan::shown_name(image),
            crate::plan::shown_name(name)
        ),
    };
    match refused(&message) {
        true => Err(Failure::User(format!(
            "image {shown} is on this engine, but registry {registry} does not let \
             this job read it with credentials from {} ({}); a job may use a private \
             image only with credentials that reach it",
            found.source,
            cut(&message)
        ))),
        false => Err(Failure::System(format!(
            "cannot check with registry {registry} that this job may use image \
             {shown} ({}); check that the registry is up and the Docker engine can \
             reach it",
            cut(&message)
        ))),
    }
}

/// `credential` as the engine takes it (`X-Registry-Auth`) for a pull from `registry`.
fn for_engine(credential: &Credential, registry: &str) -> DockerCredentials {
    let non_empty = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    DockerCredentials {
        username: non_empty(&credential.username),
        password: non_empty(&credential.password),
        identitytoken: credential.identity_token.clone(),
        registrytoken: credential.registry_token.clone(),
        serveraddress: Some(names::server_address(registry)),
        ..DockerCredentials::default()
    }
}

/// What the engine says about a failed pull is mostly the registry's text, and the job picks
/// the registry: the engine passes a 404's text on whole (200 KB seen), so it is cut to this
/// many characters before it reaches the job log.
const REGISTRY_TEXT_MAX: usize = 200;

/// A failed pull as the runner should treat it. A registry that has no such image (404), a
/// name the engine refuses (400: `Bad$(x)`, upper case) or credentials the registry refuses
/// are the job's to fix, which a retry cannot; anything else (the registry down, engine
/// trouble) may pass on retry.
fn pull_failed(image: &str, registry: &str, found: Option<&Found>, e: Failed) -> Failure {
    let shown = crate::plan::shown_name(image);
    let tried = match found {
        Some(found) => format!("credentials from {}", found.source),
        None => "no credentials (no source has any for it)".to_string(),
    };
    match e {
        Failed::Status(404, text) => {
            // The engine answers 404 for a registry's `denied` too ("pull access denied"):
            // the name and the credentials are both the job's to check. The registry's text
            // is cut shorter here, to keep the line within bounds with both named.
            let why = cut_to(&text, NOT_FOUND_TEXT_MAX);
            Failure::User(match found {
                Some(found) => format!(
                    "image {shown} is not in registry {registry}, or credentials from {} may \
                     not read it ({why}); check the image name and the credentials",
                    found.source
                ),
                None => format!(
                    "image {shown} is not in registry {registry}, or needs credentials (none \
                     found for it) ({why}); check the image name, or give credentials"
                ),
            })
        }
        Failed::Status(400, text) => Failure::User(format!(
            "image {} is not a valid image name ({}); fix the name",
            crate::plan::printable_value(image),
            cut(&text)
        )),
        Failed::Status(_, text) | Failed::Stream(text) if refused(&text) => Failure::User(format!(
            "registry {registry} refused to let this job pull image {shown} with {tried} \
                 ({}); check the credentials (DOCKER_AUTH_CONFIG, registry.auth_config) and \
                 that they may read the image",
            cut(&text)
        )),
        Failed::Status(_, text) | Failed::Stream(text) => Failure::System(format!(
            "failed to pull image {shown} from registry {registry} with {tried}: {}; check \
             that the registry is up and the Docker engine can reach it",
            cut(&text)
        )),
        Failed::Other(text) => {
            Failure::System(format!("failed to pull image {shown}: {}", cut(&text)))
        }
    }
}

/// Whether the registry refused the credentials (or their absence), as the engine words it
/// (`unauthorized: authentication required`, `no basic auth credentials`, `denied: requested
/// access to the resource is denied`, `403 Forbidden`).
fn refused(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "denied",
        "forbidden",
        "incorrect username or password",
    ]
    .iter()
    .any(|words| text.contains(words))
}

/// How much of the registry's text a "not found" line quotes.
const NOT_FOUND_TEXT_MAX: usize = 140;

/// `text` trimmed and cut to [`REGISTRY_TEXT_MAX`] characters, with `…` when cut.
pub(super) fn cut(text: &str) -> String {
    cut_to(text, REGISTRY_TEXT_MAX)
}

fn cut_to(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// `name:tag` or `name@digest`, ignoring a registry port (`host:5000/name`).
fn image_has_tag(image: &str) -> bool {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.contains(':') || last.contains('@')
}

#[cfg(test)]
mod tests {
    use super::{cut, for_engine, image_has_tag, names_by_id, refused, REGISTRY_TEXT_MAX};
    use crate::registry::Credential;

    #[test]
    fn the_engine_gets_the_login_with_dockers_server_address() {
        let mut credential = Credential::login("u", "pw-secret");
        credential.identity_token = Some("id-secret".into());
        let engine = for_engine(&credential, "docker.io");
        assert_eq!(
            engine.serveraddress.as_deref(),
            Some("https://index.docker.io/v1/")
        );
        assert_eq!(engine.password.as_deref(), Some("pw-secret"));
        assert_eq!(engine.identitytoken.as_deref(), Some("id-secret"));
        let empty = for_engine(&Credential::login("", ""), "reg.example:5000");
        assert_eq!(empty.username, None);
        assert_eq!(empty.serveraddress.as_deref(), Some("reg.example:5000"));
    }

    #[test]
    fn ids_are_told_from_names() {
        let id = "sha256:0cf255c801e04a661a721bc94d4bd98f990fdbc6174b91bab9fe841439a64c52";
        for by_id in [id, &id[7..], "0", "0cf255c801e0", "sha256:0cf2", "0CF255"] {
            assert!(names_by_id(by_id, id), "{by_id}");
        }
        for name in [
            "",
            "sha256:",
            "alpine",
            "0cf3",
            "reg.example/0cf2",
            "0cf2:1",
            "cafe",
        ] {
            assert!(!names_by_id(name, id), "{name}");
        }
    }

    #[test]
    fn refusals_are_told_from_outages() {
        for text in [
            "Head \"http://127.0.0.1:5999/v2/a/manifests/1\": no basic auth credentials",
            "unauthorized: authentication required",
            "pull access denied for x, repository does not exist or may require 'docker login'",
            "error parsing HTTP 403 response body: Forbidden",
        ] {
            assert!(refused(text), "{text}");
        }
        for text in [
            "Get \"http://127.0.0.1:5998/v2/\": dial tcp 127.0.0.1:5998: connect: connection refused",
            "net/http: TLS handshake timeout",
            "received unexpected HTTP status: 503 Service Unavailable",
        ] {
            assert!(!refused(text), "{text}");
        }
    }

    #[test]
    fn a_registry_text_is_cut() {
        assert_eq!(cut("  manifest unknown \n"), "manifest unknown");
        let long = "é".repeat(REGISTRY_TEXT_MAX + 1);
        let shown = cut(&long);
        assert_eq!(shown.chars().count(), REGISTRY_TEXT_MAX + 1);
        assert!(shown.ends_with("é…"));
        assert_eq!(
            cut(&long[..2 * REGISTRY_TEXT_MAX]),
            long[..2 * REGISTRY_TEXT_MAX]
        );
    }

    #[test]
    fn tags_are_told_from_registry_ports() {
        assert!(image_has_tag("docker:dind"));
        assert!(image_has_tag("reg.example:5000/grp/img:1"));
        assert!(image_has_tag("img@sha256:abc"));
        assert!(!image_has_tag("reg.example:5000/grp/img"));
        assert!(!image_has_tag("alpine"));
    }
}
