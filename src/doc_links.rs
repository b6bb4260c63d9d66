//! The README and `docs/` point at the tests that prove what they say; these tests keep those
//! pointers from rotting. A link to a Rust file is followed by the names of the tests in it,
//! in backticks: ``[signals.rs](../tests/driver/signals.rs) `sigterm_stops_the_script_inside_the_container_in_socket_mode` ``.
//! Every relative link must reach a file (and a heading, when it names one), every test name
//! must be a test in the linked file, a link to a file with tests must name at least one, and a
//! test's name written anywhere else (no link before it) is an error: it would be a claim whose
//! proof nobody can find.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page under docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// A relative link of a page: its target and the test names written after it.
struct Link {
    target: String,
    names: Vec<String>,
}

fn is_test_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The backticked test names right after a link: `` `a`, `b` and `c` ``, ending at the first
/// word or backticked text that is not a name. Each name comes with its offset in `rest`.
fn names_after(rest: &str) -> Vec<(usize, String)> {
    let mut names = Vec::new();
    let mut at = usize::from(rest.starts_with(':'));
    let separators = [' ', ',', '\n'];
    loop {
        let mut trimmed = rest[at..].trim_start_matches(separators);
        if let Some(after_and) = trimmed.strip_prefix("and") {
            if after_and.starts_with(separators) {
                trimmed = after_and.trim_start_matches(separators);
            }
        }
        let start = rest.len() - trimmed.len();
        let Some(after) = trimmed.strip_prefix('`') else {
            return names;
        };
        let Some((name, _)) = after.split_once('`') else {
            return names;
        };
        if !is_test_name(name) {
            return names;
        }
        names.push((start, name.to_string()));
        at = start + name.len() + 2;
    }
}

/// A page read for its links: the relative links, and the backticked names that follow no
/// link (a test named there would be a claim without its file).
struct Page {
    links: Vec<Link>,
    loose: Vec<String>,
}

/// Read a page outside its code blocks; test names may follow a link on the next line.
fn read_page(text: &str) -> Page {
    let mut prose = String::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    let mut links = Vec::new();
    let mut linked_at = std::collections::BTreeSet::new();
    let mut from = 0;
    while let Some(found) = prose[from..].find("](") {
        let open = from + found + 2;
        let Some(len) = prose[open..].find(')') else {
            break;
        };
        let target = &prose[open..open + len];
        from = open + len + 1;
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let mut names = Vec::new();
        if target.ends_with(".rs") {
            for (at, name) in names_after(&prose[from..]) {
                linked_at.insert(from + at);
                names.push(name);
            }
        }
        links.push(Link {
            target: target.to_string(),
            names,
        });
    }
    let loose = code_spans(&prose)
        .into_iter()
        .filter(|(at, text)| is_test_name(text) && !linked_at.contains(at))
        .map(|(_, text)| text.to_string())
        .collect();
    Page { links, loose }
}

/// Markdown code spans with the offset of their opening backticks: a run of n backticks up to
/// the next run of exactly n.
fn code_spans(prose: &str) -> Vec<(usize, &str)> {
    let bytes = prose.as_bytes();
    let run = |at: usize| bytes[at..].iter().take_while(|b| **b == b'`').count();
    let mut spans = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'`' {
            at += 1;
            continue;
        }
        let n = run(at);
        let body = at + n;
        let mut close = body;
        let end = loop {
            match prose[close..].find('`') {
                None => break None,
                Some(i) if run(close + i) == n => break Some(close + i),
                Some(i) => close += i + run(close + i),
            }
        };
        match end {
            Some(end) => {
                spans.push((at, prose[body..end].trim()));
                at = end + n;
            }
            None => at = body,
        }
    }
    spans
}

/// The names of every test of the crate, in `src/` and `tests/`.
fn all_test_names() -> std::collections::BTreeSet<String> {
    fn walk(dir: &Path, names: &mut std::collections::BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, names);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for line in source.lines() {
                    let l = line.trim_start();
                    let l = l.strip_prefix("async ").unwrap_or(l);
                    let Some(name) = l.strip_prefix("fn ").and_then(|r| r.split('(').next()) else {
                        continue;
                    };
                    if is_test_name(name) && has_test(&source, name) {
                        names.insert(name.to_string());
                    }
                }
            }
        }
    }
    let mut names = std::collections::BTreeSet::new();
    walk(&root().join("src"), &mut names);
    walk(&root().join("tests"), &mut names);
    names
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

