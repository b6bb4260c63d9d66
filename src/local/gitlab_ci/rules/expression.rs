//! A CI/CD variable expression (`rules:if`, `only:variables`): parsed once when the file is
//! read, evaluated against a variable lookup as GitLab evaluates it
//! (<https://docs.gitlab.com/ci/jobs/job_rules/#cicd-variable-expressions>).
//!
//! Values follow Ruby, where GitLab's evaluator lives: an undefined variable is `nil` (equal
//! to `null`, unequal to `""`); `&&` and `||` return one of their operands, and only `nil` and
//! `false` are false inside them, so an EMPTY variable counts as true there; the result
//! counts as true only when it is "present": not `nil`, not `false`, not an empty or
//! all-whitespace string. Hence `$EMPTY || $OTHER` is false whatever `$OTHER` is, as on
//! GitLab (gitlab-org/gitlab#358775).
//!
//! `=~`/`!~`: the right side may be a `/pattern/`, or a string or variable holding one; a right
//! side that is not a valid `/pattern/` is used as TEXT, and the comparison checks that the
//! left side is a substring of it, which GitLab's docs warn about. A `null` right side never
//! matches. Variables inside a pattern are not expanded.

use std::borrow::Cow;
use std::fmt;

use super::lexer::{self, SyntaxError};
use super::parser::{self, Compare, Node};
use super::pattern::Pattern;

/// A parsed expression, kept with its text for messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Expression {
    text: String,
    root: Node,
}

/// Why an expression could not be parsed: one line naming it and the column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpressionError {
    pub text: String,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ExpressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid expression `{}` at column {}: {}",
            self.text.replace('\n', " "),
            self.column,
            self.message
        )
    }
}

impl Expression {
    pub fn parse(text: &str) -> Result<Expression, ExpressionError> {
        let fail = |e: SyntaxError| ExpressionError {
            text: text.to_string(),
            column: e.column,
            message: e.message,
        };
        let tokens = lexer::tokens(text).map_err(fail)?;
        let root = parser::parse(&tokens, text.chars().count() + 1).map_err(fail)?;
        Ok(Expression {
            text: text.to_string(),
            root,
        })
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the expression holds, `lookup` giving each variable's value (`None`: undefined).
    pub fn holds<'v>(&self, lookup: &dyn Fn(&str) -> Option<&'v str>) -> bool {
        let owned = |name: &str| lookup(name).map(str::to_string);
        evaluate(&self.root, &owned).present()
    }
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expression({:?})", self.text)
    }
}

/// A value while evaluating, as Ruby would hold it.
#[derive(Debug, Clone, PartialEq)]
enum Value<'a> {
    Nil,
    Bool(bool),
    Text(Cow<'a, str>),
    Regex(&'a Pattern),
}

impl Value<'_> {
    /// Ruby truthiness, used inside `&&` and `||`.
    fn truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    /// Rails' `present?`, used for the result.
    fn present(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Text(s) => !s.chars().all(char::is_whitespace),
            Value::Regex(_) => true,
        }
    }

    /// Ruby's `to_s`, for the left side of `=~`.
    fn text(&self) -> String {
        match self {
            Value::Nil => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Text(s) => s.to_string(),
            Value::Regex(p) => p.source().to_string(),
        }
    }
}

fn evaluate<'a>(node: &'a Node, lookup: &dyn Fn(&str) -> Option<String>) -> Value<'a> {
    match node {
        Node::Var(name) => lookup(name).map_or(Value::Nil, |v| Value::Text(Cow::Owned(v))),
        Node::Str(text) => Value::Text(Cow::Borrowed(text)),
        Node::Pattern(p) => Value::Regex(p),
        Node::Null => Value::Nil,
        Node::And(l, r) => match evaluate(l, lookup) {
            left if left.truthy() => evaluate(r, lookup),
            left => left,
        },
        Node::Or(l, r) => match evaluate(l, lookup) {
            left if left.truthy() => left,
            _ => evaluate(r, lookup),
        },
        Node::Compare(l, op, r) => {
            let (left, right) = (evaluate(l, lookup), evaluate(r, lookup));
            Value::Bool(match op {
                Compare::Eq => left == right,
                Compare::Ne => left != right,
                Compare::Match => matches(&left, &right).unwrap_or(false),
                Compare::NoMatch => matches(&left, &right).is_none_or(|m| !m),
            })
        }
    }
}

/// `left =~ right`; `None` when the right side is `null` or `false` (no comparison made).
fn matches(left: &Value, right: &Value) -> Option<bool> {
    let text = left.text();
    match right {
        Value::Nil | Value::Bool(false) => None,
        Value::Regex(p) => Some(p.is_match(&text)),
        // GitLab errors out on this one (a comparison on the right of `=~`); count it false.
        Value::Bool(true) => Some(false),
        Value::Text(s) => Some(match Pattern::from_slashes(s) {
            Ok(Some(p)) => p.is_match(&text),
            // Not a usable `/pattern/`: GitLab scans the right side for the left as text.
            _ => s.contains(text.as_str()),
        }),
    }
}
