//! `executor gc` removes what a killed job left and leaves a running job alone, drops an idle
//! layer cache over its cap, and two runs at once do the work of one. Each test's jobs use a
//! runner id of their own (903, 904, 916, 917) and gc is scoped to it, so the other tests' jobs
//! are never in its way.

use std::collections::BTreeMap;

use crate::dind_extras::{volume_exists, BUILD_CACHED};
use crate::harness::{docker, labelled, leftovers, Job, DIND_IMAGE, JOB_IMAGE};

const RUNNER: &str = "903";

#[test]
fn gc_collects_a_dead_job_and_leaves_a_live_one() {
    let live = Job::new("none").runner(RUNNER);
    live.prepare().ok();
    // A job whose driver was SIGKILLed and whose cleanup never came: its containers stopped.
    let dead = Job::new("dind").runner(RUNNER);
    dead.prepare().ok();
    docker(&["kill", &dead.container(), &format!("{}-dind", dead.key())]);

    let dry = dead.call(&["gc", "--grace", "0s", "--runner-id", RUNNER, "--dry-run"]);
    dry.ok();
    assert!(
        dry.stderr.contains(&format!("would remove {}", dead.key())),
        "{}",
        dry.stderr
    );
    assert_eq!(
        leftovers(&dead.key()).len(),
        3 + 1 + 4,
        "a dry run removes nothing"
    );

    let gc = dead.call(&["gc", "--grace", "0s", "--runner-id", RUNNER]);
    gc.ok();
    assert!(
        gc.stderr.contains(&format!(
            "removed {}: 3 containers, 1 network, 4 volumes (job container not running",
            dead.key()
        )),
        "{}",
        gc.stderr
    );
    assert!(
        !gc.stderr.contains(&live.key()),
        "the live job was touched: {}",
        gc.stderr
    );
    dead.assert_nothing_left();

    // The live job still works.
    live.run("build_script", "echo still here").ok();
    live.cleanup().ok();
    live.assert_nothing_left();
}

/// A leftover from a prepare killed before any container existed, within the grace period,
/// is left alone (it could be a prepare in progress); past it, it is collected. The period is
/// `gc.grace` from the config, and `--grace` overrides it either way.
#[test]
fn gc_waits_out_the_grace_period_for_jobs_without_containers() {
    let job = Job::new("none").runner("904");
    let leave_a_network = || {
        docker(&[
            "network",
            "create",
            "--label",
            &format!("io.executor.job-key={}", job.key()),
            "--label",
            "io.executor.runner-id=904",
            &job.key(),
        ]);
    };
    let gc = |grace_key: &str, flags: &[&str]| {
        job.set_config(&format!("gc:\n  grace: {grace_key}\n"));
        let mut args = vec!["gc", "--runner-id", "904"];
        args.extend(flags);
        let call = job.call(&args);
        call.ok();
        call.stderr
    };
    let kept = "collected 0 jobs; left 1";
    let collected = "collected 1 jobs; left 0";

    leave_a_network();
    let young = gc("1h", &[]);
    assert!(young.contains(kept), "{young}");
    // The key must be longer than zero; past a second, the network is older than `1s`.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let flag_keeps = gc("1s", &["--grace", "1h"]);
    assert!(flag_keeps.contains(kept), "{flag_keeps}");
    // The key alone: the default (10m) would keep the network.
    let key_collects = gc("1s", &[]);
    assert!(key_collects.contains(collected), "{key_collects}");
    job.assert_nothing_left();

    leave_a_network();
    let flag_collects = gc("1h", &["--grace", "0s"]);
    assert!(flag_collects.contains(collected), "{flag_collects}");
    job.assert_nothing_left();
}

/// A config with the project layer cache on and capped at `cap`.
fn cached(cap: &str) -> String {
    format!(
        "image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n  cache: project\n  cache_max_size: {cap}\n"
    )
}

/// Remove the kept `cache_dir` volumes of `runner`'s jobs (gc keeps them, as it should) and
/// prove nothing of the runner remains.
fn drop_kept(runner: &str) {
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=io.executor.runner-id={runner}"),
        "--filter",
        "label=io.executor.role=cache-dir",
    ]);
    for volume in volumes.lines() {
        docker(&["volume", "rm", volume]);
    }
    assert_eq!(
        labelled(&format!("io.executor.runner-id={runner}")),
        Vec::<String>::new()
    );
}

