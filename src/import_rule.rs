//! The import rule of the crate's doc comment, checked over the source (test-only): a module
//! that reaches past its layer fails here with the file and line.

use std::path::{Path, PathBuf};

/// Module (a `src/<name>.rs` file and its `src/<name>/` directory) and what it must not name.
const RULES: &[(&str, &[&str])] = &[
    (
        "env",
        &["crate::plan", "crate::docker", "crate::stage", "bollard"],
    ),
    (
        "settings",
        &[
            "crate::plan",
            "crate::docker",
            "crate::stage",
            "crate::registry",
            "bollard",
        ],
    ),
    (
        "payload",
        &[
            "crate::plan",
            "crate::docker",
            "crate::stage",
            "crate::registry",
            "bollard",
        ],
    ),
    (
        "registry",
        &["crate::plan", "crate::docker", "crate::stage", "bollard"],
    ),
    (
        "plan",
        &[
            "crate::docker",
            "crate::stage",
            "crate::local",
            "crate::registry",
            "bollard",
        ],
    ),
    (
        "docker",
        &["crate::stage", "crate::local", "crate::doctor", "crate::gc"],
    ),
];

fn sources(module: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = vec![];
    let file = src.join(format!("{module}.rs"));
    if file.exists() {
        found.push(file);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// The lines of `text` that are code outside tests: comments and `#[cfg(test)]` items (a test
/// may reach across layers to set up what it checks) are left out.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

#[test]
fn each_module_names_only_the_layers_below_it() {
    let mut broken = vec![];
    for (module, banned) in RULES {
        for path in sources(module) {
            let name = path.file_name().unwrap().to_string_lossy();
            if name.starts_with("tests") || path.components().any(|c| c.as_os_str() == "tests") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (number, line) in code_lines(&text) {
                for word in *banned {
                    let named = line.match_indices(word).any(|(at, _)| {
                        let before = line[..at].chars().last();
                        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                    });
                    if named {
                        broken.push(format!(
                            "{}:{}: {module} names {word}",
                            path.display(),
                            number + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
