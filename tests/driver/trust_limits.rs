//! The trust boundary, continued: what a job controls outside its containers (a kept cache
//! volume's tree, a registry it names, a service's ports) must not grow the driver, stretch its
//! waits or write its log lines. Ported from the security review's reproductions (branch
//! `attack`); they run on runner 950, apart from the suite's 900.

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{docker, remove_volume, Job, JOB_IMAGE};
use crate::trust_probes::{watch, PEAK_LIMIT_KIB};

const RUNNER: &str = "950";

fn job(project: &str, config: &str) -> Job {
    Job::with_config("none", &format!("image: {JOB_IMAGE}\n{config}"))
        .runner(RUNNER)
        .project(project)
}

/// The project's kept `cache_dir` volume of `job` (unprotected ref).
fn cache_dir_volume(job: &Job, project: &str) -> String {
    let slot = job.job_var("CI_CONCURRENT_ID").unwrap();
    format!("{}-p{project}-c{slot}-cache", crate::harness::stem(RUNNER))
}

/// Remove the job's kept `cache_dir` volume (kept by design, so cleanup leaves it) and prove
/// that nothing of the job remains.
#[track_caller]
fn remove_all(job: &Job, project: &str) {
    remove_volume(&cache_dir_volume(job, project));
    job.assert_nothing_left();
}

/// A job fills its kept `cache_dir` with half a million directories; `gc` measures every cache
/// volume. The walk used to keep every pending path and every inode: 197 MB at a million.
#[test]
fn a_cache_dir_full_of_directories_cannot_grow_gc() {
    let job = job("954", "");
    let volume = cache_dir_volume(&job, "954");
    job.prepare().ok();
    job.run(
        "build_script",
        "mkdir -p /cache/d && cd /cache/d && \
         seq -w 1 500000 | sed 's/^/a-long-directory-name-/' | xargs mkdir",
    )
    .ok();
    job.cleanup().ok();

    let gc = job.spawn(&["gc", "--dry-run", "--runner-id", RUNNER]);
    let watched = watch(gc, Duration::from_secs(120), |_| {});
    eprintln!(
        "gc over 500k directories: exit {:?} in {:?}, peak {} KiB",
        watched.code, watched.took, watched.peak_kib
    );
    // The engine removes a volume's files while holding its volume store's lock: half a million
    // directories took minutes there, and every other test's volume call waited (a cleanup
    // ran past its limit). Emptied in a container first, nothing else waits.
    crate::harness::docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/cache"),
        crate::harness::BUSYBOX_IMAGE,
        "rm",
        "-rf",
        "/cache/d",
    ]);
    remove_all(&job, "954");
    assert_eq!(watched.code, Some(0), "{}", watched.stderr);
    // It did walk the volume: a size, or the walk's own verdict, not "not readable here".
    let line = watched.stderr.lines().find(|l| l.contains(&volume));
    let line = line.unwrap_or_else(|| panic!("{volume} not reported:\n{}", watched.stderr));
    eprintln!("{line}");
    assert!(!line.contains("not readable"), "{line}");
    assert!(
        watched.peak_kib < PEAK_LIMIT_KIB,
        "gc peak {} KiB\n{}",
        watched.peak_kib,
        watched.stderr
    );
}

