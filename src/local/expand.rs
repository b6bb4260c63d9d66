//! `$NAME` and `${NAME}` in job variables, expanded the way the runner expands them, each value
//! against the ones set before it. Expansion multiplies what a file holds, so it is bounded:
//! one value at [`MAX_VALUE`], all of a job's together at [`MAX_TOTAL`].

use std::collections::HashMap;

/// The most one variable may hold once expanded. Expansion multiplies: ten `${PREVIOUS}` in
/// each of nine variables make 731 bytes of `variables:` expand to 10 GB.
pub const MAX_VALUE: usize = 1 << 20;
/// The most a job's variables may hold together once expanded: a thousand copies of one
/// variable just under [`MAX_VALUE`] would still come to 1 GB.
pub const MAX_TOTAL: usize = 4 << 20;

/// Layer `next` over `vars`: each value is expanded against what is set so far, and a name set
/// again replaces the earlier value in place. Fails, naming the variable, once a value would
/// pass [`MAX_VALUE`] or all of them [`MAX_TOTAL`].
pub fn layer(vars: &mut Vec<(String, String)>, next: &[(String, String)]) -> Result<(), String> {
    // Names are unique in `vars`; the index keeps a long list of references linear.
    let mut index: HashMap<String, usize> = vars
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), i))
        .collect();
    let mut total: usize = vars.iter().map(|(_, v)| v.len()).sum();
    let repeat = "look for `$NAME` references that repeat (`$$` is a literal `$`)";
    for (key, value) in next {
        let lookup = |name: &str| index.get(name).map(|&i| vars[i].1.as_str());
        let expanded = expand(value, lookup, MAX_VALUE).ok_or_else(|| {
            format!(
                "variable `{key}` expands to more than {} MiB, the most one variable may hold \
                 in a local run; {repeat}",
                MAX_VALUE >> 20
            )
        })?;
        let slot = index.get(key).copied();
        total = total - slot.map_or(0, |i| vars[i].1.len()) + expanded.len();
        if total > MAX_TOTAL {
            return Err(format!(
                "the job's variables expand to more than {} MiB together (at `{key}`), the most \
                 a local run allows; {repeat}",
                MAX_TOTAL >> 20
            ));
        }
        match slot {
            Some(i) => vars[i].1 = expanded,
            None => {
                index.insert(key.clone(), vars.len());
                vars.push((key.clone(), expanded));
            }
        }
    }
    Ok(())
}

/// Set `key` to `value` as written, in place when it is set already.
pub fn set(vars: &mut Vec<(String, String)>, key: &str, value: &str) {
    match vars.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value.to_string(),
        None => vars.push((key.to_string(), value.to_string())),
    }
}

/// The value of `name` in `vars`, the one set last winning (a list of layers, not a map).
pub fn last<'v>(vars: &'v [(String, String)], name: &str) -> Option<&'v str> {
    vars.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Expand `$NAME` and `${NAME}`; `$$` is a literal `$`; unknown names expand to nothing.
/// `None` once the result would be longer than `limit` bytes, found before it is built.
pub fn expand<'v>(
    value: &str,
    lookup: impl Fn(&str) -> Option<&'v str>,
    limit: usize,
) -> Option<String> {
    let mut out = String::with_capacity(value.len().min(limit));
    for piece in pieces(value) {
        let text = match piece {
            Piece::Text(text) => text,
            Piece::Name(name) => lookup(name).unwrap_or_default(),
        };
        if out.len() + text.len() > limit {
            return None;
        }
        out.push_str(text);
    }
    Some(out)
}

