//! What a person sees during a local run: a line per step with its duration, colour on a
//! terminal, none when piped or when `NO_COLOR` is set. All on stderr; the job's own output
//! keeps stdout. The driver's text prints as one line each, as `say` makes it: a checkout's
//! pipeline file names the images, and a registry's error about one must not forge lines.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::outcome::one_line;

#[derive(Clone, Copy)]
pub struct Report {
    color: bool,
}

const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

impl Report {
    /// Colour only for a terminal, and never with `NO_COLOR` set to anything non-empty.
    pub fn detect(no_color: Option<&str>) -> Report {
        let color = std::io::stderr().is_terminal() && no_color.is_none_or(str::is_empty);
        Report { color }
    }

    pub fn color(&self) -> bool {
        self.color
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }

    /// A step begins (its own output follows).
    pub fn start(&self, step: &str) {
        let step = one_line(step);
        self.line(&self.paint(BOLD, &format!("── {step}")));
    }

    pub fn passed(&self, step: &str, took: Duration) {
        self.line(&format!(
            "{} {step} {}",
            self.paint(GREEN, "✔"),
            seconds(took)
        ));
    }

    pub fn failed(&self, step: &str, why: &str, took: Duration) {
        self.line(&format!(
            "{} {step} {} {}",
            self.paint(RED, "✘"),
            one_line(why),
            seconds(took)
        ));
    }

    pub fn note(&self, text: &str) {
        self.line(&self.paint(YELLOW, &format!("executor: {}", one_line(text))));
    }

    pub fn info(&self, text: &str) {
        self.line(&format!("executor: {}", one_line(text)));
    }

    pub fn error(&self, text: &str) {
        let shown = one_line(text);
        self.line(&format!("{} {shown}", self.paint(RED, "executor: error:")));
    }

    /// The job's verdict, last.
    pub fn verdict(&self, job: &str, code: i32, took: Duration) {
        let job = one_line(job);
        let text = if code == 0 {
            self.paint(GREEN, &format!("job {job} passed"))
        } else {
            self.paint(RED, &format!("job {job} failed with exit code {code}"))
        };
        self.line(&format!(
            "{} in {}",
            self.paint(BOLD, &text),
            seconds(took).trim_matches(['(', ')'])
        ));
    }
}

fn seconds(took: Duration) -> String {
    format!("({:.1} s)", took.as_secs_f64())
}
