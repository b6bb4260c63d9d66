//! Validation: the raw file's values checked and turned into [`Settings`], each failure a key
//! path and what is wrong with it.

use std::time::Duration;

use super::raw::{RawDindCache, RawEntrypoint, RawHelperMode, RawSettings};
use super::{
    parse_duration, policy, size, DindCache, Entrypoint, HelperMode, Mode, PullPolicy, Settings,
    DEFAULT_HELPER_IMAGE,
};

/// The builds and cache volumes are shared by a job's containers (and the cache by a
/// project's jobs); mounted over a container's scratch space they would share its stage
/// scripts and recorded environment too.
fn outside_scratch(path: String, key: &'static str) -> Result<String, Invalid> {
    super::container_paths::private_scratch(&path).map_err(|m| (vec![key], m))?;
    Ok(path)
}

/// A validation failure: the key path and what is wrong with it.
pub(crate) type Invalid = (Vec<&'static str>, String);

pub(super) fn validate(raw: RawSettings, env: &super::EngineEnv) -> Result<Settings, Invalid> {
    let docker = raw.docker.unwrap_or_default();
    let mode = raw.mode.unwrap_or_default();
    let dind = raw.dind.unwrap_or_default();
    let socket = raw.socket.unwrap_or_default();
    let helper = raw.helper.unwrap_or_default();
    let services = raw.services.unwrap_or_default();

    let modes_allowed_by_file = mode.allowed.is_some();
    // Socket mode is root on the host: offered only where the admin writes it down.
    let modes_allowed: Vec<Mode> = match mode.allowed {
        Some(list) => list.into_iter().map(Mode::from).collect(),
        None => vec![Mode::Dind, Mode::None],
    };
    if modes_allowed.is_empty() {
        return Err((
            vec!["mode", "allowed"],
            "list at least one of dind, socket, none".into(),
        ));
    }
    let mode_default = mode.default.map(Mode::from).unwrap_or(Mode::Dind);
    if !modes_allowed.contains(&mode_default) {
        return Err((
            vec!["mode", "default"],
            format!(
                "`{mode_default}` is not in mode.allowed; add it there or pick an allowed mode"
            ),
        ));
    }
    let mode_variable = mode
        .variable
        .unwrap_or_else(|| "EXECUTOR_DOCKER_MODE".into());
    if !is_variable_name(&mode_variable) {
        return Err((
            vec!["mode", "variable"],
            format!("`{mode_variable}` is not a variable name (letters, digits, _)"),
        ));
    }

    let limits = super::limits::validate(raw.limits)?;
    let policy = policy::validate(raw.policy, &modes_allowed, limits.max)?;
    let gc = raw.gc.unwrap_or_default();
    let warm = raw.warm.unwrap_or_default();
    let raw_container = raw.container;
    let mut settings = Settings {
        limits,
        policy,
        gc_grace: duration(gc.grace, "10m", vec!["gc", "grace"])?,
        gc_max_age: duration(gc.max_age, "24h", vec!["gc", "max_age"])?,
        warm_jobs: warm.jobs.unwrap_or(false),
        warm_max_age: duration(warm.max_age, "1h", vec!["warm", "max_age"])?,
        file: None,
        local: super::local::validate(raw.local)?,
        docker_host: super::engine::docker_host(&docker, env)?,
        docker_timeout: duration(docker.timeout, "120s", vec!["docker", "timeout"])?,
        runner_id: raw.runner_id.map(|id| id.to_string()),
        manager_id: super::engine::manager_id(
            raw.runner.as_ref().and_then(|r| r.manager_id.as_deref()),
            env,
        )?,
        slots: match raw.slots {
            Some(0) => return Err((vec!["slots"], "must be at least 1".into())),
            Some(n) => n,
            None => 64,
        },
        payload_required: raw.payload.and_then(|p| p.required).unwrap_or(true),
        builds_dir: outside_scratch(
            absolute(raw.builds_dir, "/builds", vec!["builds_dir"])?,
            "builds_dir",
        )?,
        cache_dir: outside_scratch(
            absolute(raw.cache_dir, "/cache", vec!["cache_dir"])?,
            "cache_dir",
        )?,
        image: non_empty(raw.image, "docker:cli", vec!["image"])?,
        pull_policy: raw
            .pull_policy
            .map(PullPolicy::from)
            .unwrap_or(PullPolicy::IfNotPresent),
        allowed_pull_policies: Vec::new(),
        registry_auth_config: match raw.registry.and_then(|r| r.auth_config) {
            Some(path) if path.is_empty() => Some(path),
            Some(path) => Some(absolute(Some(path), "", vec!["registry", "auth_config"])?),
            None => None,
        },
        entrypoint: match raw.entrypoint {
            Some(RawEntrypoint::Ignore) => Entrypoint::Ignore,
            Some(RawEntrypoint::Honor) | None => Entrypoint::Honor,
        },
        mode_variable,
        mode_default,
        modes_allowed,
        modes_allowed_by_file,
        dind_image: non_empty(dind.image, "docker:dind", vec!["dind", "image"])?,
        dind_privileged: dind.privileged.unwrap_or(true),
        dind_mtu: mtu(dind.mtu)?,
        dind_runtime: match dind.runtime {
            Some(r) if r.trim().is_empty() => {
                return Err((vec!["dind", "runtime"], "must not be empty".into()))
            }
            other => other,
        },
        dind_ready_timeout: duration(dind.ready_timeout, "60s", vec!["dind", "ready_timeout"])?,
        dind_tls: dind.tls.unwrap_or(false),
        dind_cache: match dind.cache {
            Some(RawDindCache::Project) => DindCache::Project,
            Some(RawDindCache::None) | None => DindCache::None,
        },
        dind_cache_max_size: cache_size(dind.cache_max_size)?,
        dind_warm: dind.warm.unwrap_or(false),
        dind_warm_max_age: duration(dind.warm_max_age, "1h", vec!["dind", "warm_max_age"])?,
        dind_registry_mirrors: super::dind_registries::mirrors(dind.registry_mirrors)?,
        dind_insecure_registries: super::dind_registries::insecure(dind.insecure_registries)?,
        dind_login: dind.login.unwrap_or(false),
        mirror: super::dind_registries::mirror(raw.mirror)?,
        socket_host_path: absolute(
            socket.host_path,
            "/var/run/docker.sock",
            vec!["socket", "host_path"],
        )?,
        socket_builds_host_dir: absolute(
            socket.builds_host_dir,
            "/var/lib/executor/builds",
            vec!["socket", "builds_host_dir"],
        )?,
        services_wait_timeout: {
            let text = services.wait_timeout;
            let key = vec!["services", "wait_timeout"];
            parse_duration(text.as_deref().unwrap_or("30s")).map_err(|m| (key, m))?
        },
        services_max: services.max.unwrap_or(10),
        services_debug_logs: services.debug_logs.unwrap_or(true),
        services_max_env: {
            let key = vec!["services", "max_env"];
            let text = services.max_env.as_deref().unwrap_or("256KiB");
            size::parse(text).map_err(|m| (key, m))?
        },
        helper_image: non_empty(helper.image, DEFAULT_HELPER_IMAGE, vec!["helper", "image"])?,
        helper_mode: match (helper.mode, helper.runner_binary) {
            (Some(RawHelperMode::Container) | None, Some(_)) => {
                return Err((
                    vec!["helper", "runner_binary"],
                    "only used with helper.mode: job; set the mode or remove the key".into(),
                ))
            }
            (Some(RawHelperMode::Container) | None, None) => HelperMode::Container,
            (Some(RawHelperMode::Job), binary) => HelperMode::Job {
                runner_binary: match binary {
                    Some(path) => Some(absolute(Some(path), "", vec!["helper", "runner_binary"])?),
                    None => None,
                },
            },
        },
        container: Default::default(),
        container_runtime: None,
    };
    settings.allowed_pull_policies = match raw.allowed_pull_policies {
        Some(list) if list.is_empty() => {
            return Err((
                vec!["allowed_pull_policies"],
                "list at least one of always, if-not-present, never".into(),
            ))
        }
        Some(list) => list.into_iter().map(PullPolicy::from).collect(),
        None => vec![settings.pull_policy],
    };
    if !settings
        .allowed_pull_policies
        .contains(&settings.pull_policy)
    {
        return Err((
            vec!["allowed_pull_policies"],
            format!(
                "does not list pull_policy `{}`; add it or change pull_policy",
                settings.pull_policy
            ),
        ));
    }
    // Last: the options' mount paths are checked against the directories set above.
    (settings.container, settings.container_runtime) =
        super::container::validate(raw_container, &settings)?;
    Ok(settings)
}

fn cache_size(text: Option<String>) -> Result<u64, Invalid> {
    let key = vec!["dind", "cache_max_size"];
    let bytes = size::parse(text.as_deref().unwrap_or("20GiB")).map_err(|m| (key.clone(), m))?;
    if bytes < 1 << 20 {
        return Err((key, "must be at least 1MiB".into()));
    }
    Ok(bytes)
}

fn mtu(value: Option<u32>) -> Result<Option<u32>, Invalid> {
    match value {
        Some(m) if !(576..=65535).contains(&m) => Err((
            vec!["dind", "mtu"],
            format!("{m} is not an MTU between 576 and 65535"),
        )),
        other => Ok(other),
    }
}

fn duration(
    text: Option<String>,
    default: &str,
    key: Vec<&'static str>,
) -> Result<Duration, Invalid> {
    let d = parse_duration(text.as_deref().unwrap_or(default)).map_err(|m| (key.clone(), m))?;
    if d.is_zero() {
        return Err((key, "must be longer than zero".into()));
    }
    Ok(d)
}

fn absolute(
    text: Option<String>,
    default: &str,
    key: Vec<&'static str>,
) -> Result<String, Invalid> {
    let path = text.unwrap_or_else(|| default.to_string());
    if !path.starts_with('/') || path.contains(['\n', '\0', ':']) {
        return Err((key, format!("`{path}` must be an absolute path")));
    }
    Ok(path)
}

fn non_empty(
    text: Option<String>,
    default: &str,
    key: Vec<&'static str>,
) -> Result<String, Invalid> {
    let value = text.unwrap_or_else(|| default.to_string());
    if value.trim().is_empty() {
        return Err((key, "must not be empty".into()));
    }
    Ok(value)
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
