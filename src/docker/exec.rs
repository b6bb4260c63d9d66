//! Running a stage script inside the job container through the engine's exec API.

use std::io::Write;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::StartExecOptions;
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::bounded::{self, End, MAX_JOB_READ};
use super::exec_steps::{create, exit_code, lost, start_attached, stdout_only, wait_for_exit};
use super::Engine;
use crate::outcome::Failure;

/// Whether what the stage script last wrote to our stdout, or to our stderr, ended mid-line.
/// The runner masks secrets line by line as it reads each stream; a line of ours written then
/// would split one of the script's lines, and a masked value in it with it. Both streams count:
/// gitlab-runner 17 masks each stream on its own, older ones mask the two as one log, and a
/// line written to stdout while stderr is mid-line lands inside that line there. Shared by
/// reference within one task, so `Cell`s are enough.
#[derive(Debug, Default)]
pub struct OpenLine {
    stdout: std::cell::Cell<bool>,
    stderr: std::cell::Cell<bool>,
}

impl OpenLine {
    /// Either stream stopped mid-line.
    pub fn is_open(&self) -> bool {
        self.stdout.get() || self.stderr.get()
    }

    /// Note what was just written to stdout.
    pub fn note(&self, written: &[u8]) {
        Self::set(&self.stdout, written);
    }

    /// Note what was just written to stderr.
    pub fn note_stderr(&self, written: &[u8]) {
        Self::set(&self.stderr, written);
    }

    fn set(open: &std::cell::Cell<bool>, written: &[u8]) {
        if let Some(last) = written.last() {
            open.set(*last != b'\n');
        }
    }
}

/// Run `cmd` in `container` with `stdin` as its standard input, copying its stdout and stderr
/// to ours as each chunk arrives (no line buffering: the job log is live), and noting in
/// `open_line` where each stream stopped. Returns the exit code.
pub async fn exec_script(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
    stdin: Vec<u8>,
    open_line: &OpenLine,
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
    let (mut output, mut input) = start_attached(engine, container, &id, "the stage").await?;

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
                    emit(&mut std::io::stdout().lock(), &message);
                    open_line.note(&message);
                }
                Ok(LogOutput::StdErr { message }) => {
                    emit(&mut std::io::stderr().lock(), &message);
                    open_line.note_stderr(&message);
                }
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

/// Run `cmd` in `container` without input or output; its exit code, or `None` when it was
/// still running at `limit` ("no answer": what that means is the caller's to say). Nothing is
/// attached, so a command the job replaced cannot make us read anything; the exec is started
/// detached and watched through `inspect_exec`. A command still running at the deadline is left
/// to run: the engine has no call to stop one exec, and it dies with its container.
pub async fn exec_status(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
    limit: Duration,
) -> Result<Option<i64>, Failure> {
    exec_status_as(engine, container, cmd, limit, None).await
}

/// [`exec_status`] as root, whatever user the container runs as: for the driver's own
/// commands on its own paths (never anything the job named).
pub async fn exec_status_as_root(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
    limit: Duration,
) -> Result<Option<i64>, Failure> {
    exec_status_as(engine, container, cmd, limit, Some("0")).await
}

async fn exec_status_as(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
    limit: Duration,
    user: Option<&str>,
) -> Result<Option<i64>, Failure> {
    let config = ExecConfig {
        attach_stdin: Some(false),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        cmd: Some(cmd),
        user: user.map(str::to_string),
        ..Default::default()
    };
    let detached = StartExecOptions {
        detach: true,
        tty: false,
        output_capacity: None,
    };
    let run = async {
        let id = create(engine, container, config).await?;
        engine
            .docker
            .start_exec(&id, Some(detached))
            .await
            .map_err(|e| Failure::system(format!("start a command in container {container}"), e))?;
        wait_for_exit(engine, &id).await
    };
    match tokio::time::timeout(limit, run).await {
        Ok(result) => result.map(Some),
        Err(_) => Ok(None),
    }
}

/// Run `cmd` in `container` and return its exit code and standard output: a measurement, never
/// a job's log. At most [`MAX_JOB_READ`] bytes are read and the whole call (create, start, read,
/// exit code) ends by `limit`; more output, or no end in time, is an error: the command's answer
/// is not usable, and reading on would let the job grow the driver without bound.
pub async fn exec_output(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
    limit: Duration,
) -> Result<(i64, String), Failure> {
    let shown = cmd.join(" ");
    let config = ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(false),
        cmd: Some(cmd),
        ..Default::default()
    };
    let deadline = Instant::now() + limit;
    let run = async {
        let id = create(engine, container, config).await?;
        let (output, _) = start_attached(engine, container, &id, "a command").await?;
        let read = bounded::collect(stdout_only(output), MAX_JOB_READ, deadline).await;
        match read.end {
            End::Whole => {}
            End::Cut => {
                return Err(Failure::System(format!(
                    "`{shown}` in {container} printed more than {} KiB",
                    MAX_JOB_READ / 1024
                )))
            }
            End::Late => return Err(late(&shown, container, limit)),
        }
        let code = exit_code(engine, &id).await?;
        Ok((code, String::from_utf8_lossy(&read.bytes).into_owned()))
    };
    tokio::time::timeout_at(deadline, run)
        .await
        .unwrap_or_else(|_| Err(late(&shown, container, limit)))
}

fn late(shown: &str, container: &str, limit: Duration) -> Failure {
    Failure::System(format!(
        "`{shown}` in {container} did not finish within {} s",
        limit.as_secs()
    ))
}

/// How long signalling a stage may take: `kill` answers at once, and a cancelled stage must
/// end even when the job replaced `sh` with something that never returns.
const SIGNAL_TIME: Duration = Duration::from_secs(2);

/// Send `signal` to every process in the container except PID 1 and the keep-alive loop:
/// `kill -1` never signals init nor the caller, and when the keep-alive is PID 1 that is all.
/// Under an entrypoint that stays PID 1 (an init), the keep-alive noted its PID, and every
/// other process is signalled one by one. Only one stage runs at a time, so these are the
/// running stage's processes. Best effort, and bounded: a container already gone has nothing
/// to stop, and a `sh` the job replaced cannot hold the stop up.
pub async fn signal_all(engine: &Engine, container: &str, signal: &str) {
    let files = crate::plan::KEEP_ALIVE_PID_FILES;
    let cmd = format!(
        "k=$(cat {files} 2>/dev/null | head -n 1); \
         if [ -z \"$k\" ]; then kill -{signal} -1; \
         else for p in /proc/[0-9]*; do p=${{p#/proc/}}; \
         case \" 1 $$ $k \" in *\" $p \"*) ;; *) kill -{signal} \"$p\";; esac; done; fi 2>/dev/null; true"
    );
    let cmd = vec!["/bin/sh".into(), "-c".into(), cmd];
    let _ = exec_status(engine, container, cmd, SIGNAL_TIME).await;
}

fn emit(out: &mut impl Write, bytes: &[u8]) {
    // The runner reads our pipes; if it has gone away there is no one left to tell.
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}
