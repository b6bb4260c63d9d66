//! Warm job sets (`warm.jobs`), continued from `warm_jobs.rs`: every reason a waiting set is
//! refused (one line in the job log, the job then starting cold and succeeding), a forged slot,
//! a prepare cancelled or killed while a set waits or is being adopted, and eight slots at once.
//!
//! Runner 981 is the refusal and forged-slot tests' own, 982 the kill and concurrency tests':
//! a test holds its runner's lock throughout (a gc of the runner, which every test ends with,
//! would take another test's waiting sets), starts by collecting what a failed run left, and
//! ends proving nothing of the runner is left.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::harness::{collect_runner, docker, labelled, stem, Call, Job, JOB_IMAGE};
use crate::prepare_signals::{reach, Point};
use crate::spawned::container_state;
use crate::warm::Teardown;
use crate::warm_jobs::{config, job};

const REFUSALS: &str = "981";
const KILLS: &str = "982";

static LOCKS: [Mutex<()>; 2] = [Mutex::new(()), Mutex::new(())];

/// The runner's lock, held for the whole test, and then the runner's leftovers collected.
fn own(runner: &'static str) -> (MutexGuard<'static, ()>, Teardown) {
    let lock = if runner == REFUSALS {
        &LOCKS[0]
    } else {
        &LOCKS[1]
    };
    let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
    collect_runner(runner);
    (guard, Teardown::new(runner))
}

/// The slot's free warm job sets (their job container still bears the set's own name), by key.
fn free_sets(runner: &str, slot: &str) -> Vec<String> {
    crate::warm_jobs::free_keys(runner, Some(slot), "job")
}

/// Containers, networks and volumes of the warm set `key`.
fn set_left(key: &str) -> Vec<String> {
    labelled(&format!("io.executor.warm-key={key}"))
}

/// The set `key` waits whole and unclaimed: both containers run under its own names, its
/// network, and its token (the claim a job's prepare removes).
#[track_caller]
fn assert_waiting(key: &str) {
    assert_eq!(container_state(&format!("{key}-job")), "running", "{key}");
    assert_eq!(
        container_state(&format!("{key}-helper")),
        "running",
        "{key}"
    );
    let token = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=^{key}-token$"),
    ]);
    assert_eq!(token.trim(), format!("{key}-token"), "{key}");
}

/// The warm key the job container of `job` carries: empty for a cold job's.
fn warm_key_of(job: &Job) -> String {
    let key = docker(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"io.executor.warm-key\"}}",
        &job.container(),
    ]);
    let key = key.trim();
    if key == "<no value>" {
        String::new()
    } else {
        key.to_string()
    }
}

/// A stage runs, as the job (its own key in its shell).
#[track_caller]
fn run_ok(job: &Job) {
    let out = job.run("build_script", "echo \"ran as $EXECUTOR_JOB_KEY\"");
    out.ok();
    assert!(
        out.stdout.contains(&format!("ran as {}\n", job.key())),
        "{}",
        out.stdout
    );
}

/// Nothing of `job` is left: no resource with its labels, no container by its names (an
/// adopted set's containers carry the set's labels, not the job's).
#[track_caller]
fn assert_job_gone(job: &Job) {
    job.assert_nothing_left();
    let named = crate::warm_jobs::named_after(&job.key());
    assert!(named.trim().is_empty(), "left: {named}");
}

/// The runner's cleanup, which must leave a fresh warm set for the slot: its key.
#[track_caller]
fn cleanup_warming(job: &Job) -> String {
    let cleaned = job.cleanup();
    cleaned.ok();
    assert_job_gone(job);
    started_set(&cleaned).unwrap_or_else(|| panic!("no warm set: {}", cleaned.stderr))
}

/// The key of the warm set a cleanup says it started, once that set is complete (cleanup
/// leaves it to a process of its own and returns).
fn started_set(cleaned: &Call) -> Option<String> {
    crate::warm_jobs::started_set(&cleaned.stderr)
}

/// A whole cold job (nothing waits in its slot) whose cleanup leaves the slot's set: its key.
#[track_caller]
fn cold_job_warming(job: &Job, runner: &str, slot: &str) -> String {
    assert_eq!(free_sets(runner, slot), Vec::<String>::new(), "slot {slot}");
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        !prepared.stderr.contains("warm job set"),
        "{}",
        prepared.stderr
    );
    run_ok(job);
    let key = cleanup_warming(job);
    assert_eq!(free_sets(runner, slot), vec![key.clone()], "slot {slot}");
    assert_waiting(&key);
    key
}

