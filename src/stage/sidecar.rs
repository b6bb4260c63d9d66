//! Starting a dind sidecar, for a job or as a warm one: create it, put the driver's TLS
//! certificates in before its entrypoint looks for them, start it.

use crate::docker::{self, Engine};
use crate::outcome::{Failure, StageResult};
use crate::plan::{ContainerSpec, TlsSpec, DIND_CERT_DIR};
use crate::tls;

pub async fn start(engine: &Engine, spec: &ContainerSpec, tls: Option<&TlsSpec>) -> StageResult {
    // Certificates first: a bad DOCKER_TLS_SAN is the job's mistake, found before anything
    // is created.
    let certs = tls.map(tls::generate).transpose().map_err(Failure::User)?;
    docker::create_container(engine, spec).await?;
    if let Some(files) = certs {
        docker::dind::put_files(engine, &spec.name, DIND_CERT_DIR, &files).await?;
    }
    docker::start_container(engine, &spec.name).await
}
