//! The plan's parity parts without a daemon: services, the helper container, cache_dir,
//! socket mode's builds directory.

use super::tests::{facts, job, legacy, mode_var, settings};
use super::*;

const HTTP: &str = r#"[{"name":"reg.example.com/grp/http:1","alias":"web","entrypoint":null,"command":["httpd","-f"],"variables":[{"key":"PORT","value":"8080"}]}]"#;

#[test]
fn a_service_gets_aliases_variables_but_no_credentials_and_the_builds_dir() {
    let p = plan(
        &legacy(""),
        &job(&[("CUSTOM_ENV_CI_JOB_SERVICES", HTTP)]),
        None,
    )
    .unwrap();
    let [svc] = p.services.as_slice() else {
        panic!("{:?}", p.services)
    };
    assert_eq!(svc.name, "executor-r7-p42-c3-j1001-svc0");
    assert_eq!(svc.role, Role::Service);
    assert_eq!(
        svc.aliases,
        [
            "reg.example.com__grp__http",
            "reg.example.com-grp-http",
            "web"
        ]
    );
    assert_eq!(svc.cmd, Some(vec!["httpd".to_string(), "-f".to_string()]));
    assert!(!svc.privileged);
    // Without a payload nothing tells public variables from secret ones: only the service's own.
    assert_eq!(svc.env, [("PORT".to_string(), "8080".to_string())]);
    assert_eq!(svc.mounts[0].target(), "/builds");
    assert_eq!(svc.labels[LABEL_JOB_KEY], p.identity.key());
    assert!(p
        .to_string()
        .contains("container: executor-r7-p42-c3-j1001-svc0 (service)"));
}

#[test]
fn a_dind_service_is_the_sidecar_in_dind_mode_and_refused_elsewhere() {
    let dind = r#"[{"name":"docker:27-dind","alias":"daemon","variables":[{"key":"DOCKER_TLS_CERTDIR","value":"/certs"}]}]"#;
    let p = plan(
        &legacy(""),
        &job(&[("CUSTOM_ENV_CI_JOB_SERVICES", dind)]),
        None,
    )
    .unwrap();
    assert!(p.services.is_empty(), "never a second daemon");
    let sidecar = p.sidecar.as_ref().unwrap();
    assert_eq!(sidecar.aliases, ["docker", "daemon"]);
    assert!(sidecar
        .env
        .contains(&("DOCKER_TLS_CERTDIR".into(), "/certs".into())));
    for mode in ["socket", "none"] {
        let err = plan(
            &legacy(""),
            &job(&[("CUSTOM_ENV_CI_JOB_SERVICES", dind), mode_var(mode)]),
            None,
        )
        .unwrap_err();
        assert!(
            err.0.contains(&format!(
                "is a Docker daemon, and this job runs in {mode} mode"
            )),
            "{}",
            err.0
        );
    }
}

#[test]
fn services_from_the_payload_win_and_bad_ci_job_services_is_named() {
    let facts = crate::payload::TrustedFacts {
        services: vec![crate::payload::ServiceRequest {
            name: "postgres:16".into(),
            ..Default::default()
        }],
        public_variables: vec![("POSTGRES_DB".into(), "app".into())],
        ..facts()
    };
    let p = plan(
        &settings(""),
        &job(&[("CUSTOM_ENV_CI_JOB_SERVICES", HTTP)]),
        Some(&facts),
    )
    .unwrap();
    assert_eq!(p.services.len(), 1);
    assert_eq!(p.services[0].image, "postgres:16");
    assert_eq!(
        p.services[0].env,
        [("POSTGRES_DB".to_string(), "app".to_string())]
    );

    let err = plan(
        &legacy(""),
        &job(&[("CUSTOM_ENV_CI_JOB_SERVICES", "[{oops")]),
        None,
    )
    .unwrap_err();
    assert!(
        err.0
            .starts_with("CUSTOM_ENV_CI_JOB_SERVICES is not the runner's list"),
        "{}",
        err.0
    );
}

