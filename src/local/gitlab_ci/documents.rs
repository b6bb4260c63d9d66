//! The YAML documents of a `.gitlab-ci.yml`, split and chosen as GitLab chooses them
//! (`Gitlab::Config::Loader::MultiDocYaml` and `Ci::Config::Yaml::Result`):
//!
//! - the text is cut at lines starting `---` and whitespace, at most twice, so there are at most
//!   three documents; a blank first one (a leading `---`) and every blank one are dropped; each
//!   is read on its own, so an anchor in one is unknown in another, and only its first YAML
//!   document counts;
//! - with two or more documents and a first one holding `spec:`, the first is the header and the
//!   last the pipeline; otherwise the first is the pipeline and the others are not read.
//!
//! Every document read must be a mapping. Keys written twice are read as GitLab reads them (the
//! last wins) and reported as warnings with both lines ([`crate::yaml::repeated_keys`]).

use crate::yaml::{load_document_within, repeated_keys, Mapping, Value};

use super::budget::{self, Budget};
use super::error::{GitlabCiError, Locator};
use super::values::describe;

/// GitLab's `Ci::Config::Yaml::Loader::MAX_DOCUMENTS`.
const MAX_DOCUMENTS: usize = 2;

/// The documents that matter.
pub(super) struct Documents {
    /// The `spec:` header, when the file has one.
    pub header: Option<Mapping>,
    /// The pipeline.
    pub content: Mapping,
    /// The text with only the pipeline document left in place (the rest blanked, lines kept),
    /// for locating keys of the pipeline by line.
    pub content_text: String,
    /// Repeated keys and ignored documents, each a whole line naming the file and line.
    pub warnings: Vec<String>,
}

/// Read `at.text` into its documents, charging what they cost to `budget`.
pub(super) fn load(at: &Locator, budget: &mut Budget) -> Result<Documents, GitlabCiError> {
    let mut documents = Vec::new();
    for (index, piece) in split(at.text).into_iter().enumerate() {
        // Padded to its own lines, so every line a message names is a line of the file.
        let padded = format!("{}{}", "\n".repeat(piece.line), piece.text);
        let value = read(&padded, at, budget)?;
        if is_blank(&value) {
            continue;
        }
        documents.push(Document {
            index,
            first_line: piece.first_line(),
            padded,
            value,
        });
    }
    let has_header = documents.len() > 1
        && documents[0]
            .value
            .as_mapping()
            .is_some_and(|map| map.contains_key("spec"));
    for document in &documents {
        if !document.value.is_mapping() {
            return Err(GitlabCiError::new(
                at.file,
                Some(document.first_line),
                format!(
                    "{} must be a mapping of jobs and keywords, found {}; see https://docs.gitlab.com/ci/yaml/",
                    document.name(),
                    describe(&document.value)
                ),
            ));
        }
    }
    let mut warnings = Vec::new();
    let (header, content) = match (has_header, documents.len()) {
        (_, 0) => (None, None),
        (true, _) => {
            let content = documents.pop();
            (Some(documents.remove(0)), content)
        }
        (false, _) => (None, Some(documents.remove(0))),
    };
    for ignored in &documents {
        warnings.push(format!(
            "{}:{}: this YAML document is not read, as GitLab reads only the first one (or a \
             `spec:` header and the pipeline after it)",
            at.file, ignored.first_line
        ));
    }
    for document in header.iter().chain(&content) {
        warnings.extend(repeated_keys(&document.padded).into_iter().map(|r| {
            if r.key == "<<" {
                format!(
                    "{}:{}: a second `<<` merge in one mapping (the first is on line {}); GitLab \
                     applies both in turn, the later winning where they overlap",
                    at.file, r.line, r.first_line
                )
            } else {
                format!(
                    "{}:{}: `{}` is set again (first on line {}); GitLab keeps the last value",
                    at.file, r.line, r.key, r.first_line
                )
            }
        }));
    }
    let header = header.map(|d| into_mapping(d.value));
    let (content, content_text) = match content {
        Some(document) => (into_mapping(document.value), document.padded),
        None => (Mapping::new(), String::new()),
    };
    Ok(Documents {
        header,
        content,
        content_text,
        warnings,
    })
}

struct Document {
    /// Its place among the pieces the text is cut into (0-based).
    index: usize,
    first_line: usize,
    padded: String,
    value: Value,
}

