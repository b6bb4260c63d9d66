//! SIGTERM and SIGINT as events (`design.md` rule 7). gitlab-runner cancels a call by sending
//! SIGTERM to the driver's whole process group, then SIGKILL after `graceful_kill_timeout`
//! (`protocol.md` §2.1); a person presses Ctrl-C. Handlers are installed when a [`Signals`] is
//! made, so make it before the work a signal should interrupt.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Terminate,
    Interrupt,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Terminate => "SIGTERM",
            Stop::Interrupt => "SIGINT",
        }
    }
}

/// Installed SIGTERM and SIGINT handlers.
pub struct Signals {
    term: Option<Signal>,
    int: Option<Signal>,
}

impl Signals {
    /// Install the handlers; if the OS refuses one, that signal keeps its default action.
    pub fn install() -> Signals {
        Signals {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    /// The next SIGTERM or SIGINT.
    pub async fn recv(&mut self) -> Stop {
        async fn next(signal: &mut Option<Signal>) {
            match signal {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = next(&mut self.term) => Stop::Terminate,
            () = next(&mut self.int) => Stop::Interrupt,
        }
    }
}
