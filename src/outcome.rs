//! How a stage ended, and the one place that turns it into an exit code (`design.md` rule 1).
//!
//! gitlab-runner gives meaning to two codes only (`protocol.md` §6.1): `BUILD_FAILURE_EXIT_CODE`
//! (the job failed; not retried) and `SYSTEM_FAILURE_EXIT_CODE` (infrastructure failed; prepare
//! is retried). The script's own code travels in `BUILD_EXIT_CODE_FILE`.

use std::io::Write;
use std::process::ExitCode;

use crate::env::JobEnv;

/// Why a stage did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A mistake in the job or config that retrying cannot fix (bad mode value, bad config).
    #[error("{0}")]
    User(String),
    /// The job's script exited with this non-zero code.
    #[error("the job script exited with code {0}")]
    Script(i64),
    /// The engine or a container failed; the runner may retry.
    #[error("{0}")]
    System(String),
}

impl Failure {
    /// A system failure from an error, with what was being done: "failed to {doing}: {err}".
    pub fn system(doing: impl std::fmt::Display, err: impl std::fmt::Display) -> Failure {
        Failure::System(format!("failed to {doing}: {err}"))
    }
}

/// The result every stage returns.
pub type StageResult = Result<(), Failure>;

/// How the whole command ended.
#[derive(Debug)]
pub enum Outcome {
    /// A protocol call: mapped to the runner's exit codes.
    Stage(StageResult),
    /// A local run: exit with the job script's own code (already reported).
    Local(i32),
}

/// Report the failure (if any) on stderr and pick the exit code. A build failure always writes
/// `BUILD_EXIT_CODE_FILE` when the runner set it: the path is the same for every call of a job,
/// so leaving an earlier stage's code there would report the wrong one.
pub fn finish(outcome: Outcome, env: &JobEnv) -> ExitCode {
    let result = match outcome {
        Outcome::Stage(result) => result,
        Outcome::Local(code) => return ExitCode::from(u8::try_from(code).unwrap_or(1)),
    };
    let build = env.build_failure_code();
    let system = env.system_failure_code();
    let code = match result {
        Ok(()) => 0,
        Err(Failure::Script(code)) => match write_build_exit_code(env, code) {
            Ok(()) => build,
            Err(e) => report_system(e, system),
        },
        Err(Failure::User(message)) => {
            say(&format!("error: {message}"));
            match write_build_exit_code(env, 1) {
                Ok(()) => build,
                Err(e) => report_system(e, system),
            }
        }
        Err(Failure::System(message)) => report_system(message, system),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn report_system(message: String, code: i32) -> i32 {
    say(&format!("system failure: {message}"));
    code
}

/// One line on stderr, prefixed so it stands out in the job log. Always exactly one line:
/// messages carry text from outside (a registry's error names whatever the job's image
/// pointed at), and a raw newline or escape in it would forge `executor:` lines.
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "executor: {}", one_line(line));
}

/// `text` with every control character escaped (`\n`, `\u{1b}`), and every character that
/// breaks a line or reorders text as shown (the Unicode line and paragraph separators, the
/// bidirectional marks, embeddings, overrides and isolates): it prints as one line, cannot move
/// the cursor, recolour or rewrite earlier lines, and reads in the order it is written.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || reorders_or_breaks(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` as [`one_line`] shows it, but with its line breaks and tabs kept: for the views a
/// local run prints on stdout (the job list, the pipeline, a job's plan and scripts), which are
/// many lines, and whose job names, stage names, rule text and scripts come from the checkout.
/// An escape in a job name must not retitle the terminal, clear it or rewrite earlier lines.
pub fn shown_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            line.split('\t')
                .map(one_line)
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// U+2028/U+2029 end a line in some viewers; U+061C, U+200E/F, U+202A–E and U+2066–9 change the
/// order text is shown in (a log line could read as something it does not say).
fn reorders_or_breaks(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
    )
}

fn write_build_exit_code(env: &JobEnv, code: i64) -> Result<(), String> {
    let Some(path) = env.build_exit_code_file() else {
        return Ok(());
    };
    std::fs::write(path, format!("{code}\n")).map_err(|e| {
        format!(
            "failed to write BUILD_EXIT_CODE_FILE {}: {e}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_message_is_always_one_line() {
        let forged = "denied\nexecutor: ready\r\u{1b}[2Kexecutor: forged\u{85}\ttab";
        let shown = one_line(forged);
        assert_eq!(
            shown,
            "denied\\nexecutor: ready\\r\\u{1b}[2Kexecutor: forged\\u{85}\\ttab"
        );
        assert!(!shown.chars().any(char::is_control));
        assert_eq!(one_line("plain `text` … é"), "plain `text` … é");
    }

    #[test]
    fn bidirectional_overrides_and_unicode_line_breaks_are_escaped() {
        let tricky =
            "ok\u{202E}deliver\u{2066}x\u{2069}\u{2028}executor: forged\u{2029}\u{200F}\u{61C}";
        let shown = one_line(tricky);
        assert_eq!(
            shown,
            "ok\\u{202e}deliver\\u{2066}x\\u{2069}\\u{2028}executor: forged\\u{2029}\\u{200f}\\u{61c}"
        );
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2067}', '\u{2068}', '\u{200E}',
        ] {
            assert!(!one_line(&c.to_string()).contains(c), "{c:?}");
        }
        assert_eq!(one_line("שלום and مرحبا"), "שלום and مرحبا");
    }
}
