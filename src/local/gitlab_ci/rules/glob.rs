//! Path globs as GitLab matches them: Ruby's `File.fnmatch` with `FNM_PATHNAME` (a wildcard
//! never crosses `/`; `**/` spans zero or more directories), and for `rules:changes` and
//! `rules:exists` also `FNM_DOTMATCH` (wildcards match names starting with a dot) and
//! `FNM_EXTGLOB` (`{a,b}` alternatives). `only:changes` has `FNM_PATHNAME` alone.

use std::cell::Cell;
use std::collections::HashSet;

/// How a glob is matched.
#[derive(Debug, Clone, Copy)]
pub struct Flavor {
    /// Wildcards may match a leading `.` of a name.
    pub dotmatch: bool,
    /// `{a,b}` expands to alternatives.
    pub braces: bool,
}

/// `rules:changes` and `rules:exists`.
pub const RULES: Flavor = Flavor {
    dotmatch: true,
    braces: true,
};

/// `only:changes` and `except:changes`.
pub const POLICY: Flavor = Flavor {
    dotmatch: false,
    braces: false,
};

/// Brace alternatives multiply; past this many a glob is matched as written.
const MAX_ALTERNATIVES: usize = 1024;

/// The steps all matches on one thread may take together (a run decides its rules on one).
/// One match is bounded (see [`Matcher`]), but a file picks how many are made: up to 50
/// globs of 1,024 brace alternatives in each `exists:`/`changes:`, against every file of a
/// checkout the same person may have written, in as many rules as a file holds (a 65 KB file
/// held a dry run for minutes). Past this, every glob counts as matching, as GitLab counts an
/// `exists:` glob past its 10,000 checks.
const MAX_STEPS: u64 = 50_000_000;

thread_local! {
    static STEPS_LEFT: Cell<u64> = const { Cell::new(MAX_STEPS) };
}

/// Take `n` steps from this thread's budget; `false` once it is spent.
fn spend(n: u64) -> bool {
    STEPS_LEFT.with(|left| match left.get().checked_sub(n) {
        Some(rest) => {
            left.set(rest);
            true
        }
        None => {
            left.set(0);
            false
        }
    })
}

/// Whether `path` (relative, `/`-separated) matches `glob`; `true` once this thread's
/// [`MAX_STEPS`] are spent.
pub fn matches(glob: &str, path: &str, flavor: Flavor) -> bool {
    if !spend(1 + glob.len() as u64 + path.len() as u64) {
        return true;
    }
    let path: Vec<char> = path.chars().collect();
    let alternatives = if flavor.braces {
        expand_braces(glob)
    } else {
        vec![glob.to_string()]
    };
    alternatives.iter().any(|alternative| {
        if !spend(alternative.len() as u64) {
            return true;
        }
        let pattern: Vec<char> = alternative.chars().collect();
        let mut matcher = Matcher {
            dotmatch: flavor.dotmatch,
            failed: HashSet::new(),
            spent: false,
        };
        let matched = matcher.at(&pattern, &path, true);
        matched || matcher.spent
    })
}

/// One match of a pattern against a path. Every step looks at a tail of the pattern and a tail
/// of the path, so the tails' lengths name a step; a step that failed is remembered and never
/// tried again. Without that, `*a*a*a*a*a*a*a*a*b` against a long name of `a`s tried every way
/// of placing each `*` (a checkout's file and `exists:` pattern could hang a run for hours);
/// with it a match takes at most pattern × path × path steps.
struct Matcher {
    dotmatch: bool,
    failed: HashSet<(usize, usize, bool)>,
    /// The thread's budget ran out during this match: it stops, and counts as matching.
    spent: bool,
}

impl Matcher {
    /// `pattern` against `path`; `segment_start` says `path` begins a name (for dot rules).
    fn at(&mut self, pattern: &[char], path: &[char], segment_start: bool) -> bool {
        if self.spent || !spend(1) {
            self.spent = true;
            return false;
        }
        let step = (pattern.len(), path.len(), segment_start);
        if self.failed.contains(&step) {
            return false;
        }
        let matched = self.step(pattern, path, segment_start);
        if !matched {
            self.failed.insert(step);
        }
        matched
    }

