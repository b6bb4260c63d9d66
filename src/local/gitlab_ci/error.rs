//! The one error a `.gitlab-ci.yml` can produce, and [`Locator`], which turns "job `build`, key
//! `script`" into a line of the file so every message points the user at the line to fix.
//!
//! Lines come from `crate::yaml::line_of`, which matches a key at any deeper indentation. For a
//! job that would find `test:` nested under `variables:` before the real top-level `test:` job,
//! so the lookups here re-run it until the hit sits at the indentation asked for, and search a
//! job's keys only inside that job's block.

use std::fmt;

use crate::yaml::line_of;

/// A `.gitlab-ci.yml` that cannot be run locally: the file, the line when known, and a one-line
/// message that says what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub struct GitlabCiError {
    file: String,
    line: Option<usize>,
    message: String,
}

impl GitlabCiError {
    pub(super) fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        // The contract is one line per error; a YAML parser message could in theory wrap.
        let message = message.into().replace('\n', " ");
        GitlabCiError {
            file: file.to_string(),
            line,
            message,
        }
    }

    /// The file name as given to [`super::parse`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line the problem is on, when it could be found.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The message without the `FILE:LINE: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for GitlabCiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Builds located errors for one file.
pub(super) struct Locator<'a> {
    pub text: &'a str,
    pub file: &'a str,
}

impl Locator<'_> {
    /// An error about the file as a whole.
    pub fn file_error(&self, message: impl Into<String>) -> GitlabCiError {
        GitlabCiError::new(self.file, None, message)
    }

    /// An error at a top-level key (a job or a global keyword).
    pub fn top_error(&self, top: &str, message: impl Into<String>) -> GitlabCiError {
        GitlabCiError::new(self.file, self.top_line(top), message)
    }

    /// An error at `top.key`, or at `top` when the key is not written under it (it came from
    /// `extends:`, a `<<` merge or `default:`).
    pub fn key_error(&self, top: &str, key: &str, message: impl Into<String>) -> GitlabCiError {
        let line = self.key_line(top, key).or_else(|| self.top_line(top));
        GitlabCiError::new(self.file, line, message)
    }

    /// 1-based line of a top-level key.
    pub fn top_line(&self, top: &str) -> Option<usize> {
        first_at_indent(self.text, top, 0)
    }

    /// 1-based line of `key` written directly under the top-level `top`.
    pub fn key_line(&self, top: &str, key: &str) -> Option<usize> {
        let start = self.top_line(top)?;
        // The block of `top`: its own line, then every line up to the next top-level entry.
        let block_lines: Vec<&str> = self
            .text
            .split_inclusive('\n')
            .skip(start)
            .take_while(|line| !is_top_level_entry(line))
            .collect();
        let child_indent = block_lines
            .iter()
            .find(|line| !is_blank_or_comment(line))
            .map(|line| indent(line))?;
        let block = block_lines.concat();
        first_at_indent(&block, key, child_indent).map(|line| start + line)
    }
}

/// The first line of `text` holding `key:` at exactly `want` columns of indentation.
fn first_at_indent(text: &str, key: &str, want: usize) -> Option<usize> {
    let mut rest = text;
    let mut skipped = 0;
    loop {
        let found = line_of(rest, &[key])?;
        let line = rest.split_inclusive('\n').nth(found - 1)?;
        if indent(line) == want {
            return Some(skipped + found);
        }
        let consumed: usize = rest.split_inclusive('\n').take(found).map(str::len).sum();
        rest = &rest[consumed..];
        skipped += found;
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

fn is_top_level_entry(line: &str) -> bool {
    !is_blank_or_comment(line) && indent(line) == 0
}

#[cfg(test)]
mod tests {
    use super::Locator;

    const TEXT: &str = "variables:\n  test: 1\n  script: x\n\ntest:\n  # why\n  variables:\n    script: y\n  script: z\nbuild:\n  script: w\n";

    #[test]
    fn finds_top_level_keys_and_keys_inside_their_block_only() {
        let at = Locator {
            text: TEXT,
            file: "f",
        };
        assert_eq!(at.top_line("test"), Some(5));
        assert_eq!(at.key_line("test", "script"), Some(9));
        assert_eq!(at.key_line("build", "script"), Some(11));
        assert_eq!(at.key_line("test", "image"), None);
        assert_eq!(at.top_line("deploy"), None);
    }
}
