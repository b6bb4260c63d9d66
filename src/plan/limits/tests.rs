//! Limits without a daemon: defaults per kind, requests within caps, rules' caps, clamping.

use super::super::tests::{facts, job, mode_var, settings};
use super::*;
use crate::plan::plan;

const GIB: u64 = 1 << 30;

fn with_project(path: &str) -> TrustedFacts {
    TrustedFacts {
        project_path: Some(path.into()),
        ..facts()
    }
}

#[test]
fn each_kind_gets_its_defaults_and_job_and_helper_lose_the_image_healthcheck() {
    let p = plan(
        &settings("helper:\n  mode: container\n"),
        &job(&[mode_var("dind")]),
        Some(&facts()),
    )
    .unwrap();
    let (job_l, sidecar) = (p.job.limits, p.sidecar.as_ref().unwrap().limits);
    assert_eq!(
        (job_l.cpus, job_l.memory, job_l.pids),
        (2000, 4 * GIB, 4096)
    );
    assert_eq!(
        (sidecar.cpus, sidecar.memory, sidecar.pids),
        (2000, 8 * GIB, 16384)
    );
    let helper = p.helper.as_ref().unwrap().limits;
    assert_eq!(
        (helper.cpus, helper.memory, helper.pids),
        (1000, 512 << 20, 1024)
    );
    assert!(job_l.no_healthcheck && helper.no_healthcheck && !sidecar.no_healthcheck);
    assert_eq!(sidecar.nofile, 0, "dockerd sets its own");
}

#[test]
fn zero_is_no_limit_and_the_dry_run_says_so() {
    let p = plan(
        &settings(
            "limits:\n  job: { cpus: 0, memory: 0, pids: 0 }\n  shm_size: 256MiB\n  nofile: 4096\n",
        ),
        &job(&[mode_var("none")]),
        Some(&facts()),
    )
    .unwrap();
    assert_eq!(
        p.job.limits.describe(),
        "cpus none, memory none, pids none, shm 256 MiB, nofile 4096, image healthcheck off"
    );
}

#[test]
fn requests_within_the_cap_replace_the_kinds_limit() {
    let p = plan(
        &settings(""),
        &job(&[
            mode_var("dind"),
            ("CUSTOM_ENV_EXECUTOR_CPUS", "0.5"),
            ("CUSTOM_ENV_EXECUTOR_MEMORY", "16GiB"),
            ("CUSTOM_ENV_EXECUTOR_DIND_CPUS", "4"),
        ]),
        Some(&facts()),
    )
    .unwrap();
    assert_eq!((p.job.limits.cpus, p.job.limits.memory), (500, 16 * GIB));
    assert_eq!(p.sidecar.as_ref().unwrap().limits.cpus, 4000);
}

#[test]
fn a_request_over_the_cap_is_refused_naming_variable_cap_and_key() {
    let err = |vars: &[(&str, &str)], f: TrustedFacts, text: &str| {
        let mut all = vec![mode_var("dind")];
        all.extend_from_slice(vars);
        plan(&settings(text), &job(&all), Some(&f)).err().unwrap().0
    };
    assert_eq!(
        err(&[("CUSTOM_ENV_EXECUTOR_MEMORY", "17GiB")], facts(), ""),
        "EXECUTOR_MEMORY=`17GiB` is over the cap of 16 GiB per container for this job \
         (limits.max.memory); ask for at most that, or have the runner's admin raise \
         limits.max.memory (the job limit without a request: limits.job.memory)"
    );
    let e = err(&[("CUSTOM_ENV_EXECUTOR_DIND_CPUS", "0")], facts(), "");
    assert!(
        e.starts_with("EXECUTOR_DIND_CPUS=`0` (no limit) is over the cap of 4 CPUs"),
        "{e}"
    );
    let e = err(&[("CUSTOM_ENV_EXECUTOR_CPUS", "lots")], facts(), "");
    assert_eq!(
        e,
        "EXECUTOR_CPUS=`lots` is not a number of CPUs, e.g. 0.5 or 2; fix the variable"
    );
    // A rule's max replaces limits.max for its projects only.
    let rules = "policy:\n  rules:\n    - match: { projects: [infra/*] }\n      modes: [dind, none]\n      max: { memory: 32GiB }\n";
    let asked = [("CUSTOM_ENV_EXECUTOR_MEMORY", "24GiB")];
    let p = plan(
        &settings(rules),
        &job(&[mode_var("dind"), asked[0]]),
        Some(&with_project("infra/deploy")),
    )
    .unwrap();
    assert_eq!(p.job.limits.memory, 24 * GIB);
    let e = err(&asked, with_project("web/shop"), rules);
    assert!(
        e.contains("over the cap of 16 GiB") && e.contains("(limits.max.memory)"),
        "{e}"
    );
    let e = err(
        &[("CUSTOM_ENV_EXECUTOR_MEMORY", "40GiB")],
        with_project("infra/deploy"),
        rules,
    );
    assert!(
        e.contains("over the cap of 32 GiB") && e.contains("(policy.rules[0].max.memory)"),
        "{e}"
    );
}