    fn step(&mut self, pattern: &[char], path: &[char], segment_start: bool) -> bool {
        let dotmatch = self.dotmatch;
        let hidden = |p: &[char], start: bool| start && !dotmatch && p.first() == Some(&'.');
        match pattern {
            [] => path.is_empty(),
            ['*', '*', '/', rest @ ..] if segment_start => {
                // Zero directories, then each further directory in turn.
                if self.at(rest, path, true) {
                    return true;
                }
                let mut at = 0;
                while let Some(slash) = path[at..].iter().position(|c| *c == '/') {
                    if hidden(&path[at..], true) {
                        return false;
                    }
                    at += slash + 1;
                    if self.at(rest, &path[at..], true) {
                        return true;
                    }
                }
                false
            }
            ['*', rest @ ..] => {
                if hidden(path, segment_start) {
                    return false;
                }
                let rest = strip_stars(rest);
                let limit = path.iter().position(|c| *c == '/').unwrap_or(path.len());
                (0..=limit).any(|k| self.at(rest, &path[k..], segment_start && k == 0))
            }
            ['?', rest @ ..] => match path.first() {
                Some(c) if *c != '/' && !hidden(path, segment_start) => {
                    self.at(rest, &path[1..], false)
                }
                _ => false,
            },
            ['[', rest @ ..] => match class(rest) {
                Some((set, after)) => match path.first() {
                    Some(c) if *c != '/' && !hidden(path, segment_start) && set.contains(*c) => {
                        self.at(after, &path[1..], false)
                    }
                    _ => false,
                },
                None => self.literal('[', rest, path),
            },
            ['\\', escaped, rest @ ..] => self.literal(*escaped, rest, path),
            [c, rest @ ..] => self.literal(*c, rest, path),
        }
    }

    fn literal(&mut self, c: char, rest: &[char], path: &[char]) -> bool {
        path.first() == Some(&c) && self.at(rest, &path[1..], c == '/')
    }
}

/// A `*` right after another is the same `*` (outside `**/`).
fn strip_stars(mut rest: &[char]) -> &[char] {
    while let ['*', tail @ ..] = rest {
        if tail.first() == Some(&'/') {
            break;
        }
        rest = tail;
    }
    rest
}

/// A bracket class after its `[`: the set and what follows the `]`; `None` when unclosed.
fn class(pattern: &[char]) -> Option<(Class, &[char])> {
    let (negated, mut rest) = match pattern {
        ['!' | '^', tail @ ..] => (true, tail),
        _ => (false, pattern),
    };
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let (low, tail) = match rest {
            [']', tail @ ..] if !first => return Some((Class { negated, ranges }, tail)),
            ['\\', c, tail @ ..] | [c, tail @ ..] => (*c, tail),
            [] => return None,
        };
        first = false;
        rest = tail;
        if let ['-', high, tail @ ..] = rest {
            if *high != ']' {
                ranges.push((low, *high));
                rest = tail;
                continue;
            }
        }
        ranges.push((low, low));
    }
}

struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != self.negated
    }
}

/// `a{b,c{d,e}}` to `ab`, `acd`, `ace`; a glob without (balanced) braces is itself.
fn expand_braces(glob: &str) -> Vec<String> {
    let mut done = Vec::new();
    let mut todo = vec![glob.to_string()];
    while let Some(glob) = todo.pop() {
        let Some((open, close, commas)) = first_group(&glob) else {
            done.push(glob);
            continue;
        };
        if done.len() + todo.len() + commas.len() + 1 > MAX_ALTERNATIVES {
            return vec![glob];
        }
        let (head, tail) = (&glob[..open], &glob[close + 1..]);
        let mut start = open + 1;
        for end in commas.into_iter().chain([close]) {
            todo.push(format!("{head}{}{tail}", &glob[start..end]));
            start = end + 1;
        }
    }
    done.reverse();
    done
}

