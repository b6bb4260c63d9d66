//! `CI_DEBUG_SERVICES: "true"`: the job's services' output in the job log, each line named
//! after its service, as the docker executor shows it. The docker executor follows the logs
//! for the whole job from one process; the driver is called once per stage and keeps nothing
//! between calls, so each call shows what the services printed while it ran:
//!
//! - prepare: everything they printed up to the end of the readiness wait (their containers
//!   were made by this attempt, so that is all they ever printed);
//! - each `run`: what they print from the call's start until its script ends, followed live.
//!
//! Lines printed between two calls (the runner's own work between stages, a few milliseconds
//! to seconds) and in the last moment before a script ends are not shown. Showing them would
//! take state kept between calls, or holding a stage open to drain; the stage's own output and
//! timing come first. Reading never changes a stage's result: an engine that cannot give the
//! logs gets one line saying so. The admin can turn it off (`services.debug_logs: false`).

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;

use super::log_lines::{self, Moment, Printer};
use crate::docker::{self, Engine, OpenLine};
use crate::env::JobEnv;
use crate::outcome::{one_line, say};
use crate::plan::{ContainerSpec, LABEL_SERVICE};
use crate::settings::Settings;

/// How long prepare spends reading what its services printed; the engine answers in
/// milliseconds, so this only bounds one that does not.
const PREPARE_READ_TIME: Duration = Duration::from_secs(3);

/// Whether the job asked for its services' output: `CI_DEBUG_SERVICES` true, in the forms
/// gitlab-runner accepts (Go's `strconv.ParseBool`). The variable is the job's, and so is the
/// output it shows: it changes nothing but the job's own log.
fn asked(env: &JobEnv) -> bool {
    matches!(
        env.job_var("CI_DEBUG_SERVICES"),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True")
    )
}

/// Asked for, and allowed by the admin (`services.debug_logs`).
fn enabled(settings: &Settings, env: &JobEnv) -> bool {
    settings.services_debug_logs && asked(env)
}

/// After prepare's readiness wait: what each service printed so far, one service after the
/// other. A job asking on a runner that does not allow it is told so, once.
pub async fn after_prepare(
    settings: &Settings,
    env: &JobEnv,
    engine: &Engine,
    services: &[ContainerSpec],
) {
    if asked(env) && !settings.services_debug_logs {
        return say(
            "CI_DEBUG_SERVICES: showing the services' output is turned off on this runner \
             (services.debug_logs: false)",
        );
    }
    if !enabled(settings, env) || services.is_empty() {
        return;
    }
    let mut printer = Printer::new(std::io::stdout(), None, None);
    let deadline = tokio::time::Instant::now() + PREPARE_READ_TIME;
    for service in services {
        let shown = service.labels.get(LABEL_SERVICE).unwrap_or(&service.name);
        let index = printer.add(shown);
        let mut log = std::pin::pin!(docker::service::service_log(
            engine,
            &service.name,
            None,
            false
        ));
        loop {
            match tokio::time::timeout_at(deadline, log.next()).await {
                Ok(Some(Ok(message))) if printer.feed(index, &message) => {}
                Ok(Some(Ok(_))) => return printer.finish(),
                Ok(Some(Err(why))) => {
                    unreadable(&mut printer, &format!("the log of service {shown}"), &why);
                    break;
                }
                Ok(None) => break,
                Err(_) => {
                    printer.notice(&format!(
                        "CI_DEBUG_SERVICES: the services' logs were not read within {} s; the \
                         rest is not shown",
                        PREPARE_READ_TIME.as_secs()
                    ));
                    return printer.finish();
                }
            }
        }
    }
    printer.finish();
}

/// `work` (a stage's script), with the services' output followed alongside it from `started`
/// until `work` ends; `work`'s result is returned as it is. `open_line` is where the script's
/// stdout and stderr stand, so no line of a service lands inside one of the script's.
pub async fn during<F: Future>(
    settings: &Settings,
    env: &JobEnv,
    engine: &Engine,
    key: &str,
    started: Moment,
    open_line: &OpenLine,
    work: F,
) -> F::Output {
    if !enabled(settings, env) {
        return work.await;
    }
    let mut printer = Printer::new(std::io::stdout(), Some(open_line), Some(started));
    let output = {
        let follow = follow(engine, key, settings.services_max, started, &mut printer);
        tokio::pin!(work, follow);
        let mut following = true;
        loop {
            tokio::select! {
                output = &mut work => break output,
                () = &mut follow, if following => following = false,
            }
        }
    };
    printer.finish();
    output
}

/// Every service's log from `since`, as it comes, until each ends or the stage's cap is read.
async fn follow(
    engine: &Engine,
    key: &str,
    max: usize,
    since: Moment,
    printer: &mut Printer<'_, std::io::Stdout>,
) {
    let services = match docker::service::job_services(engine, key, max).await {
        Ok(services) => services,
        Err(failure) => return unreadable(printer, "the job's services", &failure.to_string()),
    };
    let mut names = Vec::new();
    let streams = services.iter().map(|(name, shown)| {
        let index = printer.add(shown);
        names.push(shown.clone());
        docker::service::service_log(engine, name, Some(since.0), true)
            .map(move |message| (index, message))
            .boxed_local()
    });
    let mut all = futures_util::stream::select_all(streams.collect::<Vec<_>>());
    while let Some((index, message)) = all.next().await {
        match message {
            Ok(message) if printer.feed(index, &message) => {}
            Ok(_) => return,
            Err(why) => {
                let what = format!("the log of service {}", names[index]);
                unreadable(printer, &what, &why);
            }
        }
    }
}

/// The engine would not give `what` (a logging driver that cannot be read back, a service
/// gone): one line, and the stage goes on.
fn unreadable<W: std::io::Write>(printer: &mut Printer<'_, W>, what: &str, why: &str) {
    let why: String = one_line(why)
        .chars()
        .take(log_lines::LINE_MAX / 10)
        .collect();
    printer.notice(&format!("CI_DEBUG_SERVICES: {what} cannot be read: {why}"));
}

#[cfg(test)]
mod tests {
    use crate::env::JobEnv;
    use crate::settings::Settings;

    fn env(value: &str) -> JobEnv {
        JobEnv::from_vars([(
            "CUSTOM_ENV_CI_DEBUG_SERVICES".to_string(),
            value.to_string(),
        )])
    }

    #[test]
    fn true_in_the_forms_gitlab_runner_accepts() {
        for on in ["true", "1", "TRUE", "True", "t", "T"] {
            assert!(super::asked(&env(on)), "{on}");
        }
        for off in ["", "false", "0", "yes", "trace", " true"] {
            assert!(!super::asked(&env(off)), "{off}");
        }
        assert!(!super::asked(&JobEnv::from_vars(
            Vec::<(String, String)>::new()
        )));
    }

    #[test]
    fn the_admin_can_turn_it_off() {
        let allowed = Settings::from_text("", "t").unwrap();
        let denied = Settings::from_text("services:\n  debug_logs: false\n", "t").unwrap();
        assert!(super::enabled(&allowed, &env("true")));
        assert!(!super::enabled(&denied, &env("true")));
        assert!(!super::enabled(&allowed, &env("false")));
    }
}
