//! A signalled prepare stops between steps, not in the middle of one. gitlab-runner cancels by
//! SIGTERM (a person by Ctrl-C); dropping the work at once would abandon create requests the
//! engine still completes after the driver is gone, behind cleanup's back. Instead the signal
//! is raised here, the requests in flight finish, and the next named step refuses to begin;
//! only the waits (the dind daemon booting, services getting ready) end at once.

use std::future::Future;

use tokio::sync::watch;

use crate::outcome::{Failure, StageResult};
use crate::signal::Stop;

/// The raised side, kept by whoever receives the signal.
pub struct Raise(watch::Sender<Option<Stop>>);

/// The side the steps look at.
#[derive(Clone)]
pub struct Halt(watch::Receiver<Option<Stop>>);

/// A pair with nothing raised yet.
pub fn halt() -> (Raise, Halt) {
    let (tx, rx) = watch::channel(None);
    (Raise(tx), Halt(rx))
}

impl Raise {
    pub fn raise(&self, stop: Stop) {
        let _ = self.0.send(Some(stop));
    }
}

impl Halt {
    /// `Err` once raised: the step named `next` does not begin.
    pub fn check(&self, next: &str) -> StageResult {
        match *self.0.borrow() {
            Some(stop) => Err(stopped(stop, next)),
            None => Ok(()),
        }
    }

    /// `work` (a wait), ended at once when a signal is raised.
    pub async fn or<F>(&self, waiting_for: &str, work: F) -> StageResult
    where
        F: Future<Output = StageResult>,
    {
        let mut rx = self.0.clone();
        tokio::select! {
            result = work => result,
            stop = raised(&mut rx) => Err(stopped(stop, waiting_for)),
        }
    }
}

async fn raised(rx: &mut watch::Receiver<Option<Stop>>) -> Stop {
    loop {
        if let Some(stop) = *rx.borrow_and_update() {
            return stop;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The failure of a stopped prepare: a system failure, so the runner's cleanup follows.
pub fn stopped(stop: Stop, at: &str) -> Failure {
    Failure::System(format!(
        "prepare stopped by {} at {at}; what it created is labelled, and cleanup removes it",
        stop.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn steps_stop_between_and_waits_at_once() {
        let (raise, halt) = halt();
        assert!(halt.check("the network").is_ok());
        let waiting = halt.or("the dind daemon", std::future::pending());
        raise.raise(Stop::Terminate);
        let err = waiting.await.unwrap_err().to_string();
        assert_eq!(
            err,
            "prepare stopped by SIGTERM at the dind daemon; what it created is labelled, and cleanup removes it"
        );
        assert!(halt
            .check("the job container")
            .unwrap_err()
            .to_string()
            .contains("at the job container"));
    }
}