#[test]
fn the_helper_runs_git_stages_with_the_runners_own_helper_image() {
    let p = plan(&settings(""), &job(&[]), Some(&facts())).unwrap();
    let h = p.helper.as_ref().unwrap();
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(
        h.image,
        format!("registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:{arch}-v17.5.0")
    );
    assert_eq!(h.role, Role::Helper);
    let targets: Vec<&str> = h.mounts.iter().map(Mount::target).collect();
    assert_eq!(targets, ["/builds", "/cache"]);
    assert!(
        !h.mounts.iter().any(|m| m.target() == DIND_SOCKET_DIR),
        "no Docker in the helper"
    );
    for stage in [
        "get_sources",
        "clear_worktree",
        "restore_cache",
        "upload_artifacts_on_failure",
        "cleanup_file_variables",
    ] {
        assert!(helper::runs_in_helper(stage), "{stage}");
    }
    for stage in [
        "prepare_script",
        "build_script",
        "step_release",
        "after_script",
        "future_stage",
    ] {
        assert!(!helper::runs_in_helper(stage), "{stage}");
    }
    let err = plan(
        &settings(""),
        &job(&[("CUSTOM_ENV_CI_RUNNER_VERSION", "development version")]),
        Some(&facts()),
    )
    .unwrap_err();
    assert!(err.0.contains("CI_RUNNER_VERSION is not one"), "{}", err.0);
    // The helper image is held to the image policy like the job's.
    let strict = settings("policy:\n  job_images: [\"docker:*\"]\n");
    let err = plan(&strict, &job(&[]), Some(&facts())).unwrap_err();
    assert!(
        err.0.starts_with("helper image `registry.gitlab.com/"),
        "{}",
        err.0
    );
}

#[test]
fn helper_mode_job_has_no_helper_and_mounts_the_binary_read_only() {
    let s = settings("helper:\n  mode: job\n  runner_binary: /usr/bin/gitlab-runner\n");
    let p = plan(&s, &job(&[]), Some(&facts())).unwrap();
    assert!(p.helper.is_none());
    assert!(p.job.mounts.contains(&Mount::BindReadOnly {
        source: "/usr/bin/gitlab-runner".into(),
        target: helper::RUNNER_BINARY_TARGET.into(),
    }));
    let err = crate::settings::Settings::from_text("helper:\n  runner_binary: /x\n", "t.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("helper.runner_binary at line 2: only used with helper.mode: job"),
        "{err}"
    );
}

#[test]
fn the_cache_dir_is_kept_per_project_and_slot() {
    let p = plan(&settings(""), &job(&[mode_var("none")]), Some(&facts())).unwrap();
    assert_eq!(p.cache_dir_volume.name, "executor-r7-p42-c3-cache");
    assert!(!p.cache_dir_volume.labels.contains_key(LABEL_JOB_KEY));
    assert_eq!(p.cache_dir_volume.labels[LABEL_ROLE], ROLE_CACHE_DIR);
    assert!(p.job.mounts.contains(&Mount::Volume {
        name: "executor-r7-p42-c3-cache".into(),
        target: "/cache".into(),
        read_only: false,
    }));
}

#[test]
fn config_tells_the_runner_socket_jobs_builds_dir() {
    let s = legacy("socket:\n  builds_host_dir: /srv/builds/\n");
    let out = crate::stage::config::config_output(&s, &job(&[mode_var("socket")]));
    assert_eq!(out.builds_dir, "/srv/builds/executor-r7-p42-c3-j1001");
    let out = crate::stage::config::config_output(&s, &job(&[mode_var("dind")]));
    assert_eq!(out.builds_dir, "/builds");
    // A job whose plan fails (a bad mode) gets the default; its prepare says why.
    let out = crate::stage::config::config_output(&s, &job(&[mode_var("bogus")]));
    assert_eq!(out.builds_dir, "/builds");
}
