//! `--var` values kept out of what a dry run and the pipeline view print. A `--var` stands for
//! a project's CI/CD variable, which may be a secret, and the file decides where its values
//! land (an image tag, a service's command): so every `--var` value long enough to be a
//! masked variable in GitLab (8 characters) is shown as `[MASKED]`, wherever it appears, as
//! GitLab masks a job's log. Shorter values cannot be masked in GitLab either.

use serde_json::Value;

/// GitLab's shortest maskable value.
pub const MIN_MASKED: usize = 8;

const MASK: &str = "[MASKED]";

/// The values to mask among the person's `--var`s, longest first (so a value inside another
/// is not masked first and leaves part of the longer one).
pub fn secrets(overrides: &[(String, String)]) -> Vec<String> {
    let mut values: Vec<String> = overrides
        .iter()
        // Ids a run names its resources by are numbers, not secrets (`LocalIds`).
        .filter(|(k, _)| !k.starts_with("CI_") || !k.ends_with("_ID"))
        .map(|(_, v)| v.clone())
        .filter(|v| v.chars().count() >= MIN_MASKED)
        .collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    values
}

/// Where a message cuts a long value short (`printable`, `shown_name`).
const CUT: char = '…';

/// The longest start of a value looked for before a [`CUT`] (values are cut at 256
/// characters at most, and escaping makes a character at most 10 bytes).
const MAX_CUT: usize = 4096;

/// `text` with every secret replaced by `[MASKED]`: as it is, as messages escape it
/// (`printable` escapes every quote, backslash and non-ASCII character), and cut short: the
/// start of a secret (8 characters or more) right before a `…` is masked too, or a file could
/// put a long value where a message shows only its first 40 characters.
pub fn text(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        for form in forms(secret) {
            out = out.replace(&form, MASK);
            out = cut_short(&out, &form);
        }
    }
    out
}

/// `secret` as it is and in each escaped form a message may show it in: `printable`'s and
/// `{:?}`'s.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    for form in [
        secret.chars().flat_map(char::escape_default).collect(),
        // `{:?}`'s, without its quotes.
        {
            let debug = format!("{secret:?}");
            debug[1..debug.len() - 1].to_string()
        },
    ] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// `text` with each start of `form` of at least [`MIN_MASKED`] characters that ends right
/// before a [`CUT`] masked.
fn cut_short(text: &str, form: &str) -> String {
    // The byte lengths of the starts worth masking, longest first.
    let starts: Vec<usize> = form
        .char_indices()
        .map(|(at, _)| at)
        .chain([form.len()])
        .skip(MIN_MASKED)
        .filter(|&len| len <= MAX_CUT)
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(CUT) {
        let before = &rest[..at];
        match starts
            .iter()
            .rev()
            .find(|&&len| before.ends_with(&form[..len]))
        {
            Some(&len) => {
                out.push_str(&before[..before.len() - len]);
                out.push_str(MASK);
            }
            None => out.push_str(before),
        }
        out.push(CUT);
        rest = &rest[at + CUT.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// Every string in `value` (keys too) masked.
pub fn json(value: &mut Value, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    match value {
        Value::String(s) => *s = text(s, secrets),
        Value::Array(items) => items.iter_mut().for_each(|v| json(v, secrets)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (key, mut v) in old {
                json(&mut v, secrets);
                map.insert(text(&key, secrets), v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_maskable_length_are_masked_everywhere() {
        let given = [
            ("TOKEN".to_string(), "s3cr3t-value".to_string()),
            ("TAG".to_string(), "1.2".to_string()),
            ("PART".to_string(), "s3cr3t-v".to_string()),
        ];
        let secrets = secrets(&given);
        assert_eq!(secrets, ["s3cr3t-value", "s3cr3t-v"]);
        assert_eq!(
            text("image: reg/app:s3cr3t-value (1.2)", &secrets),
            "image: reg/app:[MASKED] (1.2)"
        );
        let mut doc =
            serde_json::json!({"image": "x:s3cr3t-v", "s3cr3t-value": ["a s3cr3t-value"]});
        json(&mut doc, &secrets);
        assert_eq!(
            doc,
            serde_json::json!({"image": "x:[MASKED]", "[MASKED]": ["a [MASKED]"]})
        );
    }

    /// Messages escape and cut what they quote (`printable`: 40 characters, then `…`): a
    /// secret is masked in those forms too, and a cut start shows at most 7 of its characters.
    #[test]
    fn escaped_and_cut_values_are_masked_too() {
        let given = [
            ("Q".to_string(), "it's \\ \"q\" é-token\"".to_string()),
            (
                "LONG".to_string(),
                "glpat-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef".to_string(),
            ),
        ];
        let secrets = secrets(&given);
        let printable = |v: &str| crate::plan::printable_value(v);
        let quoted = printable(&given[0].1);
        assert!(quoted.contains("\\'"), "{quoted}");
        assert_eq!(text(&quoted, &secrets), "`[MASKED]`");
        assert_eq!(text(&format!("{:?}", given[0].1), &secrets), "\"[MASKED]\"");
        for pad in 0..40 {
            let cut = printable(&format!("{}{}", "a".repeat(pad), given[1].1));
            let shown = text(&format!("service image {cut} is not allowed"), &secrets);
            let left = 40 - pad;
            match left >= MIN_MASKED {
                true => assert!(shown.contains("[MASKED]…"), "{shown}"),
                false => assert!(shown.contains(&given[1].1[..left]), "{shown}"),
            }
            assert!(!shown.contains(&given[1].1[..MIN_MASKED]), "{shown}");
        }
        // A `…` that follows something else is left alone.
        assert_eq!(text("wait… done", &secrets), "wait… done");
    }
}
