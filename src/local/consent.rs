//! A `.gitlab-ci.yml` alone cannot grant itself this machine. A local run whose job would get
//! Docker (dind: a privileged daemon; socket: root on the host engine) needs the person's
//! consent, as gitlab-ci-local asks for `--privileged` or `--volume`: `--mode dind|socket` on
//! the command line, or a config file they chose whose `mode.allowed` lists the mode. A dry run
//! creates nothing and needs none.

use crate::cli::RunArgs;
use crate::env::JobEnv;
use crate::plan;
use crate::settings::{Mode, Settings};
use crate::stage;

/// The settings a local run uses: `--mode` is the person's own word, so it is offered even
/// when the defaults leave it out; a config file that lists `mode.allowed` still decides.
/// `--no-warm` turns `warm.jobs` off for the run.
pub fn settings_for(settings: &Settings, args: &RunArgs) -> Settings {
    let mut settings = settings.clone();
    if let Some(mode) = args.mode.and_then(|m| Mode::parse(m.as_str())) {
        if !settings.modes_allowed_by_file && !settings.modes_allowed.contains(&mode) {
            settings.modes_allowed.push(mode);
        }
    }
    // `--no-warm`: neither adopt a warm job set nor leave one.
    settings.warm_jobs &= !args.no_warm;
    settings
}

/// `Err` with what to do when the job would get Docker without the person's consent.
pub fn check(settings: &Settings, args: &RunArgs, env: &JobEnv) -> Result<(), String> {
    // A job whose plan fails is refused by prepare, with the reason.
    let Ok(facts) = stage::prepare::trusted_facts(env) else {
        return Ok(());
    };
    // The mode the job asks for, as if every mode were offered: a job asking for socket where
    // the defaults leave it out is told how the person can allow it, not that the runner
    // does not offer it.
    let mut asked = settings.clone();
    if !asked.modes_allowed_by_file {
        asked.modes_allowed = Mode::ALL.to_vec();
    }
    let Ok(mode) = plan::choose_mode(&asked, env, facts.as_ref()) else {
        return Ok(());
    };
    let what = match mode {
        Mode::None => return Ok(()),
        Mode::Dind => "a privileged Docker daemon on this machine",
        Mode::Socket => "this machine's Docker socket (root on this machine)",
    };
    let on_command_line = args.mode.map(|m| m.as_str()) == Some(mode.as_str());
    let by_file = settings.modes_allowed_by_file && settings.modes_allowed.contains(&mode);
    if on_command_line || by_file {
        return Ok(());
    }
    Err(format!(
        "this job would run in {mode} mode, which gives it {what}; the .gitlab-ci.yml cannot \
         grant that itself: pass --mode {mode} to allow it, or --mode none, or use a config \
         (--config, EXECUTOR_CONFIG or /etc/executor/executor.yaml) whose mode.allowed lists {mode}"
    ))
}

/// Local-form arguments with nothing given, for tests to fill in.
#[cfg(test)]
pub(crate) fn tests_args() -> RunArgs {
    RunArgs {
        args: Vec::new(),
        file: None,
        mode: None,
        vars: Vec::new(),
        dry_run: false,
        json: false,
        force: false,
        changes_from: None,
        refresh: false,
        inputs: Vec::new(),
        gitlab_token: None,
        needs: false,
        stage: None,
        no_warm: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ModeArg;

    fn args(mode: Option<ModeArg>) -> RunArgs {
        RunArgs {
            mode,
            ..tests_args()
        }
    }

    fn env(mode: Option<&str>) -> JobEnv {
        let mut vars = vec![
            ("CUSTOM_ENV_CI_RUNNER_ID", "0"),
            ("CUSTOM_ENV_CI_PROJECT_ID", "1"),
            ("CUSTOM_ENV_CI_CONCURRENT_ID", "0"),
            ("CUSTOM_ENV_CI_JOB_ID", "2"),
        ];
        vars.extend(mode.map(|m| ("CUSTOM_ENV_EXECUTOR_DOCKER_MODE", m)));
        JobEnv::from_vars(vars)
    }

    fn settings(text: &str) -> Settings {
        Settings::from_text(&format!("payload:\n  required: false\n{text}"), "t").unwrap()
    }

    #[test]
    fn a_file_cannot_grant_itself_docker() {
        let defaults = settings("");
        for mode in [None, Some("dind")] {
            let err = check(&defaults, &args(None), &env(mode)).unwrap_err();
            assert!(err.starts_with("this job would run in dind mode"), "{err}");
            assert!(err.contains("pass --mode dind"), "{err}");
        }
        assert!(check(&defaults, &args(None), &env(Some("none"))).is_ok());
        let with_mode = args(Some(ModeArg::Dind));
        assert!(check(&settings_for(&defaults, &with_mode), &with_mode, &env(None)).is_ok());
    }

    #[test]
    fn socket_needs_the_person_too() {
        let socket = args(Some(ModeArg::Socket));
        let offered = settings_for(&settings(""), &socket);
        assert!(offered.modes_allowed.contains(&Mode::Socket));
        assert!(check(&offered, &socket, &env(Some("socket"))).is_ok());
        // The job's own variable is not consent, whether or not socket is offered.
        for settings in [&offered, &settings("")] {
            let err = check(settings, &args(None), &env(Some("socket"))).unwrap_err();
            assert!(err.contains("pass --mode socket"), "{err}");
        }
        // A config the person chose that lists the mode is.
        let chosen = settings("mode:\n  allowed: [dind, socket, none]\n");
        assert!(check(&chosen, &args(None), &env(Some("socket"))).is_ok());
        // A chosen config that leaves it out wins over --mode.
        let strict = settings("mode:\n  allowed: [dind, none]\n");
        assert!(!settings_for(&strict, &socket)
            .modes_allowed
            .contains(&Mode::Socket));
    }
}
