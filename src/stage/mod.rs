//! The four protocol calls, each a short recipe of named steps (`protocol.md` §2).

mod cache;
pub mod cleanup;
pub mod config;
mod entrypoint;
mod halt;
pub mod host_dirs;
mod images;
mod limit_hits;
mod log_lines;
mod login;
mod ownership;
pub mod prepare;
mod readiness;
pub mod run;
mod service_logs;
mod service_ports;
mod services;
mod sidecar;
pub mod warm;
pub mod warm_job;