/// prepare must adopt the set `key` (and no other line about warm sets), and the job runs in it.
#[track_caller]
fn prepare_adopting(job: &Job, key: &str) {
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains(&format!("adopted warm job set {key}\n")),
        "{}",
        prepared.stderr
    );
    assert_eq!(
        prepared.stderr.matches("warm job set").count(),
        1,
        "{}",
        prepared.stderr
    );
    assert_eq!(warm_key_of(job), key);
    run_ok(job);
}

/// prepare must refuse the set `key` for `why`, in one line, and start cold: the job runs in a
/// container of its own, and the refused set is gone by the end of prepare.
#[track_caller]
fn prepare_refusing(job: &Job, key: &str, why: &str) {
    let prepared = job.prepare();
    prepared.ok();
    let line = format!("warm job set {key} {why}: replacing it\n");
    assert!(prepared.stderr.contains(&line), "{line}{}", prepared.stderr);
    assert_eq!(
        prepared.stderr.matches("warm job set").count(),
        1,
        "{}",
        prepared.stderr
    );
    assert_eq!(warm_key_of(job), "", "cold");
    assert_eq!(set_left(key), Vec::<String>::new());
    run_ok(job);
}

/// The runner's socket builds directories on this host: none may be left once it is collected.
#[track_caller]
fn assert_no_builds_dirs(runner: &str, socket_job: &Job) {
    let root = std::path::Path::new(&socket_job.builds_dir())
        .parent()
        .unwrap()
        .to_path_buf();
    let prefix = format!("{}-", stem(runner));
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "in {}", root.display());
}

/// gc of the runner with `warm.jobs` on (this config's extra lines) and no grace.
fn gc_warm(runner: &str, extra: &str) -> Call {
    let gc =
        Job::with_config("", &config(extra)).call(&["gc", "--grace", "0s", "--runner-id", runner]);
    gc.ok();
    gc
}

/// The image the slot's last job used is not the next job's: another image, and then the same
/// tag built anew (another id). The set made for the image in between is adopted by a job of
/// that image, so the refusal is the image's, not the image name's.
#[test]
fn a_set_for_another_image_is_refused_and_the_job_starts_cold() {
    let (_lock, mut teardown) = own(REFUSALS);
    let image = "executor-test/warm-jobs-more:1";
    let build = |teardown: &mut Teardown, n: u8| {
        teardown.build(
            image,
            &format!("FROM {JOB_IMAGE}\nLABEL warm-jobs-more.build={n}\n"),
            &[],
        )
    };
    build(&mut teardown, 1);
    let slot = "60";
    let first = job(REFUSALS, "socket", slot, "");
    let debian_set = cold_job_warming(&first, REFUSALS, slot);

    let other = job(REFUSALS, "socket", slot, "").var("CI_JOB_IMAGE", image);
    prepare_refusing(&other, &debian_set, "runs another image");
    let image_set = cleanup_warming(&other);

    let same = job(REFUSALS, "socket", slot, "").var("CI_JOB_IMAGE", image);
    prepare_adopting(&same, &image_set);
    let image_set = cleanup_warming(&same);

    // The tag now names another image: the set runs the old one.
    build(&mut teardown, 2);
    let rebuilt = job(REFUSALS, "socket", slot, "").var("CI_JOB_IMAGE", image);
    prepare_refusing(&rebuilt, &image_set, "runs another image");
    cleanup_warming(&rebuilt);

    collect_runner(REFUSALS);
    for job in [&first, &other, &same, &rebuilt] {
        assert_job_gone(job);
    }
    assert_no_builds_dirs(REFUSALS, &first);
}

/// A setting fixed at the container's create (a memory limit) differs between the slot's last
/// job and its next: the set was made for other settings, both ways.
#[test]
fn a_set_for_other_settings_is_refused_and_the_job_starts_cold() {
    let (_lock, _teardown) = own(REFUSALS);
    let slot = "61";
    let limited = "limits:\n  job:\n    memory: 512MiB\n";
    let first = job(REFUSALS, "none", slot, "");
    let plain_set = cold_job_warming(&first, REFUSALS, slot);

    let second = job(REFUSALS, "none", slot, limited);
    prepare_refusing(&second, &plain_set, "was made for other settings");
    let limited_set = cleanup_warming(&second);

    let third = job(REFUSALS, "none", slot, "");
    prepare_refusing(&third, &limited_set, "was made for other settings");
    cleanup_warming(&third);

    collect_runner(REFUSALS);
    for job in [&first, &second, &third] {
        assert_job_gone(job);
    }
}

