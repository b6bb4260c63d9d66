//! Settings: defaults, the documented example, and the errors an admin sees.

use super::*;

fn parse(text: &str) -> Result<Settings, String> {
    Settings::from_text(text, "test.yaml").map_err(|e| e.to_string())
}

#[test]
fn empty_file_gives_documented_defaults() {
    let s = parse("").unwrap();
    assert_eq!(
        s.docker_host,
        DockerHost::Unix("/var/run/docker.sock".into())
    );
    assert_eq!(s.builds_dir, "/builds");
    assert_eq!(s.cache_dir, "/cache");
    assert_eq!(s.image, "docker:cli");
    assert_eq!(s.pull_policy, PullPolicy::IfNotPresent);
    assert_eq!(s.mode_variable, "EXECUTOR_DOCKER_MODE");
    assert_eq!(s.mode_default, Mode::Dind);
    assert_eq!(s.modes_allowed, [Mode::Dind, Mode::None]);
    assert!(!s.modes_allowed_by_file);
    assert_eq!(s.dind_image, "docker:dind");
    assert!(s.dind_privileged);
    assert_eq!(s.socket_host_path, "/var/run/docker.sock");
}

#[test]
fn the_shipped_example_sets_exactly_the_defaults() {
    let text = include_str!("../../config/executor.yaml");
    let mut example = parse(text).unwrap();
    // Writing `mode.allowed` down is the one thing a file says beyond its values.
    assert!(example.modes_allowed_by_file);
    example.modes_allowed_by_file = false;
    assert_eq!(format!("{example:?}"), format!("{:?}", parse("").unwrap()));
}

#[test]
fn dind_extras_are_off_by_default_and_read_when_set() {
    let s = parse("").unwrap();
    assert!(!s.dind_tls && !s.dind_warm);
    assert_eq!(s.dind_cache, DindCache::None);
    assert_eq!(s.dind_cache_max_size, 20 << 30);
    assert_eq!(s.dind_warm_max_age, std::time::Duration::from_secs(3600));
    let s = parse(
        "dind:\n  tls: true\n  cache: project\n  cache_max_size: 5GiB\n  warm: true\n  warm_max_age: 30m\n",
    )
    .unwrap();
    assert!(s.dind_tls && s.dind_warm);
    assert_eq!(s.dind_cache, DindCache::Project);
    assert_eq!(s.dind_cache_max_size, 5 << 30);
    assert_eq!(s.dind_warm_max_age, std::time::Duration::from_secs(1800));
}

#[test]
fn none_is_a_mode_not_null() {
    let s = parse("mode:\n  default: none\n  allowed: [none, dind]\n").unwrap();
    assert_eq!(s.mode_default, Mode::None);
    assert_eq!(s.modes_allowed, vec![Mode::None, Mode::Dind]);
}

