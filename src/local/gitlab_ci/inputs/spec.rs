//! The `spec:inputs` header: each input's declaration read and checked, and a value for it
//! checked against the declaration, with GitLab's messages.

use regex::Regex;

use crate::yaml::{line_of, Mapping, Value};

use super::super::values::describe;
use super::ruby::ruby_to_s;
use super::{fail, Given, InputError};

/// GitLab's `Header::Input::ALLOWED_OPTIONS_LIMIT`.
const MAX_OPTIONS: usize = 50;
/// One declared input.
#[derive(Debug)]
pub(super) struct Spec {
    pub name: String,
    kind: Kind,
    default: Option<Value>,
    options: Option<Vec<Value>>,
    regex: Option<String>,
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    String,
    Number,
    Boolean,
    Array,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::Array => "array",
        }
    }

    fn article(self) -> &'static str {
        match self {
            Kind::Array => "an",
            _ => "a",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            Kind::String => value.is_string(),
            Kind::Number => value.is_number(),
            Kind::Boolean => value.is_bool(),
            Kind::Array => value.is_sequence(),
        }
    }
}

/// `spec:` of the header: only `inputs` is read (`component` is metadata for the catalog).
pub(super) fn read_header(header: &Mapping, text: &str) -> Result<Vec<Spec>, InputError> {
    let spec_line = line_of(text, &["spec"]);
    for key in header.keys() {
        if key.as_str() != Some("spec") {
            return Err(fail(
                spec_line,
                format!(
                    "the header may hold only `spec:`, found {}; put the pipeline after the `---` line",
                    describe(key)
                ),
            ));
        }
    }
    let spec = match header.get("spec") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Mapping(spec)) => spec,
        Some(other) => {
            return Err(fail(
                spec_line,
                format!("`spec:` must be a mapping, found {}", describe(other)),
            ))
        }
    };
    for key in spec.keys() {
        match key.as_str() {
            Some("inputs") | Some("component") => {}
            Some("include") => {
                return Err(fail(
                    line_of(text, &["spec", "include"]),
                    "`spec:include` (inputs from other files) is not read by local runs; \
                     declare the inputs in `spec:inputs`",
                ))
            }
            _ => {
                return Err(fail(
                    spec_line,
                    format!("`spec:` has the unknown key {}; use inputs", describe(key)),
                ))
            }
        }
    }
    let inputs = match spec.get("inputs") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Mapping(inputs)) => inputs,
        Some(other) => {
            return Err(fail(
                line_of(text, &["spec", "inputs"]),
                format!(
                    "`spec:inputs` must be a mapping of input names, found {}",
                    describe(other)
                ),
            ))
        }
    };
    let mut specs = Vec::with_capacity(inputs.len());
    for (name, value) in inputs {
        let name = match name {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                return Err(fail(
                    line_of(text, &["spec", "inputs"]),
                    format!(
                        "`spec:inputs` has a name that is not a string ({})",
                        describe(other)
                    ),
                ))
            }
        };
        let line = line_of(text, &["spec", "inputs", &name]);
        let spec = Spec::read(&name, value, line)
            .map_err(|m| fail(line, format!("`spec:inputs:{name}` {m}")))?;
        specs.push(spec);
    }
    Ok(specs)
}

