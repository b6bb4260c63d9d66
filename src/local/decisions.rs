//! Which jobs run on this checkout's ref, as GitLab decides it: `workflow:rules`, `rules:`,
//! `only`/`except`, against the predefined variables of a push pipeline for the checkout's
//! branch (or tag), the person's `--var`s, the project's files (`exists:`) and its changes
//! against the default branch's merge base or `--changes-from` (`changes:`).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use super::checkout::Checkout;
use super::gitlab_ci::rules::{glob, Changes, Context, Decision};
use super::gitlab_ci::{Job, Pipeline};
use super::include::RuleFacts;
use super::vars::{self, JobFacts, LocalIds};
use crate::cli::RunArgs;
use crate::settings::Settings;

/// What every job of one run is decided against.
pub struct RefFacts {
    predefined: Vec<(String, String)>,
    overrides: Vec<(String, String)>,
    /// The project's files and the directories holding them, relative to its root.
    paths: Vec<String>,
    changes: ChangeSource,
    /// Shared with the include rules' `changes:`, which are decided while the file is read.
    checkout: Arc<Checkout>,
}

/// Where `changes:` compares from.
#[derive(Clone)]
enum ChangeSource {
    /// The person's `--changes-from`: a ref git must know.
    Given(String),
    /// `origin/<default branch>`, which may not be fetched here.
    DefaultBranch(String),
    /// Nothing to compare with: GitLab then counts `changes:` as matched.
    Unknown,
}

impl RefFacts {
    pub fn gather(settings: &Settings, args: &RunArgs, file: &Path) -> Result<RefFacts, String> {
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let checkout = Checkout::find(dir);
        let overrides = args
            .vars
            .iter()
            .map(|v| vars::parse_override(v))
            .collect::<Result<Vec<_>, _>>()?;
        LocalIds::check_overrides(&overrides)?;
        let ids = LocalIds::new(&checkout).overridden(&overrides);
        let facts = JobFacts {
            job_name: "",
            stage: "",
            builds_dir: &settings.builds_dir,
            image: "",
        };
        let predefined = vars::predefined(&facts, &checkout, &ids, &settings.local);
        let paths = paths_of(&checkout);
        // The person's `--var`s over the predefined ones, as `if:` rules see them.
        let given = |key: &str| vars_get_last(&overrides, key).or(vars_get(&predefined, key));
        let changes = change_source(args.changes_from.as_deref(), given);
        Ok(RefFacts {
            predefined,
            overrides,
            paths,
            changes,
            checkout: Arc::new(checkout),
        })
    }

    /// The checkout the run is in, as read once for the whole run.
    pub fn checkout(&self) -> &Checkout {
        &self.checkout
    }

    /// The project's root: where `include: local:` and `exists:` paths start.
    pub fn root(&self) -> &Path {
        &self.checkout.root
    }

    /// The predefined variables of a push pipeline for this ref (job-specific ones empty).
    pub fn predefined(&self) -> &[(String, String)] {
        &self.predefined
    }

    /// The person's `--var`s, in order.
    pub fn overrides(&self) -> &[(String, String)] {
        &self.overrides
    }

    /// The predefined variables with the person's `--var`s over them (what `include:`
    /// locations may name).
    pub fn variables(&self) -> Vec<(String, String)> {
        let mut all = self.predefined.clone();
        for (key, value) in &self.overrides {
            match all.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.clone(),
                None => all.push((key.clone(), value.clone())),
            }
        }
        all
    }

    /// What `expand_vars` in a `spec:` input may expand: the predefined variables, without
    /// those a `--var` sets (see `include::Options::expandable`: any `--var` may stand for a
    /// masked variable, which GitLab's `expand_vars` leaves as written).
    pub fn expandable(&self) -> Vec<(String, String)> {
        self.predefined
            .iter()
            .filter(|(name, _)| !self.overrides.iter().any(|(k, _)| k == name))
            .cloned()
            .collect()
    }

    /// The decision for every job, in the pipeline's order.
    pub fn decide_all<'p>(&self, pipeline: &'p Pipeline) -> Vec<(&'p Job, Decision)> {
        let exists = |pattern: &str| {
            let pattern = pattern.trim_start_matches('/');
            self.paths
                .iter()
                .any(|p| glob::matches(pattern, p, glob::RULES))
        };
        let own = own_changes(&self.checkout, &self.changes);
        let changes = |compare_to: Option<&str>| match compare_to {
            Some(reference) => changes_against(&self.checkout, reference),
            None => own.clone(),
        };
        let cx = Context {
            predefined: &self.predefined,
            overrides: &self.overrides,
            exists: &exists,
            changes: &changes,
        };
        pipeline
            .jobs
            .iter()
            .map(|job| (job, pipeline.decide(job, &cx)))
            .collect()
    }
}

impl RefFacts {
    /// The same facts for `rules:` on `include:` entries, decided while the file is read.
    pub fn include_rules(&self) -> RuleFacts {
        let checkout = Arc::clone(&self.checkout);
        let source = self.changes.clone();
        let own = OnceLock::new();
        RuleFacts {
            root: self.checkout.root.clone(),
            predefined: self.predefined.clone(),
            overrides: self.overrides.clone(),
            paths: self.paths.clone(),
            paths_of: Box::new(paths_under),
            changes: Box::new(move |compare_to| match compare_to {
                Some(reference) => changes_against(&checkout, reference),
                None => own.get_or_init(|| own_changes(&checkout, &source)).clone(),
            }),
        }
    }
}

