//! Which TCP ports a service's readiness waits for. The docker executor waits for the image's
//! exposed ports, or only for the one a service's `HEALTHCHECK_TCP_PORT` variable names. The
//! driver does the same, and also takes the job's word for them when the service lists its
//! `ports:` (which the docker executor ignores and the Kubernetes executor declares as the
//! service's container ports): an image that `EXPOSE`s nothing or the wrong ports then still
//! gets a real wait, without a variable the image never needed elsewhere.

use crate::docker::service::ServiceState;
use crate::plan::ContainerSpec;

/// Where the waited-for ports came from, for the ready line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The service's `HEALTHCHECK_TCP_PORT` variable.
    Variable,
    /// The service's `ports:`.
    Listed,
    /// The image's (or the container's) exposed TCP ports.
    Exposed,
}

/// The ports to wait for, sorted, and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub ports: Vec<u16>,
    pub source: Source,
}

impl Wanted {
    /// How the ready line and the warning say where the ports came from.
    pub fn note(&self) -> &'static str {
        match self.source {
            Source::Variable => " (HEALTHCHECK_TCP_PORT)",
            Source::Listed => " (the service's ports:)",
            Source::Exposed => "",
        }
    }

    /// What the ports are called when some were left out.
    pub fn kind(&self) -> &'static str {
        match self.source {
            Source::Listed => "listed",
            Source::Variable | Source::Exposed => "exposed",
        }
    }
}

/// `HEALTHCHECK_TCP_PORT` first, as the docker executor reads it, then the service's `ports:`,
/// then what the image exposes. A variable that is no port number is the job's mistake, and
/// the wait reports it rather than guessing.
pub fn wanted(service: &ContainerSpec, state: &ServiceState) -> Result<Wanted, String> {
    if let Some(value) = &state.healthcheck_port {
        return match value.trim().parse::<u16>() {
            Ok(port) if port > 0 => Ok(Wanted {
                ports: vec![port],
                source: Source::Variable,
            }),
            _ => Err(format!(
                "its HEALTHCHECK_TCP_PORT {} is not a TCP port number",
                crate::plan::printable_value(value)
            )),
        };
    }
    if !service.ports.is_empty() {
        return Ok(Wanted {
            ports: service.ports.clone(),
            source: Source::Listed,
        });
    }
    Ok(Wanted {
        ports: state.tcp_ports.clone(),
        source: Source::Exposed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(exposed: &[u16], variable: Option<&str>) -> ServiceState {
        ServiceState {
            running: true,
            address: None,
            tcp_ports: exposed.to_vec(),
            health: None,
            healthcheck_port: variable.map(str::to_string),
        }
    }

    fn service(listed: &[u16]) -> ContainerSpec {
        let settings =
            crate::settings::Settings::from_text("payload:\n  required: false\n", "t").unwrap();
        let env = crate::env::JobEnv::from_vars(
            [
                ("CUSTOM_ENV_CI_RUNNER_ID", "7"),
                ("CUSTOM_ENV_CI_PROJECT_ID", "42"),
                ("CUSTOM_ENV_CI_JOB_ID", "1001"),
                ("CUSTOM_ENV_CI_CONCURRENT_ID", "0"),
                ("CUSTOM_ENV_CI_RUNNER_VERSION", "17.5.0"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let mut job = match crate::plan::plan(&settings, &env, None) {
            Ok(plan) => plan.job,
            Err(e) => panic!("{}", e.0),
        };
        job.ports = listed.to_vec();
        job
    }

    #[test]
    fn the_variable_then_the_listed_then_the_exposed_ports() {
        let both = wanted(&service(&[9090]), &state(&[8080], Some("5432"))).unwrap();
        assert_eq!((both.ports, both.source), (vec![5432], Source::Variable));
        let listed = wanted(&service(&[9090, 9091]), &state(&[8080], None)).unwrap();
        assert_eq!(
            (listed.ports, listed.source),
            (vec![9090, 9091], Source::Listed)
        );
        let exposed = wanted(&service(&[]), &state(&[8080, 8081], None)).unwrap();
        assert_eq!(
            (exposed.ports, exposed.source),
            (vec![8080, 8081], Source::Exposed)
        );
    }

    #[test]
    fn a_variable_that_is_no_port_is_reported() {
        for bad in ["0", "http", "70000", ""] {
            let err = wanted(&service(&[]), &state(&[8080], Some(bad))).unwrap_err();
            assert!(err.contains("HEALTHCHECK_TCP_PORT"), "{err}");
        }
    }
}
