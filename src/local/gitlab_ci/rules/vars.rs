//! The variables rules see, layered as GitLab layers them: predefined lowest, then the file's
//! (global `variables:` with `workflow:rules` variables over them, as `inherit:` lets the job
//! have them, then the job's own), then the person's overrides (`--var`), which stand for
//! project and pipeline variables and beat the file's.
//!
//! `rules:if` sees values as written (GitLab does not expand them there); `changes:` and
//! `exists:` paths expand `$NAME`/`${NAME}` of variables that are set and leave others as
//! written, as GitLab's `expand_existing` does.

/// Layers of variables, looked up from the last to the first.
pub(super) struct Layers<'a> {
    pub layers: Vec<&'a [(String, String)]>,
}

impl<'a> Layers<'a> {
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.layers.iter().rev().find_map(|layer| {
            layer
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        })
    }

    /// `text` with `$NAME` and `${NAME}` of set variables expanded (their values expanded
    /// in turn, a few levels deep); unknown names and `$$` stay as written.
    pub fn expand_existing(&self, text: &str) -> String {
        self.expand_depth(text, 0)
    }

    fn expand_depth(&self, text: &str, depth: usize) -> String {
        // Values that refer to each other stop here rather than loop.
        const MAX_DEPTH: usize = 8;
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, len) = match after.strip_prefix('{') {
                Some(braced) => match braced.find('}') {
                    Some(end) => (&braced[..end], end + 2),
                    None => ("", 0),
                },
                None => {
                    let end = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    (&after[..end], end)
                }
            };
            match self.get(name).filter(|_| !name.is_empty()) {
                Some(value) if depth < MAX_DEPTH => {
                    out.push_str(&self.expand_depth(value, depth + 1));
                }
                Some(value) => out.push_str(value),
                None => out.push_str(&rest[at..at + 1 + len]),
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out
    }
}

/// `base` with `over` laid on top: a name set again is replaced in place.
pub(super) fn overlay(
    base: &[(String, String)],
    over: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out = base.to_vec();
    for (key, value) in over {
        match out.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.clone(),
            None => out.push((key.clone(), value.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{overlay, Layers};
    use crate::local::test_vars::pairs;

    #[test]
    fn later_layers_win_and_only_set_names_expand() {
        let low = pairs(&[("A", "low"), ("DIR", "src/$SUB"), ("SUB", "lib")]);
        let high = pairs(&[("A", "high")]);
        let layers = Layers {
            layers: vec![&low, &high],
        };
        assert_eq!(layers.get("A"), Some("high"));
        assert_eq!(layers.get("NONE"), None);
        assert_eq!(
            layers.expand_existing("$DIR/**/*.rs ${A} $UNSET ${UNSET} $$ $"),
            "src/lib/**/*.rs high $UNSET ${UNSET} $$ $"
        );
        assert_eq!(
            overlay(&low, &pairs(&[("SUB", "x"), ("NEW", "y")]))[2..],
            pairs(&[("SUB", "x"), ("NEW", "y")])[..]
        );
    }
}