/// Whether `file` holds a test function named `name` (its attribute on one of the lines just
/// above, past doc comments and other attributes).
fn has_test(file: &str, name: &str) -> bool {
    let lines: Vec<&str> = file.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        let l = line.trim_start();
        let defines = l
            .strip_prefix("async ")
            .unwrap_or(l)
            .strip_prefix("fn ")
            .and_then(|rest| rest.strip_prefix(name))
            .is_some_and(|rest| rest.starts_with('('));
        defines
            && lines[..i]
                .iter()
                .rev()
                .map(|l| l.trim_start())
                .take_while(|l| l.starts_with("#[") || l.starts_with("///"))
                .any(|l| l.starts_with("#[test]") || l.starts_with("#[tokio::test"))
    })
}

fn has_tests(file: &str) -> bool {
    file.contains("#[test]") || file.contains("#[tokio::test")
}

#[test]
fn every_link_reaches_its_file_and_every_named_test_exists() {
    let tests = all_test_names();
    let mut broken = Vec::new();
    let mut named = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let shown = page.strip_prefix(root()).unwrap().display().to_string();
        let page_read = read_page(&text);
        for name in page_read.loose.iter().filter(|n| tests.contains(*n)) {
            broken.push(format!(
                "{shown}: the test `{name}` is named without a link to its file"
            ));
        }
        for link in page_read.links {
            let (path, heading) = match link.target.split_once('#') {
                Some((path, heading)) => (path, Some(heading)),
                None => (link.target.as_str(), None),
            };
            let file = match path {
                "" => page.clone(),
                path => page.parent().unwrap().join(path),
            };
            let Ok(meta) = std::fs::metadata(&file) else {
                broken.push(format!("{shown}: {} does not exist", link.target));
                continue;
            };
            if let Some(heading) = heading {
                let body = std::fs::read_to_string(&file).unwrap_or_default();
                if !anchors(&body).iter().any(|a| a == heading) {
                    broken.push(format!("{shown}: {} names no heading", link.target));
                }
            }
            if !meta.is_file() || !path.ends_with(".rs") {
                continue;
            }
            let source = std::fs::read_to_string(&file).unwrap();
            if has_tests(&source) && link.names.is_empty() {
                broken.push(format!(
                    "{shown}: {} is linked without the name of a test in it",
                    link.target
                ));
            }
            for name in &link.names {
                named += 1;
                if !has_test(&source, name) {
                    broken.push(format!("{shown}: {} has no test `{name}`", link.target));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    assert!(
        named > 100,
        "only {named} tests are named: is the link syntax still read?"
    );
}

#[test]
fn the_front_page_names_the_test_command_ci_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "scripts/test"), "{ci}");
    assert!(
        readme.contains("`scripts/test` is the test command"),
        "the README must say that scripts/test is the test command"
    );
}

#[test]
fn link_syntax_is_read_as_documented() {
    let text = "see [signals.rs](../tests/driver/signals.rs) `one_test`, `two` and\n`three`; \
                and [config](config.md#the-keys) `not_read`\n```\n[x](y.rs) `in_code`\n```\n";
    let page = read_page(text);
    let found = page.links;
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].target, "../tests/driver/signals.rs");
    assert_eq!(found[0].names, ["one_test", "two", "three"]);
    assert!(found[1].names.is_empty());
    assert_eq!(page.loose, ["not_read"], "in_code is in a code block");
    let spans = code_spans("a ``x=`y` `` and `z`");
    let texts: Vec<&str> = spans.iter().map(|(_, t)| *t).collect();
    assert_eq!(texts, ["x=`y`", "z"]);
    assert_eq!(anchor(" Bad input: `x` & y"), "bad-input-x--y");
    let source = "#[test]\n/// doc\nfn real() {}\nfn helper() {}\n";
    assert!(has_test(source, "real") && !has_test(source, "helper") && !has_test(source, "rea"));
}
