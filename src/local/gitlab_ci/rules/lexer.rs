//! The tokens of a CI/CD variable expression, found as GitLab's lexer finds them: whitespace
//! skipped, then at each place the first of these that fits: `(`, `)`, `$NAME`, a string in
//! double or single quotes (no escapes: it ends at the next quote of its kind), `/pattern/flags`,
//! `null`, `==`, `=~`, `!=`, `!~`, `&&`, `||`. Anything else is a syntax error. GitLab fails on
//! its 100th token; so does this.

use super::pattern::{literal_len, Pattern};

/// GitLab's lexer gives up at this many tokens.
const MAX_TOKENS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Var(String),
    Str(String),
    Pattern(Pattern),
    Null,
    Eq,
    Ne,
    Match,
    NoMatch,
    And,
    Or,
    Open,
    Close,
}

/// A token and the 1-based column (in characters) it starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Spanned {
    pub token: Token,
    pub column: usize,
}

/// A syntax error: the 1-based column and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub column: usize,
    pub message: String,
}

/// Split `text` into tokens.
pub(super) fn tokens(text: &str) -> Result<Vec<Spanned>, SyntaxError> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        at += text[at..].len() - text[at..].trim_start().len();
        if at == text.len() {
            return Ok(out);
        }
        let column = text[..at].chars().count() + 1;
        let fail = |message: String| SyntaxError { column, message };
        let (token, len) = next(&text[at..]).map_err(fail)?;
        out.push(Spanned { token, column });
        at += len;
        // GitLab reads at most this many tokens and fails on reaching the limit itself.
        if out.len() == MAX_TOKENS {
            return Err(fail(format!(
                "{MAX_TOKENS} tokens or more, over GitLab's limit; split the expression"
            )));
        }
    }
}

/// The token at the start of `rest` and its length in bytes.
fn next(rest: &str) -> Result<(Token, usize), String> {
    const FIXED: &[(&str, Token)] = &[
        ("(", Token::Open),
        (")", Token::Close),
        ("null", Token::Null),
        ("==", Token::Eq),
        ("=~", Token::Match),
        ("!=", Token::Ne),
        ("!~", Token::NoMatch),
        ("&&", Token::And),
        ("||", Token::Or),
    ];
    if let Some(name) = rest.strip_prefix('$') {
        let len = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        if len > 0 {
            return Ok((Token::Var(name[..len].to_string()), len + 1));
        }
        if name.starts_with('{') {
            return Err(
                "`${NAME}` is not expression syntax (GitLab rejects it); write `$NAME`".into(),
            );
        }
        return Err("`$` must be followed by a variable name".into());
    }
    if let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &rest[1..];
        // GitLab's string rule does not cross a line end.
        return match body.find([quote, '\n']) {
            Some(end) if body[end..].starts_with(quote) => {
                Ok((Token::Str(body[..end].to_string()), end + 2))
            }
            _ => Err(format!(
                "string opened with {quote} is not closed on its line"
            )),
        };
    }
    if rest.starts_with('/') {
        let Some(len) = literal_len(rest) else {
            return Err(
                "not a regular expression GitLab accepts: write `/pattern/flags` with at least \
                 two characters between the slashes (`/./` is rejected), flags from i, m, s, U"
                    .into(),
            );
        };
        let pattern = Pattern::from_slashes(&rest[..len])?
            .ok_or_else(|| "not a `/pattern/flags` regular expression".to_string())?;
        return Ok((Token::Pattern(pattern), len));
    }
    for (text, token) in FIXED {
        if rest.starts_with(text) {
            return Ok((token.clone(), text.len()));
        }
    }
    Err(unknown(rest))
}

/// What to say about text no token starts with.
fn unknown(rest: &str) -> String {
    let word: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(20)
        .collect();
    let hint = match rest.chars().next() {
        Some('!') => "; there is no `!` (not) operator: use `!=`, `!~` or `== null`",
        Some('=') => "; compare with `==`",
        Some('&') => "; use `&&`",
        Some('|') => "; use `||`",
        Some(c) if c.is_alphanumeric() => "; quote strings and start variables with `$`",
        _ => "",
    };
    format!("unexpected `{word}`{hint}")
}

#[cfg(test)]
mod tests {
    use super::{tokens, Token};

    fn kinds(text: &str) -> Vec<Token> {
        tokens(text).unwrap().into_iter().map(|s| s.token).collect()
    }

    #[test]
    fn splits_into_gitlabs_tokens() {
        assert_eq!(
            kinds("($A==\"x y\")||$B!='' && $C=~/ab/i !~ null"),
            [
                Token::Open,
                Token::Var("A".into()),
                Token::Eq,
                Token::Str("x y".into()),
                Token::Close,
                Token::Or,
                Token::Var("B".into()),
                Token::Ne,
                Token::Str(String::new()),
                Token::And,
                Token::Var("C".into()),
                Token::Match,
                match &tokens("/ab/i").unwrap()[0].token {
                    t @ Token::Pattern(_) => t.clone(),
                    other => panic!("{other:?}"),
                },
                Token::NoMatch,
                Token::Null,
            ]
        );
        assert_eq!(tokens("  $A   == 'b'").unwrap()[1].column, 8);
    }

    #[test]
    fn strings_hold_the_other_quote_and_no_escapes() {
        assert_eq!(kinds(r#""it's""#), [Token::Str("it's".into())]);
        assert_eq!(kinds(r#"'a\'"#), [Token::Str("a\\".into())]);
    }

    #[test]
    fn errors_name_the_column() {
        let cases = [
            ("$A = 'x'", 4, "compare with `==`"),
            ("${A} == 'x'", 1, "write `$NAME`"),
            ("$A == 'x", 7, "not closed"),
            ("$A =~ /./", 7, "at least two characters"),
            ("!$A", 1, "no `!` (not) operator"),
            ("$A == main", 7, "quote strings"),
            ("$A =~ /(ab/", 7, "invalid regular expression"),
        ];
        for (text, column, part) in cases {
            let e = tokens(text).unwrap_err();
            assert_eq!(e.column, column, "{text}: {e:?}");
            assert!(e.message.contains(part), "{text}: {e:?}");
        }
        let under = vec!["$A"; 50].join(" && ");
        assert_eq!(tokens(&under).unwrap().len(), 99);
        let over = format!("{under} && $B");
        assert!(tokens(&over).unwrap_err().message.contains("100 tokens"));
    }
}
