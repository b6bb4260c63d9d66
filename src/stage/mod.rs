//! The four protocol calls, each a short recipe of named steps (`protocol.md` §2).

mod cache;
pub mod cleanup;
pub mod config;
mod entrypoint;
mod halt;
mod ownership;
pub mod prepare;
mod readiness;
pub mod run;
mod services;
mod sidecar;
pub mod warm;
