//! Waiting for the dind sidecar's daemon: poll its API, never sleep a fixed time. Three things
//! race: the daemon answering, the sidecar dying (no point waiting out the timeout), and the
//! configured timeout. A failure shows the sidecar's last log lines and is a system failure,
//! so the runner retries prepare; unless the sidecar was killed for memory under its own
//! limit, which a retry meets again (the job's `EXECUTOR_DIND_MEMORY`, or the admin's limit).

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::docker::{self, Engine};
use crate::outcome::{say, Failure, StageResult};
use crate::plan::DIND_SOCKET;

/// Between two probes of the socket file: cheap, and small next to dockerd's ~2 s boot.
const SOCKET_POLL: Duration = Duration::from_millis(10);
/// Between two exec probes, which cost the engine a process start each.
const EXEC_POLL: Duration = Duration::from_millis(100);
const LOG_LINES: usize = 20;

pub async fn wait_for_dind(
    engine: &Engine,
    env: &crate::env::JobEnv,
    sidecar: &str,
    socket_dir: Option<String>,
    timeout: Duration,
    since: super::log_lines::Moment,
) -> StageResult {
    let started = Instant::now();
    let answered = async {
        match socket_dir.filter(|dir| Path::new(dir).is_dir()) {
            Some(dir) => poll_socket(&format!("{dir}/docker.sock")).await,
            None => poll_exec(engine, sidecar).await,
        }
    };
    let problem = tokio::select! {
        () = answered => {
            say(&format!("dind daemon answered after {:.1} s", started.elapsed().as_secs_f64()));
            return Ok(());
        }
        how = docker::wait_until_exit(engine, sidecar) => {
            if let Some(why) = super::limit_hits::too_little_memory(engine, env, sidecar, since).await {
                return Err(Failure::User(format!(
                    "the dind sidecar {sidecar} was killed for memory before its daemon \
                     answered: {why}"
                )));
            }
            format!("the dind sidecar {sidecar} {how} before its daemon answered")
        }
        () = tokio::time::sleep(timeout) => format!(
            "the dind daemon in {sidecar} did not answer on {DIND_SOCKET} within {} s \
             (dind.ready_timeout); the dind image must serve $DOCKER_HOST like docker:dind",
            timeout.as_secs()
        ),
    };
    show_logs(engine, sidecar).await;
    Err(Failure::System(problem))
}

/// The driver shares the engine's host (the usual setup): talk to the daemon through the
/// socket file in the volume directly. The job container mounts that volume read-only, so it
/// cannot plant a socket or symlink there; still only a path that is itself a socket is
/// connected to, and the ping reads a bounded answer: whatever answers on that path, it can
/// neither redirect the driver nor make it read more than [`PING_READ`] bytes.
async fn poll_socket(path: &str) {
    loop {
        if is_socket(Path::new(path)) && ping(path).await {
            return;
        }
        tokio::time::sleep(SOCKET_POLL).await;
    }
}

/// The most of a ping's answer read: the status line is all that is needed.
const PING_READ: usize = 256;
/// How long one ping may take; dockerd answers in about a millisecond.
const PING_TIME: Duration = Duration::from_secs(1);

/// `GET /_ping` over the socket at `path`, by hand: true on an HTTP 200 status line.
async fn ping(path: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::UnixStream::connect(path).await.ok()?;
        stream
            .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::with_capacity(PING_READ);
        (&mut stream)
            .take(PING_READ as u64)
            .read_to_end(&mut answer)
            .await
            .ok()?;
        Some(answer)
    };
    match tokio::time::timeout(PING_TIME, exchange).await {
        Ok(Some(answer)) => is_ok_status(&answer),
        _ => false,
    }
}

/// `HTTP/1.x 200 ...` as the first line.
fn is_ok_status(answer: &[u8]) -> bool {
    let line = answer.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|b| *b == b' ');
    parts.next().is_some_and(|v| v.starts_with(b"HTTP/1."))
        && parts.next() == Some(b"200".as_slice())
}

/// Whether `path` itself (not what a symlink there points at) is a Unix socket.
fn is_socket(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_socket())
}