/// The first balanced `{...}` holding a top-level comma: its byte bounds and the commas.
fn first_group(glob: &str) -> Option<(usize, usize, Vec<usize>)> {
    let bytes = glob.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => {
                let mut depth = 0;
                let mut commas = Vec::new();
                let mut j = i;
                while j < bytes.len() {
                    match bytes[j] {
                        b'\\' => j += 1,
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b',' if depth == 1 => commas.push(j),
                        _ => {}
                    }
                    j += 1;
                }
                if j < bytes.len() && !commas.is_empty() {
                    return Some((i, j, commas));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{expand_braces, matches, POLICY, RULES};

    #[test]
    fn a_pattern_of_many_stars_against_a_long_name_ends_quickly() {
        // A checkout's file `aaa...a` and `exists: ["*a*a*...*b"]`: every way of placing the
        // stars was tried, for hours; each step is now tried once.
        let (done, took) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let name = "a".repeat(200);
            let glob = format!("{}b", "*a".repeat(30));
            let results = (
                matches(&glob, &name, RULES),
                matches(&format!("**/{glob}"), &format!("x/y/{name}"), POLICY),
                matches(&"*a".repeat(30), &name, RULES),
            );
            let _ = done.send(results);
        });
        let results = took
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the match ends within 20 s");
        assert_eq!(results, (false, false, true));
    }

    /// Many matches together stop at the thread's budget: past it every glob counts as
    /// matching (as GitLab counts `exists:` past 10,000 checks) and costs nothing more.
    #[test]
    fn all_matches_of_a_thread_are_bounded() {
        std::thread::spawn(|| {
            super::STEPS_LEFT.with(|left| left.set(1_000_000));
            let glob = format!("src/{}*.zz", "{a,b}".repeat(10));
            let started = std::time::Instant::now();
            let mut calls = 0;
            while !matches(&glob, "src/file.txt", RULES) {
                calls += 1;
                assert!(calls < 1_000, "the budget never ran out");
            }
            assert!(calls > 0, "one match alone fits the budget");
            assert!(matches("nothing", "else", POLICY));
            assert!(started.elapsed() < std::time::Duration::from_secs(20));
        })
        .join()
        .unwrap();
        // Another thread has its own budget.
        assert!(!matches("nothing", "else", POLICY));
    }

    #[test]
    fn globs_match_as_ruby_fnmatch_with_gitlabs_flags() {
        // (glob, path, with the rules flags, with only:changes' flags)
        let cases = [
            ("Dockerfile", "Dockerfile", true, true),
            ("Dockerfile", "docker/Dockerfile", false, false),
            ("*.md", "README.md", true, true),
            ("*.md", "docs/README.md", false, false),
            ("**/*.md", "README.md", true, true),
            ("**/*.md", "docs/a/README.md", true, true),
            ("docs/**/*", "docs/a/b/c.txt", true, true),
            ("docs/**", "docs/a/b", false, false),
            ("docs/*", "docs/a", true, true),
            ("*", ".gitlab-ci.yml", true, false),
            ("**/*", ".config/x", true, false),
            ("src/?.rs", "src/a.rs", true, true),
            ("src/?.rs", "src/ab.rs", false, false),
            ("[abc].txt", "b.txt", true, true),
            ("[!abc].txt", "b.txt", false, false),
            ("[a-c].txt", "c.txt", true, true),
            ("*.{js,ts}", "app.ts", true, false),
            ("{src,lib}/**/*.rs", "lib/x/y.rs", true, false),
            ("a\\*b", "a*b", true, true),
            ("a\\*b", "axb", false, false),
            ("*/", "dir/", true, true),
        ];
        for (glob, path, rules, policy) in cases {
            assert_eq!(matches(glob, path, RULES), rules, "{glob} ~ {path} (rules)");
            assert_eq!(
                matches(glob, path, POLICY),
                policy,
                "{glob} ~ {path} (only)"
            );
        }
    }

    #[test]
    fn braces_expand_nested_and_in_order() {
        assert_eq!(expand_braces("a{b,c{d,e}}f"), ["abf", "acdf", "acef"]);
        assert_eq!(expand_braces("{x}"), ["{x}"]);
        assert_eq!(expand_braces("none"), ["none"]);
    }
}
