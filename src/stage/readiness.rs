//! Waiting for the dind sidecar's daemon: poll its API, never sleep a fixed time. Three things
//! race: the daemon answering, the sidecar dying (no point waiting out the timeout), and the
//! configured timeout. A failure shows the sidecar's last log lines and is a system failure,
//! so the runner retries prepare.

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
    sidecar: &str,
    socket_dir: Option<String>,
    timeout: Duration,
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
/// socket file in the volume directly.
async fn poll_socket(path: &str) {
    loop {
        if Path::new(path).exists() {
            if let Some(probe) = Engine::probe_unix(path) {
                if probe.ping().await {
                    return;
                }
            }
        }
        tokio::time::sleep(SOCKET_POLL).await;
    }
}

/// The engine is remote, or its volumes are not readable here: ask inside the sidecar.
async fn poll_exec(engine: &Engine, sidecar: &str) {
    let cmd = ["docker", "-H", &format!("unix://{DIND_SOCKET}"), "version"]
        .map(String::from)
        .to_vec();
    loop {
        if let Ok(0) = docker::exec_status(engine, sidecar, cmd.clone()).await {
            return;
        }
        tokio::time::sleep(EXEC_POLL).await;
    }
}

async fn show_logs(engine: &Engine, sidecar: &str) {
    let logs = docker::logs_tail(engine, sidecar, LOG_LINES).await;
    say(&format!("last {LOG_LINES} log lines of {sidecar}:"));
    for line in logs.lines() {
        eprintln!("  {line}");
    }
}