impl Document {
    fn name(&self) -> String {
        match self.index {
            0 => "the file".into(),
            n => format!("YAML document {}", n + 1),
        }
    }
}

fn into_mapping(value: Value) -> Mapping {
    match value {
        Value::Mapping(map) => map,
        _ => Mapping::new(),
    }
}

/// One document, within what is left of the budget.
fn read(text: &str, at: &Locator, budget: &mut Budget) -> Result<Value, GitlabCiError> {
    let loaded = load_document_within(text, budget.left()).map_err(|e| {
        let line = e.location().map(|l| l.line());
        GitlabCiError::new(at.file, line, format!("invalid YAML: {e}; fix the YAML"))
    })?;
    let value = loaded.ok_or_else(|| at.file_error(budget::too_large()))?;
    budget.charge_value(&value).map_err(|m| at.file_error(m))?;
    Ok(value)
}

/// Rails' `blank?` for a loaded document: nothing, `false`, whitespace, or an empty collection.
fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Mapping(map) => map.is_empty(),
        Value::Sequence(items) => items.is_empty(),
        _ => false,
    }
}

/// A piece of the text: where it starts (in lines before it) and what it holds.
#[derive(Debug, PartialEq)]
struct Piece<'a> {
    /// Newlines before it.
    line: usize,
    text: &'a str,
}

impl Piece<'_> {
    /// 1-based line of its first non-blank line.
    fn first_line(&self) -> usize {
        let blank = self
            .text
            .lines()
            .take_while(|l| l.trim().is_empty())
            .count();
        self.line + blank + 1
    }
}

/// `text.split(/^---\s+/, MAX_DOCUMENTS + 1)` as Ruby does it: cut at most twice, at a line
/// starting `---` followed by whitespace, the whitespace (newlines too) taken with the cut.
fn split(text: &str) -> Vec<Piece<'_>> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while pieces.len() < MAX_DOCUMENTS && at < bytes.len() {
        let line_start = at == 0 || bytes[at - 1] == b'\n';
        let rest = &bytes[at..];
        // The whitespace is counted only after a `---` at a line's start: counted at every
        // byte, a run of a million spaces cost a million scans of itself (hours of CPU).
        let spaces = || {
            rest.get(3..)
                .map(|r| r.iter().take_while(|b| is_ruby_space(**b)).count())
                .unwrap_or(0)
        };
        let spaces = match line_start && rest.starts_with(b"---") {
            true => spaces(),
            false => 0,
        };
        if spaces > 0 {
            pieces.push(piece(text, start, at));
            at += 3 + spaces;
            start = at;
        } else {
            at += 1;
        }
    }
    pieces.push(piece(text, start, text.len()));
    pieces
}

fn piece(text: &str, start: usize, end: usize) -> Piece<'_> {
    Piece {
        line: text[..start].matches('\n').count(),
        text: &text[start..end],
    }
}

/// Ruby's `\s`: space, tab, newline, vertical tab, form feed, carriage return.
fn is_ruby_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(usize, &str)> {
        split(text).into_iter().map(|p| (p.line, p.text)).collect()
    }

    /// Long runs of whitespace are scanned once, not once per byte: 4 MiB of spaces took
    /// hours before.
    #[test]
    fn long_whitespace_is_cut_in_linear_time() {
        let text = format!(
            "a: 1\n{}\n---\n{}b: 2\n",
            " ".repeat(2 << 20),
            "\n".repeat(2 << 20)
        );
        let started = std::time::Instant::now();
        let pieces = split(&text);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[1].text, "b: 2\n");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_text_is_cut_as_rubys_split_cuts_it() {
        assert_eq!(texts("a: 1\n"), [(0, "a: 1\n")]);
        assert_eq!(
            texts("---\nspec: {}\n---\n\njob: x\n"),
            [(0, ""), (1, "spec: {}\n"), (4, "job: x\n")]
        );
        // At most three pieces: the rest stays in the last.
        assert_eq!(
            texts("a\n--- \nb\n---\nc\n---\nd\n"),
            [(0, "a\n"), (2, "b\n"), (4, "c\n---\nd\n")]
        );
        // Only at a line start, and only with whitespace after the dashes.
        assert_eq!(
            texts("a: '---'\n----\n---x\n"),
            [(0, "a: '---'\n----\n---x\n")]
        );
        assert_eq!(texts("a\n---"), [(0, "a\n---")]);
    }
}