/// A set older than `warm.max_age`, and one whose job container stopped, are replaced.
#[test]
fn an_aged_or_stopped_set_is_refused_and_the_job_starts_cold() {
    let (_lock, _teardown) = own(REFUSALS);
    let slot = "62";
    let short = "  max_age: 2s\n";
    let first = job(REFUSALS, "socket", slot, short);
    let set = cold_job_warming(&first, REFUSALS, slot);
    // Ages are whole seconds: 3 s later the set is at least 2 s old.
    std::thread::sleep(Duration::from_secs(3));
    let second = job(REFUSALS, "socket", slot, short);
    prepare_refusing(&second, &set, "is older than warm.max_age");
    let set = cleanup_warming(&second);

    docker(&["kill", &format!("{set}-job")]);
    let third = job(REFUSALS, "socket", slot, "");
    prepare_refusing(&third, &set, "is not running");
    cleanup_warming(&third);

    collect_runner(REFUSALS);
    for job in [&first, &second, &third] {
        assert_job_gone(job);
    }
    assert_no_builds_dirs(REFUSALS, &first);
}

/// A job of another slot neither adopts nor replaces a slot's set (it says nothing of it), and
/// the set stays whole for its own slot's next job, which adopts it.
#[test]
fn a_set_waits_for_its_own_slot_only() {
    let (_lock, _teardown) = own(REFUSALS);
    let first = job(REFUSALS, "socket", "63", "");
    let set = cold_job_warming(&first, REFUSALS, "63");

    let elsewhere = job(REFUSALS, "socket", "64", "");
    let other_set = cold_job_warming(&elsewhere, REFUSALS, "64");
    assert_eq!(free_sets(REFUSALS, "63"), vec![set.clone()]);
    assert_waiting(&set);

    let next = job(REFUSALS, "socket", "63", "");
    prepare_adopting(&next, &set);
    cleanup_warming(&next);
    assert_eq!(free_sets(REFUSALS, "64"), vec![other_set.clone()]);
    assert_waiting(&other_set);

    collect_runner(REFUSALS);
    for job in [&first, &elsewhere, &next] {
        assert_job_gone(job);
    }
    assert_no_builds_dirs(REFUSALS, &first);
}

/// Ref protection and the project are part of what a set was made for: a protected ref's job
/// refuses an unprotected ref's set and adopts a protected one's; another project's job
/// refuses it.
#[test]
fn a_set_for_another_protection_or_project_is_refused() {
    let (_lock, _teardown) = own(REFUSALS);
    let slot = "65";
    let on =
        |protected: bool| job(REFUSALS, "none", slot, "").project_path("group/project", protected);
    let unprotected = on(false);
    let set = cold_job_warming(&unprotected, REFUSALS, slot);

    let protected = on(true);
    prepare_refusing(&protected, &set, "was made for other settings");
    let set = cleanup_warming(&protected);

    let again = on(true);
    prepare_adopting(&again, &set);
    let set = cleanup_warming(&again);

    let other_project = on(true).project("9813");
    prepare_refusing(&other_project, &set, "was made for other settings");
    let set = cleanup_warming(&other_project);

    // And back: the first project's protected job refuses the other project's set.
    let back = on(true);
    prepare_refusing(&back, &set, "was made for other settings");
    cleanup_warming(&back);

    collect_runner(REFUSALS);
    for job in [&unprotected, &protected, &again, &other_project, &back] {
        assert_job_gone(job);
    }
}

