//! `executor`: a gitlab-runner custom executor driver that gives each job a container with
//! Docker access in `dind`, `socket` or `none` mode.
//!
//! Data flows one way (`design.md`):
//!
//! - [`cli`], [`env`], [`settings`]: argv, the environment and the YAML config, read once;
//! - [`payload`]: the trusted facts of `JOB_RESPONSE_FILE`;
//! - [`plan`]: pure planning of every name, label, network, volume and container;
//! - [`docker`]: the thin bollard adapter, the only module that names bollard;
//! - [`signal`]: SIGTERM and SIGINT as events;
//! - [`stage`]: `config`, `prepare`, `run`, `cleanup`, each a recipe of named steps;
//! - [`local`]: `executor run` in a checkout: `.gitlab-ci.yml` parsing for local job runs;
//! - [`doctor`]: `executor doctor`, checks of the host and config;
//! - [`gc`]: `executor gc`, collection of what killed jobs left;
//! - [`tls`]: the certificates the driver makes for `dind.tls`;
//! - [`outcome`]: how a stage ended, mapped to the protocol's exit codes in one place.
//! - [`yaml`]: the one module that names serde_yaml.
//!
//! Imports go one way: `stage` may use `docker`, `plan`, `registry`, `settings`, `env`;
//! `docker` may use `plan` and `registry`; `registry` uses `settings`, `env` and `payload`;
//! `plan` uses only `settings`, `env` and `payload`. Only `docker` names bollard.

pub mod app;
pub mod builds_dirs;
pub mod cli;
pub mod disk;
pub mod docker;
pub mod doctor;
pub mod env;
pub mod gc;
pub mod local;
pub mod outcome;
pub mod payload;
pub mod plan;
pub mod registry;
pub mod settings;
pub mod signal;
pub mod stage;
pub mod tls;
pub mod yaml;

/// The README's and docs/' links to tests checked (test-only).
#[cfg(test)]
mod doc_links;
/// The import rule above, checked over the source (test-only).
#[cfg(test)]
mod import_rule;
