//! `executor doctor`: can this host run jobs with this config? Each finding is one line with
//! what to do about it; the exit code is non-zero when something would block jobs.

mod config;
mod container;
mod networks;

use crate::docker::{self, probe, Engine};
use crate::plan::warm::{warm_sidecar_name, LABEL_WARM_KEY};
use crate::plan::warm_job::warm_job_name;
use crate::registry::Registries;
use crate::settings::{human_size, DindCache, HelperMode, Mode, PullPolicy, Settings};

/// How serious a finding is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Info,
    /// Jobs run, but the setup gives them more than an admin would want to give.
    Warn,
    Fail,
}

#[derive(Default)]
struct Findings {
    failed: bool,
}

impl Findings {
    fn say(&mut self, level: Level, text: &str) {
        let tag = match level {
            Level::Ok => "ok  ",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        self.failed |= level == Level::Fail;
        println!("{tag}  {text}");
    }
}

/// Run every check; returns the process exit code (0 when nothing blocks jobs).
pub async fn doctor(settings: Result<Settings, String>, source: &str) -> i32 {
    let mut out = Findings::default();
    let settings = match settings {
        Ok(settings) => settings,
        Err(e) => {
            out.say(
                Level::Fail,
                &format!("{e}; fix the file and run doctor again"),
            );
            return 1;
        }
    };
    config::config(&mut out, &settings, source);
    let registries = registries(&mut out, &settings);
    if let Some(engine) = engine(&mut out, &settings).await {
        let dind_image_ready = images(&mut out, &engine, &settings, &registries).await;
        runtime(&mut out, &engine, &settings, dind_image_ready).await;
        container::engine(&mut out, &engine, &settings).await;
        dind_extras(&mut out, &engine, &settings).await;
        networks::room(&mut out, &engine, &settings).await;
        mirror(&mut out, &engine, &settings).await;
        limits(&mut out, &engine, &settings).await;
    }
    i32::from(out.failed)
}

/// What `dind.tls`, `dind.cache` and `dind.warm` are set to, the layer caches on the engine
/// with their sizes, and the warm sidecars waiting.
async fn dind_extras(out: &mut Findings, engine: &Engine, s: &Settings) {
    let cache = match s.dind_cache {
        DindCache::None => "none (an empty daemon per job)".to_string(),
        DindCache::Project => format!(
            "project (kept per project and slot, dropped past {})",
            human_size(s.dind_cache_max_size)
        ),
    };
    out.say(
        Level::Info,
        &format!(
            "dind: tls {}, cache {cache}, warm sidecars {}",
            if s.dind_tls {
                "by the driver"
            } else {
                "off (socket)"
            },
            if s.dind_warm { "on" } else { "off" },
        ),
    );
    match docker::dind::cache_volumes(engine, None).await {
        Ok(caches) => {
            for c in caches {
                let measured =
                    docker::host_task::measure_volume(engine, s, &c.name, &c.mountpoint).await;
                let size = match measured {
                    Ok(bytes) => human_size(bytes),
                    Err(why) => format!("size unknown ({why})"),
                };
                let state = if c.holders.is_empty() {
                    "idle"
                } else {
                    "in use"
                };
                out.say(Level::Info, &format!("cache {}: {size}, {state}", c.name));
            }
        }
        Err(e) => out.say(Level::Info, &format!("cannot list layer caches: {e}")),
    }
    let warm = docker::dind::containers_labelled(engine, &[LABEL_WARM_KEY.to_string()]).await;
    if let Ok(warm) = warm {
        let waiting = warm
            .iter()
            .filter(|c| {
                c.running
                    && c.labels
                        .get(LABEL_WARM_KEY)
                        .is_some_and(|k| c.name == warm_sidecar_name(k))
            })
            .count();
        if waiting > 0 || s.dind_warm {
            out.say(Level::Info, &format!("warm sidecars waiting: {waiting}"));
        }
        // Warm job sets (`warm.jobs`) not adopted yet: their job container still bears the
        // set's name. A dind set's job container is counted with its sidecar above.
        let jobs = warm
            .iter()
            .filter(|c| {
                c.running
                    && c.labels.get(LABEL_WARM_KEY).is_some_and(|k| {
                        c.name == warm_job_name(k)
                            && !warm.iter().any(|o| o.name == warm_sidecar_name(k))
                    })
            })
            .count();
        if jobs > 0 || s.warm_jobs {
            out.say(
                Level::Info,
                &format!(
                    "warm job sets waiting: {jobs} (warm.jobs {}, max age {}s)",
                    if s.warm_jobs { "on" } else { "off" },
                    s.warm_max_age.as_secs()
                ),
            );
        }
    }
}

/// Whether the engine enforces the limits `limits:` sets (memory, swap, pids, CPU quota), on
/// cgroup v1 or v2; a limit it cannot enforce is a warning, since jobs then share the host
/// unbounded.
async fn limits(out: &mut Findings, engine: &Engine, s: &Settings) {
    let (version, [memory, swap, pids, cpu]) = match probe::limit_support(engine).await {
        Ok(found) => found,
        Err(e) => return out.say(Level::Info, &format!("cannot read the engine's info: {e}")),
    };
    let l = &s.limits;
    let kinds = [l.job, l.dind, l.services, l.helper];
    let support = [
        ("memory", memory, kinds.iter().any(|k| k.memory != 0)),
        ("swap", swap, kinds.iter().any(|k| k.memory != 0)),
        ("pids", pids, kinds.iter().any(|k| k.pids != 0)),
        ("CPU", cpu, kinds.iter().any(|k| k.cpus != 0)),
    ];
    let (level, line) = limit_support_line(&version, &support);
    out.say(level, &line);
}

/// What the engine enforces, from `(kind, enforced, set by limits:)`: ok when it enforces
/// every kind, a warning naming each kind `limits:` sets that it does not hold jobs to, else
/// a note of what it does not enforce (nothing configured depends on it).
fn limit_support_line(version: &str, support: &[(&str, bool, bool)]) -> (Level, String) {
    let names = |pick: &dyn Fn(&(&str, bool, bool)) -> bool| -> Vec<&str> {
        support.iter().filter(|k| pick(k)).map(|k| k.0).collect()
    };
    let unheld = names(&|k| k.2 && !k.1);
    let unenforced = names(&|k| !k.1);
    if unenforced.is_empty() {
        return (
            Level::Ok,
            format!("the engine enforces memory, swap, pids and CPU limits (cgroup v{version})"),
        );
    }
    if unheld.is_empty() {
        return (
            Level::Info,
            format!(
                "the engine does not enforce {} limits (cgroup v{version}); limits: sets none \
                 of them",
                unenforced.join(", ")
            ),
        );
    }
    let swap_note = if unheld.contains(&"swap") {
        " (without swap accounting a job may use the host's swap past its memory limit)"
    } else {
        ""
    };
    (
        Level::Warn,
        format!(
            "the engine does not enforce {} limits (cgroup v{version}): limits: sets them, but \
             jobs are not held to them{swap_note}; enable the kernel's cgroup controllers (e.g. \
             swapaccount=1, or cgroup v2)",
            unheld.join(", ")
        ),
    )
}

/// The managed registry mirror: whether this config wants one, and every one on the engine
/// with its upstream, state and size.
async fn mirror(out: &mut Findings, engine: &Engine, s: &Settings) {
    let own = docker::mirror::name(&s.mirror);
    if s.mirror.managed {
        out.say(
            Level::Info,
            &format!(
                "mirror: managed, {own} caches {} for every dind job, emptied by gc past {}",
                crate::outcome::one_line(&s.mirror.upstream),
                human_size(s.mirror.max_size)
            ),
        );
    }
    let found = match docker::mirror::find_all(engine).await {
        Ok(found) => found,
        Err(e) => {
            out.say(Level::Info, &format!("cannot list registry mirrors: {e}"));
            return;
        }
    };
    if s.mirror.managed && !found.iter().any(|m| m.name == own) {
        out.say(
            Level::Info,
            &format!("mirror {own}: not started yet (the first dind job starts it)"),
        );
    }
    for m in found {
        let size = match m.size(engine, s).await {
            Ok(bytes) => human_size(bytes),
            Err(why) => format!("size unknown ({why})"),
        };
        let state = if m.running { "running" } else { "stopped" };
        let whose = if m.name == own && s.mirror.managed {
            ""
        } else {
            ", not this config's"
        };
        out.say(
            Level::Info,
            &format!("mirror {} ({}): {size}, {state}{whose}", m.name, m.upstream),
        );
    }
}

/// The helper image, when it does not depend on the job's runner version (then it is pulled
/// per job, as the docker executor pulls its helper).
async fn helper_image(out: &mut Findings, engine: &Engine, s: &Settings, registries: &Registries) {
    match &s.helper_mode {
        HelperMode::Job { runner_binary } => {
            let binary = match runner_binary {
                Some(path) if std::path::Path::new(path).is_file() => {
                    format!("the host's {path}, mounted read-only")
                }
                Some(path) => {
                    return out.say(
                        Level::Fail,
                        &format!(
                            "helper.runner_binary {path} is not a file here; point it at gitlab-runner"
                        ),
                    )
                }
                None => "none mounted: the job image needs git (and gitlab-runner for caches and artifacts)".into(),
            };
            out.say(
                Level::Info,
                &format!("helper.mode job: git and cache stages run in the job container; gitlab-runner: {binary}"),
            );
        }
        HelperMode::Container if s.helper_image.contains("${CI_RUNNER_VERSION}") => out.say(
            Level::Info,
            &format!(
                "helper image {}: tagged with each job's runner version, pulled on first use",
                s.helper_image
            ),
        ),
        HelperMode::Container => {
            check_image(out, engine, s, registries, "helper image", &s.helper_image).await;
        }
    }
}

async fn engine(out: &mut Findings, s: &Settings) -> Option<Engine> {
    let connected = match Engine::connect(s) {
        Ok(engine) => match engine.negotiate().await {
            Ok(engine) => engine.about().await.map(|about| (engine, about)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match connected {
        Ok((engine, about)) => {
            out.say(Level::Ok, &about);
            // Plain HTTP to a remote engine is the admin's explicit choice, and still a risk.
            let level = match &s.docker_host {
                crate::settings::DockerHost::Tcp { tls: None, .. } => Level::Warn,
                _ => Level::Info,
            };
            out.say(level, &format!("connection: {}", engine.connection()));
            Some(engine)
        }
        Err(e) => {
            out.say(Level::Fail, &e.to_string());
            None
        }
    }
}

/// The runtime checks; the privileged probe needs the dind image, so it runs only when that
/// image is there (a missing image is reported once, by `images`).
async fn runtime(out: &mut Findings, engine: &Engine, s: &Settings, dind_image_ready: bool) {
    let runtimes = match probe::runtimes(engine).await {
        Ok(r) => r,
        Err(e) => return out.say(Level::Fail, &format!("cannot read the engine's info: {e}")),
    };
    match &s.dind_runtime {
        Some(wanted) if runtimes.contains(wanted) => out.say(
            Level::Ok,
            &format!("dind.runtime {wanted} is registered; the sidecar runs unprivileged"),
        ),
        Some(wanted) => out.say(
            Level::Fail,
            &format!(
                "dind.runtime {wanted} is not registered with the engine (it has: {}); install \
                 it or remove dind.runtime",
                runtimes.join(", ")
            ),
        ),
        None if runtimes.iter().any(|n| n == "sysbox-runc") => out.say(
            Level::Info,
            "the sysbox-runc runtime is registered; set dind.runtime: sysbox-runc to run the \
             sidecar unprivileged",
        ),
        None if s.modes_allowed.contains(&Mode::Dind) && s.dind_privileged => out.say(
            Level::Warn,
            "the dind sidecar runs privileged without a runtime such as sysbox-runc: a job can \
             reach the host kernel through a privileged container of its own daemon; install \
             sysbox and set dind.runtime: sysbox-runc where you can",
        ),
        None => out.say(Level::Info, "no sysbox-runc runtime"),
    }
    // With a runtime the sidecar is not privileged, so there is nothing to probe.
    let privileged = s.dind_privileged && s.dind_runtime.is_none();
    if !s.modes_allowed.contains(&Mode::Dind) || !privileged || !dind_image_ready {
        return;
    }
    match probe::privileged_starts(engine, &s.dind_image, "bridge").await {
        Ok(()) => out.say(Level::Ok, "privileged containers start (dind needs them)"),
        Err(e) => out.say(
            Level::Fail,
            &format!(
                "a privileged container from {} does not start ({}); dind jobs will fail: fix the \
                 host (see the README) or remove dind from mode.allowed",
                s.dind_image,
                e.lines().next().unwrap_or_default()
            ),
        ),
    }
}

/// Whether each configured image is there or can be pulled; returns whether the dind image is.
/// The runner's registry credential sources, by name and the registries they cover (never a
/// secret); a broken one is a failure, as every job's pulls would fail on it.
fn registries(out: &mut Findings, s: &Settings) -> Registries {
    let env = crate::env::JobEnv::from_process();
    match Registries::gather(s, &env, &[]) {
        Ok(registries) => {
            let found = registries.describe();
            if found.is_empty() {
                out.say(
                    Level::Info,
                    "registry credentials: none on the runner (jobs may bring their own: \
                     DOCKER_AUTH_CONFIG, GitLab's registry login in the payload)",
                );
            }
            for line in found {
                out.say(Level::Info, &format!("registry credentials: {line}"));
            }
            registries
        }
        Err(e) => {
            out.say(Level::Fail, &format!("registry credentials: {e}"));
            Registries::default()
        }
    }
}

async fn images(out: &mut Findings, engine: &Engine, s: &Settings, r: &Registries) -> bool {
    let job_ready = check_image(out, engine, s, r, "job image", &s.image).await;
    helper_image(out, engine, s, r).await;
    if !s.modes_allowed.contains(&Mode::Dind) {
        return false;
    }
    if s.mirror.managed {
        check_image(out, engine, s, r, "mirror image", &s.mirror.image).await;
    }
    // The same image twice (a Debian rootfs serving both) is checked once.
    if s.dind_image == s.image {
        return job_ready;
    }
    check_image(out, engine, s, r, "dind image", &s.dind_image).await
}

/// One image: on the engine, or pulled now; reports and returns whether it is usable.
async fn check_image(
    out: &mut Findings,
    engine: &Engine,
    s: &Settings,
    registries: &Registries,
    what: &str,
    image: &str,
) -> bool {
    let auth = crate::docker::Pulls {
        registries,
        native_platform: None,
        check_private: false,
    };
    let (level, text) = match probe::image_present(engine, image).await {
        Ok(true) => (Level::Ok, format!("{what} {image} is on the engine")),
        Ok(false) if s.pull_policy == PullPolicy::Never => (
            Level::Fail,
            format!("{what} {image} is missing and pull_policy is never; load it first"),
        ),
        Ok(false) => {
            match crate::docker::ensure_image(engine, image, s.pull_policy, None, &auth).await {
                Ok(_) => (Level::Ok, format!("{what} {image} pulled")),
                Err(e) => (
                    Level::Fail,
                    format!("{what} {image} is missing and cannot be pulled: {e}"),
                ),
            }
        }
        Err(e) => (Level::Fail, format!("cannot inspect {what} {image}: {e}")),
    };
    out.say(level, &text);
    level != Level::Fail
}

#[cfg(test)]
mod tests {
    use super::{limit_support_line, Level};

    #[test]
    fn the_limits_line_says_what_the_engine_does_not_hold_jobs_to() {
        let all = [
            ("memory", true, true),
            ("swap", true, true),
            ("pids", true, true),
            ("CPU", true, true),
        ];
        let (level, line) = limit_support_line("2", &all);
        assert!(level == Level::Ok, "{line}");
        assert_eq!(
            line,
            "the engine enforces memory, swap, pids and CPU limits (cgroup v2)"
        );

        let no_swap = [
            ("memory", true, true),
            ("swap", false, true),
            ("pids", false, false),
            ("CPU", true, true),
        ];
        let (level, line) = limit_support_line("1", &no_swap);
        assert!(level == Level::Warn, "{line}");
        assert!(
            line.starts_with(
                "the engine does not enforce swap limits (cgroup v1): limits: sets them"
            ) && line.contains("past its memory limit")
                && !line.contains("pids"),
            "{line}"
        );

        // Nothing configured depends on what is missing: said, not warned.
        let unset = [
            ("memory", true, false),
            ("swap", true, false),
            ("pids", false, false),
            ("CPU", true, false),
        ];
        let (level, line) = limit_support_line("1", &unset);
        assert!(level == Level::Info, "{line}");
        assert_eq!(
            line,
            "the engine does not enforce pids limits (cgroup v1); limits: sets none of them"
        );
    }
}
