//! The one error resolving includes can produce: the file whose `include:` failed, the line when
//! known, and a one-line message that says what is wrong and what to do. It is the parser's
//! own error, so both print alike (`FILE:LINE: message`); and the line of an `include:` entry.

/// The same error the parser gives (one struct, one way of printing), named for this module.
pub type Error = crate::local::gitlab_ci::GitlabCiError;

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
}
