//! The trust boundary (issue 11): a job controls every command in its containers, so the
//! driver's probes there must stay small and end. Each test does what a hostile job would do
//! through the protocol, and watches the driver's peak memory (VmHWM) while it runs.

use std::io::Read;
use std::process::{Child, Command};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::harness::Job;

/// The driver reads at most 64 KiB of anything a job controls; its whole peak stays well
/// under this (an unbounded read of `yes` passed 800 MiB in 4 s).
pub(crate) const PEAK_LIMIT_KIB: u64 = 64 * 1024;

/// What a watched call of the binary did.
pub(crate) struct Watched {
    pub code: Option<i32>,
    pub peak_kib: u64,
    pub took: Duration,
    pub stdout_bytes: usize,
    pub stderr: String,
}

/// Wait for `child` (at most `limit`, then kill it and fail), sampling its peak resident size.
/// Its pipes are drained meanwhile: a flooding stage must not block it on a full pipe.
pub(crate) fn watch(mut child: Child, limit: Duration, on_output: impl FnOnce(&Child)) -> Watched {
    let stdout = drain(child.stdout.take().unwrap(), 64 * 1024);
    let stderr = drain(child.stderr.take().unwrap(), 1024 * 1024);
    let started = Instant::now();
    let mut peak_kib = 0;
    let mut on_output = Some(on_output);
    let status = loop {
        // Sampled before reaping: /proc/<pid> of a reaped process is gone.
        peak_kib = peak_kib.max(vm_hwm_kib(child.id()).unwrap_or(0));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        // A driver that grows without bound is stopped early: it would take the host down.
        if started.elapsed() > limit || peak_kib > 4 * PEAK_LIMIT_KIB {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the driver was stopped after {:?}: peak {peak_kib} KiB",
                started.elapsed()
            );
        }
        if stdout.1.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            if let Some(act) = on_output.take() {
                act(&child);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    let kept = stdout.0.join().unwrap();
    let stderr = String::from_utf8_lossy(&stderr.0.join().unwrap()).into_owned();
    // What was kept of each stream is checked for the job's secrets, as every call's output is.
    crate::harness::assert_no_canary(&String::from_utf8_lossy(&kept));
    crate::harness::assert_no_canary(&stderr);
    Watched {
        code: status.code(),
        peak_kib,
        took,
        stdout_bytes: stdout.1.load(std::sync::atomic::Ordering::SeqCst),
        stderr,
    }
}

type Drained = (
    JoinHandle<Vec<u8>>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
);

/// Read a pipe to its end on a thread, counting bytes as they come and keeping the first `keep`.
fn drain(mut pipe: impl Read + Send + 'static, keep: usize) -> Drained {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    let thread = std::thread::spawn(move || {
        let (mut kept, mut buf) = (Vec::new(), vec![0u8; 64 * 1024]);
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            counter.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
            let room = keep.saturating_sub(kept.len()).min(n);
            kept.extend_from_slice(&buf[..room]);
        }
        kept
    });
    (thread, seen)
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A first stage puts an endless writer wherever `true` is found: earlier on PATH than /bin,
/// and over /bin/true itself. It proves the trap is armed without running it unbounded.
const REPLACE_TRUE: &str = r#"for d in /usr/local/sbin /usr/local/bin; do
  mkdir -p "$d" && printf '#!/bin/sh\nexec yes\n' > "$d/true" && chmod +x "$d/true"
done
if [ -w /bin/true ]; then cp /usr/local/bin/true /bin/true; fi
env true | head -c 4 > /tmp/armed || :
grep -q y /tmp/armed && echo attack-armed"#;

