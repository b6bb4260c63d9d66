//! The keyword tables of `.gitlab-ci.yml` (<https://docs.gitlab.com/ci/yaml/>): which top-level
//! keys are not jobs, which job keys a local run uses, which it skips and why, and which
//! `default:` may set. A job key in none of these is a typo that GitLab would reject too.
//! `docs/local-runs.md` lists every one of them with what a local run does; a test holds the
//! two together (`tests/keywords.rs`).

/// Top-level keys that are pipeline keywords, not jobs. `include:` is resolved before the
/// parser (`crate::local::include`); the rest are read by `globals.rs`.
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

/// Job keys the parser turns into [`super::Job`] fields, or consumes on the way. `needs:` and
/// `dependencies:` order and feed the jobs of `executor run JOB --needs` and `--stage`.
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
    "variables",
    "when",
];

/// Job keys that are valid for GitLab but that a local run does not act on, each with the
/// reason the run gives when it names them: reported, not failed. `trigger` and `run` jobs have
/// no script a local run could execute. `start_in` is read for the pipeline view, but a run does
/// not wait.
pub(super) const IGNORED_JOB_KEYS: &[(&str, &str)] = &[
    ("coverage", "no GitLab records the coverage"),
    (
        "dast_configuration",
        "DAST profiles live on a GitLab server",
    ),
    (
        "environment",
        "no deployment is recorded and no CI_ENVIRONMENT_* variable is set",
    ),
    ("hooks", "pre_get_sources_script does not run"),
    (
        "id_tokens",
        "no GitLab signs the tokens, so their variables are not set",
    ),
    ("identity", "no GitLab hands out cloud credentials"),
    ("interruptible", "no newer pipeline cancels a local run"),
    (
        "manual_confirmation",
        "a local run starts the job it is asked for without a prompt",
    ),
    ("pages", "nothing is deployed to GitLab Pages"),
    ("publish", "nothing is deployed to GitLab Pages"),
    ("release", "no release is created"),
    ("resource_group", "no other pipeline's job is waited for"),
    ("retry", "a failed job is not run again"),
    (
        "run",
        "CI/CD steps do not run, so the job has nothing to run here",
    ),
    (
        "secrets",
        "no secrets provider is asked, so their variables are not set",
    ),
    (
        "start_in",
        "a local run starts the job at once, without waiting",
    ),
    ("tags", "no runner is picked: this machine runs the job"),
    (
        "timeout",
        "a local run has no time limit; stop it with Ctrl-C",
    ),
    (
        "trigger",
        "no downstream pipeline is started, so the job has nothing to run here",
    ),
];

/// Parts of keywords a local run reads but does not act on, named `parent:key` as GitLab's
/// reference names them, with the reason. Each is reported only where it asks for something a
/// local run does not do (`variables:expand` when `false`, `cache:unprotect` unless `true`).
/// `artifacts:reports` stands for every report but `dotenv`, which is read.
pub(super) const IGNORED_SUB_KEYS: &[(&str, &str)] = &[
    ("artifacts:access", "no GitLab serves the artifacts"),
    (
        "artifacts:expire_in",
        "nothing is stored on a server to expire",
    ),
    ("artifacts:expose_as", "no merge request shows them"),
    (
        "artifacts:name",
        "the archive is only handed to later jobs, never downloaded",
    ),
    ("artifacts:public", "no GitLab serves the artifacts"),
    (
        "artifacts:reports",
        "no GitLab shows the report; only dotenv is read",
    ),
    (
        "cache:unprotect",
        "a local run's ref is never protected, so its caches are the `-non_protected` ones anyway",
    ),
    ("image:kubernetes", "the job runs in Docker, not Kubernetes"),
    (
        "rules:interruptible",
        "no newer pipeline cancels a local run",
    ),
    (
        "rules:start_in",
        "a local run starts the job at once, without waiting",
    ),
    (
        "services:docker",
        "the driver sets no user or platform for a service",
    ),
    (
        "services:kubernetes",
        "the service runs in Docker, not Kubernetes",
    ),
    (
        "variables:expand",
        "values are expanded anyway; write `$$` for a literal `$`",
    ),
    (
        "workflow:auto_cancel",
        "there is no other pipeline to cancel",
    ),
    ("workflow:name", "CI_PIPELINE_NAME is not set"),
    (
        "workflow:rules:auto_cancel",
        "there is no other pipeline to cancel",
    ),
];

/// Why a file read on its own ([`super::parse`]) still holds `include:`: the driver resolves
/// includes whenever the file's text names the word, so this key was written another way
/// (escapes in a quoted key).
pub(super) const UNRESOLVED_INCLUDE: &str =
    "its files were not read; write the `include:` key plainly (no escapes) to have them merged";

/// Whether `key` is a job key a local run accepts and skips.
pub(super) fn is_ignored_job_key(key: &str) -> bool {
    IGNORED_JOB_KEYS.iter().any(|(known, _)| *known == key)
}

/// The reason a local run gives for skipping `key` (a job key, a `parent:key` of
/// [`IGNORED_SUB_KEYS`], `artifacts:reports:NAME`, or the `include` of a file read alone).
pub(super) fn why_ignored(key: &str) -> Option<&'static str> {
    if key == "include" {
        return Some(UNRESOLVED_INCLUDE);
    }
    let key = match key.strip_prefix("artifacts:reports:") {
        Some(_) => "artifacts:reports",
        None => key,
    };
    IGNORED_JOB_KEYS
        .iter()
        .chain(IGNORED_SUB_KEYS)
        .find(|(known, _)| *known == key)
        .map(|(_, why)| *why)
}

/// The known job key closest to a typo, if one is close enough to be a likely fix.
pub(super) fn suggest(typo: &str) -> Option<&'static str> {
    USED_JOB_KEYS
        .iter()
        .copied()
        .chain(IGNORED_JOB_KEYS.iter().map(|(key, _)| *key))
        .map(|known| (distance(typo, known), known))
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
