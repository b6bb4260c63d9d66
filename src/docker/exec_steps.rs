//! The steps every exec of the driver is built from: create it, start it with its streams
//! attached, keep only its stdout, and learn its exit code. `exec.rs`, `exec_input.rs` and
//! `exec_read.rs` differ in what they feed and read, not in these.

use std::pin::Pin;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWrite;

use super::Engine;
use crate::outcome::Failure;

/// What an attached exec sends back: its stdout and stderr frames.
pub(super) type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, BollardError>> + Send>>;
/// What an attached exec reads: its stdin.
pub(super) type Input = Pin<Box<dyn AsyncWrite + Send>>;

pub(super) async fn create(
    engine: &Engine,
    container: &str,
    config: ExecConfig,
) -> Result<String, Failure> {
    engine
        .docker
        .create_exec(container, config)
        .await
        .map(|r| r.id)
        .map_err(|e| Failure::system(format!("create an exec in container {container}"), e))
}

/// Start exec `id` with its streams attached; `what` names it in the error ("the stage",
/// "a command").
pub(super) async fn start_attached(
    engine: &Engine,
    container: &str,
    id: &str,
    what: &str,
) -> Result<(Output, Input), Failure> {
    let attached = StartExecOptions {
        detach: false,
        tty: false,
        output_capacity: None,
    };
    let started = engine
        .docker
        .start_exec(id, Some(attached))
        .await
        .map_err(|e| Failure::system(format!("start {what} in container {container}"), e))?;
    match started {
        StartExecResults::Attached { output, input } => Ok((output, input)),
        StartExecResults::Detached => Err(Failure::System(
            "the engine detached an attached exec".into(),
        )),
    }
}

/// The stdout chunks of `output`; stderr and the rest are dropped unread.
pub(super) fn stdout_only(
    output: Output,
) -> impl Stream<Item = Result<impl AsRef<[u8]>, BollardError>> {
    output.filter_map(|frame| {
        std::future::ready(match frame {
            Ok(LogOutput::StdOut { message }) => Some(Ok(message)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
    })
}

/// The exit code of an exec that may run a while: asked again with a growing pause. It waits
/// as long as the exec runs; the caller bounds it.
pub(super) async fn wait_for_exit(engine: &Engine, id: &str) -> Result<i64, Failure> {
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(code) = finished(engine, id).await? {
            return Ok(code);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// The exit code of an exec whose output has ended. The output stream can end a moment before
/// the engine records the exit, so a still-running exec is asked again briefly.
pub(super) async fn exit_code(engine: &Engine, id: &str) -> Result<i64, Failure> {
    for _ in 0..200 {
        match finished(engine, id).await? {
            Some(code) => return Ok(code),
            None => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    Err(Failure::System(
        "the engine never reported the stage's exit code".into(),
    ))
}

/// The exec's exit code once it has ended; `None` while it runs.
async fn finished(engine: &Engine, id: &str) -> Result<Option<i64>, Failure> {
    let info = engine
        .docker
        .inspect_exec(id)
        .await
        .map_err(|e| lost(engine, e))?;
    Ok(match (info.running, info.exit_code) {
        (Some(true), _) | (_, None) => None,
        (_, Some(code)) => Some(code),
    })
}

/// The engine went away under a running stage (restarted, crashed, unreachable).
pub(super) fn lost(engine: &Engine, e: impl std::fmt::Display) -> Failure {
    Failure::System(format!(
        "lost the Docker engine at {} while the stage ran ({e}); the stage's result is unknown",
        engine.host()
    ))
}
