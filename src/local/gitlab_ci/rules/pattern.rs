//! Regular expressions in expressions (`$VAR =~ /pattern/flags`) and in `only:`/`except:` refs.
//!
//! GitLab compiles them with RE2 after turning `/body/flags` into `(?flags)body`; flags are
//! `i` (case-insensitive), `m` (`^`/`$` at line ends), `s` (`.` matches `\n`) and `U`
//! (ungreedy), with RE2's meanings, not Ruby's. The `regex` crate has the same syntax and the
//! same flags, and like RE2 it has no backreferences or look-around. What differs:
//! - `\w`, `\d`, `\s` and `\b` are Unicode-aware here and ASCII-only in RE2, so they differ
//!   only on non-ASCII text (branch names and commit titles are nearly always ASCII);
//! - RE2's `\C` (any byte) and `\Q...\E` (literal text) are syntax errors here;
//! - size limits differ: a pattern that is too big for one may compile in the other.
//!
//! Only a GitLab quirk is kept on purpose: a body of one character (`/a/`) is not a pattern
//! to GitLab's lexer, so it is a syntax error in an expression (GitLab's docs say so).

use std::fmt;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

/// The flags GitLab accepts after the closing `/`.
const FLAGS: &[char] = &['i', 's', 'm', 'U'];

/// A compiled `/body/flags`; compared and shown by the text it was written as.
#[derive(Clone)]
pub struct Pattern {
    /// As written, with `\/` already turned into `/` as GitLab does.
    source: String,
    regex: Regex,
}

impl Pattern {
    /// `/body/flags` as GitLab's `RubySyntax` reads it: the body runs to the LAST `/`, and
    /// what follows must be flags. `Err` says what is wrong, `Ok(None)` that the text is not
    /// of the `/.../` form at all (a variable holding a plain string, say).
    pub fn from_slashes(text: &str) -> Result<Option<Pattern>, String> {
        let source = text.replace("\\/", "/");
        let Some(inner) = source.strip_prefix('/') else {
            return Ok(None);
        };
        let Some(close) = inner.rfind('/') else {
            return Ok(None);
        };
        let (body, flags) = (&inner[..close], &inner[close + 1..]);
        if !flags.chars().all(|c| FLAGS.contains(&c)) {
            return Ok(None);
        }
        let regex = compile(body, flags)?;
        Ok(Some(Pattern { source, regex }))
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

/// `(?flags)body`, compiled; the error is the regex crate's first line.
fn compile(body: &str, flags: &str) -> Result<Regex, String> {
    let mut builder = RegexBuilder::new(body);
    builder
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .swap_greed(flags.contains('U'))
        // Patterns come from files; a modest limit keeps a hostile one cheap.
        .size_limit(1 << 20);
    builder.build().map_err(|e| {
        let text = e.to_string();
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .trim_start_matches("error: ")
            .to_string();
        format!("invalid regular expression /{body}/ ({last})")
    })
}

/// The length in bytes of the `/.../flags` literal at the start of `text`, as GitLab's lexer
/// finds it: at least two characters between the slashes, `\/` does not close it, and the
/// character before the closing `/` is not a backslash. `None` when there is no such literal.
pub fn literal_len(text: &str) -> Option<usize> {
    // The rule is a regular expression in GitLab's lexer, matched by a backtracking engine;
    // the regex crate reports the same leftmost-first match, so the rule is kept as one.
    static LITERAL: OnceLock<Regex> = OnceLock::new();
    let literal = LITERAL.get_or_init(|| {
        Regex::new(r"^/(?:[^/]|\\/)+[^\\]/[ismU]*").expect("the literal rule compiles")
    });
    literal.find(text).map(|m| m.end())
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::{literal_len, Pattern};

    #[test]
    fn literals_are_found_as_gitlabs_lexer_finds_them() {
        let cases = [
            ("/ab/ && x", Some(4)),
            ("/^main$/i rest", Some(9)),
            ("/a\\/b/", Some(6)),
            ("/ab\\//", Some(6)),
            ("/a/", None),
            ("/./", None),
            ("/ab", None),
            ("/ab/c/", Some(4)),
            ("/ab//", Some(5)),
            ("/a\\\\/", None),
            ("x/ab/", None),
            ("/ab/ismU", Some(8)),
            ("/ab/x", Some(4)),
        ];
        for (text, want) in cases {
            assert_eq!(literal_len(text), want, "{text}");
        }
    }

    #[test]
    fn flags_have_re2_meanings() {
        let p = |s: &str| Pattern::from_slashes(s).unwrap().unwrap();
        assert!(p("/MAIN/i").is_match("main"));
        assert!(!p("/MAIN/").is_match("main"));
        assert!(p("/^b$/m").is_match("a\nb\nc"));
        assert!(!p("/^b$/").is_match("a\nb\nc"));
        assert!(p("/a.b/s").is_match("a\nb"));
        assert!(!p("/a.b/").is_match("a\nb"));
        assert_eq!(Pattern::from_slashes("plain").unwrap(), None);
        assert_eq!(Pattern::from_slashes("/a/x").unwrap(), None);
        assert!(Pattern::from_slashes("/(/")
            .unwrap_err()
            .contains("invalid regular"));
        assert!(
            Pattern::from_slashes("/(?=a)b/").is_err(),
            "no look-around, as in RE2"
        );
    }
}
