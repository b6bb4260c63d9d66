//! Tokens to a tree. GitLab ranks the operators as Ruby does: `==`, `!=`, `=~` and `!~` bind
//! tightest (left to right), then `&&`, then `||`; parentheses group. A comparison's operands
//! may be values or parenthesized expressions.
//!
//! GitLab builds its tree with a shunting-yard pass that tolerates a few shapes nobody writes
//! (`$A (== $B)`); this parser refuses them as syntax errors.

use super::lexer::{Spanned, SyntaxError, Token};
use super::pattern::Pattern;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Var(String),
    Str(String),
    Pattern(Pattern),
    Null,
    Compare(Box<Node>, Compare, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compare {
    Eq,
    Ne,
    Match,
    NoMatch,
}

/// The tree of `tokens`; `end_column` is where the text ends, for "expected more" errors.
pub(super) fn parse(tokens: &[Spanned], end_column: usize) -> Result<Node, SyntaxError> {
    if tokens.is_empty() {
        return Err(SyntaxError {
            column: 1,
            message: "the expression is empty".into(),
        });
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        end_column,
    };
    let node = parser.or()?;
    match parser.peek() {
        None => Ok(node),
        Some(Token::Close) => Err(parser.error("`)` without a matching `(`")),
        Some(_) => Err(parser.error("expected `&&`, `||` or a comparison here")),
    }
}

struct Parser<'a> {
    tokens: &'a [Spanned],
    at: usize,
    end_column: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|s| &s.token)
    }

    fn error(&self, message: &str) -> SyntaxError {
        let column = self
            .tokens
            .get(self.at)
            .map_or(self.end_column, |s| s.column);
        SyntaxError {
            column,
            message: message.to_string(),
        }
    }

    fn or(&mut self) -> Result<Node, SyntaxError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            left = Node::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, SyntaxError> {
        let mut left = self.comparison()?;
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            left = Node::And(Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Node, SyntaxError> {
        let mut left = self.operand()?;
        loop {
            let op = match self.peek() {
                Some(Token::Eq) => Compare::Eq,
                Some(Token::Ne) => Compare::Ne,
                Some(Token::Match) => Compare::Match,
                Some(Token::NoMatch) => Compare::NoMatch,
                _ => return Ok(left),
            };
            self.at += 1;
            left = Node::Compare(Box::new(left), op, Box::new(self.operand()?));
        }
    }

    fn operand(&mut self) -> Result<Node, SyntaxError> {
        let node = match self.peek() {
            Some(Token::Var(name)) => Node::Var(name.clone()),
            Some(Token::Str(text)) => Node::Str(text.clone()),
            Some(Token::Pattern(p)) => Node::Pattern(p.clone()),
            Some(Token::Null) => Node::Null,
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error("expected `)` to close the `(`"));
                }
                inner
            }
            Some(Token::Close) => return Err(self.error("`)` where a value was expected")),
            Some(_) => return Err(self.error("an operator where a value was expected")),
            None => return Err(self.error("the expression ends where a value was expected")),
        };
        self.at += 1;
        Ok(node)
    }
}
