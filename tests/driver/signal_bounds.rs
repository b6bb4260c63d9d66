//! What bounds a cancelled call: a stage whose script ignores SIGTERM is killed once the grace
//! has passed, and a signalled prepare, which lets the requests it has sent finish, is ended
//! by a second signal at once or by its 15 s bound. The requests are held by a registry of the
//! test's own that never answers a pull, so they are in flight for as long as the test wants.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{docker, Job};
use crate::spawned::{Spawned, PROGRESS_LIMIT};

/// The script traps TERM and carries on ticking: the stage is signalled, goes on for the grace
/// (ticks after the trap fired), and is then killed (SIGKILL, 137), within bounds.
#[test]
fn a_stage_that_ignores_sigterm_is_killed_after_the_grace() {
    let job = Job::new("none");
    job.prepare().ok();
    let run = job.start_run(
        "build_script",
        // `|| :`: the signal kills the sleep too, which errexit would otherwise end the script on.
        "trap 'echo TERM-ignored' TERM\necho started\nwhile :; do echo tick; sleep 0.2 || :; done",
    );
    run.wait_for_line("started");
    run.signal("TERM");
    let ended = run.end();
    assert!(
        ended
            .stderr
            .contains("SIGTERM: stopping the build_script stage"),
        "{}",
        ended.stderr
    );
    // The signal reached the script, which ignored it and went on until it was killed.
    let (_, after) = ended
        .stdout
        .split_once("TERM-ignored\n")
        .unwrap_or_else(|| panic!("the script never saw TERM: {}", ended.stdout));
    let ticks = after.lines().filter(|l| *l == "tick").count();
    assert!(ticks >= 3, "{ticks} ticks after TERM: {}", ended.stdout);
    assert_eq!(ended.code, Some(1), "{}", ended.stderr);
    assert_eq!(job.build_exit_code().as_deref(), Some("137\n"));
    // The grace is counted from the signal, sent before this clock started.
    assert!(
        ended.took >= Duration::from_millis(2900) && ended.took < Duration::from_secs(20),
        "took {:?}",
        ended.took
    );
    // Killed in the container, not only given up on: only the keep-alive loop is left.
    let processes = docker(&["top", &job.container(), "-o", "pid,args"]);
    assert!(!processes.contains("sleep 0.2"), "{processes}");
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// A registry on loopback that answers the engine's version check and holds every manifest
/// request without a word: the pull stays in flight until the registry is dropped.
struct HeldRegistry {
    port: u16,
    held: Receiver<()>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl HeldRegistry {
    fn start() -> HeldRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, held) = channel();
        let streams = Arc::new(Mutex::new(Vec::new()));
        let kept = streams.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (tx, kept) = (tx.clone(), kept.clone());
                std::thread::spawn(move || answer(stream, &tx, &kept));
            }
        });
        HeldRegistry {
            port,
            held,
            streams,
        }
    }

    /// Wait until the engine's pull is at the registry, unanswered.
    #[track_caller]
    fn wait_for_a_held_pull(&self) {
        self.held
            .recv_timeout(PROGRESS_LIMIT)
            .expect("no pull reached the registry");
    }
}

impl Drop for HeldRegistry {
    /// Let the engine's pull fail, so it ends with the test.
    fn drop(&mut self) {
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// One connection: a TLS hello is refused (the engine then falls back to plain HTTP, as for
/// any loopback registry), `/v2/` is answered, a manifest request is held and reported.
fn answer(mut stream: TcpStream, held: &Sender<()>, kept: &Mutex<Vec<TcpStream>>) {
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap_or(0);
    let request = String::from_utf8_lossy(&buf[..n]);
    if request.starts_with("GET /v2/ ") {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
    } else if request.contains("/manifests/") {
        kept.lock().unwrap().push(stream);
        let _ = held.send(());
    }
}

/// A prepare whose job image is on the held registry, started and signalled once its pull is
/// in flight; returns once it says it lets the requests in flight finish.
fn prepare_holding_a_pull(job: &Job, registry: &HeldRegistry) -> Spawned {
    let prepare = job.start(&["prepare"]);
    registry.wait_for_a_held_pull();
    prepare.signal("TERM");
    prepare.wait_for_line("SIGTERM: prepare lets the requests in flight finish, then stops");
    prepare
}

fn held_job(registry: &HeldRegistry) -> Job {
    Job::new("none").var(
        "CI_JOB_IMAGE",
        &format!("127.0.0.1:{}/executor-test/held:1", registry.port),
    )
}

/// A second SIGTERM while prepare waits for its pull to finish ends it at once (the pull would
/// hold it 15 s), as a system failure naming the second signal; cleanup leaves nothing.
#[test]
fn a_second_signal_ends_a_prepare_finishing_its_requests_at_once() {
    let registry = HeldRegistry::start();
    let job = held_job(&registry);
    let prepare = prepare_holding_a_pull(&job, &registry);
    prepare.signal("TERM");
    let ended = prepare.end();
    assert_eq!(ended.code, Some(2), "{}", ended.stderr);
    assert!(
        ended
            .stderr
            .contains("system failure: prepare stopped by SIGTERM at a second signal"),
        "{}",
        ended.stderr
    );
    assert!(
        ended.took < Duration::from_secs(10),
        "took {:?}",
        ended.took
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}

/// With one signal only, the pull that never finishes holds prepare for 15 s and no longer:
/// it ends as a system failure naming the request that did not finish; cleanup leaves nothing.
#[test]
fn a_signalled_prepare_waits_for_its_requests_at_most_15_s() {
    let registry = HeldRegistry::start();
    let job = held_job(&registry);
    let prepare = prepare_holding_a_pull(&job, &registry);
    let ended = prepare.end();
    assert_eq!(ended.code, Some(2), "{}", ended.stderr);
    assert!(
        ended.stderr.contains(
            "system failure: prepare stopped by SIGTERM at a request that did not finish in time"
        ),
        "{}",
        ended.stderr
    );
    // It waited for the request (the bound is counted from the signal, before this clock
    // started), and not much longer.
    assert!(
        ended.took >= Duration::from_secs(14) && ended.took < Duration::from_secs(30),
        "took {:?}",
        ended.took
    );
    job.cleanup().ok();
    job.assert_nothing_left();
}
