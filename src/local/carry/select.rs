//! Which of a project dir's files an `artifacts:` or `cache:` entry takes, matched as
//! gitlab-runner matches them: each pattern is relative to the project dir, `*` and `?` stay
//! within one path segment, `**` spans any number of them, `[...]` is a class; a pattern that
//! names a directory takes everything under it. `exclude:` patterns drop files the same way.
//! Pure: the file list comes from the job's container, the answer goes back to it.

/// What to take: patterns, excluded patterns, and whether untracked files count.
pub struct Wanted<'a> {
    pub paths: &'a [String],
    pub exclude: &'a [String],
    /// `untracked: true`: every file that was not in the checkout.
    pub untracked: bool,
}

/// The files of `listed` (paths relative to the project dir) that `wanted` takes, in the
/// order listed; `tracked` says whether a path came with the checkout. Patterns that leave
/// the project dir take nothing and are returned as the second value, for a note.
pub fn select<'f>(
    listed: &'f [String],
    wanted: &Wanted,
    tracked: &dyn Fn(&str) -> bool,
) -> (Vec<&'f str>, Vec<String>) {
    let mut outside = Vec::new();
    let mut patterns = Vec::new();
    for raw in wanted.paths {
        match normalize(raw) {
            Some(p) => patterns.push(p),
            None => outside.push(raw.clone()),
        }
    }
    let excluded: Vec<String> = wanted.exclude.iter().filter_map(|p| normalize(p)).collect();
    let taken = listed
        .iter()
        .map(String::as_str)
        .filter(|file| {
            let named = patterns.iter().any(|p| covers(p, file));
            (named || (wanted.untracked && !tracked(file)))
                && !excluded.iter().any(|p| covers(p, file))
        })
        .collect();
    (taken, outside)
}

/// Where the files `wanted` may take can be: the literal leading directories (or file) of each
/// pattern (`out/sub` for `out/sub/*.txt`), so a project with a large `node_modules` is not
/// listed whole for `paths: [dist/]`; `None` when the whole project dir must be listed
/// (`untracked:`, or a pattern whose first segment is a glob).
pub fn roots(wanted: &Wanted) -> Option<Vec<String>> {
    if wanted.untracked {
        return None;
    }
    let mut roots: Vec<String> = Vec::new();
    for pattern in wanted.paths.iter().filter_map(|p| normalize(p)) {
        let literal: Vec<&str> = pattern
            .split('/')
            .filter(|s| !s.is_empty())
            .take_while(|s| !s.contains(['*', '?', '[', '\\']))
            .collect();
        if literal.is_empty() {
            return None;
        }
        let root = literal.join("/");
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    Some(roots)
}

/// The pattern relative to the project dir: `./` and a trailing `/` dropped; `None` for one
/// that is absolute or climbs out with `..`.
fn normalize(pattern: &str) -> Option<String> {
    let mut p = pattern.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    let p = p.trim_end_matches('/');
    let climbs = p.split('/').any(|segment| segment == "..");
    (!p.is_empty() && !p.starts_with('/') && !climbs).then(|| p.to_string())
}

/// Whether `pattern` matches `file` or one of the directories it is in.
fn covers(pattern: &str, file: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let parts: Vec<&str> = file.split('/').collect();
    (1..=parts.len()).any(|n| segments(&pattern, &parts[..n]))
}

fn segments(pattern: &[&str], path: &[&str]) -> bool {
    wildcard(
        pattern,
        path,
        |p| *p == "**",
        |p, s| glob(p.as_bytes(), s.as_bytes()),
    )
}

/// One name against one pattern segment: `*` any run, `?` one byte, `[...]` a class, `\x`
/// the byte `x`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let (token, used) = match p[i] {
            b'*' => (Token::Star, 1),
            b'?' => (Token::Any, 1),
            b'[' => match class(&p[i + 1..]) {
                Some((matches, used)) => (Token::Class(matches), 1 + used),
                None => (Token::Byte(b'['), 1),
            },
            b'\\' if i + 1 < p.len() => (Token::Byte(p[i + 1]), 2),
            c => (Token::Byte(c), 1),
        };
        tokens.push(token);
        i += used;
    }
    wildcard(
        &tokens,
        s,
        |t| matches!(t, Token::Star),
        |t, c| match t {
            Token::Star => false,
            Token::Any => true,
            Token::Class(matches) => matches(*c),
            Token::Byte(b) => b == c,
        },
    )
}

enum Token<'p> {
    Star,
    Any,
    Class(Box<dyn Fn(u8) -> bool + 'p>),
    Byte(u8),
}

