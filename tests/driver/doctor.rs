//! `executor doctor` on the real engine: a good config passes every check (and proves that
//! privileged containers start here), blockers make it exit 1 with one line each, and the
//! probe container it starts does not remain.

use crate::harness::{docker, doctor};

/// One doctor at a time: a good host's test proves the privileged probe container does not
/// remain, which another doctor's probe in flight would break.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn turn() -> std::sync::MutexGuard<'static, ()> {
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
        "ok    the engine enforces memory, swap, pids and CPU limits (cgroup v",
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

/// `executor doctor` with the runner's environment and `registry.auth_config` as given.
fn doctor_with(config: &str, docker_auth_config: Option<&str>) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("executor.yaml");
    std::fs::write(&path, config).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_executor"));
    command
        .args(["--config", &path.display().to_string(), "doctor"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    if let Some(value) = docker_auth_config {
        command.env("DOCKER_AUTH_CONFIG", value);
    }
    let out = crate::harness::Bounded::bounded_output(&mut command).unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// doctor names each credential source of the runner and the registries it covers (helpers
/// and the store by name), never a secret; an unreadable source is a failure, since every
/// job's pulls would fail on it; none at all is said so.
#[test]
fn doctor_names_the_runners_credential_sources_and_never_a_secret() {
    let _turn = turn();
    let secret = "doctor-secret-7f3a";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"auths":{{"reg.example:5000":{{"username":"u","password":"{secret}"}}}},
                "credHelpers":{{"helper.example":"test"}},"credsStore":"teststore"}}"#
        ),
    )
    .unwrap();
    let config = |auth: &str| {
        format!("image: executor-test/debian:1\nregistry:\n  auth_config: \"{auth}\"\n")
    };
    // "u:doctor-secret-7f3a", base64.
    let variable = r#"{"auths":{"https://env.example":{"auth":"dTpkb2N0b3Itc2VjcmV0LTdmM2E="}}}"#;
    let (_, out) = doctor_with(&config(&file.display().to_string()), Some(variable));
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("registry credentials"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("info  registry credentials: the runner's DOCKER_AUTH_CONFIG: ")
            && lines[0].contains("env.example"),
        "{out}"
    );
    let runner_file = format!(
        "info  registry credentials: the runner's {}: ",
        file.display()
    );
    assert!(lines[1].starts_with(&runner_file), "{out}");
    for covered in [
        "reg.example:5000",
        "helper.example (helper test)",
        "any other registry (store teststore)",
    ] {
        assert!(lines[1].contains(covered), "{covered}: {out}");
    }
    assert!(!out.contains(secret) && !out.contains("dTpk"), "{out}");

    std::fs::write(&file, "{ not json").unwrap();
    let (code, out) = doctor_with(&config(&file.display().to_string()), None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL  registry credentials: ") && l.contains("config.json")),
        "{out}"
    );

    let (_, out) = doctor_with(&config(""), None);
    assert!(
        out.contains("info  registry credentials: none on the runner"),
        "{out}"
    );
}

/// With warm sets, each slot may hold its job's network and a waiting set's: doctor says
/// whether the engine's address pools (dockerd's defaults here, about 30 networks) leave room
/// for two per slot, and warns (without failing) when `slots` is past them.
#[test]
fn warm_sets_are_weighed_against_the_engines_address_pools() {
    let _turn = turn();
    let base = "image: executor-test/debian:1\nmode:\n  default: none\n  allowed: [none]\nwarm:\n  jobs: true\n";
    let (code, out) = doctor(base);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warn  warm sets may need 128 networks (2 per slot, slots: 64)"),
        "{out}"
    );
    let (code, out) = doctor(&format!("{base}slots: 4\n"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warm sets need at most 8"), "{out}");
    assert!(!out.contains("warm sets may need"), "{out}");
    // Without warm sets, nothing is said of networks.
    let (_, out) =
        doctor("image: executor-test/debian:1\nmode:\n  default: none\n  allowed: [none]\n");
    assert!(!out.contains("networks"), "{out}");
}