/// A job that claims another project's slot (its `CI_CONCURRENT_ID` is a job variable) never
/// adopts that project's set: it replaces it ("made for other settings") and starts cold, and
/// its cleanup leaves a set of its own project there, which the slot's rightful project then
/// refuses in turn. A set adopted by the rightful project's live job is not free: the forger
/// neither sees nor touches it.
#[test]
fn a_forged_slot_never_adopts_another_projects_set() {
    let (_lock, _teardown) = own(REFUSALS);
    let slot = "70";
    let mine = || job(REFUSALS, "socket", slot, "").project("9811");
    let forger = || job(REFUSALS, "socket", slot, "").project("9812");
    let first = mine();
    let set = cold_job_warming(&first, REFUSALS, slot);

    let forged = forger();
    prepare_refusing(&forged, &set, "was made for other settings");
    let forged_set = cleanup_warming(&forged);

    let rightful = mine();
    prepare_refusing(&rightful, &forged_set, "was made for other settings");
    let set = cleanup_warming(&rightful);

    // The rightful job is live in the set it adopted while a forger's whole job runs.
    let live = mine();
    prepare_adopting(&live, &set);
    let forged_again = forger();
    let prepared = forged_again.prepare();
    prepared.ok();
    assert!(
        !prepared.stderr.contains("warm job set"),
        "{}",
        prepared.stderr
    );
    assert_eq!(warm_key_of(&forged_again), "", "cold");
    run_ok(&forged_again);
    let forged_set = cleanup_warming(&forged_again);
    assert_eq!(
        warm_key_of(&live),
        set,
        "the live job's set is its own still"
    );
    run_ok(&live);
    // The live job's cleanup replaces the forger's waiting set with its own project's.
    let cleaned = live.cleanup();
    cleaned.ok();
    assert_job_gone(&live);
    assert_eq!(set_left(&set), Vec::<String>::new());
    assert_eq!(set_left(&forged_set), Vec::<String>::new());
    let last = started_set(&cleaned).expect(&cleaned.stderr);
    assert_eq!(free_sets(REFUSALS, slot), vec![last.clone()]);
    let next = mine();
    prepare_adopting(&next, &last);
    cleanup_warming(&next);

    collect_runner(REFUSALS);
    for job in [&first, &forged, &rightful, &live, &forged_again, &next] {
        assert_job_gone(job);
    }
    assert_no_builds_dirs(REFUSALS, &first);
}

/// A service that never answers: prepare waits for it (4 s) after the set is adopted, so a
/// signal sent once the job's containers exist lands in prepare.
const SLOW: &str =
    r#"[{"name":"executor-test/http:1","alias":"slow","command":["sh","-c","exec sleep 600"]}]"#;
const HOLD: &str = "services:\n  wait_timeout: 4s\n";

/// When a stopped prepare is stopped: at a point it reached, or this many ms after its start.
#[derive(Debug, Clone, Copy)]
enum At {
    Point(Point),
    Delay(u64),
}

/// Whether volume `name` exists.
fn volume_exists(name: &str) -> bool {
    let found = docker(&["volume", "ls", "-q", "--filter", &format!("name=^{name}$")]);
    !found.trim().is_empty()
}

