//! Globs for project paths and image names: `*` matches within one path segment (never `/`),
//! `**` matches across segments, `?` matches one character other than `/`; everything else is
//! literal. Character classes and braces are refused rather than half-supported, so a pattern
//! never means something the admin did not expect.

use std::fmt;

/// A validated glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("an empty pattern matches nothing; remove it".into());
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| matches!(c, '[' | ']' | '{' | '}' | '\\'))
        {
            return Err(format!(
                "`{pattern}`: `{c}` is not supported; use `*`, `**` and `?` only"
            ));
        }
        if pattern.contains("***") {
            return Err(format!(
                "`{pattern}`: write `**` (any depth) or `*` (one segment)"
            ));
        }
        Ok(Glob {
            pattern: pattern.to_string(),
        })
    }

    /// Whether `text` matches. Text with a control character never does: a job's value that
    /// could forge a log line or hide part of a name is not what any admin's pattern meant.
    pub fn matches(&self, text: &str) -> bool {
        !text.chars().any(char::is_control) && matches_from(&tokens(&self.pattern), text)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// One step of a pattern.
#[derive(Clone, Copy)]
enum Token {
    Literal(char),
    /// `?`: one character other than `/`.
    One,
    /// `*`: any run of characters other than `/`.
    Segment,
    /// `**`: any run of characters.
    Any,
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' if chars.next_if_eq(&'*').is_some() => Token::Any,
            '*' => Token::Segment,
            '?' => Token::One,
            c => Token::Literal(c),
        });
    }
    out
}

/// Runs the pattern as a set of positions over the text, one character at a time: time is
/// text × pattern and memory is the pattern's. The recursive matcher this replaces backtracked
/// at every `*`, and a job's 120 KB image name held `config` for tens of seconds.
fn matches_from(pattern: &[Token], text: &str) -> bool {
    // at[i]: the first i tokens match the text read so far.
    let mut at = vec![false; pattern.len() + 1];
    at[0] = true;
    skip_stars(pattern, &mut at);
    let mut next = at.clone();
    for c in text.chars() {
        next.fill(false);
        for (i, token) in pattern.iter().enumerate().filter(|(i, _)| at[*i]) {
            match *token {
                Token::Literal(l) if l == c => next[i + 1] = true,
                Token::One if c != '/' => next[i + 1] = true,
                Token::Segment if c != '/' => next[i] = true,
                Token::Any => next[i] = true,
                _ => {}
            }
        }
        if !next.contains(&true) {
            return false;
        }
        std::mem::swap(&mut at, &mut next);
        skip_stars(pattern, &mut at);
    }
    at[pattern.len()]
}

/// A star may match nothing: a position before one also stands after it.
fn skip_stars(pattern: &[Token], at: &mut [bool]) {
    for (i, token) in pattern.iter().enumerate() {
        if at[i] && matches!(token, Token::Segment | Token::Any) {
            at[i + 1] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn matching() {
        let cases = [
            ("infra/*", "infra/deploy", true),
            ("infra/*", "infra/sub/deploy", false),
            ("infra/**", "infra/sub/deploy", true),
            ("infra/*", "infrastructure/x", false),
            ("docker:*", "docker:27-cli", true),
            ("docker:*", "docker:27/evil", false),
            ("docker:*-dind", "docker:27-dind", true),
            ("docker:?-dind", "docker:7-dind", true),
            // A job's value with a control character never matches, not even `**`.
            ("docker:*", "docker:27\n-cli", false),
            ("**", "evil\u{1b}[2K", false),
            ("docker:?-dind", "docker:\r-dind", false),
            (
                "registry.example.com/**",
                "registry.example.com/a/b:1",
                true,
            ),
            (
                "registry.example.com/**",
                "registry.example.com.evil/a",
                false,
            ),
            ("exact/path", "exact/path", true),
            ("exact/path", "exact/path2", false),
            ("a/**/b", "a/b", false),
            ("a/**/b", "a/x/y/b", true),
            ("a**b", "a/x/b", true),
            ("*/*", "a/b", true),
            ("*/*", "a/b/c", false),
            ("*:*", "a:b:c", true),
            ("?", "", false),
            ("?", "é", true),
            ("a*", "a", true),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(
                Glob::new(pattern).unwrap().matches(text),
                want,
                "{pattern} ~ {text}"
            );
        }
    }

    /// A job's huge image name costs one pass over it, not one per `*` (the recursive matcher
    /// took tens of seconds here); no timing is asserted, it only has to end.
    #[test]
    fn a_huge_name_is_matched_in_one_pass() {
        let glob = Glob::new("a/*:*").unwrap();
        let name = format!("a/{}/x", ":".repeat(120_000));
        assert!(!glob.matches(&name));
        let name = format!("registry.example.com/{}", "a:".repeat(60_000));
        assert!(Glob::new("registry.example.com/*:*")
            .unwrap()
            .matches(&name));
        assert!(!Glob::new("**/*:*b").unwrap().matches(&name));
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for bad in ["", "infra/[ab]", "{a,b}/x", "a/***", "a\\*"] {
            assert!(Glob::new(bad).is_err(), "{bad:?}");
        }
    }
}
