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

/// `text` with every secret replaced by `[MASKED]`.
pub fn text(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |out, secret| {
        out.replace(secret.as_str(), MASK)
    })
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
}