#[test]
fn errors_name_file_key_and_line() {
    let cases = [
        ("mode:\n  defualt: dind\n", "unknown field `defualt`"),
        ("mode:\n  default: docker\n", "unknown variant `docker`"),
        ("pull_policy: sometimes\n", "unknown variant `sometimes`"),
        ("entrypoint: sometimes\n", "unknown variant `sometimes`, expected `honor` or `ignore`"),
        (
            "builds_dir: /tmp/builds\n",
            "builds_dir at line 1: /tmp/builds lies inside /tmp, each container's own scratch space",
        ),
        ("cache_dir: /dev/shm\n", "cache_dir at line 1: /dev/shm is /dev/shm"),
        ("dind:\n  privileged: maybe\n", "dind.privileged"),
        (
            "mode:\n  allowed: [dind]\n  default: socket\n",
            "mode.default at line 3: `socket` is not in mode.allowed",
        ),
        (
            "builds_dir: builds\n",
            "builds_dir at line 1: `builds` must be an absolute path",
        ),
        ("docker:\n  host: http://x\n", "docker.host at line 2"),
        (
            "dind:\n  ready_timeout: soon\n",
            "dind.ready_timeout at line 2",
        ),
        ("mode:\n  variable: 'A-B'\n", "mode.variable at line 2"),
        ("mode:\n  allowed: []\n", "mode.allowed at line 2"),
        (
            "dind:\n  mtu: 100\n",
            "dind.mtu at line 2: 100 is not an MTU",
        ),
        (
            "dind:\n  runtime: ''\n",
            "dind.runtime at line 2: must not be empty",
        ),
        (
            "dind:\n  cache: always\n",
            "unknown variant `always`, expected `none` or `project`",
        ),
        (
            "dind:\n  cache_max_size: lots\n",
            "dind.cache_max_size at line 2: `lots` is not a size",
        ),
        (
            "dind:\n  cache_max_size: 10K\n",
            "dind.cache_max_size at line 2: must be at least 1MiB",
        ),
        (
            "dind:\n  warm_max_age: 0s\n",
            "dind.warm_max_age at line 2: must be longer than zero",
        ),
        ("dind:\n  tls: yes please\n", "dind.tls"),
        ("- just\n- a list\n", "invalid type"),
    ];
    for (text, want) in cases {
        let err = parse(text).unwrap_err();
        assert!(err.starts_with("config test.yaml: "), "{err}");
        assert!(err.contains(want), "{text:?} gave {err:?}, wanted {want:?}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
}

#[test]
fn serde_errors_carry_the_line() {
    let err = parse("image: x\nmode:\n  defualt: dind\n").unwrap_err();
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn a_named_missing_file_is_an_error_but_the_default_path_is_optional() {
    let err = Settings::load(Some(Path::new("/nonexistent/x.yaml")), None).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.yaml"), "{err}");
    assert!(err.to_string().contains("--config"), "{err}");
}

#[test]
fn mode_parse_is_forgiving_about_case_only() {
    assert_eq!(Mode::parse(" Socket "), Some(Mode::Socket));
    assert_eq!(Mode::parse("docker"), None);
}

#[test]
fn policy_errors_name_the_rule() {
    let cases = [
        (
            "policy:\n  rules:\n    - match: {projects: [a]}\n",
            "policy.rules[0] needs `modes:`",
        ),
        (
            "policy:\n  rules:\n    - modes: [dind]\n      default: none\n",
            "policy.rules[0].default `none` is not in its modes",
        ),
        (
            "mode:\n  allowed: [dind]\npolicy:\n  rules:\n    - modes: [socket]\n",
            "policy.rules[0].modes grants `socket`, which is not in mode.allowed",
        ),
        (
            "policy:\n  rules:\n    - match: {projects: [\"infra/[ab]\"]}\n      modes: [dind]\n",
            "policy.rules[0].match.projects: `infra/[ab]`: `[` is not supported",
        ),
        (
            "policy:\n  job_images: [\"\"]\n",
            "policy.job_images at line 2: an empty pattern",
        ),
        (
            "policy:\n  rules:\n    - match: {project: [x]}\n      modes: [dind]\n",
            "unknown field `project`",
        ),
        (
            "policy:\n  rules:\n    - match: {projects: [a]}\n      modes: []\n",
            "policy.rules[0].modes is empty; list at least one mode (`none` for no Docker)",
        ),
        (
            "policy:\n  default_modes: []\n",
            "is empty; list at least one mode",
        ),
    ];
    for (text, want) in cases {
        let err = parse(text).unwrap_err();
        assert!(err.contains(want), "{text:?} gave {err:?}, wanted {want:?}");
        assert!(!err.contains('\n'));
    }
}

#[test]
fn limit_errors_name_the_key_and_what_to_write() {
    let err = |text: &str| Settings::from_text(text, "x.yaml").unwrap_err().to_string();
    for (text, want) in [
        (
            "limits:\n  job:\n    memory: 1MiB\n",
            "limits.job.memory at line 3: is under 6 MiB, the least the engine accepts; write 0 for no limit",
        ),
        (
            "limits:\n  dind:\n    cpus: two\n",
            "limits.dind.cpus at line 3: `two` is not a number of CPUs; write e.g. 0.5, 1 or 2",
        ),
        (
            "limits:\n  helper:\n    cpus: 0.005\n",
            "limits.helper.cpus at line 3: is under 0.01 CPUs, the least the kernel can hold; write 0 for no limit",
        ),
        (
            "limits:\n  services:\n    pids: 3\n",
            "limits.services.pids at line 3: is under 16",
        ),
        (
            "limits:\n  max:\n    memory: 2.5\n",
            "limits.max.memory at line 3: is not a size",
        ),
        (
            "policy:\n  rules:\n    - modes: [dind]\n      max: { cpus: -1 }\n",
            "policy.rules[0].max: `-1` is not a number of CPUs",
        ),
        (
            "limits:\n  max:\n    cpus: 0.005\n",
            "limits.max.cpus at line 3: is under 0.01 CPUs, less than any request can be; write 0 for no cap",
        ),
        (
            "policy:\n  rules:\n    - modes: [dind]\n      max: { memory: 1MiB }\n",
            "policy.rules[0].max: is under 6 MiB, less than any request can be",
        ),
        ("limits:\n  job:\n    swap: 1G\n", "unknown field `swap`"),
    ] {
        let message = err(text);
        assert!(message.contains(want), "{text}: {message}");
    }
    let s = Settings::from_text("limits:\n  job:\n    cpus: 0.25\n", "x.yaml").unwrap();
    assert_eq!((s.limits.job.cpus, s.limits.job.memory), (250, 4 << 30));
}
