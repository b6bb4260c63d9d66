//! A call of the binary running in the background, for tests that act while it runs (a
//! signal, a kill, a second call). Its output is read as it comes, so a test can wait for the
//! point it is named after (a line printed, a container present) instead of sleeping, and every
//! wait is bounded: a hung call fails its test instead of stalling the suite.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command};
use std::sync::mpsc::{channel, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::harness::{assert_no_canary, docker, CALL_LIMIT};

/// How long a test waits for a point of progress before it fails.
pub const PROGRESS_LIMIT: Duration = Duration::from_secs(60);

pub struct Spawned {
    child: Child,
    /// Every line of stdout and stderr, as it comes.
    lines: Receiver<String>,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

/// How a spawned call ended.
pub struct Ended {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From the call to [`Spawned::end`] (usually right after a signal) to the exit.
    pub took: Duration,
}

fn collect(
    pipe: Option<impl Read + Send + 'static>,
    lines: std::sync::mpsc::Sender<String>,
) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut all = String::new();
        let Some(pipe) = pipe else { return all };
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = lines.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    })
}

impl Spawned {
    pub fn new(mut child: Child) -> Spawned {
        let (tx, lines) = channel();
        let stdout = collect(child.stdout.take(), tx.clone());
        let stderr = collect(child.stderr.take(), tx);
        Spawned {
            child,
            lines,
            stdout,
            stderr,
        }
    }

    /// Wait until a line containing `text` is printed (on either stream); panics past
    /// [`PROGRESS_LIMIT`] or when the call ended without printing it.
    #[track_caller]
    pub fn wait_for_line(&self, text: &str) -> String {
        let deadline = Instant::now() + PROGRESS_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line with {text:?} came ({e})"),
            }
        }
    }

    /// Wait until the container `name` exists (`running`: and runs); panics past
    /// [`PROGRESS_LIMIT`].
    #[track_caller]
    pub fn wait_for_container(&self, name: &str, running: bool) {
        let deadline = Instant::now() + PROGRESS_LIMIT;
        loop {
            let state = container_state(name);
            if (!running && !state.is_empty()) || state == "running" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "container {name} never {}",
                if running { "ran" } else { "appeared" }
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Send `signal` (`TERM`, `INT`, `KILL`, ...) to the call.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// Wait for the exit (bounded by [`CALL_LIMIT`]: past it the call is killed and the test
    /// fails), then check everything it printed for the job's secrets.
    pub fn end(mut self) -> Ended {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > CALL_LIMIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("a spawned call took longer than {CALL_LIMIT:?} to end");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let took = started.elapsed();
        let stdout = self.stdout.join().unwrap();
        let stderr = self.stderr.join().unwrap();
        assert_no_canary(&stdout);
        assert_no_canary(&stderr);
        Ended {
            code: status.code(),
            stdout,
            stderr,
            took,
        }
    }
}

/// `created`, `running`, `exited`, ... or empty when no container has that exact name.
pub fn container_state(name: &str) -> String {
    docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{name}$"),
        "--format",
        "{{.State}}",
    ])
    .trim()
    .to_string()
}