/// prepare, held at its end, is stopped (SIGKILL as a crash, SIGTERM as the runner's cancel)
/// before, during and after it adopts the slot's waiting set; then the runner's cleanup, then
/// the runner's retry. Whatever the stop interrupted, the set ends in one of three states, each
/// asserted whole: untouched (the stop came before the claim: it waits still, and the retry
/// adopts it), the job's (renamed: cleanup takes all of it and starts a fresh one, which the
/// retry adopts), or claimed and left (a kill between the claim and the rename: gc takes it
/// once past `gc.grace`, as claimed and never adopted, and the retry starts cold). Nothing of the job is left after its
/// cleanup in any case.
#[test]
fn a_prepare_stopped_around_adoption_leaves_nothing_cleanup_or_gc_cannot_take() {
    let (_lock, _teardown) = own(KILLS);
    let slot = "80";
    let mut seen = Vec::new();
    let mut any_job = None;
    // SIGKILL a few milliseconds apart from prepare's start lands before, in and after the
    // claim and the renames (which take milliseconds: "Docker engine" is printed just before).
    let early = [0, 40, 60, 80, 120, 200].map(|ms| (At::Delay(ms), "KILL"));
    let late = [
        (At::Point(Point::FirstLooks), "KILL"),
        (At::Point(Point::FirstLooks), "TERM"),
        (At::Point(Point::Exists("job")), "KILL"),
        (At::Point(Point::Exists("job")), "TERM"),
        (At::Point(Point::Runs("svc0")), "KILL"),
        (At::Point(Point::Runs("svc0")), "TERM"),
    ];
    for (at, signal) in early.into_iter().chain(late) {
        let what = format!("{at:?} SIG{signal}");
        let set = match free_sets(KILLS, slot).as_slice() {
            [] => cold_job_warming(&job(KILLS, "socket", slot, HOLD), KILLS, slot),
            [set] => set.clone(),
            more => panic!("{what}: {more:?}"),
        };
        assert_waiting(&set);
        let stopped = job(KILLS, "socket", slot, HOLD).payload_services(SLOW, &[]);
        let prepare = stopped.start(&["prepare"]);
        match at {
            At::Point(point) => reach(&stopped, &prepare, point),
            At::Delay(ms) => std::thread::sleep(Duration::from_millis(ms)),
        }
        prepare.signal(signal);
        let ended = prepare.end();
        if signal == "KILL" {
            assert_eq!(ended.code, None, "{what}: {}", ended.stderr);
        } else {
            assert_eq!(ended.code, Some(2), "{what}: {}", ended.stderr);
            assert!(
                ended.stderr.contains("prepare stopped by SIGTERM"),
                "{what}: {}",
                ended.stderr
            );
        }
        // A request the killed prepare sent may still land.
        std::thread::sleep(Duration::from_millis(200));
        let named = !container_state(&format!("{set}-job")).is_empty();
        let token = volume_exists(&format!("{set}-token"));
        let state = match (named, token) {
            (true, true) => "untouched",
            (true, false) => "claimed",
            (false, _) => "adopted",
        };
        if matches!(at, At::Point(Point::Exists(_) | Point::Runs(_))) {
            assert_eq!(state, "adopted", "{what}: {}", ended.stderr);
        }
        if signal == "TERM" && state == "adopted" {
            assert!(
                ended
                    .stderr
                    .contains(&format!("adopted warm job set {set}\n")),
                "{what}: {}",
                ended.stderr
            );
        }
        seen.push(format!("{what}: {state}"));

        let cleaned = stopped.cleanup();
        cleaned.ok();
        assert_job_gone(&stopped);
        let refilled = started_set(&cleaned);
        match state {
            "untouched" => {
                assert_eq!(refilled, None, "{what}: {}", cleaned.stderr);
                assert_waiting(&set);
                assert_eq!(free_sets(KILLS, slot), vec![set.clone()], "{what}");
            }
            "adopted" => {
                assert_eq!(set_left(&set), Vec::<String>::new(), "{what}");
                let fresh = refilled.unwrap_or_else(|| panic!("{what}: {}", cleaned.stderr));
                assert_eq!(free_sets(KILLS, slot), vec![fresh], "{what}");
            }
            _ => {
                assert_eq!(refilled, None, "{what}: {}", cleaned.stderr);
                let gc = gc_warm(KILLS, "");
                assert!(
                    gc.stderr.contains(&format!(
                        "removed warm set {set} (claimed by a prepare that did not adopt it)"
                    )),
                    "{what}: {}",
                    gc.stderr
                );
                assert_eq!(set_left(&set), Vec::<String>::new(), "{what}");
            }
        }
        // The runner's retry of the same job: it adopts what waits, or starts cold.
        match free_sets(KILLS, slot).as_slice() {
            [waiting] => prepare_adopting(&stopped, waiting),
            [] => {
                let prepared = stopped.prepare();
                prepared.ok();
                assert_eq!(warm_key_of(&stopped), "", "{what}: cold");
                run_ok(&stopped);
            }
            more => panic!("{what}: {more:?}"),
        }
        cleanup_warming(&stopped);
        any_job = Some(stopped);
    }
    eprintln!("states: {seen:?}");
    collect_runner(KILLS);
    assert_no_builds_dirs(KILLS, any_job.as_ref().unwrap());
}

