//! The job's `image: docker: platform:`, a service's `ports:` and `entrypoint: ignore` in the plan,
//! without a daemon.

use super::tests::{facts, job, legacy, mode_var, settings};
use super::*;
use crate::payload::{JobImage, ServicePort, ServiceRequest};

fn with_platform(platform: &str) -> Result<Plan, PlanError> {
    let mut facts = facts();
    facts.job_image = JobImage {
        platform: Some(platform.into()),
        ..JobImage::default()
    };
    plan(&settings(""), &job(&[]), Some(&facts))
}

#[test]
fn the_platform_is_the_job_containers_only_and_shown() {
    let p = with_platform("linux/arm64").unwrap();
    assert_eq!(p.job.platform.as_deref(), Some("linux/arm64"));
    let others: Vec<&ContainerSpec> = p.containers().filter(|c| c.role != Role::Job).collect();
    assert!(!others.is_empty());
    assert!(others.iter().all(|c| c.platform.is_none()));
    assert!(p.to_string().contains("  platform: linux/arm64\n"), "{p}");
    let err = with_platform("arm64").err().unwrap();
    assert!(
        err.0.starts_with("image: docker: platform: `arm64`"),
        "{}",
        err.0
    );
}

fn with_ports(numbers: &[i64]) -> Result<Plan, PlanError> {
    let mut facts = facts();
    facts.services = vec![ServiceRequest {
        name: "reg.example.com/http:1".into(),
        alias: Some("web".into()),
        ports: numbers
            .iter()
            .map(|&number| ServicePort {
                number,
                ..ServicePort::default()
            })
            .collect(),
        ..ServiceRequest::default()
    }];
    plan(&settings(""), &job(&[]), Some(&facts))
}

#[test]
fn a_services_ports_are_sorted_once_each_and_checked() {
    let p = with_ports(&[9091, 9090, 9091]).unwrap();
    let [svc] = p.services.as_slice() else {
        panic!("{:?}", p.services)
    };
    assert_eq!(svc.ports, [9090, 9091]);
    assert!(p
        .to_string()
        .contains("  waits for TCP 9090, 9091 (its ports:)\n"));
    assert!(p.job.ports.is_empty());
    for bad in [0, -1, 65536] {
        let err = with_ports(&[bad]).err().unwrap().0;
        assert_eq!(
            err,
            format!(
                "service `reg.example.com/http:1` lists port {bad}, which is not a TCP port \
                 number (1 to 65535); fix the job's services: ports:"
            )
        );
    }
}

#[test]
fn a_service_is_labelled_with_the_name_its_log_lines_carry() {
    let p = plan(
        &legacy(""),
        &job(&[(
            "CUSTOM_ENV_CI_JOB_SERVICES",
            r#"[{"name":"reg.example.com/grp/pg:16","alias":"db"}]"#,
        )]),
        None,
    )
    .unwrap();
    assert_eq!(
        p.services[0].labels[LABEL_SERVICE],
        "reg.example.com__grp__pg-reg.example.com-grp-pg-db"
    );
}

/// The plan of a job whose `image:` says `entrypoint` (or nothing), under `entrypoint:` in the
/// driver's config; as `--dry-run` shows its job container.
fn shown_job(config: &str, entrypoint: Option<&[&str]>) -> String {
    let mut facts = facts();
    facts.job_image = JobImage {
        entrypoint: entrypoint.map(|l| l.iter().map(|s| s.to_string()).collect()),
        ..JobImage::default()
    };
    let p = plan(&settings(config), &job(&[]), Some(&facts)).unwrap();
    p.job.to_string()
}

