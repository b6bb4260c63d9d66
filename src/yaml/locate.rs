//! Find the line of a nested key in the YAML text, so errors found after parsing (a mode that
//! is not allowed, a relative path) still point the admin at a line. Block-style YAML only; when
//! the key cannot be found the error simply has no line.

/// 1-based line of `path` (e.g. `["mode", "default"]`) in `text`.
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    let mut want = path.iter();
    let mut key = want.next()?;
    let mut min_indent = 0usize;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent < min_indent {
            continue;
        }
        let is_key = trimmed
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'));
        if is_key {
            match want.next() {
                Some(next) => {
                    key = next;
                    min_indent = indent + 1;
                }
                None => return Some(index + 1),
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::line_of;

    const TEXT: &str = "default: x\nmode:\n  # comment\n  variable: V\n  default: dind\n";

    #[test]
    fn finds_nested_keys_under_their_parent() {
        assert_eq!(line_of(TEXT, &["mode", "default"]), Some(5));
        assert_eq!(line_of(TEXT, &["default"]), Some(1));
        assert_eq!(line_of(TEXT, &["mode", "allowed"]), None);
    }
}
