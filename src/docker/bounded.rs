//! Reading what a job controls (issue 11, "Trust boundary"). A job can replace any command in
//! its containers and decides what its services print, so every read of that output stops at
//! [`MAX_JOB_READ`] and at a deadline, and text shown in the log cannot pose as ours.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

/// The most the driver reads of anything a job controls: enough for a measurement or a
/// service's last log lines, small next to the driver's own footprint. Not a setting: no
/// admin needs more, and a larger cap would only let a job grow the driver.
pub const MAX_JOB_READ: usize = 64 * 1024;

/// How long a probe (a command run in a job's container, a log read) may take. A healthy one
/// answers in milliseconds; past this it is "no answer", whatever the job made it do.
pub const PROBE_TIME: Duration = Duration::from_secs(10);

/// How a bounded read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The stream ended (or failed) within the cap and the time.
    Whole,
    /// More than the cap arrived; reading stopped there.
    Cut,
    /// The deadline came first.
    Late,
}

/// The bytes a bounded read kept, and why it stopped.
#[derive(Debug)]
pub struct Collected {
    pub bytes: Vec<u8>,
    pub end: End,
}

impl Collected {
    /// For the log: decoded lossily, made [`printable_log`], and saying when it was cut.
    pub fn shown(&self) -> String {
        let mut text = printable_log(&String::from_utf8_lossy(&self.bytes));
        match self.end {
            End::Whole => {}
            End::Cut => text.push_str(&format!("\n[… output cut at {} KiB]", MAX_JOB_READ / 1024)),
            End::Late => text.push_str("\n[… output cut: it did not end in time]"),
        }
        text
    }
}

/// Read `chunks` until they end, `cap` bytes arrived or `deadline` passed, whichever is first.
/// Stopping means no longer polling: the caller drops the stream, which closes the connection
/// and leaves the writer nobody to write to. A stream error ends the read like its end does.
pub async fn collect<S, B, E>(chunks: S, cap: usize, deadline: Instant) -> Collected
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    let mut chunks = std::pin::pin!(chunks);
    let mut bytes = Vec::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, chunks.next()).await {
            Err(_) => {
                return Collected {
                    bytes,
                    end: End::Late,
                }
            }
            Ok(None | Some(Err(_))) => {
                return Collected {
                    bytes,
                    end: End::Whole,
                }
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        let chunk = chunk.as_ref();
        let room = cap - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Collected {
                bytes,
                end: End::Cut,
            };
        }
        bytes.extend_from_slice(chunk);
    }
}

/// `text` with every control character except newline and tab escaped (`\u{1b}`), so what a
/// job prints cannot move the cursor, recolour or rewrite the driver's own lines (`\r`, ANSI
/// escapes). A `\r` ending a line (CRLF) is dropped: it rewrites nothing. For multi-line text
/// such as logs; `plan::printable_value` is the one-line, length-capped kind.
pub fn printable_log(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn chunks(sizes: &[usize]) -> impl Stream<Item = Result<Vec<u8>, ()>> {
        stream::iter(sizes.iter().map(|&n| Ok(vec![b'y'; n])).collect::<Vec<_>>())
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn keeps_everything_within_the_cap() {
        let read = collect(chunks(&[3, 4, 3]), 10, soon()).await;
        assert_eq!((read.bytes.len(), read.end), (10, End::Whole));
    }

    #[tokio::test]
    async fn stops_at_the_cap_and_says_so() {
        let read = collect(chunks(&[6, 6, 6]), 10, soon()).await;
        assert_eq!((read.bytes.len(), read.end), (10, End::Cut));
        assert!(read.shown().ends_with("[… output cut at 64 KiB]"));
    }

    #[tokio::test]
    async fn never_polls_past_the_cap() {
        // An endless writer: the read must end without draining it.
        let endless = stream::repeat(Ok::<_, ()>(vec![b'y'; 4096]));
        let read = collect(endless, MAX_JOB_READ, soon()).await;
        assert_eq!((read.bytes.len(), read.end), (MAX_JOB_READ, End::Cut));
    }

    #[tokio::test]
    async fn an_error_ends_the_read() {
        let items = vec![Ok(vec![1u8; 2]), Err(()), Ok(vec![2u8; 2])];
        let read = collect(stream::iter(items), 10, soon()).await;
        assert_eq!((&read.bytes[..], read.end), (&[1u8, 1][..], End::Whole));
    }

    #[tokio::test]
    async fn a_silent_writer_ends_at_the_deadline() {
        let head = stream::iter(vec![Ok::<_, ()>(b"ab".to_vec())]);
        let silent = head.chain(stream::pending());
        let deadline = Instant::now() + Duration::from_millis(50);
        let read = collect(silent, 10, deadline).await;
        assert_eq!((&read.bytes[..], read.end), (&b"ab"[..], End::Late));
        assert!(read.shown().starts_with("ab\n[… output cut"));
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        let cases = [
            ("plain\ttext\nnext", "plain\ttext\nnext"),
            ("windows\r\nline", "windows\nline"),
            ("fake\rexecutor: ok", "fake\\u{d}executor: ok"),
            ("\x1b[2K\x1b[1Agone", "\\u{1b}[2K\\u{1b}[1Agone"),
            (
                "bell\x07 del\x7f c1\u{9b}",
                "bell\\u{7} del\\u{7f} c1\\u{9b}",
            ),
            ("ünïcode ✓", "ünïcode ✓"),
        ];
        for (raw, shown) in cases {
            assert_eq!(printable_log(raw), shown, "{raw:?}");
        }
    }
}