/// The names `value` refers to, each once, in the order written: what [`expand`] looks up.
pub fn references(value: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for piece in pieces(value) {
        if let Piece::Name(name) = piece {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The names `value` refers to that `lookup` has no value for (unset, or set empty), each
/// once, in the order written: what would expand to nothing.
pub fn unset_references<'t, 'v>(
    value: &'t str,
    lookup: impl Fn(&str) -> Option<&'v str>,
) -> Vec<&'t str> {
    let mut names = references(value);
    names.retain(|n| !n.is_empty() && lookup(n).is_none_or(str::is_empty));
    names
}

/// `text` written so that [`layer`] keeps it as it is (`$` as `$$`): a value already
/// expanded, still counted against the caps.
pub fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

/// A stretch of a value: text kept as it is, or a variable's name to look up.
enum Piece<'a> {
    Text(&'a str),
    Name(&'a str),
}

/// `value` cut into [`Piece`]s, the one reading both [`expand`] and [`references`] share.
fn pieces(value: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = value;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let at = rest.find('$').unwrap_or(rest.len());
        if at > 0 {
            let text = &rest[..at];
            rest = &rest[at..];
            return Some(Piece::Text(text));
        }
        let after = &rest[1..];
        if let Some(tail) = after.strip_prefix('$') {
            rest = tail;
            return Some(Piece::Text("$"));
        }
        if let Some(braced) = after.strip_prefix('{') {
            return Some(match braced.find('}') {
                Some(end) => {
                    rest = &braced[end + 1..];
                    Piece::Name(&braced[..end])
                }
                // `${` without its `}` is text.
                None => {
                    rest = after;
                    Piece::Text("$")
                }
            });
        }
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        rest = &after[len..];
        match len {
            0 => Some(Piece::Text("$")),
            _ => Some(Piece::Name(&after[..len])),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::test_vars::pairs;

    #[test]
    fn expansion_follows_the_runner() {
        let lookup = |name: &str| match name {
            "A" => Some("x"),
            "LONG_NAME" => Some("y"),
            _ => None,
        };
        for (input, want) in [
            ("$A", "x"),
            ("${A}b", "xb"),
            ("$A-$LONG_NAME", "x-y"),
            ("$$A", "$A"),
            ("$MISSING.", "."),
            ("cost: 5$", "cost: 5$"),
            ("${A", "${A"),
            ("no vars", "no vars"),
        ] {
            assert_eq!(expand(input, lookup, 100).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn references_are_the_names_expand_looks_up() {
        for (input, want) in [
            ("$A", vec!["A"]),
            ("${REGISTRY}/app:${TAG}", vec!["REGISTRY", "TAG"]),
            ("$A-$A$B", vec!["A", "B"]),
            ("$$A ${B", vec![]),
            ("cost: 5$ and ${}", vec![""]),
            ("no vars", vec![]),
        ] {
            assert_eq!(references(input), want, "{input}");
        }
    }

    #[test]
    fn a_literal_layers_unchanged() {
        let mut vars = pairs(&[("A", "x")]);
        let text = r#"[{"name":"a$A","alias":"$$"}]"#;
        layer(&mut vars, &pairs(&[("J", &literal(text))])).unwrap();
        assert_eq!(vars[1].1, text);
    }

    #[test]
    fn layers_expand_against_earlier_values_and_replace_in_place() {
        let mut vars = pairs(&[("CI_PROJECT_DIR", "/builds/p"), ("X", "1")]);
        layer(
            &mut vars,
            &pairs(&[("OUT", "$CI_PROJECT_DIR/out"), ("X", "2")]),
        )
        .unwrap();
        layer(&mut vars, &pairs(&[("X", "${X}3")])).unwrap();
        assert_eq!(
            vars,
            pairs(&[
                ("CI_PROJECT_DIR", "/builds/p"),
                ("X", "23"),
                ("OUT", "/builds/p/out")
            ])
        );
    }

    #[test]
    fn expansion_stops_at_the_limit() {
        let lookup = |name: &str| (name == "A").then_some("abc");
        assert_eq!(expand("$A$A", lookup, 6).as_deref(), Some("abcabc"));
        for input in ["$A$A$A", "${A}x${A}x", "1234567", &"$$".repeat(7)] {
            assert_eq!(expand(input, lookup, 6), None, "{input}");
        }
    }

    /// 731 bytes of `variables:` that would expand to 10 GB.
    #[test]
    fn a_variable_cannot_expand_past_the_cap() {
        let mut file = pairs(&[("V0", &"x".repeat(100))]);
        for i in 1..10 {
            file.push((format!("V{i}"), format!("${{V{}}}", i - 1).repeat(10)));
        }
        let started = std::time::Instant::now();
        let mut vars = Vec::new();
        let err = layer(&mut vars, &file).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(
            err,
            "variable `V5` expands to more than 1 MiB, the most one variable may hold in a \
             local run; look for `$NAME` references that repeat (`$$` is a literal `$`)"
        );
        // V4 (a million bytes) was the last to fit.
        assert_eq!(
            vars.last().map(|(k, v)| (k.as_str(), v.len())),
            Some(("V4", 1_000_000))
        );
    }

    #[test]
    fn all_variables_together_cannot_pass_the_total_cap() {
        let big = "x".repeat(MAX_VALUE);
        let mut file = pairs(&[("BIG", &big)]);
        for i in 0..10 {
            file.push((format!("COPY{i}"), "$BIG".into()));
        }
        let mut vars = Vec::new();
        let err = layer(&mut vars, &file).unwrap_err();
        assert!(
            err.starts_with("the job's variables expand to more than 4 MiB together (at `COPY3`)"),
            "{err}"
        );
        // Replacing a value in place counts the new value, not both.
        let mut vars = pairs(&[("A", &big), ("B", &big), ("C", &big)]);
        layer(&mut vars, &pairs(&[("A", "$B"), ("A", "${C}")])).unwrap();
        layer(&mut vars, &pairs(&[("D", "small")])).unwrap();
    }
}
