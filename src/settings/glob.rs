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
        !text.chars().any(char::is_control)
            && matches_from(self.pattern.as_bytes(), text.as_bytes())
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

fn matches_from(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=text.len()).any(|i| matches_from(rest, &text[i..])),
        [b'*', rest @ ..] => {
            let segment = text.iter().position(|b| *b == b'/').unwrap_or(text.len());
            (0..=segment).any(|i| matches_from(rest, &text[i..]))
        }
        [b'?', rest @ ..] => {
            matches!(text.first(), Some(c) if *c != b'/') && matches_from(rest, &text[1..])
        }
        [p, rest @ ..] => text.first() == Some(p) && matches_from(rest, &text[1..]),
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
        ];
        for (pattern, text, want) in cases {
            assert_eq!(
                Glob::new(pattern).unwrap().matches(text),
                want,
                "{pattern} ~ {text}"
            );
        }
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for bad in ["", "infra/[ab]", "{a,b}/x", "a/***", "a\\*"] {
            assert!(Glob::new(bad).is_err(), "{bad:?}");
        }
    }
}
