//! The job's `services:` (`protocol.md` §7.1), the pure part: which requests, their aliases as
//! the docker executor derives them, their environment, and the one service executor does not
//! start because it already has it: a `docker:*dind` service in a dind job is the sidecar.

use crate::env::JobEnv;
use crate::payload::{ServiceRequest, TrustedFacts};
use crate::settings::{Mode, Settings};

use super::{policy, ContainerSpec, Mount, PlanError, Role};

/// The job's services: from the payload when the runner gave one, else `CI_JOB_SERVICES`.
pub fn requests(
    env: &JobEnv,
    facts: Option<&TrustedFacts>,
) -> Result<Vec<ServiceRequest>, PlanError> {
    if let Some(facts) = facts {
        return Ok(facts.services.clone());
    }
    let text = env.job_var_non_empty("CI_JOB_SERVICES").unwrap_or("");
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let services: Vec<ServiceRequest> = serde_json::from_str(text).map_err(|e| {
        PlanError(format!(
            "CUSTOM_ENV_CI_JOB_SERVICES is not the runner's list of services (JSON error at \
             column {}); it is set by gitlab-runner, do not set it yourself",
            e.column()
        ))
    })?;
    Ok(services
        .into_iter()
        .filter(|s| !s.name.trim().is_empty())
        .collect())
}

/// The image's name without tag, digest or registry port, as `SplitNameAndVersion` leaves it.
fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

/// The aliases the docker executor gives a service: its repository with `/` as `__`, and with
/// `/` as `-` when that differs (`reg.example.com/grp/img:1` → `reg.example.com__grp__img`,
/// `reg.example.com-grp-img`; `docker:dind` → `docker`), then the user's own.
pub fn aliases(request: &ServiceRequest) -> Vec<String> {
    let repo = repository(request.name.trim());
    let mut aliases = vec![repo.replace('/', "__")];
    let dashed = repo.replace('/', "-");
    if dashed != aliases[0] {
        aliases.push(dashed);
    }
    let user = request.alias.as_deref().unwrap_or("");
    for alias in user
        .split([',', ' '])
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        if !aliases.iter().any(|a| a == alias) {
            aliases.push(alias.to_string());
        }
    }
    aliases
}

/// Whether a service is a Docker daemon: `docker:*dind*` (any registry), or the configured
/// dind image.
pub fn is_dind(settings: &Settings, request: &ServiceRequest) -> bool {
    let name = request.name.trim();
    if name == settings.dind_image {
        return true;
    }
    let repo = repository(name);
    let tag = &name[repo.len()..];
    repo.rsplit('/').next() == Some("docker") && tag.contains("dind")
}

/// What the job's services add to a plan: containers to start, and for the sidecar what a dind
/// service asked of it: its own aliases (say `dind`) and its TLS knobs (`DOCKER_TLS_CERTDIR`,
/// `DOCKER_TLS_SAN` among the service's `variables:`).
pub struct Planned {
    pub containers: Vec<ContainerSpec>,
    pub sidecar_aliases: Vec<String>,
    pub sidecar_env: Vec<(String, String)>,
}

