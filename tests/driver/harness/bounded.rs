//! Every call of the binary in a test is bounded in time.

use std::process::{Command, Output};

/// The longest any one call of the binary may take in a test: a hung call fails its test
/// instead of stalling the suite.
pub const CALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(240);

/// `Command::output`, bounded by [`CALL_LIMIT`]: past it the process is killed and the test
/// fails, naming the call.
pub trait Bounded {
    fn bounded_output(&mut self) -> std::io::Result<Output>;
}

impl Bounded for Command {
    fn bounded_output(&mut self) -> std::io::Result<Output> {
        use std::io::Read;
        let mut child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let read = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = read(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = read(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() > CALL_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{:?} took longer than {CALL_LIMIT:?}",
                    self.get_args().collect::<Vec<_>>()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        Ok(Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}