/// `pattern` against all of `subject`, where a star item takes any run of the subject and
/// every other item one element (`one` says whether it does). The file list comes from the
/// job's container: it tries each star's run once, going back only to the last star, so
/// `*a*a*a*a*b` against a long name of `a`s (or `**/**/**/x` against a deep path) costs at
/// most pattern × subject steps, where trying every placement of every star took hours.
fn wildcard<P, S>(
    pattern: &[P],
    subject: &[S],
    is_star: impl Fn(&P) -> bool,
    one: impl Fn(&P, &S) -> bool,
) -> bool {
    let (mut p, mut s) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while s < subject.len() {
        if p < pattern.len() && is_star(&pattern[p]) {
            last_star = Some((p, s));
            p += 1;
        } else if p < pattern.len() && one(&pattern[p], &subject[s]) {
            p += 1;
            s += 1;
        } else if let Some((star, from)) = last_star {
            p = star + 1;
            s = from + 1;
            last_star = Some((star, from + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(is_star)
}

#[allow(clippy::type_complexity)]
fn class(p: &[u8]) -> Option<(Box<dyn Fn(u8) -> bool + '_>, usize)> {
    let negate = matches!(p.first(), Some(b'!' | b'^'));
    let start = usize::from(negate);
    let end = start + 1 + p.get(start + 1..)?.iter().position(|c| *c == b']')?;
    let body = &p[start..end];
    let test = move |c: u8| {
        let mut i = 0;
        let mut hit = false;
        while i < body.len() {
            if i + 2 < body.len() && body[i + 1] == b'-' {
                hit |= body[i] <= c && c <= body[i + 2];
                i += 3;
            } else {
                hit |= body[i] == c;
                i += 1;
            }
        }
        hit != negate
    };
    Some((Box::new(test), end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn many_stars_against_long_names_and_deep_paths_end_quickly() {
        let (done, took) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let name = "a".repeat(200);
            let deep = vec!["d"; 60].join("/");
            let results = (
                covers(&format!("{}b", "*a".repeat(30)), &name),
                covers(&format!("{}x", "**/".repeat(30)), &deep),
                covers(&"*a".repeat(30), &name),
                covers(&format!("{}d", "**/".repeat(30)), &deep),
            );
            let _ = done.send(results);
        });
        let results = took
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the match ends within 20 s");
        assert_eq!(results, (false, false, true, true));
    }

    #[test]
    fn patterns_match_as_gitlab_runner_matches_them() {
        for (pattern, file, want) in [
            ("binaries/", "binaries/app", true),
            ("binaries", "binaries/sub/app", true),
            ("./dist", "dist/index.html", true),
            ("*.txt", "notes.txt", true),
            ("*.txt", "docs/notes.txt", false),
            ("**/*.txt", "docs/notes.txt", true),
            ("**/*.txt", "notes.txt", true),
            ("docs/**/*.md", "docs/a/b/c.md", true),
            ("docs/**/*.md", "docs/c.md", true),
            ("report-?.xml", "report-1.xml", true),
            ("report-?.xml", "report-10.xml", false),
            ("[ab].log", "b.log", true),
            ("[!ab].log", "b.log", false),
            ("[a-c]x", "cx", true),
            ("out/*", "out/deep/file", true),
            ("target/release/app", "target/release/app", true),
            ("target/release/app", "target/release/app2", false),
            ("\\*", "*", true),
            (".env", ".env", true),
        ] {
            assert_eq!(
                covers(&normalize(pattern).unwrap(), file),
                want,
                "{pattern} {file}"
            );
        }
    }

    #[test]
    fn only_the_literal_start_of_each_pattern_is_listed() {
        for (paths, untracked, want) in [
            (
                &["dist/", "out/sub/*.txt", "./out/sub/x"][..],
                false,
                Some(&["dist", "out/sub", "out/sub/x"][..]),
            ),
            (&["build/**/*.o", "../outside"], false, Some(&["build"])),
            (&["*.log", "dist"], false, None),
            (&["**/report.xml"], false, None),
            (&["dist"], true, None),
            (&[], false, Some(&[])),
        ] {
            let paths = strings(paths);
            let wanted = Wanted {
                paths: &paths,
                exclude: &[],
                untracked,
            };
            assert_eq!(roots(&wanted), want.map(strings), "{paths:?}");
        }
    }

    #[test]
    fn selection_applies_exclude_untracked_and_refuses_paths_outside() {
        let listed = strings(&[
            "src/main.rs",
            "build/app",
            "build/app.o",
            "build/sub/x.o",
            "new.log",
        ]);
        let tracked = |f: &str| f.starts_with("src/");
        for (paths, exclude, untracked, want, outside) in [
            (
                &["build/"][..],
                &[][..],
                false,
                &["build/app", "build/app.o", "build/sub/x.o"][..],
                &[][..],
            ),
            // GitLab's documented example: `exclude: binaries/**/*.o`.
            (&["build/"], &["build/**/*.o"], false, &["build/app"], &[]),
            (
                &[],
                &[],
                true,
                &["build/app", "build/app.o", "build/sub/x.o", "new.log"],
                &[],
            ),
            (
                &[],
                &["*.log"],
                true,
                &["build/app", "build/app.o", "build/sub/x.o"],
                &[],
            ),
            (
                &["../secret", "/etc/passwd", "src/../../x"],
                &[],
                false,
                &[],
                &["../secret", "/etc/passwd", "src/../../x"],
            ),
        ] {
            let (paths, exclude) = (strings(paths), strings(exclude));
            let wanted = Wanted {
                paths: &paths,
                exclude: &exclude,
                untracked,
            };
            let (taken, refused) = select(&listed, &wanted, &tracked);
            assert_eq!(
                (taken, refused),
                (want.to_vec(), strings(outside)),
                "{paths:?} {exclude:?}"
            );
        }
    }
}
