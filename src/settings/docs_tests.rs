//! The configuration reference (`docs/configuration.md`) kept honest against the code: its key
//! list is exactly the set of keys the raw structs accept (asked of serde itself, so there is no
//! second list to forget), the shipped example names every one of them and no other, every
//! literal default it states is the built-in default, and every row names its test or says
//! that it has none.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

const EXAMPLE: &str = include_str!("../../config/executor.yaml");
const REFERENCE: &str = include_str!("../../docs/configuration.md");
const PROBE: &str = "__probe__";

/// A key written as the reference writes it: `dind.image`, `policy.rules[].match.projects`.
fn dotted(path: &[String]) -> String {
    let mut out = String::new();
    for part in path {
        if part != "[]" && !out.is_empty() {
            out.push('.');
        }
        out.push_str(part);
    }
    out
}

/// The fields serde accepts at `path` ("[]" stands for an item of a list), read from its own
/// "unknown field" error; `None` when the value at `path` is not a mapping of settings: a
/// scalar, a list, or a map whose keys are the admin's own (`container.sysctls`), which takes
/// the probe key as one of them.
fn fields_at(path: &[String]) -> Option<Vec<String>> {
    let mut text = format!("{{{PROBE}: 1}}");
    for part in path.iter().rev() {
        text = match part.as_str() {
            "[]" => format!("[{text}]"),
            key => format!("{{{key}: {text}}}"),
        };
    }
    let message = match raw::load(&text) {
        Ok(_) => return None,
        Err(e) => e.to_string(),
    };
    let expected = message.split_once(&format!("unknown field `{PROBE}`, "))?.1;
    let names = expected.split('`').skip(1).step_by(2);
    Some(names.map(str::to_string).collect())
}

/// Every key the driver's config accepts, sections left out (`dind` is not a key, `dind.image`
/// is); a list of mappings is a key, and so is each key of its items.
fn accepted_keys() -> BTreeSet<String> {
    fn walk(path: &mut Vec<String>, keys: &mut BTreeSet<String>) {
        for field in fields_at(path).expect("a mapping of settings") {
            path.push(field);
            if fields_at(path).is_some() {
                walk(path, keys);
            } else {
                keys.insert(dotted(path));
                path.push("[]".into());
                if fields_at(path).is_some() {
                    walk(path, keys);
                }
                path.pop();
            }
            path.pop();
        }
    }
    let mut keys = BTreeSet::new();
    walk(&mut Vec::new(), &mut keys);
    keys
}

/// The keys `config/executor.yaml` sets (`false`) or shows commented out (`true`): a comment
/// whose text, after `# `, is `key: value` at the comment's own indentation. Prose and the
/// indented example under `policy.rules` are not keys. Sections are left out.
fn example_keys() -> BTreeMap<String, bool> {
    let mut keys = BTreeMap::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut sections = BTreeSet::new();
    for line in EXAMPLE.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let (commented, text) = match trimmed.strip_prefix("# ") {
            Some(rest) => (true, rest),
            None if trimmed.starts_with('#') || trimmed.is_empty() => continue,
            None => (false, trimmed),
        };
        let Some((key, value)) = text.split_once(':') else {
            assert!(commented, "not a key line: {line}");
            continue;
        };
        let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !is_key || (commented && !looks_like_a_value(value)) {
            assert!(commented, "not a key line: {line}");
            continue;
        }
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let path: Vec<String> = stack
            .iter()
            .map(|(_, k)| k.clone())
            .chain([key.to_string()])
            .collect();
        if let Some(parent) = path.len().checked_sub(1).filter(|n| *n > 0) {
            sections.insert(dotted(&path[..parent]));
        }
        let name = dotted(&path);
        // A key both set and shown commented out counts as set.
        let entry = keys.entry(name).or_insert(commented);
        *entry &= commented;
        stack.push((indent, key.to_string()));
    }
    keys.retain(|k, _| !sections.contains(k));
    keys
}

/// What follows `key:` in a commented-out setting, as opposed to prose that happens to hold a
/// colon: nothing, one word, or a flow list or mapping.
fn looks_like_a_value(after_colon: &str) -> bool {
    let value = after_colon.trim();
    let flow = (value.starts_with('[') && value.ends_with(']'))
        || (value.starts_with('{') && value.ends_with('}'));
    after_colon.is_empty() || (after_colon.starts_with(' ') && (flow || !value.contains(' ')))
}

/// One row of a key table in the reference: `| key | default | meaning | tested by |`.
struct Row {
    key: String,
    default: String,
    line: String,
}