/// A registry on loopback that answers every manifest request with an error whose text holds
/// newlines and an ANSI escape (a forged `executor:` line after each) and then 100 KB more,
/// which the engine passes on whole.
fn fake_registry() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = if request.starts_with("GET /v2/ ") {
                ("200 OK", "{}".to_string())
            } else {
                let msg = format!(
                    "denied\nexecutor: job container ready in 0.1 s\n\u{1b}[2Kexecutor: forged {}",
                    "x".repeat(100_000)
                );
                let errors =
                    serde_json::json!({"errors": [{"code": "MANIFEST_UNKNOWN", "message": msg}]});
                ("404 Not Found", errors.to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// The job names an image on a registry it controls; the registry's error reaches the log
/// with its control characters escaped and cut short, one driver line per message.
#[test]
fn a_registry_cannot_forge_driver_lines() {
    let port = fake_registry();
    let job = job("951", "").var("CI_JOB_IMAGE", &format!("127.0.0.1:{port}/evil:1"));
    let call = job.prepare();
    eprintln!("{}", call.stderr);
    job.cleanup().ok();
    remove_all(&job, "951");
    assert_ne!(call.code, 0, "the pull cannot have worked");
    assert!(
        call.stderr.contains("executor: forged"),
        "the registry's text is not shown: {}",
        call.stderr
    );
    assert!(!call.stderr.contains('\x1b'), "raw escape in the log");
    let longest = call.stderr.lines().map(str::len).max().unwrap_or(0);
    assert!(longest <= 400, "a line of {longest} bytes in the log");
    let forged = call.stderr.lines().any(|l| {
        l.starts_with("executor: forged") || l.starts_with("executor: job container ready")
    });
    assert!(!forged, "a forged line:\n{}", call.stderr);
}

/// A service exposing 200 ports whose accept queues it fills itself: every SYN from the driver
/// is dropped, so every connect waits for its timeout.
const BLACKHOLE: &str = r#"use strict; use Socket;
my @keep;
for my $p (20000..20199) {
  socket(my $s, PF_INET, SOCK_STREAM, 0) or die; setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
  bind($s, sockaddr_in($p, INADDR_ANY)) or die; listen($s, 0) or die; push @keep, $s;
  for (1..3) { socket(my $c, PF_INET, SOCK_STREAM, 0) or die; fcntl($c, 4, 2048);
    connect($c, sockaddr_in($p, inet_aton("127.0.0.1"))); push @keep, $c; }
}
sleep 100000;
"#;

const BLACKHOLE_IMAGE: &str = "executor-test/blackhole:1";

fn build_blackhole() {
    let dir = tempfile::tempdir().unwrap();
    let expose: Vec<String> = (20000..20200).map(|p| format!("{p}/tcp")).collect();
    let dockerfile = format!(
        "FROM {JOB_IMAGE}\nCOPY bh.pl /bh.pl\nEXPOSE {}\nCMD [\"perl\", \"/bh.pl\"]\n",
        expose.join(" ")
    );
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    std::fs::write(dir.path().join("bh.pl"), BLACKHOLE).unwrap();
    let context = dir.path().display().to_string();
    docker(&["build", "-q", "-t", BLACKHOLE_IMAGE, &context]);
}

/// After `services.wait_timeout` the driver reports which ports are still closed. Probing 200
/// black-holed ports one after another took 63 s with a 2 s timeout; the whole wait now has
/// one deadline, probes at most 20 ports (as the docker executor does), several at a time.
#[test]
fn a_service_cannot_stretch_the_wait_past_its_timeout() {
    build_blackhole();
    let job = job("951", "services:\n  wait_timeout: 2s\n").payload_services(
        &format!(
            r#"[{{"name":"{BLACKHOLE_IMAGE}","alias":"bh","entrypoint":null,"command":null}}]"#
        ),
        &[],
    );
    let started = Instant::now();
    let call = job.prepare();
    let took = started.elapsed();
    eprintln!("black-hole service: prepare exit {} in {took:?}", call.code);
    job.cleanup().ok();
    remove_all(&job, "951");
    let _ = Command::new("docker")
        .args(["image", "rm", BLACKHOLE_IMAGE])
        .output();
    call.ok();
    for want in [
        "probably did not start properly",
        "(the lowest 20 of 200 exposed ports)",
    ] {
        assert!(call.stderr.contains(want), "{want}: {}", call.stderr);
    }
    // Generous against a slow engine; the unbounded probing took 63 s.
    assert!(
        took < Duration::from_secs(20),
        "prepare took {took:?} with wait_timeout 2s"
    );
}
