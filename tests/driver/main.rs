//! Integration tests: the real `executor` binary, the four protocol calls, a real Docker
//! engine (brought up by `scripts/test`, see the README). Every test ends by asserting that
//! nothing labelled with its job remains on the engine.

mod config_file;
mod crashes;
mod dind_extras;
mod doctor;
mod failures;
mod features;
mod gc;
mod harness;
mod hostile;
mod local;
mod modes;
mod parity;
mod policy;
mod prepare_signals;
mod pulls;
mod registry;
mod services;
mod signals;
mod spawned;
mod trust;
mod trust_limits;
mod trust_probes;
