//! The plan without a daemon: names, labels, mounts, privilege and the mode rules.

use super::*;
use crate::settings::Settings;

/// These settings, on a runner that offers every mode (socket is opt-in by default) unless
/// the text says which.
pub(super) fn settings(text: &str) -> Settings {
    let text = match text.contains("mode:") {
        true => text.to_string(),
        false => format!("mode:\n  allowed: [dind, socket, none]\n{text}"),
    };
    Settings::from_text(&text, "test.yaml").unwrap()
}

pub(super) fn job(extra: &[(&str, &str)]) -> JobEnv {
    let mut vars = vec![
        ("CUSTOM_ENV_CI_RUNNER_ID", "7"),
        ("CUSTOM_ENV_CI_PROJECT_ID", "42"),
        ("CUSTOM_ENV_CI_CONCURRENT_ID", "3"),
        ("CUSTOM_ENV_CI_JOB_ID", "1001"),
        ("CUSTOM_ENV_CI_PIPELINE_ID", "55"),
        ("CUSTOM_ENV_CI_JOB_TOKEN", "secret-token-value"),
        ("CUSTOM_ENV_CI_RUNNER_VERSION", "17.5.0"),
    ];
    vars.extend_from_slice(extra);
    JobEnv::from_vars(
        vars.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

/// The payload of the job [`job`] describes: job 1001 of project 42 on runner 7.
pub(super) fn facts() -> crate::payload::TrustedFacts {
    crate::payload::TrustedFacts {
        job_id: Some(1001),
        project_id: Some(42),
        runner_id: Some("7".into()),
        pipeline_id: Some("55".into()),
        ..Default::default()
    }
}

/// Settings for a runner older than 14.1: no payload, the job variables name the job.
pub(super) fn legacy(text: &str) -> Settings {
    settings(&format!("{text}\npayload:\n  required: false\n"))
}

pub(super) fn mode_var(value: &str) -> (&'static str, &str) {
    ("CUSTOM_ENV_EXECUTOR_DOCKER_MODE", value)
}

#[test]
fn names_derive_from_runner_project_slot_and_job() {
    let p = plan(&settings(""), &job(&[]), Some(&facts())).unwrap();
    assert_eq!(p.network, "executor-r7-p42-c3-j1001");
    assert_eq!(p.job.name, "executor-r7-p42-c3-j1001-job");
    assert_eq!(
        p.sidecar.as_ref().unwrap().name,
        "executor-r7-p42-c3-j1001-dind"
    );
    let volumes: Vec<&str> = p.volumes.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        volumes,
        [
            "executor-r7-p42-c3-j1001-builds",
            "executor-r7-p42-c3-j1001-dind-data",
            "executor-r7-p42-c3-j1001-dind-sock",
            "executor-r7-p42-c3-j1001-certs",
        ]
    );
}

/// Every container (sidecar, service, helper, job), volume and network of the job carries the
/// job's labels in every mode, with the ids from the payload: the job's variables below claim
/// other ids, and no label takes them.
#[test]
fn every_resource_is_labelled_with_the_job() {
    let forged = [
        ("CUSTOM_ENV_CI_JOB_ID", "666"),
        ("CUSTOM_ENV_CI_PROJECT_ID", "666"),
        ("CUSTOM_ENV_CI_RUNNER_ID", "666"),
        ("CUSTOM_ENV_CI_PIPELINE_ID", "666"),
    ];
    let facts = crate::payload::TrustedFacts {
        services: vec![crate::payload::ServiceRequest {
            name: "postgres:16".into(),
            ..Default::default()
        }],
        ..facts()
    };
    for mode in ["dind", "socket", "none"] {
        let vars = [&forged[..], &[mode_var(mode)]].concat();
        let p = plan(&settings(""), &job(&vars), Some(&facts)).unwrap();
        assert_eq!(p.mode.as_str(), mode);
        let key = p.identity.key();
        assert_eq!(key, "executor-r7-p42-c3-j1001");
        let expected_containers = if mode == "dind" { 4 } else { 3 };
        assert_eq!(p.containers().count(), expected_containers, "{mode}");
        let all_labels = p
            .containers()
            .map(|c| &c.labels)
            .chain(p.volumes.iter().map(|v| &v.labels))
            .chain(std::iter::once(&p.network_labels));
        for labels in all_labels {
            assert_eq!(labels[LABEL_JOB_KEY], key);
            assert_eq!(labels[LABEL_MANAGED], "true");
            assert_eq!(labels[LABEL_JOB_ID], "1001");
            assert_eq!(labels[LABEL_PROJECT_ID], "42");
            assert_eq!(labels[LABEL_RUNNER_ID], "7");
            assert_eq!(labels[LABEL_PIPELINE_ID], "55");
            assert_eq!(labels[LABEL_MODE], mode);
            assert!(labels.contains_key(LABEL_ROLE));
        }
    }
}

/// Two managers of one runner id, each with its slot 3: every name differs (kept volumes,
/// the job's resources, a warm set), and each resource says whose it is.
#[test]
fn two_managers_of_one_runner_never_share_a_name() {
    let dind = "dind:\n  cache: project\n  warm: true\n";
    let a = plan(
        &settings(&format!("{dind}runner:\n  manager_id: aaaa1111\n")),
        &job(&[]),
        Some(&facts()),
    )
    .unwrap();
    let b = plan(
        &settings(&format!("{dind}runner:\n  manager_id: bbbb2222\n")),
        &job(&[]),
        Some(&facts()),
    )
    .unwrap();
    assert_eq!(a.identity.key(), "executor-r7-maaaa1111-p42-c3-j1001");
    let names = |p: &Plan| -> Vec<String> {
        p.containers()
            .map(|c| c.name.clone())
            .chain(p.volumes.iter().map(|v| v.name.clone()))
            .chain([p.cache_dir_volume.name.clone()])
            .chain(p.cache_volume.iter().map(|v| v.name.clone()))
            .collect()
    };
    for name in names(&a) {
        assert!(name.starts_with("executor-r7-maaaa1111-"), "{name}");
        assert!(!names(&b).contains(&name), "{name} is both managers'");
    }
    for labels in a
        .containers()
        .map(|c| &c.labels)
        .chain([&a.cache_dir_volume.labels])
    {
        assert_eq!(labels[LABEL_MANAGER_ID], "aaaa1111");
    }
    let key = warm::warm_key("7", "aaaa1111", "3", "n");
    assert_eq!(key, "executor-r7-maaaa1111-c3-wn");
    assert_eq!(
        a.warm_set(&key).unwrap().sidecar.labels[LABEL_MANAGER_ID],
        "aaaa1111"
    );
}

#[test]
fn dind_mode_shares_socket_certs_and_builds_and_only_the_sidecar_is_privileged() {
    let p = plan(&settings(""), &job(&[]), Some(&facts())).unwrap();
    let sidecar = p.sidecar.as_ref().unwrap();
    assert!(sidecar.privileged);
    assert!(!p.job.privileged);
    assert_eq!(sidecar.aliases, ["docker"]);
    assert_eq!(sidecar.image, "docker:dind");
    let targets = |c: &ContainerSpec| -> Vec<String> {
        c.mounts.iter().map(|m| m.target().to_string()).collect()
    };
    assert_eq!(
        targets(sidecar),
        [
            "/var/lib/docker",
            DIND_SOCKET_DIR,
            DIND_CLIENT_CERTS,
            "/builds"
        ]
    );
    assert_eq!(
        targets(&p.job),
        ["/builds", "/cache", DIND_SOCKET_DIR, DIND_CLIENT_CERTS]
    );
    assert!(p.job.env.contains(&(
        "DOCKER_HOST".into(),
        "unix:///var/run/dind/docker.sock".into()
    )));
    assert!(!p.job.mounts.iter().any(|m| matches!(m, Mount::Bind { .. })));
}

#[test]
fn socket_mode_binds_the_host_socket_and_starts_no_sidecar() {
    let p = plan(&settings(""), &job(&[mode_var("socket")]), Some(&facts())).unwrap();
    assert!(p.sidecar.is_none());
    assert!(p.volumes.is_empty(), "the builds dir is a host directory");
    assert!(p.job.mounts.contains(&Mount::Bind {
        source: "/var/run/docker.sock".into(),
        target: "/var/run/docker.sock".into(),
    }));
    assert!(!p.job.privileged);
    // The builds directory is on the host at the path the job sees, for sibling containers.
    let dir = "/var/lib/executor/builds/executor-r7-p42-c3-j1001";
    assert_eq!(p.builds_host_dir.as_deref(), Some(dir));
    let host_dir = Mount::HostDir { path: dir.into() };
    assert!(p.job.mounts.contains(&host_dir));
    assert!(p.helper.as_ref().unwrap().mounts.contains(&host_dir));
}

#[test]
fn none_mode_has_no_docker_at_all() {
    let p = plan(&settings(""), &job(&[mode_var("none")]), Some(&facts())).unwrap();
    assert!(p.sidecar.is_none());
    assert_eq!(
        p.job.env,
        [
            (JOB_KEY_VARIABLE.to_string(), p.identity.key()),
            (NETWORK_VARIABLE.to_string(), p.identity.key())
        ]
    );
    assert!(!p.job.mounts.iter().any(|m| matches!(m, Mount::Bind { .. })));
}

#[test]
fn job_tls_and_plain_tcp_settings_reach_the_sidecar_and_nothing_else_does() {
    let p = plan(
        &settings(""),
        &job(&[
            ("CUSTOM_ENV_DOCKER_TLS_CERTDIR", ""),
            ("CUSTOM_ENV_DOCKER_HOST", "tcp://docker:2375"),
        ]),
        Some(&facts()),
    )
    .unwrap();
    let env = &p.sidecar.as_ref().unwrap().env;
    assert!(env.contains(&("DOCKER_TLS_CERTDIR".into(), "".into())));
    assert!(!env.iter().any(|(_, v)| v.contains("secret-token-value")));
    assert!(!p.job.env.iter().any(|(k, _)| k == "DOCKER_TLS_VERIFY"));
}

#[test]
fn a_tls_docker_host_gets_the_client_certificates() {
    let p = plan(
        &settings(""),
        &job(&[("CUSTOM_ENV_DOCKER_HOST", "tcp://docker:2376")]),
        Some(&facts()),
    )
    .unwrap();
    assert!(p
        .job
        .env
        .contains(&("DOCKER_TLS_VERIFY".into(), "1".into())));
    assert!(p
        .job
        .env
        .contains(&("DOCKER_CERT_PATH".into(), DIND_CLIENT_CERTS.into())));
}

#[test]
fn the_job_image_wins_over_the_default() {
    let s = settings("image: default:img\n");
    assert_eq!(
        plan(&s, &job(&[]), Some(&facts())).unwrap().job.image,
        "default:img"
    );
    let p = plan(
        &s,
        &job(&[("CUSTOM_ENV_CI_JOB_IMAGE", "mine:1")]),
        Some(&facts()),
    )
    .unwrap();
    assert_eq!(p.job.image, "mine:1");
}

#[test]
fn mode_errors_name_the_variable_value_and_allowed_modes() {
    let s = settings("mode:\n  allowed: [dind, none]\n");
    let err = plan(&s, &job(&[mode_var("docker")]), Some(&facts()))
        .unwrap_err()
        .0;
    assert_eq!(
        err,
        "EXECUTOR_DOCKER_MODE=`docker` is not a Docker mode; set it to one of: dind, none"
    );
    let err = plan(&s, &job(&[mode_var("socket")]), Some(&facts()))
        .unwrap_err()
        .0;
    assert_eq!(
        err,
        "EXECUTOR_DOCKER_MODE=`socket` is not allowed on this runner; allowed modes: dind, none"
    );
}

#[test]
fn the_mode_variable_name_is_configurable_and_empty_means_default() {
    let s = settings(
        "mode:\n  variable: DOCKER_MODE\n  default: none\n  allowed: [dind, socket, none]\n",
    );
    let env = job(&[("CUSTOM_ENV_DOCKER_MODE", "socket"), mode_var("dind")]);
    assert_eq!(choose_mode(&s, &env, None), Ok(Mode::Socket));
    assert_eq!(
        choose_mode(&s, &job(&[("CUSTOM_ENV_DOCKER_MODE", "")]), None),
        Ok(Mode::None)
    );
}

#[test]
fn ids_come_from_the_payload_and_forged_variables_are_named_not_used() {
    // The payload names the project's path and says the ref is not protected.
    let facts = crate::payload::TrustedFacts {
        project_path: Some("group/app".into()),
        protected: Some(false),
        ..facts()
    };
    let agreeing = job(&[
        ("CUSTOM_ENV_CI_PIPELINE_ID", "55"),
        ("CUSTOM_ENV_CI_PROJECT_PATH", "group/app"),
        ("CUSTOM_ENV_CI_COMMIT_REF_PROTECTED", "false"),
    ]);
    let p = plan(&settings(""), &agreeing, Some(&facts)).unwrap();
    assert_eq!(p.ignored, Vec::<String>::new());
    let forged = job(&[
        ("CUSTOM_ENV_CI_JOB_ID", "1; rm -rf /\n"),
        ("CUSTOM_ENV_CI_PROJECT_ID", "666"),
        ("CUSTOM_ENV_CI_RUNNER_ID", "666"),
        ("CUSTOM_ENV_CI_PIPELINE_ID", "666"),
        ("CUSTOM_ENV_CI_PROJECT_PATH", "victim/666"),
        ("CUSTOM_ENV_CI_COMMIT_REF_PROTECTED", "true"),
    ]);
    let p = plan(&settings(""), &forged, Some(&facts)).unwrap();
    assert_eq!(p.identity.key(), "executor-r7-p42-c3-j1001");
    assert_eq!(p.identity.pipeline_id.as_deref(), Some("55"));
    assert!(!p.identity.protected);
    let names = [
        "CI_JOB_ID",
        "CI_PROJECT_ID",
        "CI_RUNNER_ID",
        "CI_PIPELINE_ID",
        "CI_PROJECT_PATH",
        "CI_COMMIT_REF_PROTECTED",
    ];
    assert_eq!(p.ignored.len(), names.len(), "{:?}", p.ignored);
    for (line, name) in p.ignored.iter().zip(names) {
        assert_eq!(
            line,
            &format!(
                "job variable {name} differs from the job payload; ignored, the payload's value \
                 is used"
            )
        );
    }
    // The config's runner id wins over the payload's.
    let p = plan(&settings("runner_id: 12\n"), &forged, Some(&facts)).unwrap();
    assert_eq!(p.identity.key(), "executor-r12-p42-c3-j1001");
}

#[test]
fn forged_slots_stay_below_the_configured_count() {
    let err = plan(
        &settings(""),
        &job(&[("CUSTOM_ENV_CI_CONCURRENT_ID", "64")]),
        Some(&facts()),
    )
    .unwrap_err()
    .0;
    assert_eq!(
        err,
        "CUSTOM_ENV_CI_CONCURRENT_ID=`64` is not below slots (64); set slots in executor's \
         config to the runner's limit or concurrent"
    );
    assert!(plan(
        &settings("slots: 65\n"),
        &job(&[("CUSTOM_ENV_CI_CONCURRENT_ID", "64")]),
        Some(&facts())
    )
    .is_ok());
    assert!(plan(
        &legacy(""),
        &job(&[("CUSTOM_ENV_CI_CONCURRENT_ID", "64")]),
        None
    )
    .is_err());
    // Leading zeros name no other slot.
    let zeros = job(&[("CUSTOM_ENV_CI_CONCURRENT_ID", "0003")]);
    let p = plan(&settings(""), &zeros, Some(&facts())).unwrap();
    assert_eq!(p.identity.key(), "executor-r7-p42-c3-j1001");
}

#[test]
fn the_slot_has_no_trusted_source_and_must_be_a_number() {
    let err = plan(
        &settings(""),
        &job(&[("CUSTOM_ENV_CI_CONCURRENT_ID", "1; rm -rf /\n")]),
        Some(&facts()),
    )
    .unwrap_err()
    .0;
    assert!(
        err.contains("CUSTOM_ENV_CI_CONCURRENT_ID=`1; rm -rf /\\n`"),
        "{err}"
    );
}

#[test]
fn without_a_payload_only_the_admin_can_trust_job_variables() {
    let err = plan(&settings(""), &job(&[]), None).unwrap_err().0;
    assert!(err.starts_with("JOB_RESPONSE_FILE is not set: executor needs gitlab-runner 14.1"));
    let p = plan(&legacy(""), &job(&[]), None).unwrap();
    assert_eq!(p.identity.key(), "executor-r7-p42-c3-j1001");
    assert_eq!(
        p.ignored,
        ["no JOB_RESPONSE_FILE: the job's variables name its resources (payload.required: false)"]
    );
    let p = plan(&legacy("runner_id: 12\n"), &job(&[]), None).unwrap();
    assert_eq!(p.identity.key(), "executor-r12-p42-c3-j1001");
    let missing = JobEnv::from_vars(Vec::<(String, String)>::new());
    assert!(plan(&legacy(""), &missing, None)
        .unwrap_err()
        .0
        .contains("CUSTOM_ENV_CI_RUNNER_ID is not set"));
    let no_runner = crate::payload::TrustedFacts {
        runner_id: None,
        ..facts()
    };
    assert!(plan(&settings(""), &job(&[]), Some(&no_runner))
        .unwrap_err()
        .0
        .contains("the job payload has no CI_RUNNER_ID"));
}

#[test]
fn job_images_with_whitespace_or_control_characters_are_refused() {
    for image in [
        "docker:cli --privileged",
        "docker:cli\nexecutor: forged",
        "a\u{1b}[2Kb",
    ] {
        let err = plan(
            &settings(""),
            &job(&[("CUSTOM_ENV_CI_JOB_IMAGE", image)]),
            Some(&facts()),
        )
        .unwrap_err()
        .0;
        assert!(err.starts_with("job image `"), "{err}");
        assert!(
            err.ends_with("is not an image name; fix the job's image:"),
            "{err}"
        );
        assert!(!err.contains('\n') && !err.contains('\u{1b}'), "{err}");
    }
}

#[test]
fn the_sidecars_variables_are_capped_too() {
    let big = "DNS:".to_string() + &"a".repeat(300 * 1024);
    let err = plan(
        &settings(""),
        &job(&[("CUSTOM_ENV_DOCKER_TLS_SAN", &big)]),
        Some(&facts()),
    )
    .unwrap_err()
    .0;
    assert!(
        err.starts_with("the dind sidecar would get 300 KiB of variables, over services.max_env"),
        "{err}"
    );
}

#[test]
fn kept_volumes_are_separate_for_protected_refs() {
    let protected = crate::payload::TrustedFacts {
        protected: Some(true),
        ..facts()
    };
    let s = settings("dind:\n  cache: project\n");
    let open = plan(&s, &job(&[]), Some(&facts())).unwrap();
    let guarded = plan(&s, &job(&[]), Some(&protected)).unwrap();
    assert_eq!(open.cache_dir_volume.name, "executor-r7-p42-c3-cache");
    assert_eq!(
        guarded.cache_dir_volume.name,
        "executor-r7-p42-c3-protected-cache"
    );
    assert_eq!(
        guarded.cache_volume.as_ref().unwrap().name,
        "executor-r7-p42-c3-protected-dind-cache"
    );
    assert_eq!(guarded.cache_dir_volume.labels[LABEL_PROTECTED], "true");
    assert_ne!(open.warm_template(), guarded.warm_template());
    // A job cannot claim a protected ref by variable.
    let forged = job(&[("CUSTOM_ENV_CI_COMMIT_REF_PROTECTED", "true")]);
    let p = plan(&s, &forged, Some(&facts())).unwrap();
    assert_eq!(p.cache_dir_volume.name, "executor-r7-p42-c3-cache");
}

#[test]
fn rendering_never_shows_variable_values() {
    let p = plan(
        &settings(""),
        &job(&[("CUSTOM_ENV_DOCKER_TLS_SAN", "DNS:secret-san")]),
        Some(&facts()),
    )
    .unwrap();
    let text = p.to_string();
    assert!(
        text.contains("container: executor-r7-p42-c3-j1001-dind (dind)"),
        "{text}"
    );
    assert!(text.contains("privileged: yes"));
    assert!(text.contains("DOCKER_TLS_SAN"));
    assert!(!text.contains("secret-san"));
}

#[test]
fn the_mtu_reaches_the_network_and_the_inner_daemon() {
    let p = plan(&settings("dind:\n  mtu: 1400\n"), &job(&[]), Some(&facts())).unwrap();
    assert_eq!(p.mtu, Some(1400));
    assert_eq!(
        p.sidecar.as_ref().unwrap().cmd,
        Some(vec!["--mtu=1400".to_string()])
    );
    let p = plan(&settings(""), &job(&[mode_var("socket")]), Some(&facts()))
        .unwrap()
        .with_mtu(Some(1450));
    assert_eq!(p.mtu, Some(1450), "a socket job's network too");
    assert!(p.sidecar.is_none());
}

#[test]
fn a_runtime_runs_the_sidecar_unprivileged() {
    let p = plan(
        &settings("dind:\n  runtime: sysbox-runc\n"),
        &job(&[]),
        Some(&facts()),
    )
    .unwrap();
    let sidecar = p.sidecar.as_ref().unwrap();
    assert_eq!(sidecar.runtime.as_deref(), Some("sysbox-runc"));
    assert!(!sidecar.privileged);
    assert!(p.to_string().contains("runtime: sysbox-runc"));
}

#[test]
fn dockerds_default_mtu_keeps_the_sidecar_command() {
    let p = plan(&settings(""), &job(&[]), Some(&facts()))
        .unwrap()
        .with_mtu(Some(1500));
    assert_eq!(p.mtu, Some(1500));
    assert_eq!(p.sidecar.as_ref().unwrap().cmd, None);
}

/// Messages show an image name cut at 256 characters (counted as characters, not bytes), so a
/// job's 128 KiB `image:` cannot flood the log, and with control characters escaped; an
/// ordinary name passes unchanged.
#[test]
fn image_names_in_messages_are_cut_at_256_characters() {
    let ordinary = "registry.example.com:5000/group/app@sha256:0123abcd";
    assert_eq!(shown_name(ordinary), ordinary);
    let exact = "a".repeat(256);
    assert_eq!(shown_name(&exact), exact);
    assert_eq!(
        shown_name(&"a".repeat(257)),
        format!("{}…", "a".repeat(256))
    );
    let huge = "é".repeat(128 * 1024);
    assert_eq!(shown_name(&huge), format!("{}…", "é".repeat(256)));
    assert_eq!(shown_name("evil\n\x1b[31m:1"), "evil\\n\\u{1b}[31m:1");
}
