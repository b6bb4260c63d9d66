//! Pulling an image the plan needs, for the platform the job asked for; what a failed pull
//! means for the job (its mistake, or the registry's trouble), in one line.

use bollard::errors::Error as BollardError;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::Engine;
use crate::outcome::Failure;

/// Pull an image, following the engine's progress stream to its end. With `platform`, the engine picks that platform's image from a multi-platform tag.
pub(super) async fn pull(
    engine: &Engine,
    image: &str,
    platform: Option<&str>,
) -> Result<(), Failure> {
    let mut options = CreateImageOptionsBuilder::default()
        .from_image(image)
        .platform(platform.unwrap_or_default());
    if !image_has_tag(image) {
        options = options.tag("latest");
    }
    let options = options.build();
    let mut progress = engine.docker.create_image(Some(options), None, None);
    while let Some(step) = progress.next().await {
        step.map_err(|e| pull_failed(image, e))?;
    }
    Ok(())
}

/// What the engine says about a failed pull is mostly the registry's text, and the job picks
/// the registry: the engine passes a 404's text on whole (200 KB seen), so it is cut to this
/// many characters before it reaches the job log.
const REGISTRY_TEXT_MAX: usize = 200;

/// A failed pull as the runner should treat it. A registry that has no such image (404) or a
/// name the engine refuses (400: `Bad$(x)`, upper case) is the job's mistake, which a retry
/// cannot fix; anything else (the registry down or refusing, engine trouble) may pass on retry.
fn pull_failed(image: &str, e: BollardError) -> Failure {
    let shown = crate::plan::shown_name(image);
    match e {
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => Failure::User(format!(
            "image {shown} does not exist or cannot be pulled ({}); check the image name",
            cut(&message)
        )),
        BollardError::DockerResponseServerError {
            status_code: 400,
            message,
        } => Failure::User(format!(
            "image {} is not a valid image name ({}); fix the name",
            crate::plan::printable_value(image),
            cut(&message)
        )),
        BollardError::DockerResponseServerError { message, .. }
        | BollardError::DockerStreamError { error: message } => Failure::System(format!(
            "failed to pull image {shown}: {}; check that its registry is up and the Docker \
             engine can reach it",
            cut(&message)
        )),
        e => Failure::System(format!(
            "failed to pull image {shown}: {}",
            cut(&e.to_string())
        )),
    }
}

/// `text` trimmed and cut to [`REGISTRY_TEXT_MAX`] characters, with `…` when cut.
pub(super) fn cut(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(REGISTRY_TEXT_MAX) {
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
    use super::{cut, image_has_tag, REGISTRY_TEXT_MAX};

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