impl Spec {
    fn read(name: &str, value: &Value, line: Option<usize>) -> Result<Spec, String> {
        let empty = Mapping::new();
        let map = match value {
            Value::Null => &empty,
            Value::Mapping(map) => map,
            other => {
                return Err(format!(
                    "must be a mapping with `type`, `default`, `options`, `regex` or \
                     `description`, found {}",
                    describe(other)
                ))
            }
        };
        for key in map.keys() {
            match key.as_str() {
                Some("default" | "description" | "options" | "regex" | "type") => {}
                Some("rules") => {
                    return Err(
                        "uses `rules:`, which local runs do not read; give it a `default:`".into(),
                    )
                }
                _ => {
                    return Err(format!(
                        "has the unknown key {}; use type, default, options, regex or description",
                        describe(key)
                    ))
                }
            }
        }
        let kind = match map.get("type") {
            None | Some(Value::Null) => Kind::String,
            Some(Value::String(t)) => match t.as_str() {
                "string" => Kind::String,
                "number" => Kind::Number,
                "boolean" => Kind::Boolean,
                "array" => Kind::Array,
                other => {
                    return Err(format!(
                        "has the unknown type `{other}`; use string, number, boolean or array"
                    ))
                }
            },
            Some(other) => return Err(format!("`type` must be a name, found {}", describe(other))),
        };
        if let Some(d) = map.get("description") {
            if !(d.is_string() || d.is_number() || d.is_null()) {
                return Err(format!("`description` must be text, found {}", describe(d)));
            }
        }
        let options = match map.get("options") {
            None | Some(Value::Null) => None,
            Some(Value::Sequence(items)) if items.len() > MAX_OPTIONS => {
                return Err(format!("cannot define more than {MAX_OPTIONS} options"))
            }
            Some(Value::Sequence(items)) => Some(items.clone()),
            Some(other) => {
                return Err(format!(
                    "`options` must be a list, found {}",
                    describe(other)
                ))
            }
        };
        let regex = match map.get("regex") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) => Some(r.clone()),
            Some(other) => {
                return Err(format!(
                    "`regex` must be a string, found {}",
                    describe(other)
                ))
            }
        };
        Ok(Spec {
            name: name.to_string(),
            kind,
            default: map.get("default").cloned(),
            options,
            regex,
            line,
        })
    }

    /// The value of this input: `given` checked, else the default; GitLab checks the default
    /// too whenever there is one.
    pub(super) fn value(&self, given: Option<&Given>) -> Result<Value, String> {
        if let Some(default) = &self.default {
            self.check(default, "default")?;
        }
        let given = match given {
            Some(Given::Text(text)) => Some(self.parse(text)?),
            Some(Given::Value(Value::Null)) | None => None,
            Some(Given::Value(value)) => Some(value.clone()),
        };
        match given {
            Some(value) => {
                self.check(&value, "provided")?;
                Ok(value)
            }
            None => self.default.clone().ok_or_else(|| {
                "required value has not been provided; give it with `--input NAME=VALUE` or \
                 give the input a `default:`"
                    .to_string()
            }),
        }
    }

    /// Command-line text as a value of this input's type.
    fn parse(&self, text: &str) -> Result<Value, String> {
        if self.kind == Kind::String {
            return Ok(Value::String(text.to_string()));
        }
        let value: Value = crate::yaml::from_str(text).unwrap_or(Value::Null);
        match self.kind.accepts(&value) {
            true => Ok(value),
            false => Err(format!(
                "provided value `{text}` is not {} {}",
                self.kind.article(),
                self.kind.name()
            )),
        }
    }

    fn check(&self, value: &Value, which: &str) -> Result<(), String> {
        if !self.kind.accepts(value) {
            return Err(format!(
                "{which} value is not {} {}",
                self.kind.article(),
                self.kind.name()
            ));
        }
        if let Some(options) = &self.options {
            if !matches!(self.kind, Kind::String | Kind::Number) {
                return Err("options can only be used with string and number inputs".into());
            }
            if !options.contains(value) {
                let shown: Vec<String> = options.iter().map(ruby_to_s).collect();
                return Err(format!(
                    "`{}` cannot be used because it is not in the list of allowed options ({})",
                    ruby_to_s(value),
                    shown.join(", ")
                ));
            }
        }
        if let Some(pattern) = &self.regex {
            if self.kind != Kind::String {
                return Err("RegEx validation can only be used with string inputs".into());
            }
            let regex =
                Regex::new(pattern).map_err(|_| "invalid regular expression".to_string())?;
            if !value.as_str().is_some_and(|s| regex.is_match(s)) {
                return Err(format!(
                    "{which} value does not match required RegEx pattern `{pattern}`"
                ));
            }
        }
        Ok(())
    }
}