/// Containers for the job's services. Each gets the job's shareable variables plus its own,
/// the builds directory at the same path, and the job's network with its aliases.
pub fn plan(
    settings: &Settings,
    env: &JobEnv,
    facts: Option<&TrustedFacts>,
    mode: Mode,
    base: &ContainerSpec,
    builds_mount: &Mount,
) -> Result<Planned, PlanError> {
    let mut planned = Planned {
        containers: Vec::new(),
        sidecar_aliases: Vec::new(),
        sidecar_env: Vec::new(),
    };
    let job_vars = shared_variables(facts);
    let requests = requests(env, facts)?;
    let service_limits = match requests.is_empty() {
        true => Default::default(),
        false => super::limits::for_role(settings, env, facts, Role::Service)?,
    };
    if requests.len() > settings.services_max {
        return Err(PlanError(format!(
            "the job asks for {} services and services.max allows {}; use fewer services",
            requests.len(),
            settings.services_max
        )));
    }
    for (i, request) in requests.into_iter().enumerate() {
        // Both become names in the job log and on the network: refused before either is used.
        let image = request.name.trim().to_string();
        if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(PlanError(format!(
                "service image {} is not an image name; fix the job's services:",
                crate::plan::printable_value(&image)
            )));
        }
        let aliases = aliases(&request);
        check_aliases(&aliases)?;
        if is_dind(settings, &request) {
            match mode {
                Mode::Dind => {
                    planned
                        .sidecar_aliases
                        .extend(aliases.into_iter().filter(|a| a != "docker"));
                    planned.sidecar_env.extend(
                        request
                            .variables
                            .iter()
                            .filter(|(k, _)| k == "DOCKER_TLS_CERTDIR" || k == "DOCKER_TLS_SAN")
                            .cloned(),
                    );
                    continue;
                }
                Mode::Socket | Mode::None => return Err(PlanError(format!(
                    "service {} is a Docker daemon, and this job runs in {mode} mode, where {}; \
                         remove the service, or set {}=dind to get a daemon of the job's own",
                    crate::plan::printable_value(&request.name),
                    if mode == Mode::Socket {
                        "it already talks to the host's engine and a dind service would take over the host's socket"
                    } else {
                        "it has no Docker on purpose"
                    },
                    settings.mode_variable
                ))),
            }
        }
        policy::check_service_image(settings, &image)?;
        let what = format!("service {}", crate::plan::printable_value(&image));
        check_env_size(settings, &what, &job_vars, &request.variables)?;
        let mut env_vars = job_vars.clone();
        env_vars.extend(request.variables.iter().cloned());
        let ports = listed_ports(&what, &request)?;
        let pull_policies = super::pulls::policies(settings, &what, &request.pull_policy)?;
        let mut labels = base.labels.clone();
        labels.insert(super::LABEL_ROLE.into(), Role::Service.as_str().into());
        labels.insert(super::LABEL_SERVICE.into(), log_name(&aliases));
        planned.containers.push(ContainerSpec {
            name: format!("{}-svc{i}", base.network),
            pull_policies,
            role: Role::Service,
            image,
            image_id: None,
            privileged: false,
            entrypoint: request.entrypoint.clone().filter(|e| !e.is_empty()),
            cmd: request.command.clone().filter(|c| !c.is_empty()),
            env: env_vars,
            mounts: vec![builds_mount.clone()],
            network: base.network.clone(),
            aliases,
            labels,
            runtime: None,
            user: None,
            platform: None,
            ports,
            options: super::options::names_only(settings),
            limits: service_limits,
        });
    }
    Ok(planned)
}

/// How the job log names a service's lines (`CI_DEBUG_SERVICES`): its aliases joined by `-`,
/// as the docker executor prefixes them (`[service:postgres-db]`).
pub fn log_name(aliases: &[String]) -> String {
    aliases.join("-")
}

