//! Running a stage script inside the job container through the engine's exec API.

use std::io::Write;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::Engine;
use crate::outcome::Failure;

/// Run `cmd` in `container` with `stdin` as its standard input, copying its stdout and stderr
/// to ours as each chunk arrives (no line buffering: the job log is live). Returns the exit code.
pub async fn exec_script(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
    stdin: Vec<u8>,
) -> Result<i64, Failure> {
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        cmd: Some(cmd),
        ..Default::default()
    };
    let id = create(engine, container, config).await?;
    let started = engine
        .docker
        .start_exec(
            &id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: None,
            }),
        )
        .await
        .map_err(|e| Failure::system(format!("start the stage in container {container}"), e))?;
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    else {
        return Err(Failure::System(
            "the engine detached an attached exec".into(),
        ));
    };

    // Feed the script, then close stdin so the shell sees EOF. A shell that exits before
    // reading everything closes the pipe; that is the script's business, not an error.
    let feed = async move {
        let _ = input.write_all(&stdin).await;
        let _ = input.shutdown().await;
    };
    let copy = async {
        while let Some(frame) = output.next().await {
            match frame {
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    emit(&mut std::io::stdout().lock(), &message)
                }
                Ok(LogOutput::StdErr { message }) => emit(&mut std::io::stderr().lock(), &message),
                Ok(LogOutput::StdIn { .. }) => {}
                Err(e) => return Err(lost(engine, e)),
            }
        }
        Ok(())
    };
    let ((), copied) = tokio::join!(feed, copy);
    copied?;
    exit_code(engine, &id).await
}

/// Run `cmd` in `container` without input, ignoring its output; returns its exit code.
pub async fn exec_status(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
) -> Result<i64, Failure> {
    exec_output(engine, container, cmd)
        .await
        .map(|(code, _)| code)
}

/// Run `cmd` in `container` and return its exit code and standard output (small outputs only:
/// a measurement, not a job's log).
pub async fn exec_output(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
) -> Result<(i64, String), Failure> {
    let config = ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(false),
        cmd: Some(cmd),
        ..Default::default()
    };
    let id = create(engine, container, config).await?;
    let started = engine
        .docker
        .start_exec(&id, None)
        .await
        .map_err(|e| Failure::system(format!("start a command in container {container}"), e))?;
    let mut text = String::new();
    if let StartExecResults::Attached { mut output, .. } = started {
        while let Some(Ok(chunk)) = output.next().await {
            if let LogOutput::StdOut { message } = chunk {
                text.push_str(&String::from_utf8_lossy(&message));
            }
        }
    }
    Ok((exit_code(engine, &id).await?, text))
}

/// Send `signal` to every process in the container except its PID 1 (the keep-alive loop):
/// `kill -1` never signals init nor the caller. Only one stage runs at a time, so these are
/// the running stage's processes. Best effort: a container already gone has nothing to stop.
pub async fn signal_all(engine: &Engine, container: &str, signal: &str) {
    let cmd = format!("kill -{signal} -1 2>/dev/null; true");
    let _ = exec_status(engine, container, vec!["/bin/sh".into(), "-c".into(), cmd]).await;
}

async fn create(engine: &Engine, container: &str, config: ExecConfig) -> Result<String, Failure> {
    engine
        .docker
        .create_exec(container, config)
        .await
        .map(|r| r.id)
        .map_err(|e| Failure::system(format!("create an exec in container {container}"), e))
}

/// The engine went away under a running stage (restarted, crashed, unreachable).
fn lost(engine: &Engine, e: impl std::fmt::Display) -> Failure {
    Failure::System(format!(
        "lost the Docker engine at {} while the stage ran ({e}); the stage's result is unknown",
        engine.host()
    ))
}

fn emit(out: &mut impl Write, bytes: &[u8]) {
    // The runner reads our pipes; if it has gone away there is no one left to tell.
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// The exec's exit code. The output stream can end a moment before the engine records the
/// exit, so a still-running exec is asked again briefly.
async fn exit_code(engine: &Engine, id: &str) -> Result<i64, Failure> {
    for _ in 0..200 {
        let info = engine
            .docker
            .inspect_exec(id)
            .await
            .map_err(|e| lost(engine, e))?;
        match (info.running, info.exit_code) {
            (Some(true), _) | (_, None) => tokio::time::sleep(Duration::from_millis(5)).await,
            (_, Some(code)) => return Ok(code),
        }
    }
    Err(Failure::System(
        "the engine never reported the stage's exit code".into(),
    ))
}
