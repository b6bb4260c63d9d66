//! A command of the driver's own fed a secret on its standard input (never in its arguments or
//! environment, which `docker inspect` and `ps` show), with nothing read back.

use std::time::Duration;

use bollard::models::ExecConfig;
use tokio::io::AsyncWriteExt;

use super::exec_steps::{create, start_attached, wait_for_exit};
use super::Engine;
use crate::outcome::Failure;

/// Run `cmd` in `container` with `input` on its stdin; its exit code, or `None` when it had
/// not ended by `limit`. No output is attached, so nothing the container prints is read.
pub async fn exec_with_input(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
    input: Vec<u8>,
    limit: Duration,
) -> Result<Option<i64>, Failure> {
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        cmd: Some(cmd),
        ..Default::default()
    };
    let run = async {
        let id = create(engine, container, config).await?;
        let (_, mut sink) = start_attached(engine, container, &id, "a command").await?;
        // A command that exits before reading it all closes the pipe: its exit code says so.
        let _ = sink.write_all(&input).await;
        let _ = sink.shutdown().await;
        drop(sink);
        wait_for_exit(engine, &id).await
    };
    match tokio::time::timeout(limit, run).await {
        Ok(result) => result.map(Some),
        Err(_) => Ok(None),
    }
}
