//! Integration tests: the real `executor` binary, the four protocol calls, a real Docker
//! engine (brought up by `scripts/test`, see the README). Every test ends by asserting that
//! nothing labelled with its job remains on the engine.

mod cache_stop;
mod checkout;
mod config_file;
mod container_options;
mod crashes;
mod debug_services;
mod dind_extras;
mod doctor;
mod entrypoint;
mod entrypoint_more;
mod failures;
mod features;
mod gc;
mod harness;
mod hostile;
mod local;
mod local_more;
mod local_safety;
mod modes;
mod own_job;
mod parity;
mod platform;
mod policy;
mod prepare_signals;
mod pull_policies;
mod pulls;
mod registry;
mod registry_auth;
mod service_ports;
mod services;
mod services_more;
mod signal_bounds;
mod signals;
mod socket_dirs;
mod spawned;
mod tls;
mod trust;
mod trust_images;
mod trust_limits;
mod trust_probes;
mod trust_slots;
mod warm;
mod warm_adopt;
mod warm_gc;
