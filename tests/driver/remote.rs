//! A remote engine over TLS (`docker.host: tcp://…` with `docker.cert_path`): a job runs there
//! and nothing of it reaches the local engine; each TLS failure (a CA that did not sign the
//! engine's certificate, a host name the certificate does not carry, no client certificate,
//! an expired one) is one line naming the file or the host, a system failure, with nothing
//! made on either engine; `executor doctor` names the connection.

use rcgen::ExtendedKeyUsagePurpose;

use crate::harness::{doctor, Job, ALL_MODES, BUSYBOX_IMAGE, DIND_IMAGE, JOB_IMAGE};
use crate::remote_engine::{Ca, RemoteEngine};

const DAY: i64 = 24 * 3600;
const HTTP_IMAGE: &str = "executor-test/http:1";

/// Nothing carrying `label` on the remote engine.
fn nothing_made(remote: &RemoteEngine, label: &str) {
    let left = remote.labelled(label);
    assert!(left.is_empty(), "left on the remote engine: {left}");
}

#[test]
fn a_job_runs_on_a_tls_engine_and_each_tls_failure_is_one_line() {
    let remote = RemoteEngine::start(&[JOB_IMAGE, HTTP_IMAGE, DIND_IMAGE]);
    let base = format!("image: {JOB_IMAGE}\npull_policy: never\n");
    let config = format!(
        "{base}services:\n  wait_timeout: 6s\n{}",
        remote.config(&remote.cert_path())
    );

    // A whole job, there and only there. Its services' ports are tried from inside the job's
    // network, through the engine: one opens after 4 s (waited for: at least 2 s of them
    // fall after the wait began, however slowly the job's containers start), one never does.
    let services = format!(
        r#"[{{"name":"{HTTP_IMAGE}","alias":"web","command":["sh","-c","sleep 4; exec httpd -f -p 8080 -h /www"]}},
            {{"name":"{HTTP_IMAGE}","alias":"deaf","command":["sh","-c","exec sleep 600"]}}]"#
    );
    let job = Job::with_config("none", &config).payload_services(&services, &[]);
    let prepared = job.prepare();
    prepared.ok();
    let waited = prepared
        .stderr
        .lines()
        .find(|l| l.ends_with(": TCP 8080 answers"))
        .and_then(|l| l.split(" ready in ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|s| s.parse::<f64>().ok());
    assert!(
        waited.is_some_and(|s| s >= 2.0),
        "the port that opens after 2 s was not waited for: {}",
        prepared.stderr
    );
    assert!(
        prepared.stderr.contains("TCP 8080 did not answer"),
        "{}",
        prepared.stderr
    );
    assert!(
        prepared.stderr.contains(&format!("at {}", remote.host())),
        "{}",
        prepared.stderr
    );
    let label = format!("label=io.executor.job-key={}", job.key());
    assert!(
        !remote.labelled(&label).is_empty(),
        "nothing made on the remote engine"
    );
    job.assert_nothing_left();
    let run = job.run("build_script", "echo ran-remotely");
    run.ok();
    assert!(run.stdout.contains("ran-remotely"), "{}", run.stdout);
    // Cancelled as the runner cancels: the script stops inside the remote container.
    let long = job.start_run("build_script", "echo started\nsleep 300\necho never");
    long.wait_for_line("started");
    long.signal("TERM");
    let ended = long.end();
    assert!(
        ended.took < std::time::Duration::from_secs(10),
        "took {:?}",
        ended.took
    );
    assert_eq!(ended.code, Some(1), "{}", ended.stderr);
    assert!(!ended.stdout.contains("never"), "{}", ended.stdout);
    let top = remote.docker(&["top", &job.container(), "-o", "pid,args"]);
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(!top.contains("sleep 300"), "{top}");
    job.cleanup().ok();
    nothing_made(&remote, &label);
    job.assert_nothing_left();

    // A dind job there: its sidecar runs inside the remote engine, and the job's docker
    // talks to that sidecar's daemon, not to the remote engine.
    let dind_config = format!(
        "{base}dind:\n  image: {DIND_IMAGE}\n  cache: project\n  warm: true\n{}",
        remote.config(&remote.cert_path())
    );
    let remote_id =
        String::from_utf8_lossy(&remote.docker(&["info", "--format", "{{.ID}}"]).stdout)
            .trim()
            .to_string();
    let dind = Job::with_config("dind", &dind_config);
    dind.prepare().ok();
    let inner = dind.run("build_script", "docker info --format 'inner {{.ID}}'");
    inner.ok();
    assert!(
        inner.stdout.contains("inner ") && !inner.stdout.contains(&remote_id),
        "{}",
        inner.stdout
    );
    let cleaned = dind.cleanup();
    cleaned.ok();
    assert!(
        cleaned.stderr.contains("started warm sidecar"),
        "{}",
        cleaned.stderr
    );
    nothing_made(
        &remote,
        &format!("label=io.executor.job-key={}", dind.key()),
    );
    dind.assert_nothing_left();
    // The project's next dind job in the slot adopts the warm sidecar, through the engine.
    let next = Job::with_config("dind", &dind_config).var(
        "CI_CONCURRENT_ID",
        dind.job_var("CI_CONCURRENT_ID").unwrap_or_default(),
    );
    let prepared = next.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains("adopted warm sidecar"),
        "{}",
        prepared.stderr
    );
    next.run("build_script", "docker version --format ok").ok();
    next.cleanup().ok();
    nothing_made(
        &remote,
        &format!("label=io.executor.job-key={}", next.key()),
    );
    next.assert_nothing_left();

    // doctor names the connection and the engine certificate's names, and measures the
    // project's layer cache the dind job kept there, through the engine.
    let (_, said) = doctor(&dind_config);
    assert!(
        said.lines().any(|l| l.starts_with("info  cache ")
            && l.contains("-dind-cache: ")
            && !l.contains("size unknown")),
        "{said}"
    );
    let line = format!(
        "info  connection: {} over TLS, verified against {}/ca.pem: the engine's certificate \
         names IP:127.0.0.1, DNS:engine.test; valid until",
        remote.host(),
        remote.cert_path().display()
    );
    assert!(said.contains(&line), "{line}\n{said}");
    let engine = "(API 1.";
    assert!(
        said.lines()
            .any(|l| l.contains(engine) && l.contains(&format!("at {}", remote.host()))),
        "no engine line with its API version:\n{said}"
    );
    // gc measures it the same way (a dry run: the cache stays for the TLS checks below).
    let runner = dind.job_var("CI_RUNNER_ID").unwrap_or_default();
    let gc = dind.call(&["gc", "--runner-id", runner, "--dry-run"]);
    gc.ok();
    assert!(
        gc.stderr.lines().any(|l| l.contains("cache ")
            && l.contains("-dind-cache: ")
            && (l.ends_with(", idle") || l.ends_with(", in use"))
            && !l.contains("size unknown")),
        "{}",
        gc.stderr
    );

    // Each TLS failure: exit 2 (the runner retries), one line, nothing made anywhere (the
    // first job's project cache volume stays, by design).
    let managed = "label=io.executor.managed=true";
    let kept = remote.labelled(managed);
    let other = Ca::new("another CA");
    let client = || {
        remote
            .ca
            .leaf(&[], ExtendedKeyUsagePurpose::ClientAuth, DAY)
    };
    let wrong_ca = other.client_dir(Some(client()));
    let no_client = remote.ca.client_dir(None);
    let expired = remote.ca.client_dir(Some(remote.ca.leaf(
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
        -DAY,
    )));
    let by_name = format!("tcp://localhost:{}", remote.port);
    let cases = [
        (
            remote.config(wrong_ca.path()),
            format!(
                "the engine at {} presented a certificate that {}/ca.pem did not sign",
                remote.host(),
                wrong_ca.path().display()
            ),
        ),
        (
            format!(
                "docker:\n  host: {by_name}\n  cert_path: {}\n",
                remote.cert_path().display()
            ),
            format!("the engine's certificate does not name the host of {by_name}"),
        ),
        (
            remote.config(no_client.path()),
            format!(
                "the engine at {} wants a client certificate and {} has none",
                remote.host(),
                no_client.path().display()
            ),
        ),
        (
            remote.config(expired.path()),
            format!("TLS file {}/cert.pem expired on ", expired.path().display()),
        ),
    ];
    for (docker_section, want) in cases {
        let job = Job::with_config("none", &format!("{base}{docker_section}"));
        let prepare = job.prepare();
        prepare.expect(2);
        let last = prepare.stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("executor: system failure: ") && last.contains(&want),
            "{want}\n{}",
            prepare.stderr
        );
        job.cleanup();
        assert_eq!(remote.labelled(managed), kept, "made on the remote engine");
        job.assert_nothing_left();
    }
}

