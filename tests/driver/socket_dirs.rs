//! Socket mode's builds directories on the engine's host: the directory holding them is
//! root's alone (a job's checkout and file-type variables are in it, written with umask 0000),
//! and gc removes the directory of a job whose cleanup never got to it, never a live job's.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{docker, Job, ALL_MODES, DIND_IMAGE, JOB_IMAGE};

/// gc runs for this runner only, so it never touches other tests' jobs.
const RUNNER: &str = "918";

fn job() -> Job {
    let config = format!("image: {JOB_IMAGE}\ndind:\n  image: {DIND_IMAGE}\n{ALL_MODES}");
    Job::with_config("socket", &config).runner(RUNNER)
}

fn gc() -> String {
    let out = job().call(&["gc", "--runner-id", RUNNER, "--grace", "0s"]);
    out.ok();
    out.stderr.clone()
}

#[test]
fn socket_builds_are_roots_alone_and_gc_removes_an_abandoned_jobs() {
    let abandoned = job();
    abandoned.prepare().ok();
    let dir = abandoned.builds_dir();
    let root = std::path::Path::new(&dir).parent().unwrap().to_path_buf();
    let mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", root.display());
    abandoned
        .run("get_sources", "echo secret-ish > checkout.txt")
        .ok();
    // Its cleanup got as far as the engine's part only: the directory stays behind.
    for kind in ["ps -aq", "network ls -q", "volume ls -q"] {
        let mut args: Vec<&str> = kind.split(' ').collect();
        let label = format!("label=io.executor.job-key={}", abandoned.key());
        args.extend(["--filter", &label]);
        let ids = docker(&args);
        for id in ids.split_whitespace() {
            let rm: &[&str] = match kind {
                "ps -aq" => &["rm", "-fv"],
                "network ls -q" => &["network", "rm"],
                _ => &["volume", "rm"],
            };
            docker(&[rm, &[id]].concat());
        }
    }
    assert!(std::path::Path::new(&dir).exists());
    let live = job();
    live.prepare().ok();
    let said = gc();
    assert!(!std::path::Path::new(&dir).exists(), "{said}");
    assert!(
        said.contains(&format!("removed builds directory {dir}")),
        "{said}"
    );
    // The live job's directory is its own until its cleanup.
    assert!(std::path::Path::new(&live.builds_dir()).exists(), "{said}");
    live.run("build_script", "echo still mine").ok();
    live.cleanup().ok();
    live.assert_nothing_left();
    abandoned.assert_nothing_left();
    // The kept cache_dir volumes of this runner go as an admin drops them.
    job()
        .call(&["gc", "--runner-id", RUNNER, "--drop-caches"])
        .ok();
}
