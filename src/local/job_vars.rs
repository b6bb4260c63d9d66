//! A local job's variables, built as gitlab-runner builds them: the predefined ones, the file's
//! (`variables:`, its rules', dotenv), the person's `--var`, then the image and services the
//! job names (`CI_JOB_IMAGE`, `CI_JOB_SERVICES`), each expanded against what came before.

use super::checkout::Checkout;
use super::expand;
use super::gitlab_ci::Job;
use super::vars::{self, JobFacts, LocalIds};
use crate::settings::Local;

/// What a job's variables are made from.
pub(super) struct Given<'a> {
    /// The job, with `local.images` applied.
    pub job: &'a Job,
    pub checkout: &'a Checkout,
    pub ids: &'a LocalIds,
    pub local: &'a Local,
    /// The person's `--var`s (and `--mode`'s variable), in order.
    pub overrides: &'a [(String, String)],
    /// The image of a job without `image:`: the config's.
    pub default_image: &'a str,
}

/// A job's variables: what its scripts see.
pub(super) struct Built {
    pub variables: Vec<(String, String)>,
}

/// The job's variables with the builds directory `builds_dir`. Messages read after
/// "job `NAME`: ".
pub(super) fn build(given: &Given, builds_dir: &str) -> Result<Built, String> {
    let job = given.job;
    let facts = JobFacts {
        job_name: &job.name,
        stage: &job.stage,
        builds_dir,
        image: "",
    };
    let mut variables = vars::predefined(&facts, given.checkout, given.ids, given.local);
    expand::layer(&mut variables, &job.variables)?;
    expand::layer(&mut variables, given.overrides)?;
    let image = job
        .image
        .as_ref()
        .map(|i| i.name.as_str())
        .unwrap_or(given.default_image);
    expand::layer(
        &mut variables,
        &[
            ("CI_JOB_IMAGE".into(), image.into()),
            ("CI_JOB_SERVICES".into(), services_json(&job.services)),
        ],
    )?;
    Ok(Built { variables })
}

/// `CI_JOB_SERVICES` as gitlab-runner writes it: a JSON array of the job's services, an empty
/// string when it has none.
fn services_json(services: &[crate::payload::ServiceRequest]) -> String {
    if services.is_empty() {
        return String::new();
    }
    let list: Vec<serde_json::Value> = services
        .iter()
        .map(|s| {
            let variables: Vec<serde_json::Value> = s
                .variables
                .iter()
                .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                .collect();
            serde_json::json!({
                "name": s.name,
                "alias": s.alias.clone().unwrap_or_default(),
                "entrypoint": s.entrypoint,
                "command": s.command,
                "variables": variables,
                "ports": s.ports.iter().map(|p| serde_json::json!({
                    "number": p.number, "protocol": p.protocol, "name": p.name,
                })).collect::<Vec<_>>(),
                "pull_policy": s.pull_policy,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}