/// A socket job on a remote engine gets that engine's own socket, and its builds directory is
/// made on that engine's host (nothing on this one), closed to other users there, bind-mounted
/// at the same path so `docker run -v "$CI_PROJECT_DIR:/src"` sees the checkout, and removed
/// there by cleanup.
#[test]
fn a_socket_job_on_a_tls_engine_uses_that_hosts_socket_and_builds_dir() {
    let remote = RemoteEngine::start(&[JOB_IMAGE, BUSYBOX_IMAGE]);
    let config = format!(
        "image: {JOB_IMAGE}\npull_policy: never\n{ALL_MODES}{}",
        remote.config(&remote.cert_path())
    );
    let job = Job::with_config("socket", &config);
    job.prepare().ok();
    let dir = job.builds_dir();
    let remote_id =
        String::from_utf8_lossy(&remote.docker(&["info", "--format", "{{.ID}}"]).stdout)
            .trim()
            .to_string();
    let run = job.run(
        "build_script",
        &format!(
            "mkdir -p '{dir}/p' && echo from-the-checkout > '{dir}/p/f'\n\
             docker run --rm -v '{dir}/p:/src' {BUSYBOX_IMAGE} cat /src/f\n\
             docker info --format 'engine {{{{.ID}}}}'"
        ),
    );
    run.ok();
    assert!(run.stdout.contains("from-the-checkout"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("engine {remote_id}")),
        "not the remote engine's socket: {}",
        run.stdout
    );
    assert!(
        !std::path::Path::new(&dir).exists(),
        "{dir} was made on this host"
    );
    let root = std::path::Path::new(&dir)
        .parent()
        .unwrap()
        .display()
        .to_string();
    let on_remote_host = |args: &[&str]| {
        let mut all = vec!["exec", remote.name.as_str()];
        all.extend(args);
        std::process::Command::new("docker")
            .args(all)
            .output()
            .unwrap()
    };
    let mode = on_remote_host(&["stat", "-c", "%a", &root]);
    assert_eq!(
        String::from_utf8_lossy(&mode.stdout).trim(),
        "700",
        "{root}"
    );
    assert!(on_remote_host(&["test", "-d", &dir]).status.success());
    // Closed once per engine, and recorded there: the next prepare runs no task for it
    // (the root opened by hand below stays open through it), every cleanup closes it again.
    let marker = remote.labelled("label=io.executor.role=builds-root");
    assert!(
        marker.starts_with("executor-builds-root-closed-"),
        "no marker volume: {marker:?}"
    );
    assert!(on_remote_host(&["chmod", "0755", &root]).status.success());
    let mode_of_root = || {
        let out = on_remote_host(&["stat", "-c", "%a", &root]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };

    // A job whose cleanup never came: its resources gone from the engine, its directory
    // left on the engine's host; gc removes that, never the live job's.
    let abandoned = Job::with_config("socket", &config);
    abandoned.prepare().ok();
    assert_eq!(mode_of_root(), "755", "a second task closed the root");
    let left_dir = abandoned.builds_dir();
    abandoned.run("get_sources", "echo checkout > f").ok();
    let label = format!("label=io.executor.job-key={}", abandoned.key());
    for kind in [
        &["ps", "-aq"][..],
        &["network", "ls", "-q"],
        &["volume", "ls", "-q"],
    ] {
        let mut args = kind.to_vec();
        args.extend(["--filter", &label]);
        let ids = String::from_utf8_lossy(&remote.docker(&args).stdout).to_string();
        for id in ids.split_whitespace() {
            let rm: &[&str] = match kind[0] {
                "ps" => &["rm", "-fv"],
                "network" => &["network", "rm"],
                _ => &["volume", "rm"],
            };
            remote.docker(&[rm, &[id]].concat());
        }
    }
    assert!(on_remote_host(&["test", "-d", &left_dir]).status.success());
    let gc = abandoned.call(&["gc", "--runner-id", "900", "--grace", "0s"]);
    gc.ok();
    assert!(
        !on_remote_host(&["test", "-e", &left_dir]).status.success(),
        "gc left {left_dir}: {}",
        gc.stderr
    );
    assert!(
        gc.stderr.contains(&format!(
            "removing builds directory {left_dir} on the engine's host"
        )),
        "{}",
        gc.stderr
    );
    assert!(
        on_remote_host(&["test", "-d", &dir]).status.success(),
        "gc took the live job's directory"
    );
    assert!(
        remote
            .labelled("label=io.executor.role=builds-root")
            .starts_with("executor-builds-root-closed-"),
        "gc took the builds root's marker"
    );
    abandoned.assert_nothing_left();
    let cleaned = job.cleanup();
    cleaned.ok();
    assert!(
        !on_remote_host(&["test", "-e", &dir]).status.success(),
        "cleanup left {dir} on the engine's host: {}",
        cleaned.stderr
    );
    assert_eq!(
        mode_of_root(),
        "700",
        "cleanup did not close the root again"
    );
    let label = format!("label=io.executor.job-key={}", job.key());
    nothing_made(&remote, &label);
    let tasks = remote.labelled("label=io.executor.role=host-task");
    assert!(tasks.is_empty(), "host tasks left: {tasks}");
    job.assert_nothing_left();
}

/// `docker.insecure: true` against an engine that answers over plain HTTP: `executor doctor`
/// says so as a warning, not as information. The "engine" is a stub on a loopback port that
/// answers every request with a version; nothing is made anywhere.
#[test]
fn doctor_warns_about_a_plain_http_engine() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let body = r#"{"Version":"28.0.0","ApiVersion":"1.48","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}"#;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let host = format!("tcp://127.0.0.1:{port}");
    let (_, said) = doctor(&format!(
        "docker:\n  host: {host}\n  insecure: true\n  timeout: 5s\n"
    ));
    let line = format!("warn  connection: {host} over plain HTTP, no TLS (docker.insecure)");
    assert!(said.contains(&line), "{line}\n{said}");
}