#[test]
fn the_dry_run_shows_each_entrypoint_a_job_can_have() {
    let given = shown_job("", Some(&["/my-wrapper.sh", "-x"]));
    assert!(
        given.contains("  entrypoint: [`/my-wrapper.sh`, `-x`]\n"),
        "{given}"
    );
    assert!(
        given.contains("  command: the driver's keep-alive"),
        "{given}"
    );
    let off = shown_job("", Some(&[""]));
    assert!(off.contains("  entrypoint: none\n"), "{off}");
    assert!(off.contains("  command: the driver's keep-alive"), "{off}");
    let image = shown_job("", None);
    assert!(image.contains("  entrypoint: the image's own\n"), "{image}");
    // `entrypoint: ignore`: the keep-alive is the entrypoint, the job's list is not used and
    // the image's command is dropped with its entrypoint.
    let ignored = shown_job("entrypoint: ignore\n", Some(&["/my-wrapper.sh"]));
    assert!(
        ignored.contains("  entrypoint: the driver's keep-alive"),
        "{ignored}"
    );
    assert!(ignored.contains("  command: none\n"), "{ignored}");
    assert!(!ignored.contains("my-wrapper"), "{ignored}");
}

/// A service's `docker: platform`/`user` are not read (the payload's service has no such
/// fields here), its `pull_policy` is: the plan runs the service on the engine's platform, as
/// its image's user, with the policies it asked for.
#[test]
fn a_service_gets_its_pull_policy_but_no_platform_or_user() {
    let mut facts = facts();
    let json = r#"{"services": [{"name": "reg.example.com/db:1",
        "docker": {"platform": "linux/arm64", "user": "5"}, "pull_policy": ["if-not-present"]}]}"#;
    facts.services = crate::payload::parse(json.as_bytes()).unwrap().services;
    let p = plan(&settings(""), &job(&[]), Some(&facts)).unwrap();
    let [svc] = p.services.as_slice() else {
        panic!("{:?}", p.services)
    };
    assert_eq!((svc.platform.as_deref(), svc.user.as_deref()), (None, None));
    assert_eq!(
        svc.pull_policies,
        [crate::settings::PullPolicy::IfNotPresent]
    );
}

/// `entrypoint: ignore` starts the job and helper containers with the keep-alive as their
/// entrypoint (the job's own `image: entrypoint:` is not used either, and the images' commands
/// are left to the engine); services and the dind sidecar keep their images' entrypoints.
#[test]
fn entrypoint_ignore_bypasses_the_job_and_helper_entrypoints_only() {
    let mut facts = facts();
    facts.job_image = JobImage {
        entrypoint: Some(vec!["/entry.sh".into()]),
        ..JobImage::default()
    };
    facts.services = vec![ServiceRequest {
        name: "reg.example.com/http:1".into(),
        ..ServiceRequest::default()
    }];
    let keep_alive_alone = |spec: &ContainerSpec| {
        matches!(spec.entrypoint.as_deref(), Some([sh, c, script])
            if sh == "/bin/sh" && c == "-c" && is_keep_alive(script))
            && spec.cmd.is_none()
    };
    let ignored = plan(
        &settings("entrypoint: ignore\n"),
        &job(&[mode_var("dind")]),
        Some(&facts),
    )
    .unwrap();
    assert_eq!(
        (&ignored.job_start, &ignored.helper_start),
        (&Start::Ignored, &Start::Ignored)
    );
    assert!(keep_alive_alone(&ignored.job), "{ignored}");
    assert!(
        keep_alive_alone(ignored.helper.as_ref().unwrap()),
        "{ignored}"
    );
    let sidecar = ignored.sidecar.as_ref().unwrap();
    assert!(
        sidecar.entrypoint.is_none() && sidecar.cmd.is_none(),
        "{ignored}"
    );
    assert!(ignored.services[0].entrypoint.is_none(), "{ignored}");
    // Under `honor` (the default) both start through their entrypoints: the job's own, and
    // the helper image's.
    let honored = plan(&settings(""), &job(&[mode_var("dind")]), Some(&facts)).unwrap();
    assert_eq!(
        (&honored.job_start, &honored.helper_start),
        (&Start::Given(vec!["/entry.sh".into()]), &Start::Image)
    );
    let helper = honored.helper.as_ref().unwrap();
    assert!(helper.entrypoint.is_none(), "{honored}");
    assert!(
        helper
            .cmd
            .as_ref()
            .is_some_and(|c| c.last().is_some_and(|s| is_keep_alive(s))),
        "{honored}"
    );
}
