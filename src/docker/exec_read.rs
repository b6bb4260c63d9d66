//! A command of the driver's own that reads files out of a job's container (a local run's
//! artifacts and caches): its input fed on stdin, its stdout read as bytes, bounded in size
//! and time like every read of what a job controls (`bounded.rs`), with the cap the caller
//! names for the files it moves.

use std::time::Duration;

use bollard::models::ExecConfig;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::bounded::{self, End};
use super::exec_steps::{create, exit_code, start_attached, stdout_only};
use super::Engine;
use crate::outcome::Failure;

/// Run `cmd` in `container` with `input` on stdin; its exit code and at most `cap` bytes of
/// stdout (stderr is not read). More than `cap` bytes, or no end by `limit`, is an error.
pub async fn exec_read(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
    input: Vec<u8>,
    cap: usize,
    limit: Duration,
) -> Result<(i64, Vec<u8>), Failure> {
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(false),
        tty: Some(false),
        cmd: Some(cmd),
        ..Default::default()
    };
    let deadline = Instant::now() + limit;
    let late = || {
        Failure::System(format!(
            "reading files from {container} took longer than {} s",
            limit.as_secs()
        ))
    };
    let run = async {
        let id = create(engine, container, config).await?;
        let (output, mut sink) = start_attached(engine, container, &id, "a command").await?;
        let feed = async move {
            let _ = sink.write_all(&input).await;
            let _ = sink.shutdown().await;
        };
        // One byte more than the cap tells "exactly the cap" from "more".
        let stdout = stdout_only(output);
        let ((), read) = tokio::join!(feed, bounded::collect(stdout, cap + 1, deadline));
        match read.end {
            End::Whole if read.bytes.len() <= cap => {}
            End::Late => return Err(late()),
            _ => {
                return Err(Failure::User(format!(
                    "the files read from {container} come to more than {} MiB, the most a local run moves",
                    cap >> 20
                )))
            }
        }
        Ok((exit_code(engine, &id).await?, read.bytes))
    };
    tokio::time::timeout_at(deadline, run)
        .await
        .unwrap_or_else(|_| Err(late()))
}
