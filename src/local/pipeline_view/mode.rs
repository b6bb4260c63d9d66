//! The Docker mode each job of the pipeline view would get, worked out cheaply: the job's
//! mode variable after the same layering a run does (predefined, the file's, `--var`,
//! `--mode`), then the runner's policy with the trusted facts a local run's payload gives
//! (this checkout's project, an unprotected ref). No temp files, no engine.

use super::super::decisions::RefFacts;
use super::super::expand;
use super::Resolved;
use crate::cli::RunArgs;
use crate::env::JobEnv;
use crate::payload::TrustedFacts;
use crate::plan;
use crate::settings::{Mode, Settings};

/// Works out modes for the jobs of one pipeline.
pub(in crate::local) struct Modes<'a> {
    settings: &'a Settings,
    facts: &'a RefFacts,
    args: &'a RunArgs,
    trusted: TrustedFacts,
}

impl<'a> Modes<'a> {
    pub(in crate::local) fn new(
        settings: &'a Settings,
        facts: &'a RefFacts,
        args: &'a RunArgs,
    ) -> Modes<'a> {
        let get = |key: &str| {
            facts
                .predefined()
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        // What `runner::write_payload` tells the plan in a real local run.
        let trusted = TrustedFacts {
            project_id: get("CI_PROJECT_ID").and_then(|id| id.parse().ok()),
            project_path: get("CI_PROJECT_PATH"),
            protected: Some(false),
            ..TrustedFacts::default()
        };
        Modes {
            settings,
            facts,
            args,
            trusted,
        }
    }

    /// A job with these decided variables (values as written): its variables as the run
    /// layers and expands them, and its mode (or the one-line reason prepare would refuse
    /// it).
    pub(in crate::local) fn resolve(&self, variables: &[(String, String)]) -> Resolved {
        match self.layered(variables) {
            Ok(layered) => Resolved {
                mode: self.mode(&layered).map(|m| m.as_str().to_string()),
                variables: layered,
            },
            Err(message) => Resolved {
                variables: variables.to_vec(),
                mode: Err(message),
            },
        }
    }

    fn layered(&self, variables: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
        let mut layered = self.facts.predefined().to_vec();
        expand::layer(&mut layered, variables)?;
        let mut overrides = self.facts.overrides().to_vec();
        if let Some(mode) = self.args.mode {
            overrides.push((self.settings.mode_variable.clone(), mode.as_str().into()));
        }
        expand::layer(&mut layered, &overrides)?;
        Ok(layered)
    }

    fn mode(&self, layered: &[(String, String)]) -> Result<Mode, String> {
        let name = &self.settings.mode_variable;
        let value = layered
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
        let env = JobEnv::from_vars(value.map(|v| (format!("CUSTOM_ENV_{name}"), v)));
        plan::choose_mode(self.settings, &env, Some(&self.trusted)).map_err(|e| e.0)
    }
}
