//! `$[[ ... ]]` blocks replaced in the loaded pipeline document, as GitLab's
//! `Interpolation::Template` walks it: every key and string, not inside tags; a block that is a
//! whole value keeps its input's type, one inside a longer string becomes text.

use std::collections::HashMap;

use regex::Regex;

use crate::yaml::{Mapping, Value};

use super::super::budget::Budget;
use super::functions::{
    expand_existing, ruby_split, ruby_split_pipes, shell_escape, split_args, truncate_args,
};
use super::ruby::ruby_to_s;
use super::{fail, InputError};

/// GitLab's `Interpolation::Block::MAX_FUNCTIONS`.
const MAX_FUNCTIONS: usize = 3;
/// GitLab's `Interpolation::Template::MAX_BLOCKS`: distinct blocks in one file.
const MAX_BLOCKS: usize = 10_000;
/// GitLab's `Interpolation::Config::MAX_NODES` and `MAX_NODE_SIZE`.
const MAX_NODES: usize = 500_000;
const MAX_NODE_BYTES: usize = 1 << 20;
/// GitLab's `Interpolation::Access::MAX_ACCESS_BYTESIZE`.
const MAX_ACCESS_BYTES: usize = 1024;

/// The pipeline document with its blocks replaced; `variables` are what `expand_vars` may
/// expand. Every value made is charged to `budget`.
pub(super) fn interpolate(
    content: Mapping,
    inputs: &HashMap<String, Value>,
    variables: &[(String, String)],
    budget: &mut Budget,
    text: &str,
) -> Result<Mapping, InputError> {
    let mut cx = Interpolator {
        inputs,
        variables,
        budget,
        blocks: HashMap::new(),
        visited: 0,
        pattern: Regex::new(r"\$\[\[\s*(\S.*?\S)\s*\]\]").expect("a valid pattern"),
    };
    match cx.mapping(content) {
        Ok(map) => Ok(map),
        Err(Failure { block, message }) => {
            let line = block.as_deref().and_then(|b| line_of_text(text, b));
            let place = block.map(|b| format!("`{b}`: ")).unwrap_or_default();
            Err(fail(line, format!("{place}{message}")))
        }
    }
}

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of_text(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
        .map(|at| text[..at].matches('\n').count() + 1)
}

struct Failure {
    block: Option<String>,
    message: String,
}

fn whole(message: impl Into<String>) -> Failure {
    Failure {
        block: None,
        message: message.into(),
    }
}

struct Interpolator<'a> {
    inputs: &'a HashMap<String, Value>,
    variables: &'a [(String, String)],
    budget: &'a mut Budget,
    /// Each distinct block with its value.
    blocks: HashMap<String, Value>,
    visited: usize,
    pattern: Regex,
}