fn reference_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in REFERENCE.lines() {
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        if cells.first() == Some(&"key") {
            assert_eq!(
                cells,
                ["key", "default", "meaning", "tested by"],
                "a key table's header: {line}"
            );
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        assert_eq!(cells.len(), 4, "a key row has four cells: {line}");
        let key = cells[0]
            .strip_prefix('`')
            .and_then(|k| k.strip_suffix('`'))
            .unwrap_or_else(|| panic!("a key row starts with a `key`: {line}"));
        rows.push(Row {
            key: key.to_string(),
            default: cells[1].to_string(),
            line: line.to_string(),
        });
    }
    rows
}

/// The value of a default cell that is one YAML literal (`` `30s` ``), not prose.
fn literal(default: &str) -> Option<&str> {
    let inner = default.strip_prefix('`')?.strip_suffix('`')?;
    (!inner.contains('`')).then_some(inner)
}

fn defaults() -> String {
    format!("{:?}", Settings::from_text("", "defaults").unwrap())
}

#[test]
fn the_reference_documents_exactly_the_accepted_keys() {
    let accepted = accepted_keys();
    assert!(accepted.contains("dind.image") && accepted.contains("policy.rules[].match.projects"));
    let rows = reference_rows();
    let documented: BTreeSet<String> = rows.iter().map(|r| r.key.clone()).collect();
    assert_eq!(documented.len(), rows.len(), "a key documented twice");
    let missing: Vec<_> = accepted.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/configuration.md lacks {missing:?} and documents keys the config does not accept: {unknown:?}"
    );
}

#[test]
fn the_example_names_every_accepted_key_and_no_other() {
    let accepted = accepted_keys();
    let example = example_keys();
    let unknown: Vec<_> = example.keys().filter(|k| !accepted.contains(*k)).collect();
    assert!(
        unknown.is_empty(),
        "config/executor.yaml shows keys the config does not accept: {unknown:?}"
    );
    // Keys of a list's items (a policy rule's) are described in the example's prose.
    let (top, in_lists): (Vec<&String>, Vec<&String>) =
        accepted.iter().partition(|k| !k.contains("[]"));
    let absent: Vec<_> = top.iter().filter(|k| !example.contains_key(**k)).collect();
    assert!(
        absent.is_empty(),
        "config/executor.yaml does not show {absent:?}"
    );
    for key in in_lists {
        let leaf = key.rsplit(['.', ']']).next().unwrap();
        assert!(
            EXAMPLE.contains(&format!("{leaf}:")),
            "config/executor.yaml never mentions {key}"
        );
    }
}

#[test]
fn the_documented_defaults_are_the_built_in_ones() {
    let example = example_keys();
    let want = defaults();
    let mut checked = 0;
    for row in reference_rows() {
        let set_in_example = example.get(&row.key) == Some(&false);
        let Some(value) = literal(&row.default) else {
            assert!(
                !set_in_example,
                "{}: config/executor.yaml sets it, so its default is a value: write it as `value`",
                row.key
            );
            assert!(
                !row.default.is_empty(),
                "{}: say what it is when unset",
                row.key
            );
            continue;
        };
        assert!(
            !row.key.contains("[]"),
            "{}: a rule's key has no default",
            row.key
        );
        let path: Vec<&str> = row.key.split('.').collect();
        let mut text = String::new();
        for (depth, part) in path.iter().enumerate() {
            text.push_str(&"  ".repeat(depth));
            text.push_str(part);
            text.push(':');
            text.push(if depth + 1 == path.len() { ' ' } else { '\n' });
        }
        text.push_str(value);
        text.push('\n');
        let mut set = Settings::from_text(&text, "reference").unwrap_or_else(|e| {
            panic!(
                "{}: the documented default `{value}` is refused: {e}",
                row.key
            )
        });
        set.modes_allowed_by_file = false;
        // Naming the instance is, like writing `mode.allowed`, a choice beyond the value.
        set.local.gitlab_url_named = false;
        assert_eq!(
            format!("{set:?}"),
            want,
            "{}: setting it to its documented default `{value}` changes the settings",
            row.key
        );
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} defaults were checked");
}

#[test]
fn every_key_names_its_test_or_says_it_has_none() {
    for row in reference_rows() {
        let tests = row.line.split(" | ").last().unwrap();
        let linked = tests.contains(".rs)") && tests.contains("`");
        assert!(
            linked || tests.contains("untested"),
            "{}: link the test that proves it, or write (untested)",
            row.key
        );
    }
}