/// The checkout's files and the folders holding them, relative to its root.
fn paths_of(checkout: &Checkout) -> Vec<String> {
    let mut paths = BTreeSet::new();
    for path in checkout.files().unwrap_or_default() {
        let text = path.to_string_lossy().into_owned();
        let mut dir = Path::new(&text).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            paths.insert(d.to_string_lossy().into_owned());
            dir = d.parent();
        }
        paths.insert(text);
    }
    paths.into_iter().collect()
}

/// The files and folders of another project's folder (a `local.projects` clone), relative to
/// it, also when the folder sits inside a larger checkout.
fn paths_under(dir: &Path) -> Vec<String> {
    let checkout = Checkout::find(dir);
    let inner = match (dir.canonicalize(), checkout.root.canonicalize()) {
        (Ok(dir), Ok(root)) => dir
            .strip_prefix(&root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let all = paths_of(&checkout);
    if inner.is_empty() {
        return all;
    }
    let prefix = format!("{inner}/");
    all.into_iter()
        .filter_map(|p| p.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

/// What `changes:` compares with: the person's `--changes-from`, else the default branch (as
/// `vars` name it and the branch) unless the run is on it.
fn change_source<'v>(
    changes_from: Option<&str>,
    vars: impl Fn(&str) -> Option<&'v str>,
) -> ChangeSource {
    let (default, branch) = (vars("CI_DEFAULT_BRANCH"), vars("CI_COMMIT_BRANCH"));
    match (changes_from, default, branch) {
        (Some(reference), _, _) => ChangeSource::Given(reference.to_string()),
        // On the default branch itself GitLab compares with the previous push, which a
        // checkout does not know.
        (None, Some(default), Some(branch)) if default != branch => {
            ChangeSource::DefaultBranch(format!("origin/{default}"))
        }
        _ => ChangeSource::Unknown,
    }
}

/// The pipeline's own change set.
fn own_changes(checkout: &Checkout, source: &ChangeSource) -> Changes {
    match source {
        ChangeSource::Given(reference) => match checkout.changed_since(reference) {
            Ok(files) => Changes::Known(files),
            Err(message) => Changes::BadRef(format!("--changes-from: {message}")),
        },
        // The default branch may not be fetched here: nothing to compare with.
        ChangeSource::DefaultBranch(reference) => match checkout.changed_since(reference) {
            Ok(files) => Changes::Known(files),
            Err(_) => Changes::Unknown,
        },
        ChangeSource::Unknown => Changes::Unknown,
    }
}

/// The changes against a rule's `compare_to:`.
fn changes_against(checkout: &Checkout, reference: &str) -> Changes {
    match checkout.changed_since(reference) {
        Ok(files) => Changes::Known(files),
        Err(message) => Changes::BadRef(message),
    }
}

fn vars_get<'a>(vars: &'a [(String, String)], key: &str) -> Option<&'a str> {
    vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn vars_get_last<'a>(vars: &'a [(String, String)], key: &str) -> Option<&'a str> {
    vars.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `changes:` compares with the default branch the run's variables name, `--var`s
    /// included, as `if:` rules see them; on that branch there is nothing to compare with.
    #[test]
    fn changes_compare_with_the_default_branch_the_variables_name() {
        let vars = |default: &'static str, branch: &'static str| {
            move |key: &str| match key {
                "CI_DEFAULT_BRANCH" => Some(default),
                "CI_COMMIT_BRANCH" => Some(branch),
                _ => None,
            }
        };
        let source = change_source(None, vars("develop", "feature"));
        assert!(matches!(&source, ChangeSource::DefaultBranch(r) if r == "origin/develop"));
        let source = change_source(None, vars("develop", "develop"));
        assert!(matches!(source, ChangeSource::Unknown));
        let source = change_source(Some("v1.0"), vars("develop", "develop"));
        assert!(matches!(&source, ChangeSource::Given(r) if r == "v1.0"));
    }

    #[test]
    fn an_unknown_changes_from_is_an_error_and_an_unfetched_default_branch_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let status = std::process::Command::new("git")
                .args(["-c", "user.email=t@t", "-c", "user.name=t"])
                .args(args)
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        };
        git(&["init", "-q", "."]);
        std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
        git(&["add", "."]);
        git(&["commit", "-qm", "one"]);
        std::fs::write(dir.path().join("a.txt"), "b\n").unwrap();
        let checkout = Checkout::find(dir.path());
        // The person's ref, `origin/...` too, must be one git knows.
        for given in ["origin/no-such-branch", "no-such-ref"] {
            let changes = own_changes(&checkout, &ChangeSource::Given(given.into()));
            assert!(
                matches!(&changes, Changes::BadRef(m) if m.starts_with("--changes-from: ")),
                "{given}: {changes:?}"
            );
        }
        let changes = own_changes(&checkout, &ChangeSource::Given("HEAD".into()));
        assert!(
            matches!(&changes, Changes::Known(files) if files == &["a.txt"]),
            "{changes:?}"
        );
        // The default branch this run chose, not fetched here: nothing to compare with.
        let unfetched = ChangeSource::DefaultBranch("origin/main".into());
        assert!(matches!(
            own_changes(&checkout, &unfetched),
            Changes::Unknown
        ));
    }
}
