//! How Ruby shows a value: what an input becomes inside a longer string (`to_s`, and
//! `inspect` for arrays), as GitLab's `gsub` puts it there.

use crate::yaml::Value;

/// Ruby's `to_s` of an input value, as `gsub` puts it into a longer string.
pub(super) fn ruby_to_s(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => ruby_float(f),
            _ => n.to_string(),
        },
        other => ruby_inspect(other),
    }
}

/// Ruby's `inspect`, which is how an array shows inside a string.
fn ruby_inspect(value: &Value) -> String {
    match value {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => ruby_to_s(value),
        Value::String(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Sequence(items) => {
            let shown: Vec<String> = items.iter().map(ruby_inspect).collect();
            format!("[{}]", shown.join(", "))
        }
        Value::Mapping(map) => {
            // GitLab symbolizes the keys of what it loads.
            let shown: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let key = match k.as_str() {
                        Some(s)
                            if !s.is_empty()
                                && s.chars().all(|c| c.is_alphanumeric() || c == '_') =>
                        {
                            format!(":{s}")
                        }
                        Some(s) => format!(":{}", ruby_inspect(&Value::String(s.into()))),
                        None => ruby_inspect(k),
                    };
                    format!("{key}=>{}", ruby_inspect(v))
                })
                .collect();
            format!("{{{}}}", shown.join(", "))
        }
        Value::Tagged(t) => ruby_inspect(&t.value),
    }
}

/// Ruby's `Float#to_s`: `2.0`, `0.5`, `1.0e+16`, `1.0e-05`.
fn ruby_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let magnitude = f.abs();
    if f == 0.0 || (1e-4..1e16).contains(&magnitude) {
        let text = format!("{f}");
        return match text.contains('.') {
            true => text,
            false => format!("{text}.0"),
        };
    }
    let text = format!("{f:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = match mantissa.contains('.') {
        true => mantissa.to_string(),
        false => format!("{mantissa}.0"),
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Value;

    #[test]
    fn values_show_in_strings_as_ruby_shows_them() {
        let v = |t: &str| -> Value { crate::yaml::from_str(t).unwrap() };
        assert_eq!(ruby_to_s(&v("[alice, bob]")), "[\"alice\", \"bob\"]");
        assert_eq!(ruby_to_s(&v("2.0")), "2.0");
        assert_eq!(ruby_to_s(&v("1e20")), "1.0e+20");
        assert_eq!(ruby_to_s(&v("3")), "3");
        assert_eq!(ruby_to_s(&v("true")), "true");
        assert_eq!(ruby_to_s(&v("[{if: x}]")), "[{:if=>\"x\"}]");
    }
}
