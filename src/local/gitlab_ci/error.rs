//! The one error a `.gitlab-ci.yml` can produce, and [`Locator`], which turns "job `build`, key
//! `script`" into a line of the file so every message points the user at the line to fix.
//!
//! Lines come from `crate::yaml::line_of`, which matches a key at any deeper indentation. For a
//! job that would find `test:` nested under `variables:` before the real top-level `test:` job,
//! so the lookups here re-run it until the hit sits at the indentation asked for, and search a
//! job's keys only inside that job's block.

use std::collections::HashMap;
use std::fmt;

use crate::yaml::line_of;

/// A `.gitlab-ci.yml` that cannot be run locally: the file, the line when known, and a one-line
/// message that says what is wrong and what to do. Resolving `include:` fails with the same
/// error (`include::Error`), so every message about the pipeline's files prints alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct GitlabCiError {
    file: String,
    line: Option<usize>,
    message: String,
}

impl GitlabCiError {
    pub(in crate::local) fn new(
        file: &str,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        // The contract is one line per error; a YAML parser message could in theory wrap.
        let message = message.into().replace('\n', " ");
        GitlabCiError {
            file: file.to_string(),
            line,
            message,
        }
    }

    /// The file at fault: the name given to [`super::parse`], or an included file's.
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

/// Where each top-level key of a pipeline merged from several files (`include:`) was written:
/// the files, each a name and its text, and for each key the files that wrote it, in merge
/// order. Lines are looked up in the file that wrote the key.
#[derive(Debug, Default)]
pub struct Origins<'a> {
    files: Vec<(&'a str, &'a str)>,
    keys: HashMap<String, Vec<usize>>,
}

impl<'a> Origins<'a> {
    /// `files` are `(name, text)`; `keys` map a top-level key to indexes into `files`.
    pub fn new(files: Vec<(&'a str, &'a str)>, keys: HashMap<String, Vec<usize>>) -> Self {
        Origins { files, keys }
    }

    /// The files that wrote `top`, the last (whose value won) first.
    fn of(&self, top: &str) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        let files = self.keys.get(top).map(Vec::as_slice).unwrap_or_default();
        files
            .iter()
            .rev()
            .filter_map(|&i| self.files.get(i).copied())
    }
}

/// Builds located errors for one file, or for a merged pipeline whose keys come from several.
pub(super) struct Locator<'a> {
    pub text: &'a str,
    pub file: &'a str,
    /// Set for a merged pipeline: a key's lines are looked up in the file that wrote it.
    pub origins: Option<&'a Origins<'a>>,
}

impl Locator<'_> {
    /// An error about the file as a whole.
    pub fn file_error(&self, message: impl Into<String>) -> GitlabCiError {
        GitlabCiError::new(self.file, None, message)
    }

    /// An error at a top-level key (a job or a global keyword).
    pub fn top_error(&self, top: &str, message: impl Into<String>) -> GitlabCiError {
        GitlabCiError::new(self.top_file(top), self.top_line(top), message)
    }

    /// An error at `top.key`, or at `top` when the key is not written under it (it came from
    /// `extends:`, a `<<` merge or `default:`).
    pub fn key_error(&self, top: &str, key: &str, message: impl Into<String>) -> GitlabCiError {
        for (file, text) in self.sources(top) {
            if let Some(line) = key_line_in(text, top, key) {
                return GitlabCiError::new(file, Some(line), message);
            }
        }
        self.top_error(top, message)
    }

    /// The file that wrote top-level `top` last (the one file, unless merged).
    pub fn top_file(&self, top: &str) -> &str {
        self.sources(top).next().map_or(self.file, |(file, _)| file)
    }

    /// 1-based line of a top-level key, in [`Locator::top_file`].
    pub fn top_line(&self, top: &str) -> Option<usize> {
        first_at_indent(self.top_text(top), top, 0)
    }

    /// The text of [`Locator::top_file`].
    pub fn top_text(&self, top: &str) -> &str {
        self.sources(top).next().map_or(self.text, |(_, text)| text)
    }

    /// 1-based line of `key` written directly under the top-level `top`.
    #[cfg(test)]
    pub fn key_line(&self, top: &str, key: &str) -> Option<usize> {
        key_line_in(self.text, top, key)
    }

    /// The files that wrote `top`, last first; the one file when not merged.
    fn sources(&self, top: &str) -> Box<dyn Iterator<Item = (&str, &str)> + '_> {
        match self.origins {
            Some(origins) if origins.keys.contains_key(top) => Box::new(origins.of(top)),
            _ => Box::new(std::iter::once((self.file, self.text))),
        }
    }
}

/// 1-based line of `key` written directly under the top-level `top` in `text`.
fn key_line_in(text: &str, top: &str, key: &str) -> Option<usize> {
    let start = first_at_indent(text, top, 0)?;
    // The block of `top`: its own line, then every line up to the next top-level entry.
    let block_lines: Vec<&str> = text
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
    use super::{GitlabCiError, Locator, Origins};

    const TEXT: &str = "variables:\n  test: 1\n  script: x\n\ntest:\n  # why\n  variables:\n    script: y\n  script: z\nbuild:\n  script: w\n";

    #[test]
    fn finds_top_level_keys_and_keys_inside_their_block_only() {
        let at = Locator {
            text: TEXT,
            file: "f",
            origins: None,
        };
        assert_eq!(at.top_line("test"), Some(5));
        assert_eq!(at.key_line("test", "script"), Some(9));
        assert_eq!(at.key_line("build", "script"), Some(11));
        assert_eq!(at.key_line("test", "image"), None);
        assert_eq!(at.top_line("deploy"), None);
    }

    #[test]
    fn merged_keys_are_found_in_the_file_that_wrote_them() {
        let keys = [
            ("build".to_string(), vec![1, 0]),
            ("only".to_string(), vec![1]),
        ];
        let origins = Origins::new(
            vec![
                ("main.yml", "build:\n  stage: b\n"),
                ("inc.yml", "# x\nbuild:\n  script: s\nonly: 1\n"),
            ],
            keys.into_iter().collect(),
        );
        let at = Locator {
            text: "build:\n  stage: b\n",
            file: "main.yml",
            origins: Some(&origins),
        };
        let place = |e: GitlabCiError| (e.file().to_string(), e.line());
        // The last file that wrote the key names it; a key inside it is looked for in every
        // file that wrote the job, the last first.
        assert_eq!(
            place(at.top_error("build", "m")),
            ("main.yml".into(), Some(1))
        );
        assert_eq!(
            place(at.key_error("build", "stage", "m")),
            ("main.yml".into(), Some(2))
        );
        assert_eq!(
            place(at.key_error("build", "script", "m")),
            ("inc.yml".into(), Some(3))
        );
        assert_eq!(
            place(at.key_error("build", "image", "m")),
            ("main.yml".into(), Some(1))
        );
        assert_eq!(
            place(at.top_error("only", "m")),
            ("inc.yml".into(), Some(4))
        );
        assert_eq!(
            place(at.top_error("unknown", "m")),
            ("main.yml".into(), None)
        );
        assert_eq!(at.top_file("only"), "inc.yml");
    }

    #[test]
    fn errors_print_file_line_and_one_line() {
        let e = GitlabCiError::new("a.yml", Some(3), "bad\nthing");
        assert_eq!(e.to_string(), "a.yml:3: bad thing");
        assert_eq!(
            GitlabCiError::new("a.yml", None, "x").to_string(),
            "a.yml: x"
        );
    }
}
