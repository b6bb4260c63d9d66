//! The managed registry mirror as the plan sees it: the name and port every dind job's inner
//! daemon reaches it by. Making and joining it is `crate::docker::mirror`'s.

/// The name the inner daemons reach it by (`--registry-mirror=http://executor-mirror:5000`).
pub const ALIAS: &str = "executor-mirror";
/// The port it serves.
pub const PORT: u16 = 5000;

/// The inner daemon's flag for the mirror.
pub fn daemon_flag() -> String {
    format!("--registry-mirror=http://{ALIAS}:{PORT}")
}