/// A failed stage makes the driver probe the container with `true`. With `true` replaced by
/// `yes`, that probe must neither read the flood nor wait for it. The right exit is the
/// build failure (1) with the script's code: the probe did start, so the container is alive
/// and the script's own `exit 3` stands; a system failure (2) would have the runner retry the
/// hostile job three times.
#[test]
fn a_replaced_true_cannot_grow_or_hold_the_driver() {
    let job = Job::new("none");
    job.prepare().ok();
    let armed = job.run("build_script", REPLACE_TRUE);
    armed.ok();
    assert!(armed.stdout.contains("attack-armed"), "{}", armed.stdout);

    let child = job.spawn_run("build_script", "echo failing\nexit 3");
    let watched = watch(child, Duration::from_secs(60), |_| {});
    eprintln!(
        "replaced true: exit {:?} after {:?}, peak {} KiB",
        watched.code, watched.took, watched.peak_kib
    );
    assert_eq!(watched.code, Some(1), "{}", watched.stderr);
    assert_eq!(job.build_exit_code().as_deref(), Some("3\n"));
    assert!(
        watched.peak_kib < PEAK_LIMIT_KIB,
        "peak {} KiB",
        watched.peak_kib
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A job that replaced `/bin/sh` with an endless loop makes every later stage flood the log, and the
/// driver's `sh -c 'kill …'` can no longer stop it. A cancel must still end the driver soon,
/// as a system failure (2: the stage could not be stopped), with its memory bounded.
#[test]
fn a_replaced_sh_cannot_hold_up_a_cancelled_stage() {
    let job = Job::new("none");
    job.prepare().ok();
    let replace = "printf '#!/bin/bash\\nwhile :; do echo flood; done\\n' > /usr/local/bin/sh\n\
                   chmod +x /usr/local/bin/sh && ln -sf /usr/local/bin/sh /bin/sh";
    job.run("build_script", replace).ok();

    let child = job.spawn_run("build_script", "echo never-runs");
    let signalled = std::cell::Cell::new(None);
    let watched = watch(child, Duration::from_secs(60), |child| {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        signalled.set(Some(Instant::now()));
    });
    let Some(signalled) = signalled.get() else {
        panic!(
            "the stage printed nothing: exit {:?}\n{}",
            watched.code, watched.stderr
        );
    };
    let stopped_in = signalled.elapsed();
    eprintln!(
        "replaced sh: exit {:?} {stopped_in:?} after SIGTERM, {} bytes of output, peak {} KiB",
        watched.code, watched.stdout_bytes, watched.peak_kib
    );
    assert_eq!(watched.code, Some(2), "{}", watched.stderr);
    assert!(
        watched.stderr.contains("did not stop"),
        "{}",
        watched.stderr
    );
    assert!(stopped_in < Duration::from_secs(20), "{stopped_in:?}");
    assert!(
        watched.peak_kib < PEAK_LIMIT_KIB,
        "peak {} KiB",
        watched.peak_kib
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A service that never becomes ready gets its last log lines in prepare's warning. Its output
/// is the job's: one service's 4 MB line is cut at 64 KiB (and says so); the other's `\r` and
/// ANSI escape show as text, so they cannot rewrite the driver's own lines in the job log.
#[test]
fn a_service_cannot_flood_or_forge_the_prepare_log() {
    let config = format!(
        "image: {}\nservices:\n  wait_timeout: 2s\n",
        crate::harness::JOB_IMAGE
    );
    let job = Job::with_config("none", &config).payload_services(
        r#"[{"name":"executor-test/http:1","alias":"","entrypoint":null,"command":["sh","-c","head -c 4000000 /dev/zero | tr '\\0' y; echo; exec sleep 600"]},
            {"name":"executor-test/http2:1","alias":"","entrypoint":null,"command":["sh","-c","printf 'forged\\r\\033[2K*** all good\\n'; exec sleep 600"]}]"#,
        &[],
    );
    let watched = watch(job.spawn(&["prepare"]), Duration::from_secs(60), |_| {});
    eprintln!(
        "flooding service: prepare exit {:?}, peak {} KiB",
        watched.code, watched.peak_kib
    );
    assert_eq!(watched.code, Some(0), "{}", watched.stderr);
    for want in [
        "probably did not start properly",
        "forged\\u{d}\\u{1b}[2K*** all good",
        "[… output cut at 64 KiB]",
    ] {
        assert!(watched.stderr.contains(want), "{want}: {}", watched.stderr);
    }
    assert!(!watched.stderr.contains(['\r', '\x1b']));
    assert!(watched.stderr.len() < 96 * 1024, "{}", watched.stderr.len());
    assert!(
        watched.peak_kib < PEAK_LIMIT_KIB,
        "peak {} KiB",
        watched.peak_kib
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}
