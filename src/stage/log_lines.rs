//! Services' output as lines of the job log (`CI_DEBUG_SERVICES`), the pure part. What a
//! service prints is the job's: each line is escaped (no control character or ANSI escape
//! reaches the log), cut at [`LINE_MAX`] bytes and carries its service's name in front, as the
//! docker executor writes them (`[service:postgres-db] ...`), so no line of a service can pose
//! as the driver's `executor: ...` or rewrite another. A stage writes at most [`STAGE_MAX`]
//! bytes of it (names in front included) and reads at most [`READ_MAX`], all services together,
//! and says when it stopped. Nothing is written while a line the stage's script left open on
//! stdout or stderr (`OpenLine`) is open: the runner masks secrets line by line, and a line
//! split there would show a masked value in two unmasked halves.

use std::io::Write;

use crate::docker::OpenLine;
use crate::outcome::one_line;

/// The most of the services' output one stage writes to the job log, each line's
/// `[service:NAME] ` counted. With prepare and the usual six stages this stays under half of
/// the runner's default job log limit (`output_limit`, 4 MiB), so the job's own output still
/// fits; it is also the most held back while the script's line is open.
pub const STAGE_MAX: usize = 256 * 1024;
/// The most of it one stage reads: lines cut at [`LINE_MAX`] are read to their end and
/// dropped, and that reading is bounded too.
pub const READ_MAX: usize = 16 * STAGE_MAX;
/// The most a stage reads of what was printed in the second before it began: the logs API
/// starts at a whole second, the rest is dropped here.
const SKIP_MAX: usize = 16 * STAGE_MAX;
/// Longer lines are cut here: enough for a structured log line, short enough to read.
pub const LINE_MAX: usize = 2000;
/// The longest service name shown in front of its lines.
const NAME_MAX: usize = 64;

/// A moment as the engine writes log times: Unix seconds and nanoseconds.
pub type Moment = (i64, u32);

/// Now, as a [`Moment`].
pub fn now() -> Moment {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (since.as_secs() as i64, since.subsec_nanos())
}

/// `2026-11-28T09:08:01.123456789Z` (the fraction may be shorter or absent) as a [`Moment`].
pub fn parse_moment(text: &str) -> Option<Moment> {
    let seconds = crate::docker::sweep::unix_seconds(text)?;
    let fraction = text.split_once('.').map_or("", |(_, f)| f);
    let digits: String = fraction
        .chars()
        .take_while(char::is_ascii_digit)
        .take(9)
        .collect();
    let nanos = format!("{digits:0<9}").parse().ok()?;
    Some((seconds, nanos))
}

/// One service's line being put together.
#[derive(Default)]
struct Partial {
    name: String,
    bytes: Vec<u8>,
    /// The line was cut and shown; the rest of it, up to its newline, is dropped.
    dropping: bool,
}

/// Turns the services' log messages into prefixed lines on `out`.
pub struct Printer<'a, W: Write> {
    out: W,
    services: Vec<Partial>,
    read: usize,
    written: usize,
    skipped: usize,
    cut: bool,
    /// Lines held back while the script's stdout is mid-line (`open`).
    held: Vec<String>,
    open: Option<&'a OpenLine>,
    /// Messages carry their time, and those before this moment are not shown: the logs API
    /// only takes whole seconds.
    since: Option<Moment>,
}