/// A cleanup killed while its short-lived container removes the builds directory on the
/// engine's host (gitlab-runner's SIGTERM; cleanup does not catch it) leaves that container
/// behind; `executor gc` collects it once it has ended, with the directory.
#[test]
fn a_host_task_left_by_a_killed_cleanup_is_collected_by_gc() {
    use std::time::{Duration, Instant};
    let remote = RemoteEngine::start(&[JOB_IMAGE]);
    let config = format!(
        "image: {JOB_IMAGE}\npull_policy: never\n{ALL_MODES}{}",
        remote.config(&remote.cert_path())
    );
    let job = Job::with_config("socket", &config).runner("974");
    job.prepare().ok();
    // Enough files that removing them takes a moment.
    job.run(
        "build_script",
        "mkdir many && cd many && seq 1 100000 | xargs touch",
    )
    .ok();
    let tasks = "label=io.executor.role=host-task";
    let task_ids = || {
        String::from_utf8_lossy(&remote.docker(&["ps", "-aq", "--filter", tasks]).stdout)
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let mut cleanup = job.spawn(&["cleanup"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let left = loop {
        let ids = task_ids();
        if !ids.is_empty() {
            break ids;
        }
        assert!(Instant::now() < deadline, "cleanup started no host task");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Command::new("kill")
        .args(["-TERM", &cleanup.id().to_string()])
        .status()
        .unwrap();
    cleanup.wait().unwrap();
    for id in &left {
        remote.docker(&["wait", id]);
    }
    assert_eq!(task_ids(), left, "the killed cleanup's task did not stay");

    let gc = job.call(&["gc", "--runner-id", "974", "--grace", "0s"]);
    gc.ok();
    let after = task_ids();
    assert!(
        after.is_empty(),
        "host tasks left after gc: {after:?}\n{}",
        gc.stderr
    );
    job.cleanup().ok();
    nothing_made(&remote, &format!("label=io.executor.job-key={}", job.key()));
    nothing_made(&remote, tasks);
    job.assert_nothing_left();
}

/// A job's `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` (they reach the driver as
/// `CUSTOM_ENV_…`) do not choose the engine the driver drives: the job runs on the driver's.
#[test]
fn a_jobs_docker_variables_do_not_choose_the_engine() {
    let job = Job::with_config("none", &format!("image: {JOB_IMAGE}\npull_policy: never\n"))
        .runner("974")
        .var("DOCKER_HOST", "tcp://127.0.0.1:1")
        .var("DOCKER_TLS_VERIFY", "1")
        .var("DOCKER_CERT_PATH", "/nonexistent");
    let prepared = job.prepare();
    prepared.ok();
    assert!(
        prepared.stderr.contains("at unix:///var/run/docker.sock"),
        "{}",
        prepared.stderr
    );
    job.cleanup().ok();
    job.assert_nothing_left();
    // The slot's kept cache_dir volume, which outlives the job by design.
    let slot = job.job_var("CI_CONCURRENT_ID").unwrap_or_default();
    let cache = format!("{}-p77-c{slot}-cache", crate::harness::stem("974"));
    let removed = std::process::Command::new("docker")
        .args(["volume", "rm", &cache])
        .status()
        .unwrap();
    assert!(removed.success(), "no {cache} to remove");
}

/// Through a remote engine cleanup measures a project's layer cache with the admin's image,
/// not with `du` inside the job's own sidecar: the job is root in its daemon and can replace
/// that `du` (or make it outlast its time), and a cache over `dind.cache_max_size` would then
/// stay, growing, until a gc. Runner 976.
#[test]
fn a_jobs_sidecar_does_not_decide_its_remote_cache_size() {
    let remote = RemoteEngine::start(&[JOB_IMAGE, DIND_IMAGE]);
    let config = format!(
        "image: {JOB_IMAGE}\npull_policy: never\ndind:\n  image: {DIND_IMAGE}\n  cache: \
         project\n  cache_max_size: 1MiB\n{}",
        remote.config(&remote.cert_path())
    );
    let job = Job::with_config("dind", &config).runner("976");
    job.prepare().ok();
    // Over 1 MiB of layers, then a `du` in the sidecar that says the cache is tiny.
    let lie = r##"mkdir -p ctx && cp /bin/busybox ctx/busybox
printf 'FROM scratch\nCOPY busybox /bin/busybox\n' > ctx/Dockerfile
docker build -q -t cached-image:1 ctx
docker run --rm --network none -v /:/h cached-image:1 /bin/busybox sh -c \
  'printf "#!/bin/sh\necho 1 /var/lib/docker\n" > /h/usr/local/bin/du && /bin/busybox chmod 755 /h/usr/local/bin/du'
echo planted"##;
    let ran = job.run("build_script", lie);
    ran.ok();
    assert!(ran.stdout.contains("planted"), "{}", ran.stdout);
    let cleaned = job.cleanup();
    cleaned.ok();
    assert!(
        cleaned.stderr.contains("over dind.cache_max_size"),
        "{}",
        cleaned.stderr
    );
    nothing_made(&remote, "label=io.executor.role=dind-cache");
    nothing_made(&remote, &format!("label=io.executor.job-key={}", job.key()));
    job.assert_nothing_left();
}

/// A layer cache whose bulk lies below a path longer than `PATH_MAX` (a job's inner
/// containers can make one: `mv` a deep tree under another) is out of busybox `du`'s reach:
/// it walks, says less and exits 1. Through a remote engine that counts as too large, as the
/// local walk counts such a path, not as "size unknown", which no gc ever dropped. Runner 976.
#[test]
fn a_cache_hidden_below_path_max_is_taken_as_too_large_remotely() {
    let remote = RemoteEngine::start(&[BUSYBOX_IMAGE]);
    let cache = "executor-r976-p9761-c0-dind-cache";
    remote.docker(&[
        "volume",
        "create",
        "--label",
        "io.executor.managed=true",
        "--label",
        "io.executor.role=dind-cache",
        "--label",
        "io.executor.runner-id=976",
        cache,
    ]);
    let hide = r#"n=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
chain() { p=$1; i=0; while [ $i -lt 60 ]; do p=$p/$n; i=$((i+1)); done; echo $p; }
a=$(chain /v/a); b=$(chain /v/b)
mkdir -p $a $b && head -c 3000000 /dev/urandom > $b/big && mv /v/b $a/"#;
    let made = remote.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{cache}:/v"),
        BUSYBOX_IMAGE,
        "sh",
        "-c",
        hide,
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let config = format!(
        "image: {BUSYBOX_IMAGE}\npull_policy: never\nhelper:\n  image: {BUSYBOX_IMAGE}\n\
         dind:\n  cache: project\n  cache_max_size: 1MiB\n{}",
        remote.config(&remote.cert_path())
    );
    let gc = Job::with_config("none", &config).runner("976").call(&[
        "gc",
        "--runner-id",
        "976",
        "--dry-run",
    ]);
    gc.ok();
    assert!(
        gc.stderr.contains(&format!(
            "would drop cache {cache} (size unknown (too many entries), taken as over"
        )),
        "{}{}",
        gc.stderr,
        remote.labelled("label=io.executor.runner-id=976")
    );
    remote.docker(&["volume", "rm", cache]);
    nothing_made(&remote, "label=io.executor.runner-id=976");
}
