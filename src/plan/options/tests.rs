//! Which container gets which admin option, how `--dry-run` shows them, and that a job's
//! variables change none of it.

use crate::plan::tests::{facts, job, legacy, mode_var, settings};
use crate::plan::{plan, Plan, Role};
use crate::settings::{ContainerOptions, DRIVER_TARGETS, RUNNER_BINARY_TARGET};

const ALL: &str = "container:\n  volumes: [\"/srv/data:/data:ro\", \"tools:/opt/tools\"]\n  \
                   devices: [\"/dev/fuse\", \"/dev/null:/dev/nothing:r\"]\n  gpus: all\n  \
                   extra_hosts: [\"registry.internal:10.1.2.3\"]\n  dns: [10.0.0.53]\n  \
                   dns_search: [corp.example]\n  cap_add: [SYS_PTRACE]\n  cap_drop: [NET_RAW]\n  \
                   security_opt: [\"seccomp:unconfined\"]\n  sysctls: {net.ipv4.ip_forward: 1}\n  \
                   tmpfs: {/scratch: \"rw,size=64m\"}\n  userns_mode: host\n  runtime: runc\n";

const SERVICE: &str = r#"[{"name":"reg.example.com/http:1"}]"#;

fn planned(mode: &str, config: &str) -> Plan {
    let env = job(&[mode_var(mode), ("CUSTOM_ENV_CI_JOB_SERVICES", SERVICE)]);
    // Written out: `userns_mode:` would hide `mode:` from the helper that adds it.
    let all_modes = "mode:\n  allowed: [dind, socket, none]\n";
    plan(&legacy(&format!("{all_modes}{config}")), &env, None).unwrap()
}

#[test]
fn the_job_gets_every_option_and_the_others_what_they_need() {
    let p = planned("dind", ALL);
    let all = legacy(ALL).container;
    assert!(!all.volumes.is_empty() && !all.devices.is_empty());
    assert_eq!(p.job.options, all);
    assert_eq!(p.job.runtime.as_deref(), Some("runc"));
    let names = ContainerOptions {
        extra_hosts: all.extra_hosts.clone(),
        dns: all.dns.clone(),
        dns_search: all.dns_search.clone(),
        ..Default::default()
    };
    let helper = p.helper.as_ref().unwrap();
    // The same volumes in the helper, each read-only (the root helper runs programs).
    let binds: Vec<String> = helper.options.volumes.iter().map(|v| v.bind()).collect();
    assert_eq!(binds, ["/srv/data:/data:ro", "tools:/opt/tools:ro"]);
    assert_eq!(
        ContainerOptions {
            volumes: Vec::new(),
            ..helper.options.clone()
        },
        names
    );
    assert_eq!(helper.runtime, None);
    assert_eq!(p.services[0].role, Role::Service);
    assert_eq!(
        (&p.services[0].options, &p.services[0].runtime),
        (&names, &None)
    );
    // The sidecar keeps the driver's setup: privileged, no admin volume, capability or runtime.
    let sidecar = p.sidecar.as_ref().unwrap();
    assert_eq!((&sidecar.options, sidecar.privileged), (&names, true));
    assert_eq!(sidecar.runtime, None);
    for mode in ["socket", "none"] {
        assert_eq!(planned(mode, ALL).job.options, all, "{mode}");
    }
    let bare = planned("dind", "");
    assert!(bare
        .containers()
        .all(|c| c.options == ContainerOptions::default()));
    assert_eq!(bare.job.runtime, None);
}

/// Nothing a job sends reaches the options: variables named like the keys, or like
/// gitlab-runner's own settings, change no container of the plan.
#[test]
fn job_variables_neither_add_nor_widen_an_option() {
    let forged = [
        ("CUSTOM_ENV_EXECUTOR_CONFIG", "/tmp/evil.yaml"),
        ("CUSTOM_ENV_CONTAINER_VOLUMES", "/:/host"),
        ("CUSTOM_ENV_DOCKER_VOLUMES", "/var/run/docker.sock:/s"),
        ("CUSTOM_ENV_CAP_ADD", "ALL"),
        ("CUSTOM_ENV_EXECUTOR_CAP_ADD", "SYS_ADMIN"),
        ("CUSTOM_ENV_DOCKER_DEVICES", "/dev/sda"),
        ("CUSTOM_ENV_SECURITY_OPT", "seccomp=unconfined"),
        ("CUSTOM_ENV_DOCKER_RUNTIME", "evil"),
        ("CUSTOM_ENV_DOCKER_PRIVILEGED", "true"),
    ];
    for config in ["", ALL] {
        let s = settings(config);
        let clean = plan(&s, &job(&[]), Some(&facts())).unwrap();
        let tried = plan(&s, &job(&forged), Some(&facts())).unwrap();
        for (a, b) in clean.containers().zip(tried.containers()) {
            assert_eq!(
                (&a.options, &a.runtime, a.privileged),
                (&b.options, &b.runtime, b.privileged)
            );
        }
    }
}

#[test]
fn dry_run_shows_each_option_on_the_job_container() {
    let p = planned("none", ALL).to_string();
    let job_part = p.split("(job)\n").nth(1).unwrap();
    for want in [
        "  runtime: runc\n",
        "  mount: host path /srv/data at /data, read-only (container.volumes)\n",
        "  mount: volume tools at /opt/tools (container.volumes; the engine makes it, no cleanup removes it)\n",
        "  tmpfs: /scratch (rw,size=64m)\n",
        "  device: /dev/fuse at /dev/fuse (rwm)\n",
        "  device: /dev/null at /dev/nothing (r)\n",
        "  gpus: all\n",
        "  extra hosts: registry.internal:10.1.2.3\n",
        "  dns: 10.0.0.53\n",
        "  dns search: corp.example\n",
        "  cap add: SYS_PTRACE\n",
        "  cap drop: NET_RAW\n",
        "  security opt: seccomp=unconfined\n",
        "  sysctls: net.ipv4.ip_forward=1\n",
        "  userns mode: host\n",
    ] {
        assert!(job_part.contains(want), "{want:?} missing:\n{p}");
    }
    let helper_part = p
        .split("(helper)\n")
        .nth(1)
        .unwrap()
        .split("(job)")
        .next()
        .unwrap();
    assert!(
        helper_part.contains("mount: host path /srv/data") && helper_part.contains("extra hosts:")
    );
    assert!(
        !helper_part.contains("cap drop") && !helper_part.contains("runtime"),
        "{helper_part}"
    );
}

/// A warm sidecar made before the admin changed name resolution is not adopted.
#[test]
fn name_resolution_is_part_of_the_warm_template() {
    let before = planned("dind", "").warm_template().unwrap();
    let after = planned("dind", "container:\n  extra_hosts: [\"a:1.2.3.4\"]\n");
    assert_ne!(before, after.warm_template().unwrap());
    let caps = planned("dind", "container:\n  cap_drop: [NET_RAW]\n");
    assert_eq!(
        before,
        caps.warm_template().unwrap(),
        "the job's own options are not the sidecar's"
    );
}

/// Settings cannot name the plan's constants (imports go one way), so they are held equal here.
#[test]
fn the_reserved_targets_are_the_driver_mounts() {
    let targets: Vec<&str> = DRIVER_TARGETS.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        targets,
        [
            crate::plan::DIND_SOCKET_DIR,
            crate::plan::DIND_CLIENT_CERTS,
            crate::plan::SOCKET_TARGET
        ]
    );
    assert_eq!(
        RUNNER_BINARY_TARGET,
        crate::plan::helper::RUNNER_BINARY_TARGET
    );
}