/// The engine is remote, or its volumes are not readable here: ask inside the sidecar. Each
/// probe is bounded; one still running at its deadline is not an answer, so polling goes on
/// until the daemon answers, the sidecar dies or `dind.ready_timeout` passes.
///
/// A probe waits inside the sidecar rather than failing at once: a shell there watches for
/// the socket every [`INSIDE_POLL`], and `docker version` then blocks in the socket's backlog
/// until dockerd serves it, so the answer comes as the daemon is up, not at the next of a
/// series of exec round trips. The sidecar is the admin's dind image, fresh and not yet
/// reachable by the job, so its shell is trusted here. An image without a shell gets the
/// plain `docker version` probe, every [`EXEC_POLL`].
async fn poll_exec(engine: &Engine, sidecar: &str) {
    let mut waiting = true;
    loop {
        let code = if waiting {
            // Attached, so its end is seen as it happens (its output is sent nowhere).
            docker::exec_output(engine, sidecar, waiting_probe(), docker::PROBE_TIME)
                .await
                .ok()
                .map(|(code, _)| code)
        } else {
            let probe = docker::exec_status(engine, sidecar, plain_probe(), docker::PROBE_TIME);
            probe.await.ok().flatten()
        };
        match code {
            Some(0) => return,
            // No shell in the image: 126/127 from the exec itself.
            Some(126 | 127) if waiting => waiting = false,
            _ => {}
        }
        tokio::time::sleep(EXEC_POLL).await;
    }
}

/// Between two looks for the socket file inside the sidecar, by its own shell.
const INSIDE_POLL: Duration = Duration::from_millis(20);

fn plain_probe() -> Vec<String> {
    ["docker", "-H", &format!("unix://{DIND_SOCKET}"), "version"]
        .map(String::from)
        .to_vec()
}

/// The shell loop gives up by itself about when the probe's deadline passes, so a probe
/// abandoned at its deadline does not linger in the sidecar.
fn waiting_probe() -> Vec<String> {
    let looks = docker::PROBE_TIME.as_millis() / INSIDE_POLL.as_millis();
    let pause = INSIDE_POLL.as_secs_f64();
    let script = format!(
        "i=0; until [ -S {DIND_SOCKET} ]; do i=$((i+1)); [ \"$i\" -lt {looks} ] || exit 1; \
         sleep {pause}; done; exec docker -H unix://{DIND_SOCKET} version >/dev/null"
    );
    ["sh", "-c", &script].map(String::from).to_vec()
}

async fn show_logs(engine: &Engine, sidecar: &str) {
    let logs = docker::logs_tail(engine, sidecar, LOG_LINES).await;
    say(&format!("last {LOG_LINES} log lines of {sidecar}:"));
    for line in logs.lines() {
        eprintln!("  {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::is_socket;

    #[test]
    fn a_ping_is_a_200_status_line() {
        assert!(super::is_ok_status(
            b"HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\n\r\nOK"
        ));
        assert!(super::is_ok_status(b"HTTP/1.1 200 OK"));
        assert!(!super::is_ok_status(
            b"HTTP/1.1 500 Internal Server Error\r\n"
        ));
        assert!(!super::is_ok_status(b"SSH-2.0-OpenSSH\r\n"));
        assert!(!super::is_ok_status(b""));
    }

    /// A socket that answers 200 and then streams forever is read only to its cap.
    #[tokio::test]
    async fn a_flooding_socket_is_read_only_to_the_cap() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 128];
                    let _ = conn.read(&mut request).await;
                    let _ = conn
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n")
                        .await;
                    let chunk = vec![b'x'; 1 << 20];
                    while conn.write_all(&chunk).await.is_ok() {}
                });
            }
        });
        assert!(super::ping(&path.display().to_string()).await);
    }

    /// The probe is plain POSIX sh: a bounded loop, then the daemon's own answer.
    #[test]
    fn the_waiting_probe_is_bounded_and_ends_in_docker_version() {
        let cmd = super::waiting_probe();
        assert_eq!(cmd[..2], ["sh", "-c"]);
        assert!(cmd[2].contains("-lt 500 ] || exit 1"), "{}", cmd[2]);
        assert!(cmd[2].contains("sleep 0.02;"), "{}", cmd[2]);
        assert!(
            cmd[2].ends_with("exec docker -H unix:///var/run/dind/docker.sock version >/dev/null"),
            "{}",
            cmd[2]
        );
    }

    #[test]
    fn only_a_real_socket_counts() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let link = dir.path().join("planted.sock");
        std::os::unix::fs::symlink(&socket, &link).unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(is_socket(&socket));
        assert!(!is_socket(&link), "a symlink to a socket is not followed");
        assert!(!is_socket(&file));
        assert!(!is_socket(&dir.path().join("missing")));
    }
}
