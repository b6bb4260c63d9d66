//! A command of the driver's own fed a secret on its standard input (never in its arguments or
//! environment, which `docker inspect` and `ps` show), with nothing read back.

use std::time::Duration;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use tokio::io::AsyncWriteExt;

use super::exec::{create, finished};
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
    let attached = StartExecOptions {
        detach: false,
        tty: false,
        output_capacity: None,
    };
    let run = async {
        let id = create(engine, container, config).await?;
        let started = engine
            .docker
            .start_exec(&id, Some(attached))
            .await
            .map_err(|e| Failure::system(format!("start a command in container {container}"), e))?;
        let StartExecResults::Attached {
            input: mut sink, ..
        } = started
        else {
            return Err(Failure::System(
                "the engine detached an attached exec".into(),
            ));
        };
        // A command that exits before reading it all closes the pipe: its exit code says so.
        let _ = sink.write_all(&input).await;
        let _ = sink.shutdown().await;
        drop(sink);
        let mut pause = Duration::from_millis(5);
        loop {
            if let Some(code) = finished(engine, &id).await? {
                return Ok(code);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    };
    match tokio::time::timeout(limit, run).await {
        Ok(result) => result.map(Some),
        Err(_) => Ok(None),
    }
}