/// The TCP ports the job listed for a service (`ports:`), sorted and each once.
fn listed_ports(what: &str, request: &ServiceRequest) -> Result<Vec<u16>, PlanError> {
    let mut ports = Vec::with_capacity(request.ports.len());
    for port in &request.ports {
        match u16::try_from(port.number) {
            Ok(number) if number > 0 => ports.push(number),
            _ => {
                return Err(PlanError(format!(
                    "{what} lists port {}, which is not a TCP port number (1 to 65535); fix \
                     the job's services: ports:",
                    port.number
                )))
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

/// Aliases become DNS names on the job's network and appear in the job log: none may hold
/// whitespace or control characters.
fn check_aliases(aliases: &[String]) -> Result<(), PlanError> {
    match aliases
        .iter()
        .find(|a| a.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        Some(bad) => Err(PlanError(format!(
            "service alias {} is not a host name; fix the job's services:",
            crate::plan::printable_value(bad)
        ))),
        None => Ok(()),
    }
}

/// The variables a service gets are capped, so a payload cannot make the driver hand the
/// engine megabytes of environment per container.
pub(super) fn check_env_size(
    settings: &Settings,
    what: &str,
    shared: &[(String, String)],
    own: &[(String, String)],
) -> Result<(), PlanError> {
    let bytes: u64 = shared
        .iter()
        .chain(own)
        .map(|(k, v)| (k.len() + v.len() + 2) as u64)
        .sum();
    if bytes > settings.services_max_env {
        return Err(PlanError(format!(
            "{what} would get {} of variables, over services.max_env {}; define fewer or \
             smaller variables",
            crate::settings::human_size(bytes),
            crate::settings::human_size(settings.services_max_env)
        )));
    }
    Ok(())
}

/// The job's variables a service sees: the payload's public ones. Without a payload
/// (`payload.required: false`) nothing tells public from secret, so none: a service gets only
/// its own `variables:`.
fn shared_variables(facts: Option<&TrustedFacts>) -> Vec<(String, String)> {
    facts
        .map(|facts| facts.public_variables.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, alias: Option<&str>) -> ServiceRequest {
        ServiceRequest {
            name: name.into(),
            alias: alias.map(str::to_string),
            ..ServiceRequest::default()
        }
    }

    #[test]
    fn aliases_as_the_docker_executor_derives_them() {
        assert_eq!(aliases(&request("docker:dind", None)), ["docker"]);
        assert_eq!(aliases(&request("docker:27-dind", None)), ["docker"]);
        assert_eq!(
            aliases(&request("reg.example.com/grp/img:1", None)),
            ["reg.example.com__grp__img", "reg.example.com-grp-img"]
        );
        assert_eq!(
            aliases(&request(
                "reg.example.com:5000/img@sha256:abc",
                Some("a, b docker")
            )),
            [
                "reg.example.com:5000__img",
                "reg.example.com:5000-img",
                "a",
                "b",
                "docker"
            ]
        );
        assert_eq!(
            aliases(&request("postgres", Some("db"))),
            ["postgres", "db"]
        );
    }

    #[test]
    fn a_service_name_with_spaces_or_control_characters_is_refused() {
        let settings = crate::settings::Settings::from_text("", "t").unwrap();
        let env = crate::env::JobEnv::from_vars(
            [
                (
                    "CUSTOM_ENV_CI_JOB_SERVICES",
                    r#"[{"name":"evil image\nX"}]"#,
                ),
                ("CUSTOM_ENV_CI_RUNNER_VERSION", "17.5.0"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let base = job_container();
        let mount = Mount::HostDir { path: "/b".into() };
        let err = plan(&settings, &env, None, Mode::None, &base, &mount)
            .err()
            .unwrap();
        assert_eq!(
            err.0,
            "service image `evil image\\nX` is not an image name; fix the job's services:"
        );
    }

    /// The job container services are planned next to.
    fn job_container() -> ContainerSpec {
        ContainerSpec {
            name: "j".into(),
            role: Role::Job,
            image: "i".into(),
            image_id: None,
            privileged: false,
            entrypoint: None,
            cmd: None,
            env: Vec::new(),
            mounts: Vec::new(),
            network: "n".into(),
            aliases: Vec::new(),
            labels: Default::default(),
            runtime: None,
            user: None,
            limits: Default::default(),
            platform: None,
            ports: Vec::new(),
            pull_policies: Vec::new(),
            options: Default::default(),
        }
    }

    /// The payload's services through the plan, with these settings.
    fn planned(config: &str, services: Vec<ServiceRequest>) -> Result<Planned, PlanError> {
        let settings = crate::settings::Settings::from_text(config, "t").unwrap();
        let facts = TrustedFacts {
            services,
            public_variables: vec![("SHARED".into(), "x".repeat(100 * 1024))],
            ..TrustedFacts::default()
        };
        let base = job_container();
        let env = JobEnv::from_vars(Vec::<(String, String)>::new());
        let mount = Mount::HostDir { path: "/b".into() };
        plan(&settings, &env, Some(&facts), Mode::None, &base, &mount)
    }

    #[test]
    fn services_and_their_variables_are_capped() {
        let many = vec![request("redis:7", None); 11];
        let err = planned("", many).err().unwrap();
        assert_eq!(
            err.0,
            "the job asks for 11 services and services.max allows 10; use fewer services"
        );
        assert_eq!(
            planned("services:\n  max: 11\n", vec![request("redis:7", None); 11])
                .unwrap()
                .containers
                .len(),
            11
        );
        let mut big = request("redis:7", None);
        big.variables = vec![("OWN".into(), "y".repeat(200 * 1024))];
        let err = planned("", vec![big.clone()]).err().unwrap();
        assert!(
            err.0.starts_with(
                "service `redis:7` would get 300 KiB of variables, over services.max_env 256 KiB"
            ),
            "{}",
            err.0
        );
        assert!(planned("services:\n  max_env: 1MiB\n", vec![big]).is_ok());
    }

    #[test]
    fn aliases_with_control_characters_or_whitespace_are_refused() {
        for alias in ["db\tx", "db\nx", "db\u{1b}[31m"] {
            let err = planned("", vec![request("postgres:16", Some(alias))])
                .err()
                .unwrap();
            assert!(err.0.starts_with("service alias `"), "{}", err.0);
            assert!(
                err.0
                    .ends_with("is not a host name; fix the job's services:"),
                "{}",
                err.0
            );
        }
        // A dind service's aliases go to the sidecar: checked just the same.
        let err = planned("", vec![request("docker:dind", Some("docker,d\tx"))])
            .err()
            .unwrap();
        assert!(err.0.starts_with("service alias `d\\tx`"), "{}", err.0);
    }

    #[test]
    fn dind_services_are_recognised() {
        let settings =
            crate::settings::Settings::from_text("dind:\n  image: my/dind:2\n", "t").unwrap();
        for name in [
            "docker:dind",
            "docker:27-dind",
            "registry.example/mirror/docker:dind-rootless",
            "my/dind:2",
        ] {
            assert!(is_dind(&settings, &request(name, None)), "{name}");
        }
        for name in ["docker:cli", "postgres:16", "dind:latest"] {
            assert!(!is_dind(&settings, &request(name, None)), "{name}");
        }
    }
}