/// gc drops a project layer cache over `dind.cache_max_size`, and only an idle one: one that a
/// running job's sidecar holds is reported in use and kept, one under the cap is reported idle
/// and kept, and `--dry-run` only says it would drop it.
#[test]
fn gc_drops_an_idle_layer_cache_over_the_cap() {
    let job = || {
        Job::with_config("dind", &cached("1GiB"))
            .runner("916")
            .var("CI_CONCURRENT_ID", "31")
    };
    let volume = &format!("{}-p77-c31-dind-cache", crate::harness::stem("916"));
    let first = job();
    first.prepare().ok();
    first.run("build_script", BUILD_CACHED).ok();
    first.cleanup().ok();
    first.assert_nothing_left();
    assert!(
        volume_exists(volume),
        "cleanup kept the cache under its cap"
    );

    let holder = job();
    let gc = |cap: &str, flags: &[&str]| {
        holder.set_config(&cached(cap));
        let mut args = vec!["gc", "--runner-id", "916"];
        args.extend(flags);
        let call = holder.call(&args);
        call.ok();
        call.stderr
    };
    holder.prepare().ok();
    let in_use = gc("1MiB", &[]);
    assert!(
        in_use.contains(&format!("cache {volume}: ")) && in_use.contains(", in use\n"),
        "{in_use}"
    );
    assert!(volume_exists(volume));
    holder.set_config(&cached("1GiB"));
    holder.cleanup().ok();
    holder.assert_nothing_left();

    let under = gc("1GiB", &[]);
    let listed = under
        .lines()
        .find(|l| l.contains(&format!("cache {volume}: ")))
        .unwrap_or_else(|| panic!("{under}"));
    assert!(listed.ends_with(", idle"), "{under}");
    let dry = gc("1MiB", &["--dry-run"]);
    assert!(
        dry.contains(&format!("would drop cache {volume} ("))
            && dry.contains(", over dind.cache_max_size)"),
        "{dry}"
    );
    assert!(volume_exists(volume), "a dry run drops nothing");
    let dropped = gc("1MiB", &[]);
    assert!(
        dropped.contains(&format!("dropped cache {volume} ("))
            && dropped.contains(", over dind.cache_max_size)"),
        "{dropped}"
    );
    assert!(!volume_exists(volume));
    drop_kept("916");
}

/// Containers, networks and volumes among `leftovers` lines.
fn tally(lines: &[String]) -> [usize; 3] {
    ["container ", "network ", "volume "]
        .map(|kind| lines.iter().filter(|l| l.starts_with(kind)).count())
}

/// What gc's `removed KEY: 2 containers, 1 network, 1 volume (...)` lines in `text` add up to.
fn reported(text: &str, key: &str) -> [usize; 3] {
    let mut sum = [0; 3];
    for line in text.lines() {
        let Some((_, rest)) = line.split_once(&format!("removed {key}: ")) else {
            continue;
        };
        let counts = rest.split(" (").next().unwrap_or_default();
        for (i, part) in counts.split(", ").enumerate() {
            sum[i] += part.split(' ').next().unwrap().parse::<usize>().unwrap();
        }
    }
    sum
}

/// Two gc runs started at the same moment (two cron lines, or a run by hand during cron's) do
/// the work of one: both exit 0 and report no error, every dead job is gone and each of its
/// resources is reported removed, an idle cache over the cap is dropped and reported once, and
/// the live job is untouched. Both runs may count a container or volume they removed at the
/// same moment (the engine says so to both), so their counts must add up to at least what
/// each job had, not exactly.
#[test]
fn two_gc_runs_at_once_do_the_work_of_one() {
    let live = Job::new("none").runner("917");
    live.prepare().ok();
    // A dind job with a layer cache of a few MB, and three jobs in none mode.
    let cached_job = Job::with_config("dind", &cached("1GiB"))
        .runner("917")
        .var("CI_CONCURRENT_ID", "33");
    cached_job.prepare().ok();
    cached_job.run("build_script", BUILD_CACHED).ok();
    let mut dead = vec![cached_job];
    for _ in 0..3 {
        let job = Job::new("none").runner("917");
        job.prepare().ok();
        dead.push(job);
    }
    // Their driver was killed and no cleanup came: their containers stopped.
    let mut had = BTreeMap::new();
    for job in &dead {
        let filter = format!("label=io.executor.job-key={}", job.key());
        let ids = docker(&["ps", "-q", "--filter", &filter]);
        let mut args = vec!["kill"];
        args.extend(ids.split_whitespace());
        docker(&args);
        had.insert(job.key(), tally(&leftovers(&job.key())));
    }

    let admin = Job::with_config("", &cached("1MiB"));
    let args = ["gc", "--runner-id", "917", "--grace", "0s"];
    let (one, other) = (admin.start(&args), admin.start(&args));
    let runs = [one.end(), other.end()];
    let both = format!("{}\n{}", runs[0].stderr, runs[1].stderr);
    for run in &runs {
        assert_eq!(run.code, Some(0), "{both}");
        assert!(
            !run.stderr.contains("error") && !run.stderr.contains("failure"),
            "{both}"
        );
    }
    for (key, had) in &had {
        let counted = reported(&both, key);
        assert!(
            (0..3).all(|i| counted[i] >= had[i]),
            "{key} had {had:?}, reported {counted:?}: {both}"
        );
        assert_eq!(leftovers(key), Vec::<String>::new());
    }
    let cache = &format!("{}-p77-c33-dind-cache", crate::harness::stem("917"));
    assert_eq!(
        both.matches(&format!("dropped cache {cache} (")).count(),
        1,
        "{both}"
    );
    assert!(!volume_exists(cache));
    assert!(!both.contains(&live.key()), "{both}");
    live.run("build_script", "echo still here").ok();
    live.cleanup().ok();
    live.assert_nothing_left();
    drop_kept("917");
}
