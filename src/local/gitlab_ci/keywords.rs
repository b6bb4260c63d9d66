//! The keyword tables of `.gitlab-ci.yml` (<https://docs.gitlab.com/ci/yaml/>): which top-level
//! keys are not jobs, which job keys a local run uses, which it reports and skips, and which
//! `default:` may set. A key in none of these is a typo that GitLab would reject too.

/// Top-level keys that are pipeline keywords, not jobs.
pub(super) const RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

/// Top-level keywords a local run skips: it reads one file and runs the job it is asked for.
pub(super) const IGNORED_GLOBAL: &[&str] = &["include"];

/// Deprecated top-level keys that act as `default:` entries (`default:` wins when both are set).
pub(super) const DEPRECATED_GLOBALS: &[&str] = &[
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

/// What `default:` may set.
pub(super) const DEFAULT_KEYS: &[&str] = &[
    "after_script",
    "artifacts",
    "before_script",
    "cache",
    "hooks",
    "id_tokens",
    "image",
    "interruptible",
    "retry",
    "services",
    "tags",
    "timeout",
];

/// Job keys the parser turns into [`super::Job`] fields, or consumes on the way.
pub(super) const USED_JOB_KEYS: &[&str] = &[
    "after_script",
    "allow_failure",
    "artifacts",
    "before_script",
    "cache",
    "dependencies",
    "except",
    "extends",
    "image",
    "inherit",
    "needs",
    "only",
    "parallel",
    "rules",
    "script",
    "services",
    "stage",
    "start_in",
    "variables",
    "when",
];

/// Job keys that are valid for GitLab but mean nothing to a local run: reported, not failed.
/// `trigger` and `run` jobs have no script a local run could execute. `needs` and
/// `dependencies` are read into [`super::Job`] for the pipeline view, but a run of one job
/// neither runs them first nor takes their artifacts, so they are reported too.
pub(super) const IGNORED_JOB_KEYS: &[&str] = &[
    "coverage",
    "dast_configuration",
    "environment",
    "hooks",
    "id_tokens",
    "identity",
    "interruptible",
    "manual_confirmation",
    "pages",
    "publish",
    "release",
    "resource_group",
    "retry",
    "run",
    "secrets",
    "tags",
    "timeout",
    "trigger",
];

/// The known job key closest to a typo, if one is close enough to be a likely fix.
pub(super) fn suggest(typo: &str) -> Option<&'static str> {
    USED_JOB_KEYS
        .iter()
        .chain(IGNORED_JOB_KEYS)
        .map(|known| (distance(typo, known), *known))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, known)| known)
}

/// Levenshtein distance; keys are short, so the quadratic table is fine.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn suggests_the_closest_key_for_a_typo() {
        assert_eq!(suggest("scirpt"), Some("script"));
        assert_eq!(suggest("variabels"), Some("variables"));
        assert_eq!(suggest("artefacts"), Some("artifacts"));
        assert_eq!(suggest("completely_unrelated"), None);
    }
}
