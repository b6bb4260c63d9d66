//! The one error resolving includes can produce: the file whose `include:` failed, the line when
//! known, and a one-line message that says what is wrong and what to do. It prints like the
//! parser's own errors (`FILE:LINE: message`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    file: String,
    line: Option<usize>,
    message: String,
}

impl Error {
    pub(super) fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> Error {
        Error {
            file: file.to_string(),
            line,
            message: message.into().replace('\n', " "),
        }
    }

    /// The file whose `include:` (or whose text) is at fault.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line, when it could be found.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The message without the `FILE:LINE: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The line of the `include:` entry that names `written` in `text`: the first line after the
/// top-level `include:` key that holds it, else the key's own line.
pub(super) fn entry_line(text: &str, written: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("include:") || l.starts_with("\"include\":"))?;
    let block_end = lines[start + 1..]
        .iter()
        .position(|l| !l.is_empty() && !l.starts_with([' ', '\t', '#', '-']))
        .map_or(lines.len(), |n| start + 1 + n);
    let found = (!written.is_empty())
        .then(|| {
            lines[start..block_end]
                .iter()
                .position(|l| l.contains(written))
        })
        .flatten();
    Some(start + found.unwrap_or(0) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_lines_point_at_the_entry_inside_the_include_block() {
        let text = "a.yml: 1\ninclude:\n  - local: a.yml\n  - remote: https://x/b.yml\njob:\n  script: a.yml\n";
        let cases = [
            ("a.yml", Some(3)),
            ("https://x/b.yml", Some(4)),
            ("missing.yml", Some(2)),
            ("", Some(2)),
        ];
        for (written, want) in cases {
            assert_eq!(entry_line(text, written), want, "{written}");
        }
        assert_eq!(entry_line("job: 1\n", "a"), None);
        assert_eq!(entry_line("include: a.yml\n", "a.yml"), Some(1));
    }

    #[test]
    fn errors_print_file_line_and_one_line() {
        let e = Error::new("a.yml", Some(3), "bad\nthing");
        assert_eq!(e.to_string(), "a.yml:3: bad thing");
        assert_eq!(Error::new("a.yml", None, "x").to_string(), "a.yml: x");
    }
}
