//! Prepare's images: every image of the plan present on the engine, each pulled at most once,
//! as the job's pull policies say, with the credentials its registry needs.

use std::collections::HashMap;

use futures_util::future::try_join_all;

use crate::docker::{self, Engine, ImageFacts, Pulls};
use crate::env::JobEnv;
use crate::outcome::{say, Failure};
use crate::payload::TrustedFacts;
use crate::plan::{ContainerSpec, Plan};
use crate::registry::Registries;
use crate::settings::{PullPolicy, Settings};

/// Every image of the plan present; returns what prepare needs of each (the sidecar's id,
/// which a warm sidecar must run to be adopted; the job's and helper's entrypoints).
pub async fn ensure_images(
    engine: &Engine,
    settings: &Settings,
    env: &JobEnv,
    facts: Option<&TrustedFacts>,
    plan: &Plan,
) -> Result<Found, Failure> {
    let payload_logins = facts
        .map(|f| &f.registry_credentials[..])
        .unwrap_or_default();
    let registries = Registries::gather(settings, env, payload_logins)?;
    let auth = Pulls {
        registries: &registries,
        native_platform: engine.native_platform().await,
        // A local run serves one person, on their own engine.
        check_private: !env.local_run(),
    };
    // Each image once: two containers of one image (the helper and the job, or two services)
    // would pull it twice under `always`, and a registry counts every manifest request
    // against its pull limits. The job's platform makes its image another one.
    let mut images: Vec<(&str, Option<&str>, Vec<PullPolicy>)> = Vec::new();
    for container in plan.containers() {
        let policies = match container.pull_policies.is_empty() {
            true => vec![settings.pull_policy],
            false => container.pull_policies.clone(),
        };
        let image = (
            container.image.as_str(),
            container.platform.as_deref(),
            policies,
        );
        if !images.contains(&image) {
            images.push(image);
        }
    }
    // The managed mirror's image, as the admin's images are pulled.
    if plan.mirror {
        let image = (
            settings.mirror.image.as_str(),
            None,
            vec![settings.pull_policy],
        );
        if !images.contains(&image) {
            images.push(image);
        }
    }
    let facts = try_join_all(
        images
            .iter()
            .map(|(image, platform, policies)| ensure(engine, image, *platform, policies, &auth)),
    )
    .await?;
    let mut found = HashMap::new();
    for ((image, platform, _), facts) in images.into_iter().zip(facts) {
        found.insert((image.to_string(), platform.map(str::to_string)), facts);
    }
    Ok(found)
}

/// Each image prepare found, by name and the platform asked for.
pub type Found = HashMap<(String, Option<String>), ImageFacts>;

/// What prepare found of `container`'s image.
pub fn of<'a>(found: &'a Found, container: &ContainerSpec) -> Option<&'a ImageFacts> {
    found.get(&(container.image.clone(), container.platform.clone()))
}

/// `image` present under the first of `policies` that gets it, as gitlab-runner tries a
/// job's list (`[always, if-not-present]`: pull, or use the engine's copy when the pull fails).
async fn ensure(
    engine: &Engine,
    image: &str,
    platform: Option<&str>,
    policies: &[PullPolicy],
    auth: &Pulls<'_>,
) -> Result<ImageFacts, Failure> {
    let mut failure = None;
    for policy in policies {
        if let Some(failed) = failure.take() {
            say(&format!(
                "pull_policy {policy}: trying it for image {} after: {failed}",
                crate::plan::shown_name(image)
            ));
        }
        match docker::ensure_image(engine, image, *policy, platform, auth).await {
            Ok(facts) => return Ok(facts),
            Err(e) => failure = Some(e),
        }
    }
    Err(failure.unwrap_or_else(|| Failure::System("no pull policy to try".into())))
}
