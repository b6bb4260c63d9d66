//! `spec:inputs` headers and `$[[ inputs.NAME ]]` interpolation
//! (<https://docs.gitlab.com/ci/inputs/>), as GitLab's `Ci::Config::Interpolation` does it:
//!
//! - the header declares each input: `type` (`string`, the default, `number`, `boolean` or
//!   `array`), `default` (an input without one is required), `options` (at most 50, for strings
//!   and numbers), `regex` (for strings, matched anywhere in the value) and `description`;
//! - interpolation walks the loaded pipeline document (not its text: GitLab dropped text
//!   interpolation), every key and string value, but not inside `!reference` tags; a block that
//!   is a whole value is replaced by the input with its type (an array in a list is spliced
//!   into it), a block inside a longer string by its text;
//! - a block is `$[[ inputs.NAME | function | ... ]]` with at most three functions:
//!   `expand_vars`, `truncate(offset,length)`, `posix_escape` and `split('sep')`.
//!
//! Values given on the command line are text: a `number`, `boolean` or `array` input reads its
//! value as YAML (`5`, `true`, `[a, b]`).

mod functions;
mod interpolate;
mod ruby;
mod spec;

use std::collections::HashMap;

use crate::yaml::{line_of, Mapping, Value};

use super::budget::Budget;

use interpolate::interpolate;
use spec::read_header;

/// A problem with the inputs, with the 1-based line it is about when known.
#[derive(Debug)]
struct InputError {
    pub line: Option<usize>,
    pub message: String,
}

fn fail(line: Option<usize>, message: impl Into<String>) -> InputError {
    InputError {
        line,
        message: message.into(),
    }
}

/// A value given for an input.
#[derive(Debug, Clone)]
pub enum Given {
    /// Text from the command line (`--input NAME=VALUE`), read as the input's type.
    Text(String),
    /// A value as written in YAML (`include:inputs`); `null` counts as not given, as in GitLab.
    Value(Value),
}

/// A file read as GitLab reads it: its documents chosen, its header's inputs given `given`,
/// its pipeline document interpolated.
pub(super) struct File {
    /// The pipeline document.
    pub content: Mapping,
    /// The text with only the pipeline document in place, for lines ([`super::documents`]).
    pub content_text: String,
    /// Repeated keys and ignored documents.
    pub warnings: Vec<String>,
}

/// Read `text` (named `file` in messages) into its pipeline, as [`File`] says; `variables` are
/// what `expand_vars` may expand. This is what an included file with `include:inputs` needs
/// too (with [`Given::Value`]s).
pub(super) fn read_file(
    text: &str,
    file: &str,
    given: &[(String, Given)],
    variables: &[(String, String)],
    budget: &mut Budget,
) -> Result<File, super::GitlabCiError> {
    let at = super::error::Locator {
        text,
        file,
        origins: None,
    };
    let docs = super::documents::load(&at, budget)?;
    let located = |e: InputError| super::GitlabCiError::new(file, e.line, e.message);
    let content = match values(docs.header.as_ref(), given, text).map_err(located)? {
        Some(values) => interpolate(docs.content, &values, variables, budget, &docs.content_text)
            .map_err(located)?,
        None => docs.content,
    };
    Ok(File {
        content,
        content_text: docs.content_text,
        warnings: docs.warnings,
    })
}

/// The inputs' values: the header read, `given` checked against it, defaults filled in.
/// `text` is the whole file, for lines.
fn values(
    header: Option<&Mapping>,
    given: &[(String, Given)],
    text: &str,
) -> Result<Option<HashMap<String, Value>>, InputError> {
    let Some(header) = header else {
        if let Some((name, _)) = given.first() {
            return Err(fail(
                None,
                format!(
                    "input `{name}` is given, but the file declares no inputs; declare them in a \
                     `spec:inputs` header (https://docs.gitlab.com/ci/inputs/)"
                ),
            ));
        }
        return Ok(None);
    };
    let specs = read_header(header, text)?;
    let unknown: Vec<&str> = given
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !specs.iter().any(|s| s.name == *name))
        .collect();
    if !unknown.is_empty() {
        let declared: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(fail(
            line_of(text, &["spec", "inputs"]),
            format!(
                "unknown input arguments: {}; the file declares {}",
                unknown.join(", "),
                match declared.is_empty() {
                    true => "none".to_string(),
                    false => declared.join(", "),
                }
            ),
        ));
    }
    let mut values = HashMap::new();
    let mut errors: Vec<(Option<usize>, String)> = Vec::new();
    for spec in &specs {
        // The last value given for a name wins, as with repeated options.
        let given = given.iter().rev().find(|(n, _)| *n == spec.name);
        match spec.value(given.map(|(_, v)| v)) {
            Ok(value) => {
                values.insert(spec.name.clone(), value);
            }
            Err(message) => errors.push((spec.line, format!("`{}` input: {message}", spec.name))),
        }
    }
    if let Some((line, _)) = errors.first() {
        // GitLab joins at most three of them into its one message.
        let shown: Vec<&str> = errors.iter().take(3).map(|(_, m)| m.as_str()).collect();
        return Err(fail(*line, shown.join(", ")));
    }
    Ok(Some(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_inputs_are_checked_by_type_and_null_is_not_given() {
        let text = "spec:\n  inputs:\n    n:\n      type: number\n      default: 1\n    s:\n---\nj:\n  parallel: $[[ inputs.n ]]\n  script: echo $[[ inputs.s ]]\n";
        let read = |given: Vec<(&str, Value)>| {
            let given: Vec<(String, Given)> = given
                .into_iter()
                .map(|(k, v)| (k.to_string(), Given::Value(v)))
                .collect();
            read_file(text, "t.yml", &given, &[], &mut Budget::new())
        };
        let file = read(vec![("n", Value::Null), ("s", Value::String("x".into()))]).unwrap();
        let j = &file.content["j"];
        assert_eq!(j["parallel"], Value::Number(1.into()));
        assert_eq!(j["script"], Value::String("echo x".into()));
        let err = read(vec![("n", Value::String("2".into())), ("s", Value::Null)])
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("`n` input: provided value is not a number"),
            "{err}"
        );
        assert!(
            err.to_string().contains("`s` input: required value"),
            "{err}"
        );
    }

    #[test]
    fn interpolation_builds_no_string_past_one_mebibyte() {
        let big = "x".repeat(100_000);
        let blocks = "$[[ inputs.a ]] ".repeat(11);
        let text = format!(
            "spec:\n  inputs:\n    a:\n      default: {big}\n---\nj:\n  script: echo {blocks}\n"
        );
        let err = read_file(&text, "t.yml", &[], &[], &mut Budget::new())
            .err()
            .unwrap();
        assert!(err.to_string().contains("config node too large"), "{err}");
        assert_eq!(err.line(), Some(7));
        let fits = text.replace(&blocks, "$[[ inputs.a ]]$[[ inputs.a ]]");
        assert!(read_file(&fits, "t.yml", &[], &[], &mut Budget::new()).is_ok());
    }
}
