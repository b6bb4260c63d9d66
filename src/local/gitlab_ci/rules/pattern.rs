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

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

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
        let regex = compiled()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(body, flags)?;
        Ok(Some(Pattern { source, regex }))
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The size limits a pattern is compiled with, smallest first: ordinary patterns fit the
/// first two (`/^(main|master)$/` needs 4 KiB, `/^release\/\w+$/` 64 KiB); the last is the
/// most one pattern may take.
const TIERS: [usize; 4] = [16 << 10, 64 << 10, 256 << 10, 1 << 20];
/// What compiling one process's patterns may cost in all, in [`TIERS`] units: about 2,000
/// plain patterns or 400 with `\w`, and a run's peak memory stays under 64 MiB.
const COMPILE_BUDGET: usize = 32 << 20;

/// Compiled patterns, kept by flags and body, and what compiling new ones may still cost.
///
/// A file's patterns are compiled as it is read, and a compiled pattern holds about its size
/// limit in memory: 35,000 distinct `/\w{9}N/` patterns in a 1 MiB file once took a dry run
/// past 2 GiB and 10 minutes, still growing. So each compile attempt is charged the limit it
/// ran with (and the body's length), the same pattern met again (`extends:`, `!reference`,
/// `$VAR =~ $PATTERN` in many jobs) is compiled once, and once [`COMPILE_BUDGET`] is spent a
/// new pattern is refused with a message: memory and time stay bounded whatever the file.
struct Compiled {
    by_text: HashMap<(String, String), Regex>,
    left: usize,
}

impl Compiled {
    fn new(budget: usize) -> Compiled {
        Compiled {
            by_text: HashMap::new(),
            left: budget,
        }
    }

    /// `/body/flags`, compiled once; the error is one line naming the pattern.
    fn get(&mut self, body: &str, flags: &str) -> Result<Regex, String> {
        let key = (body.to_string(), flags.to_string());
        if let Some(regex) = self.by_text.get(&key) {
            return Ok(regex.clone());
        }
        let mut too_big = String::new();
        for limit in TIERS {
            let cost = limit.saturating_add(body.len());
            let Some(left) = self.left.checked_sub(cost) else {
                return Err(format!(
                    "regular expression /{}/ not compiled: the file's patterns together are \
                     larger than a local run compiles ({} MiB); use fewer or smaller ones",
                    shown(body),
                    COMPILE_BUDGET >> 20
                ));
            };
            self.left = left;
            match compile(body, flags, limit) {
                Ok(regex) => {
                    self.by_text.insert(key, regex.clone());
                    return Ok(regex);
                }
                Err((true, message)) => too_big = message,
                Err((false, message)) => return Err(message),
            }
        }
        Err(too_big)
    }
}

/// The process's compiled patterns.
fn compiled() -> &'static Mutex<Compiled> {
    static COMPILED: OnceLock<Mutex<Compiled>> = OnceLock::new();
    COMPILED.get_or_init(|| Mutex::new(Compiled::new(COMPILE_BUDGET)))
}

/// A pattern's body for a message: at most 100 characters.
fn shown(body: &str) -> String {
    match body.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &body[..at]),
        None => body.to_string(),
    }
}

/// `(?flags)body`, compiled within `limit` bytes; the error says whether the limit was what
/// failed, and is the regex crate's first line.
fn compile(body: &str, flags: &str, limit: usize) -> Result<Regex, (bool, String)> {
    let mut builder = RegexBuilder::new(body);
    builder
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .swap_greed(flags.contains('U'))
        // Patterns come from files; a modest limit keeps a hostile one cheap.
        .size_limit(limit);
    builder.build().map_err(|e| {
        let too_big = matches!(e, regex::Error::CompiledTooBig(_));
        let text = e.to_string();
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .trim_start_matches("error: ")
            .to_string();
        (
            too_big,
            format!("invalid regular expression /{}/ ({last})", shown(body)),
        )
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
    use super::{literal_len, Compiled, Pattern, TIERS};

    /// Patterns met again are compiled once; new ones past the budget are refused, each
    /// attempt (a too-large one too) charged; a large but allowed pattern still compiles.
    #[test]
    fn compiling_patterns_is_bounded_in_all() {
        let mut compiled = Compiled::new(4 * TIERS[0] + 100);
        for _ in 0..10 {
            assert!(compiled.get("^main$", "").is_ok());
        }
        assert!(compiled.get("^dev$", "i").is_ok());
        assert!(compiled.get("^a1$", "").is_ok());
        assert!(compiled.get("^a2$", "").is_ok());
        let e = compiled.get("^a3$", "").unwrap_err();
        assert!(e.contains("larger than a local run compiles"), "{e}");
        // Those compiled are still served.
        assert!(compiled.get("^main$", "").unwrap().is_match("main"));

        let mut compiled = Compiled::new(TIERS.iter().sum::<usize>() + 100);
        // Needs the largest tier (the smaller ones are too small for it).
        assert!(compiled.get("\\w{8}", "").is_ok());
        assert!(compiled.get("x", "").is_err());
        // A pattern past the largest limit is refused as too big, as before.
        let mut compiled = Compiled::new(1 << 30);
        let e = compiled.get("\\w{60}", "").unwrap_err();
        assert!(e.contains("invalid regular expression"), "{e}");
        // A syntax error is one attempt, not three.
        let mut compiled = Compiled::new(TIERS[0] + 10);
        assert!(compiled.get("(", "").unwrap_err().contains("invalid"));
        assert!(compiled
            .get("(", "")
            .unwrap_err()
            .contains("larger than a local run compiles"));
    }

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