impl Interpolator<'_> {
    fn visit(&mut self) -> Result<(), Failure> {
        self.visited += 1;
        match self.visited > MAX_NODES {
            true => Err(whole(format!(
                "the pipeline has more than {MAX_NODES} values to interpolate, more than GitLab \
                 reads (config too large)"
            ))),
            false => Ok(()),
        }
    }

    fn mapping(&mut self, map: Mapping) -> Result<Mapping, Failure> {
        let mut out = Mapping::with_capacity(map.len());
        for (key, value) in map {
            let key = self.value(key)?;
            let value = self.value(value)?;
            out.insert(key, value);
        }
        Ok(out)
    }

    fn value(&mut self, value: Value) -> Result<Value, Failure> {
        self.visit()?;
        match value {
            Value::String(s) => self.string(s),
            Value::Mapping(map) => self.mapping(map).map(Value::Mapping),
            Value::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let was_string = item.is_string();
                    match self.value(item)? {
                        // An array input as a whole list item is spliced into the list.
                        Value::Sequence(inner) if was_string => out.extend(inner),
                        other => out.push(other),
                    }
                }
                Ok(Value::Sequence(out))
            }
            // `!reference` tags and scalars are left as they are, as GitLab leaves them.
            other => Ok(other),
        }
    }

    fn string(&mut self, node: String) -> Result<Value, Failure> {
        if !node.contains("$[[") {
            return Ok(Value::String(node));
        }
        if node.len() > MAX_NODE_BYTES {
            return Err(whole(
                "a string holding an interpolation block is larger than 1 MiB, more than GitLab \
                 reads (config node too large)",
            ));
        }
        let matches: Vec<(String, String)> = self
            .pattern
            .captures_iter(&node)
            .map(|c| (c[0].to_string(), c[1].to_string()))
            .collect();
        if matches.is_empty() {
            return Ok(Value::String(node));
        }
        let mut values = Vec::with_capacity(matches.len());
        for (block, data) in &matches {
            values.push(self.block(block, data)?);
        }
        if matches.len() == 1 && matches[0].0.len() == node.len() {
            let value = values.pop().unwrap_or(Value::Null);
            self.charge(&value, &matches[0].0)?;
            return Ok(value);
        }
        // Inside a longer string every block becomes text, replaced in turn (Ruby's `gsub`).
        // The result's size is known before it is made: a local run builds no string larger
        // than GitLab reads one.
        let mut out = node.clone();
        for ((block, _), value) in matches.iter().zip(&values) {
            let text = ruby_to_s(value);
            let grown = out
                .matches(block.as_str())
                .count()
                .saturating_mul(text.len())
                .saturating_add(out.len());
            if grown > MAX_NODE_BYTES {
                return Err(Failure {
                    block: Some(block.clone()),
                    message: "makes a string larger than 1 MiB, the most GitLab reads in one \
                              (config node too large)"
                        .into(),
                });
            }
            out = out.replace(block.as_str(), &text);
        }
        let value = Value::String(out);
        self.charge(&value, &matches[0].0)?;
        Ok(value)
    }

    fn charge(&mut self, value: &Value, block: &str) -> Result<(), Failure> {
        self.budget.charge_value(value).map_err(|message| Failure {
            block: Some(block.to_string()),
            message,
        })
    }

    /// The value of one block, evaluated once per distinct block.
    fn block(&mut self, block: &str, data: &str) -> Result<Value, Failure> {
        if let Some(value) = self.blocks.get(block) {
            return Ok(value.clone());
        }
        let failed = |message: String| Failure {
            block: Some(block.to_string()),
            message,
        };
        if self.blocks.len() >= MAX_BLOCKS {
            return Err(failed(format!(
                "too many interpolation blocks (GitLab reads at most {MAX_BLOCKS})"
            )));
        }
        let mut parts = ruby_split_pipes(data).into_iter();
        let access = parts.next().unwrap_or_default();
        let functions: Vec<String> = parts.collect();
        let value = self.access(&access).map_err(&failed)?;
        if functions.len() > MAX_FUNCTIONS {
            return Err(failed(format!(
                "too many functions in interpolation block (at most {MAX_FUNCTIONS})"
            )));
        }
        let mut value = value;
        for function in &functions {
            value = self.apply(function, value).map_err(&failed)?;
        }
        self.blocks.insert(block.to_string(), value.clone());
        Ok(value)
    }

    fn access(&self, access: &str) -> Result<Value, String> {
        let objects: Vec<&str> = access.splitn(5, '.').collect();
        if objects.len() <= 1 {
            return Err(
                "invalid interpolation access pattern; write `$[[ inputs.NAME ]]`".to_string(),
            );
        }
        if access.len() > MAX_ACCESS_BYTES {
            return Err("maximum interpolation expression size exceeded".into());
        }
        let unknown = |key: &str| format!("unknown interpolation key: `{key}`");
        if objects[0] != "inputs" {
            return Err(format!(
                "{}; local runs know only `inputs`",
                unknown(objects[0])
            ));
        }
        let value = self.inputs.get(objects[1]).ok_or_else(|| {
            let mut names: Vec<&str> = self.inputs.keys().map(String::as_str).collect();
            names.sort_unstable();
            format!(
                "{}; the declared inputs are {}",
                unknown(objects[1]),
                match names.is_empty() {
                    true => "none".to_string(),
                    false => names.join(", "),
                }
            )
        })?;
        match objects.get(2) {
            Some(deeper) => Err(unknown(deeper)),
            None => Ok(value.clone()),
        }
    }

    fn apply(&self, function: &str, value: Value) -> Result<Value, String> {
        let name = function
            .split(|c: char| c == '(' || c.is_whitespace())
            .next()
            .unwrap_or_default();
        let text_only = |value: &Value| match value {
            Value::String(s) => Ok(s.clone()),
            _ => Err(format!(
                "error in `{name}` function: invalid input type: {name} can only be used with \
                 string inputs"
            )),
        };
        if function == "expand_vars" {
            return Ok(Value::String(expand_existing(
                &text_only(&value)?,
                self.variables,
            )));
        }
        if function == "posix_escape" {
            return Ok(Value::String(shell_escape(&text_only(&value)?)));
        }
        if let Some((offset, length)) = truncate_args(function) {
            let text = text_only(&value)?;
            return Ok(Value::String(
                text.chars().skip(offset).take(length).collect(),
            ));
        }
        if let Some(separator) = split_args(function) {
            let text = text_only(&value)?;
            if separator.is_empty() {
                return Err(
                    "error in `split` function: invalid argument: separator cannot be empty".into(),
                );
            }
            let parts: Vec<Value> = ruby_split(&text, separator)
                .into_iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .map(Value::String)
                .collect();
            return Ok(Value::Sequence(parts));
        }
        Err(format!(
            "no function matching `{function}`: check that the function name, arguments, and \
             types are correct (local runs know expand_vars, truncate(offset,length), \
             posix_escape and split('separator'))"
        ))
    }
}