#[test]
fn a_request_for_less_cpu_than_the_kernel_can_hold_is_refused() {
    // The engine takes 0.001 CPUs at create; the kernel refuses the quota (under 1 ms per
    // 100 ms period) at start, which reads as the engine failing: a retried system failure.
    for asked in ["0.001", "0.009", ".005"] {
        let e = plan(
            &settings(""),
            &job(&[mode_var("dind"), ("CUSTOM_ENV_EXECUTOR_DIND_CPUS", asked)]),
            Some(&facts()),
        )
        .err()
        .unwrap()
        .0;
        assert_eq!(
            e,
            format!(
                "EXECUTOR_DIND_CPUS=`{asked}` is under 0.01 CPUs, the least the kernel can hold; \
                 ask for more"
            )
        );
    }
    let p = plan(
        &settings(""),
        &job(&[mode_var("none"), ("CUSTOM_ENV_EXECUTOR_CPUS", "0.01")]),
        Some(&facts()),
    )
    .unwrap();
    assert_eq!(p.job.limits.cpus, 10);
}

#[test]
fn a_memory_request_under_what_the_engine_accepts_or_not_a_size_is_refused() {
    for (asked, want) in [
        (
            "5MiB",
            "EXECUTOR_MEMORY=`5MiB` is under 6 MiB, the least the engine accepts; ask for more",
        ),
        (
            "1k",
            "EXECUTOR_MEMORY=`1k` is under 6 MiB, the least the engine accepts; ask for more",
        ),
        ("lots", "EXECUTOR_MEMORY=`lots` is not"),
    ] {
        let e = plan(
            &settings(""),
            &job(&[mode_var("none"), ("CUSTOM_ENV_EXECUTOR_MEMORY", asked)]),
            Some(&facts()),
        )
        .err()
        .unwrap()
        .0;
        assert!(e.starts_with(want), "{asked}: {e}");
    }
}

#[test]
fn a_cap_of_zero_lets_any_request_through() {
    let p = plan(
        &settings("limits:\n  max: { cpus: 0, memory: 0 }\n"),
        &job(&[mode_var("none"), ("CUSTOM_ENV_EXECUTOR_MEMORY", "0")]),
        Some(&facts()),
    )
    .unwrap();
    assert_eq!(p.job.limits.memory, 0);
}

#[test]
fn cpus_above_the_engines_count_become_the_count_with_a_line() {
    let p = plan(&settings(""), &job(&[mode_var("dind")]), Some(&facts())).unwrap();
    let (p, lines) = p.with_cpu_count(Some(1));
    assert_eq!(p.job.limits.cpus, 1000);
    assert_eq!(p.sidecar.as_ref().unwrap().limits.cpus, 1000);
    assert_eq!(
        lines[0],
        "executor-r7-p42-c3-j1001-dind would get 2 CPUs; the engine has 1, so it gets 1"
    );
    let (_, none) = plan(&settings(""), &job(&[]), Some(&facts()))
        .unwrap()
        .with_cpu_count(Some(8));
    assert!(none.is_empty());
}

#[test]
fn a_healthcheck_under_the_floor_is_raised_and_a_slower_one_kept() {
    let base = ContainerLimits::default();
    let ms = 1_000_000;
    assert_eq!(
        base.with_image_health([ms, 0]).health_intervals,
        Some([1_000_000_000, 0])
    );
    assert_eq!(
        base.with_image_health([5_000_000_000, 0]).health_intervals,
        None
    );
    assert_eq!(base.with_image_health([0, 0]).health_intervals, None);
    // A hand-made image config can hold a negative interval, which the engine takes as no
    // wait at all: checks back to back.
    assert_eq!(
        base.with_image_health([-1, -ms]).health_intervals,
        Some([1_000_000_000, 1_000_000_000])
    );
    let off = ContainerLimits {
        no_healthcheck: true,
        ..base
    };
    assert_eq!(off.with_image_health([ms, ms]).health_intervals, None);
}

#[test]
fn a_warm_sidecar_made_for_other_limits_does_not_fit() {
    let s = settings("dind:\n  warm: true\n");
    let plain = plan(&s, &job(&[mode_var("dind")]), Some(&facts())).unwrap();
    let asked = plan(
        &s,
        &job(&[
            mode_var("dind"),
            ("CUSTOM_ENV_EXECUTOR_DIND_MEMORY", "2GiB"),
        ]),
        Some(&facts()),
    )
    .unwrap();
    assert_ne!(plain.warm_template(), asked.warm_template());
}