impl<'a, W: Write> Printer<'a, W> {
    pub fn new(out: W, open: Option<&'a OpenLine>, since: Option<Moment>) -> Printer<'a, W> {
        Printer {
            out,
            services: Vec::new(),
            read: 0,
            written: 0,
            skipped: 0,
            cut: false,
            held: Vec::new(),
            open,
            since,
        }
    }

    /// A service whose lines carry `name`; returns its index for [`Printer::feed`].
    pub fn add(&mut self, name: &str) -> usize {
        let mut name = one_line(name);
        if let Some((end, _)) = name.char_indices().nth(NAME_MAX) {
            name.truncate(end);
            name.push('…');
        }
        self.services.push(Partial {
            name,
            ..Partial::default()
        });
        self.services.len() - 1
    }

    /// One log message of service `index`. False once the stage's cap is reached: the caller
    /// stops reading.
    pub fn feed(&mut self, index: usize, mut message: &[u8]) -> bool {
        if self.cut {
            return false;
        }
        if self.since.is_some() {
            let (time, rest) = match message.iter().position(|b| *b == b' ') {
                Some(space) => (&message[..space], &message[space + 1..]),
                None => (&b""[..], message),
            };
            let moment = std::str::from_utf8(time).ok().and_then(parse_moment);
            if matches!((moment, self.since), (Some(at), Some(since)) if at < since) {
                // Printed in the second before the stage: read and dropped, up to a cap of
                // its own, so a flood just before the stage cannot use up the stage's.
                self.skipped += message.len();
                return self.skipped <= SKIP_MAX
                    || self.stop(&format!(
                        "more than {} KiB in the second before this stage began",
                        SKIP_MAX / 1024
                    ));
            }
            message = rest;
        }
        let taken = message.len().min(READ_MAX - self.read);
        self.read += taken;
        for piece in message[..taken].split_inclusive(|b| *b == b'\n') {
            if self.cut {
                return false;
            }
            self.take(index, piece);
        }
        if taken < message.len() {
            self.stop(&format!("{} KiB read in this stage", READ_MAX / 1024));
        }
        !self.cut
    }

    /// A cap is reached (`why`): say so once; false, for the caller to stop reading. What is
    /// held stays held: the end of the read (`finish`) writes it.
    fn stop(&mut self, why: &str) -> bool {
        if !self.cut {
            self.cut = true;
            self.notice(&format!(
                "CI_DEBUG_SERVICES: the services' output of this stage stops here ({why}); the \
                 rest is not shown"
            ));
        }
        false
    }

    /// A line of the driver's about the services' output (`executor: ...`). It goes where
    /// their lines go, held back like them: on stderr it could split a line the script left
    /// open there.
    pub fn notice(&mut self, text: &str) {
        self.emit(format!("executor: {}\n", one_line(text)));
    }

    /// A piece of a line, ending at its newline if it has one.
    fn take(&mut self, index: usize, piece: &[u8]) {
        let (body, ends) = match piece.strip_suffix(b"\n") {
            Some(body) => (body, true),
            None => (piece, false),
        };
        let partial = &mut self.services[index];
        if !partial.dropping {
            let room = LINE_MAX - partial.bytes.len();
            partial
                .bytes
                .extend_from_slice(&body[..body.len().min(room)]);
            if body.len() > room {
                partial.dropping = true;
                self.line(index, true);
            }
        }
        if ends {
            let partial = &mut self.services[index];
            match partial.dropping {
                true => partial.dropping = false,
                false => self.line(index, false),
            }
        }
    }

    /// Show service `index`'s line so far, unless that would pass the stage's cap.
    fn line(&mut self, index: usize, cut: bool) {
        if self.cut {
            self.services[index].bytes.clear();
            return;
        }
        let partial = &mut self.services[index];
        let bytes = std::mem::take(&mut partial.bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
        let mut text = one_line(&String::from_utf8_lossy(bytes));
        if cut {
            text.push_str(&format!(" [… line cut at {LINE_MAX} bytes]"));
        }
        let line = format!("[service:{}] {text}\n", partial.name);
        if self.written + line.len() > STAGE_MAX {
            self.stop(&format!("{} KiB shown in this stage", STAGE_MAX / 1024));
            return;
        }
        self.emit(line);
    }

    /// Write `line`, or hold it while the script's stdout or stderr is mid-line.
    fn emit(&mut self, line: String) {
        self.written += line.len();
        match self.open.is_some_and(OpenLine::is_open) {
            true => self.held.push(line),
            false => {
                self.release();
                let _ = self.out.write_all(line.as_bytes());
            }
        }
        let _ = self.out.flush();
    }

    /// Write the lines held back.
    fn release(&mut self) {
        for line in self.held.drain(..) {
            let _ = self.out.write_all(line.as_bytes());
        }
    }

    /// The end of the read: lines without their newline yet are shown as they are, and held
    /// lines are written, on a line of their own even if the script's last one is open.
    pub fn finish(&mut self) {
        for index in 0..self.services.len() {
            let partial = &self.services[index];
            if !partial.dropping && !partial.bytes.is_empty() {
                self.line(index, false);
            }
            self.services[index].dropping = false;
        }
        if !self.held.is_empty() && self.open.is_some_and(OpenLine::is_open) {
            let _ = self.out.write_all(b"\n");
        }
        self.release();
        let _ = self.out.flush();
    }
}

#[cfg(test)]
#[path = "log_lines_tests.rs"]
mod tests;