/// What a prepare killed inside the adoption leaves, made on purpose: a set claimed but not
/// renamed (its token gone) blocks no job of the slot (the next starts cold, the one after
/// adopts the fresh set beside it, whatever order the engine lists them in, and says nothing
/// of the claimed one) and gc takes it once past `gc.grace`; a set whose job container was
/// renamed but not its helper is the job's: gc leaves it as a live job's, and the runner's
/// cleanup takes all of it and starts a fresh one.
#[test]
fn a_set_a_killed_adoption_left_blocks_no_job_and_is_taken() {
    let (_lock, _teardown) = own(KILLS);
    let slot = "81";
    let first = job(KILLS, "socket", slot, "");
    let claimed = cold_job_warming(&first, KILLS, slot);
    docker(&["volume", "rm", &format!("{claimed}-token")]);

    let second = job(KILLS, "socket", slot, "");
    let prepared = second.prepare();
    prepared.ok();
    assert!(!prepared.stderr.contains("adopted"), "{}", prepared.stderr);
    assert_eq!(warm_key_of(&second), "", "cold");
    run_ok(&second);
    let fresh = cleanup_warming(&second);
    // No job can discard a claimed set: it waits beside the fresh one.
    let mut sets = free_sets(KILLS, slot);
    sets.sort();
    let mut both = vec![claimed.clone(), fresh.clone()];
    both.sort();
    assert_eq!(sets, both);

    let third = job(KILLS, "socket", slot, "");
    let prepared = third.prepare();
    prepared.ok();
    assert!(
        prepared
            .stderr
            .contains(&format!("adopted warm job set {fresh}\n")),
        "{}",
        prepared.stderr
    );
    // A claimed set is no job's to take or to remove: nothing is said of it.
    assert!(!prepared.stderr.contains(&claimed), "{}", prepared.stderr);
    assert_eq!(warm_key_of(&third), fresh);
    run_ok(&third);
    let fresh = cleanup_warming(&third);
    assert!(!set_left(&claimed).is_empty());

    // gc with warm.jobs on (and no grace): the claimed set goes, the young waiting one stays
    // until past warm.max_age.
    let gc = gc_warm(KILLS, "");
    assert!(
        gc.stderr.contains(&format!(
            "removed warm set {claimed} (claimed by a prepare that did not adopt it)"
        )),
        "{}",
        gc.stderr
    );
    assert_eq!(set_left(&claimed), Vec::<String>::new());
    assert_waiting(&fresh);
    std::thread::sleep(Duration::from_secs(3));
    let gc = gc_warm(KILLS, "  max_age: 2s\n");
    assert!(
        gc.stderr.contains(&format!("removed warm set {fresh} (")),
        "{}",
        gc.stderr
    );
    assert_eq!(set_left(&fresh), Vec::<String>::new());

    // The job container renamed to the job's, the helper not yet.
    let fourth = job(KILLS, "socket", slot, "");
    let set = cold_job_warming(&job(KILLS, "socket", slot, ""), KILLS, slot);
    docker(&["volume", "rm", &format!("{set}-token")]);
    docker(&["rename", &format!("{set}-job"), &fourth.container()]);
    let gc = gc_warm(KILLS, "");
    assert_eq!(
        container_state(&fourth.container()),
        "running",
        "{}",
        gc.stderr
    );
    assert_eq!(container_state(&format!("{set}-helper")), "running");
    let cleaned = fourth.cleanup();
    cleaned.ok();
    assert_job_gone(&fourth);
    assert_eq!(set_left(&set), Vec::<String>::new());
    let refilled = started_set(&cleaned).expect(&cleaned.stderr);
    assert_eq!(free_sets(KILLS, slot), vec![refilled]);

    collect_runner(KILLS);
    for job in [&first, &second, &third, &fourth] {
        assert_job_gone(job);
    }
    assert_no_builds_dirs(KILLS, &first);
}

/// Eight slots at once (half socket, half none): each job starts cold and its cleanup leaves
/// the slot's set; then eight more at once each adopt their own slot's set; gc with
/// `warm.jobs` on leaves the eight fresh sets alone, and the runner's collection takes them.
#[test]
fn eight_slots_warm_and_adopt_at_once() {
    let (_lock, _teardown) = own(KILLS);
    let slots: Vec<String> = (90..98).map(|s| s.to_string()).collect();
    let mode = |i: usize| if i % 2 == 0 { "socket" } else { "none" };
    let round = |waiting: Option<&[String]>| -> (Vec<Job>, Vec<String>) {
        std::thread::scope(|scope| {
            let running: Vec<_> = slots
                .iter()
                .enumerate()
                .map(|(i, slot)| {
                    scope.spawn(move || {
                        let job = job(KILLS, mode(i), slot, "");
                        let key = match waiting {
                            None => cold_job_warming(&job, KILLS, slot),
                            Some(keys) => {
                                prepare_adopting(&job, &keys[i]);
                                cleanup_warming(&job)
                            }
                        };
                        (job, key)
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .unzip()
        })
    };
    let (cold, sets) = round(None);
    let (warm, fresh) = round(Some(&sets));
    for (i, slot) in slots.iter().enumerate() {
        assert_eq!(set_left(&sets[i]), Vec::<String>::new(), "slot {slot}");
        assert_eq!(
            free_sets(KILLS, slot),
            vec![fresh[i].clone()],
            "slot {slot}"
        );
    }
    let gc = gc_warm(KILLS, "");
    assert!(
        gc.stderr.contains("gc collected 0 warm sets; left 8 alone"),
        "{}",
        gc.stderr
    );
    for key in &fresh {
        assert_waiting(key);
    }
    collect_runner(KILLS);
    for job in cold.iter().chain(&warm) {
        assert_job_gone(job);
    }
    assert_no_builds_dirs(KILLS, &cold[0]);
}
