//! The plan's dind extras without a daemon: driver TLS, the project cache, warm sets.

use super::tests::{facts, job, mode_var, settings};
use super::warm::{LABEL_WARM_KEY, LABEL_WARM_TEMPLATE};
use super::*;

fn volume_names(c: &ContainerSpec) -> Vec<(String, String)> {
    c.mounts
        .iter()
        .filter_map(|m| match m {
            Mount::Volume { name, target, .. } => Some((name.clone(), target.clone())),
            _ => None,
        })
        .collect()
}

fn env_of<'a>(c: &'a ContainerSpec, name: &str) -> Option<&'a str> {
    c.env
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn tls_mounts_the_server_set_in_the_sidecar_only_and_points_the_job_at_2376() {
    let p = plan(
        &settings("dind:\n  tls: true\n"),
        &job(&[("CUSTOM_ENV_DOCKER_TLS_SAN", "DNS:extra.example")]),
        Some(&facts()),
    )
    .unwrap();
    let sidecar = p.sidecar.as_ref().unwrap();
    assert!(volume_names(sidecar)
        .iter()
        .any(|(n, t)| n == "executor-r7-p42-c3-j1001-tls" && t == DIND_SERVER_CERTS));
    assert!(!volume_names(&p.job)
        .iter()
        .any(|(_, t)| t == DIND_SERVER_CERTS));
    assert_eq!(env_of(sidecar, "DOCKER_TLS_CERTDIR"), Some("/certs"));
    assert_eq!(env_of(&p.job, "DOCKER_HOST"), Some("tcp://docker:2376"));
    assert_eq!(env_of(&p.job, "DOCKER_TLS_VERIFY"), Some("1"));
    assert_eq!(env_of(&p.job, "DOCKER_CERT_PATH"), Some("/certs/client"));
    assert_eq!(
        p.tls,
        Some(TlsSpec {
            extra_sans: vec!["extra.example".into()]
        })
    );
    assert!(p.to_string().contains("tls: CA, server (docker)"));
}

#[test]
fn without_tls_the_sidecar_makes_no_certificates_unless_the_job_asks() {
    let plain = plan(&settings(""), &job(&[]), Some(&facts())).unwrap();
    assert_eq!(
        env_of(plain.sidecar.as_ref().unwrap(), "DOCKER_TLS_CERTDIR"),
        Some("")
    );
    assert!(plain.tls.is_none());
    // A docker-executor-style job on :2376 gets the image's own TLS.
    let asks = plan(
        &settings(""),
        &job(&[("CUSTOM_ENV_DOCKER_HOST", "tcp://docker:2376")]),
        Some(&facts()),
    )
    .unwrap();
    assert_eq!(
        env_of(asks.sidecar.as_ref().unwrap(), "DOCKER_TLS_CERTDIR"),
        None
    );
    assert_eq!(env_of(&asks.job, "DOCKER_TLS_VERIFY"), Some("1"));
}

#[test]
fn the_project_cache_is_per_runner_project_and_slot_and_not_the_jobs() {
    let p = plan(
        &settings("dind:\n  cache: project\n"),
        &job(&[]),
        Some(&facts()),
    )
    .unwrap();
    let cache = p.cache_volume.as_ref().unwrap();
    assert_eq!(cache.name, "executor-r7-p42-c3-dind-cache");
    assert!(
        !cache.labels.contains_key(LABEL_JOB_KEY),
        "cleanup must keep it"
    );
    assert_eq!(cache.labels[LABEL_PROJECT_ID], "42");
    assert_eq!(cache.labels[LABEL_SLOT], "3");
    assert_eq!(cache.labels[LABEL_ROLE], ROLE_CACHE);
    assert!(!p.volumes.iter().any(|v| v.name == cache.name));
    assert!(volume_names(p.sidecar.as_ref().unwrap())
        .contains(&(cache.name.clone(), "/var/lib/docker".into())));
    assert!(p
        .to_string()
        .contains("project layer cache, kept after the job"));

    let fresh = p.without_cache();
    assert!(fresh.cache_volume.is_none());
    assert!(volume_names(fresh.sidecar.as_ref().unwrap()).contains(&(
        "executor-r7-p42-c3-j1001-dind-data".into(),
        "/var/lib/docker".into()
    )));
    assert!(fresh
        .volumes
        .iter()
        .any(|v| v.name.ends_with("-dind-data") && v.labels.contains_key(LABEL_JOB_KEY)));
}

