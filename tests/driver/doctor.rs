//! `executor doctor` on the real engine: a good config passes every check (and proves that
//! privileged containers start here), blockers make it exit 1 with one line each, and the
//! probe container it starts does not remain.

use crate::harness::{docker, doctor};

/// One doctor at a time: a good host's test proves the privileged probe container does not
/// remain, which another doctor's probe in flight would break.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn a_good_host_passes_and_the_policy_is_shown() {
    let _turn = turn();
    let config = "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n\
                  mode:\n  allowed: [dind, socket, none]\n\
                  policy:\n  rules:\n    - match: {projects: [\"infra/*\"], protected: true}\n      \
                  modes: [socket, dind]\n  default_modes: [none]\n";
    let (code, out) = doctor(config);
    assert_eq!(code, 0, "{out}");
    for want in [
        "ok    Docker engine",
        "(API 1.",
        "ok    privileged containers start",
        "ok    job image executor-test/debian:1 is on the engine",
        "ok    dind image executor-test/dind:1 is on the engine",
        "info  policy policy.rules[0]: project infra/*, protected ref may use socket, dind",
        "info  policy: any other job may use none",
        // This host's engine (cgroup v1, tests/test-host) enforces every kind of limit.
        "ok    the engine enforces memory, pids and CPU limits (cgroup v",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    let left = docker(&["ps", "-aq", "--filter", "label=io.executor.role=doctor"]);
    assert!(
        left.trim().is_empty(),
        "the privileged probe container remained"
    );
}

#[test]
fn blockers_fail_with_one_line_each() {
    let _turn = turn();
    let (code, out) =
        doctor("image: executor-test/missing:1\npull_policy: never\nmode:\n  default: none\n  allowed: [none]\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL  job image executor-test/missing:1 is missing and pull_policy is never"),
        "{out}"
    );
    let (code, out) = doctor(
        "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n  runtime: sysbox-runc\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL  dind.runtime sysbox-runc is not registered"),
        "{out}"
    );
    let (code, out) = doctor("docker:\n  host: unix:///nonexistent.sock\n");
    assert_eq!(code, 1);
    assert!(
        out.contains("FAIL  cannot reach the Docker engine at unix:///nonexistent.sock"),
        "{out}"
    );
    let (code, out) = doctor("mode:\n  defualt: dind\n");
    assert_eq!(code, 1);
    assert!(
        out.contains("unknown field `defualt`") && out.lines().count() == 1,
        "{out}"
    );
}

/// What an admin should hear before a hostile job finds it: socket open to every project, a
/// privileged sidecar without a runtime, identity from job variables. Warnings do not fail.
#[test]
fn risky_setups_are_warned_about() {
    let _turn = turn();
    let base = "image: executor-test/debian:1\ndind:\n  image: executor-test/dind:1\n";
    let (code, out) = doctor(&format!(
        "{base}mode:\n  allowed: [dind, socket, none]\npayload:\n  required: false\n"
    ));
    assert_eq!(code, 0, "{out}");
    for want in [
        "warn  socket mode is open to every project",
        "warn  the dind sidecar runs privileged without a runtime such as sysbox-runc",
        "warn  payload.required is false",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    // A rule on the ref alone grants every project's protected branches.
    let (_, out) = doctor(&format!(
        "{base}mode:\n  allowed: [dind, socket, none]\npolicy:\n  rules:\n    \
         - match: {{protected: true}}\n      modes: [socket]\n  default_modes: [none]\n"
    ));
    assert!(
        out.contains("warn  socket mode is open to every project"),
        "{out}"
    );
    // The defaults and a rule naming projects are quiet about socket.
    for config in [
        base.to_string(),
        format!(
            "{base}mode:\n  allowed: [dind, socket, none]\npolicy:\n  rules:\n    \
             - match: {{projects: [\"infra/*\"], protected: true}}\n      modes: [socket]\n  \
             default_modes: [dind, none]\n"
        ),
    ] {
        let (code, out) = doctor(&config);
        assert_eq!(code, 0, "{out}");
        assert!(!out.contains("socket mode is open"), "{out}");
        assert!(!out.contains("payload.required"), "{out}");
    }
}

/// `container:` options that give every job more than an admin may mean to are warned about;
/// a runtime the engine lacks and a device this host lacks would fail every job, so they fail.
#[test]
fn risky_or_missing_container_options_are_named() {
    let _turn = turn();
    let base = "image: executor-test/debian:1\nmode:\n  default: none\n  allowed: [none]\n";
    let (code, out) = doctor(&format!(
        "{base}container:\n  cap_add: [ALL]\n  security_opt: [\"seccomp:unconfined\"]\n  \
         userns_mode: host\n  volumes: [\"/etc:/host-etc:ro\"]\n  runtime: runc\n"
    ));
    assert_eq!(code, 0, "{out}");
    for want in [
        "warn  container.cap_add gives every job ALL",
        "warn  container.security_opt seccomp=unconfined turns off a protection",
        "warn  container.userns_mode host",
        "warn  container.volumes gives every job the host's /etc to read",
        "ok    container.runtime runc is registered",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    let (code, out) = doctor(&format!(
        "{base}container:\n  runtime: no-such-runtime\n  devices: [/dev/no-such-device]\n"
    ));
    assert_eq!(code, 1, "{out}");
    for want in [
        "FAIL  container.runtime no-such-runtime is not registered with the engine",
        "FAIL  container.devices /dev/no-such-device does not exist on this host",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    let (code, out) = doctor(&format!("{base}container:\n  cap_drop: [NET_RAW]\n"));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("container."), "{out}");
}