#[test]
fn a_warm_set_renames_everything_and_carries_no_job() {
    let p = plan(
        &settings("dind:\n  warm: true\n"),
        &job(&[]),
        Some(&facts()),
    )
    .unwrap();
    let key = warm::warm_key("7", "", "3", "abc");
    assert_eq!(key, "executor-r7-c3-wabc");
    let set = p.warm_set(&key).unwrap();
    assert_eq!(set.network, key);
    assert_eq!(set.sidecar.name, "executor-r7-c3-wabc-dind");
    assert_eq!(set.sidecar.network, key);
    for (name, _) in volume_names(&set.sidecar) {
        assert!(name.starts_with(&key), "{name}");
    }
    let all_labels = set
        .volumes
        .iter()
        .map(|v| &v.labels)
        .chain([&set.network_labels, &set.sidecar.labels]);
    for labels in all_labels {
        assert_eq!(labels[LABEL_WARM_KEY], key);
        assert!(!labels.contains_key(LABEL_JOB_KEY));
        assert!(!labels.contains_key(LABEL_JOB_ID));
    }
    assert_eq!(
        set.sidecar.labels[LABEL_WARM_TEMPLATE],
        p.warm_template().unwrap()
    );

    let adopted = p.adopt(&key);
    assert_eq!(adopted.job.network, key);
    assert_eq!(adopted.job.labels[LABEL_WARM_KEY], key);
    assert_eq!(
        adopted.job.name, p.job.name,
        "the job container keeps its name"
    );
    assert!(adopted.volumes.is_empty());
    let job_volumes = volume_names(&adopted.job);
    let set_volumes: Vec<String> = set.volumes.iter().map(|v| v.name.clone()).collect();
    for (name, _) in &job_volumes {
        let kept = *name == p.cache_dir_volume.name;
        assert!(
            kept || set_volumes.contains(name),
            "{name} not in {set_volumes:?}"
        );
    }
    let helper = adopted.helper.as_ref().unwrap();
    assert_eq!(helper.network, key);
    assert!(helper
        .env
        .contains(&(NETWORK_VARIABLE.to_string(), key.clone())));
    assert!(adopted
        .job
        .env
        .contains(&(NETWORK_VARIABLE.to_string(), key.clone())));
}

#[test]
fn templates_tell_projects_with_a_cache_apart_and_ignore_job_ids() {
    let of = |extra: &[(&str, &str)], config: &str, job_id: u64, project: u64| {
        let facts = crate::payload::TrustedFacts {
            job_id: Some(job_id),
            project_id: Some(project),
            ..facts()
        };
        plan(&settings(config), &job(extra), Some(&facts))
            .unwrap()
            .warm_template()
            .unwrap()
    };
    let template = |extra: &[(&str, &str)], config: &str| of(extra, config, 1001, 42);
    let base = template(&[], "");
    assert_eq!(base, of(&[], "", 2002, 42));
    assert_eq!(base, of(&[], "", 1001, 43));
    let cached = "dind:\n  cache: project\n";
    assert_ne!(template(&[], cached), of(&[], cached, 1001, 43));
    assert_ne!(
        base,
        template(&[("CUSTOM_ENV_DOCKER_TLS_CERTDIR", "/certs")], "")
    );
    assert!(
        plan(&settings(""), &job(&[mode_var("socket")]), Some(&facts()))
            .unwrap()
            .warm_template()
            .is_none()
    );
}

#[test]
fn a_bad_tls_san_is_the_jobs_mistake_before_anything_is_made() {
    let err = plan(
        &settings("dind:\n  tls: true\n"),
        &job(&[("CUSTOM_ENV_DOCKER_TLS_SAN", "DNS:ok.example,DNS:bad/name")]),
        Some(&facts()),
    )
    .unwrap_err();
    assert_eq!(
        err.0,
        "CUSTOM_ENV_DOCKER_TLS_SAN: entry `DNS:bad/name` is not DNS:name or IP:address"
    );
}

#[test]
fn the_inner_daemon_gets_the_admins_mirrors_and_insecure_registries() {
    let config = "dind:\n  mtu: 1400\n  registry_mirrors: [\"http://mirror.internal:5000\"]\n  \
                  insecure_registries: [\"mirror.internal:5000\", \"10.0.0.0/8\"]\n";
    let p = plan(&settings(config), &job(&[]), Some(&facts())).unwrap();
    let p = p.with_mtu(Some(1400)).with_mtu(Some(1400));
    assert_eq!(
        p.sidecar.as_ref().unwrap().cmd.as_deref().unwrap(),
        [
            "--registry-mirror=http://mirror.internal:5000",
            "--insecure-registry=mirror.internal:5000",
            "--insecure-registry=10.0.0.0/8",
            "--mtu=1400",
        ]
    );
    // They are the sidecar's, so a warm sidecar made under other flags is not adopted.
    let other = plan(&settings("dind:\n  mtu: 1400\n"), &job(&[]), Some(&facts())).unwrap();
    assert_ne!(
        p.warm_template(),
        other.with_mtu(Some(1400)).warm_template()
    );
    // A job's variables reach none of them.
    let asked = job(&[
        ("CUSTOM_ENV_DOCKER_OPTS", "--insecure-registry=0.0.0.0/0"),
        ("CUSTOM_ENV_DIND_REGISTRY_MIRRORS", "http://evil"),
    ]);
    let p = plan(&settings(""), &asked, Some(&facts())).unwrap();
    assert_eq!(p.sidecar.as_ref().unwrap().cmd, None);
}

#[test]
fn the_managed_mirror_comes_first_for_dind_jobs_only() {
    let config = "mirror:\n  managed: true\ndind:\n  registry_mirrors: [\"http://m.internal\"]\n";
    let p = plan(&settings(config), &job(&[]), Some(&facts())).unwrap();
    assert!(p.mirror);
    assert_eq!(
        p.sidecar.as_ref().unwrap().cmd.as_deref().unwrap(),
        [
            "--registry-mirror=http://executor-mirror:5000",
            "--registry-mirror=http://m.internal",
        ]
    );
    // No inner daemon, no mirror.
    for mode in ["none", "socket"] {
        let asked = job(&[("CUSTOM_ENV_EXECUTOR_DOCKER_MODE", mode)]);
        let allowed = format!("{config}mode:\n  allowed: [dind, socket, none]\n");
        let p = plan(&settings(&allowed), &asked, Some(&facts())).unwrap();
        assert!(!p.mirror && p.sidecar.is_none(), "{mode}");
    }
}
