//! A pure parser of `.gitlab-ci.yml` for local job runs: text in, [`Pipeline`] out, no I/O.
//!
//! It follows GitLab's own order (<https://docs.gitlab.com/ci/yaml/>): YAML with anchors and
//! `<<` merge keys, then `extends:` (`extends.rs`), then `!reference` tags (`reference.rs`), then
//! `default:`, global `variables:` and `inherit:` per job (`job.rs`). `rules:`, `only:`/`except:`,
//! `when:`, `allow_failure:` and `workflow:` are read into [`Job`] and [`Pipeline`], and
//! [`Pipeline::decide`] says whether a job runs for a ref, as GitLab decides it ([`rules`]).
//! `needs:`, `dependencies:` (`needs.rs`), `artifacts:` and `cache:` (`artifacts.rs`) are read
//! for local runs of several jobs. Keys that only matter on a GitLab server (`retry`, `tags`,
//! `image: kubernetes:`, ...) are reported in [`Job::ignored`] and [`Pipeline::ignored_global`]
//! and named with their reasons by [`Pipeline::ignored_note`] (`keywords.rs`, `ignored.rs`),
//! never silently dropped; keys GitLab would reject are errors here too, with the file and line.
//! Every value those steps copy is charged to one budget first (`budget.rs`), so a file cannot
//! grow without bound while it is read.
//! Before all that, the YAML is read as GitLab's Ruby loader reads it: a `spec:` header document
//! and its `$[[ inputs.NAME ]]` blocks (`documents.rs`, `inputs/`), and keys written twice,
//! the last winning (reported in [`Pipeline::warnings`]). After it, `parallel:` makes each job
//! into the jobs GitLab makes of it (`parallel.rs`).
//! `include:` is resolved before the parser by `crate::local::include`, whose merged mapping
//! [`parse_merged`] reads, naming for each job and error the file that wrote it (and keeping
//! that file's text with the job, `source_text.rs`, for later messages' lines); [`parse`]
//! alone reads one file, and reports an `include:` it finds (unresolved) in
//! [`Pipeline::ignored_global`].

mod artifacts;
mod budget;
mod control;
mod documents;
mod error;
mod extends;
mod globals;
mod ignored;
mod inputs;
mod job;
mod keywords;
mod needs;
mod parallel;
mod ports;
mod reference;
pub mod rules;
mod source_text;
mod values;

#[cfg(test)]
mod tests;

pub use artifacts::{Artifacts, Cache, CacheKey, CachePolicy, Keep};
pub use error::{GitlabCiError, Origins};
pub use ignored::{ignored_line, NamedOnce};
pub use inputs::Given as Input;
pub use needs::Need;
pub use rules::{AllowFailure, Policy, Rule, When, Workflow};
pub use source_text::SourceText;

use crate::yaml::Mapping;

use budget::Budget;
use error::Locator;
use keywords::RESERVED;
use source_text::SharedTexts;

/// The parsed pipeline: what a local run needs to list and run jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// The file name given to [`parse`], for messages about the pipeline as a whole.
    pub file: String,
    /// `stages:`, with `.pre` and `.post` added as GitLab does, or GitLab's default stages.
    pub stages: Vec<String>,
    /// The real jobs, in file order; hidden jobs (names starting with `.`) are left out, and a
    /// job with `parallel:` is the jobs it makes (`test 1/2`, `test: [linux, amd64]`, ...).
    pub jobs: Vec<Job>,
    /// Global `variables:`, in file order, values as written.
    pub variables: Vec<(String, String)>,
    /// `workflow:` (its `rules:` decide whether there is a pipeline at all).
    pub workflow: Option<Workflow>,
    /// What a local run skips of the top-level keywords (`workflow:auto_cancel`,
    /// `variables:expand`, an unresolved `include`), in file order; the reasons are in
    /// [`Pipeline::ignored_note`].
    pub ignored_global: Vec<String>,
    /// What GitLab reads without complaint but a user may not mean: keys written twice (the
    /// last wins), YAML documents that are not read. Each a whole line naming the file and line.
    pub warnings: Vec<String>,
}

/// One job, with `extends:`, `!reference`, `default:` and global variables applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub name: String,
    /// `stage:`, `test` when not set.
    pub stage: String,
    /// The job's `image:`, else `default:image`, else the deprecated global `image:`.
    pub image: Option<Image>,
    /// Global `variables:` (as `inherit:variables` allows), then the job's own: a job value
    /// replaces a global one in place. Values as written, not expanded. (A run should use
    /// [`rules::Decision::variables`], which adds `workflow:rules` and `rules:` variables.)
    pub variables: Vec<(String, String)>,
    /// The job's own `variables:` alone.
    pub own_variables: Vec<(String, String)>,
    /// Which global variables the job takes (`inherit:variables`).
    pub inherit_variables: VariableInheritance,
    pub before_script: Vec<String>,
    /// Empty only for `trigger:` and `run:` jobs, which a local run cannot execute.
    pub script: Vec<String>,
    pub after_script: Vec<String>,
    /// `services:`, the job's own or `default:`'s.
    pub services: Vec<crate::payload::ServiceRequest>,
    /// `when:` outside `rules:`; `on_success` when not set (`never` is refused there).
    pub when: When,
    /// `start_in:` of a `when: delayed` job.
    pub start_in: Option<String>,
    /// `allow_failure:` as written; GitLab's default (true only for `when: manual`) when `None`.
    pub allow_failure: Option<AllowFailure>,
    /// `rules:`, flattened, in order.
    pub rules: Option<Vec<Rule>>,
    /// `needs:` as written; `Some(vec![])` is `needs: []` (start at once), `None` waits for
    /// the earlier stages. A deciding rule's `needs:` replaces it ([`rules::Decision::needs`]).
    pub needs: Option<Vec<Need>>,
    /// `dependencies:`: whose artifacts the job takes; `None` is every earlier stage's.
    pub dependencies: Option<Vec<String>>,
    pub only: Option<Policy>,
    pub except: Option<Policy>,
    /// `artifacts:`, the job's own or `default:`'s.
    pub artifacts: Option<Artifacts>,
    /// `cache:`, the job's own or `default:`'s (or the deprecated global one); empty for none.
    pub cache: Vec<Cache>,
    /// Keys of this job and parts of its values (its own, inherited or from `default:`) that a
    /// local run skips (`tags`, `image:kubernetes`, `artifacts:reports:junit`), sorted, each once.
    pub ignored: Vec<String>,
    /// 1-based line of the job's key in [`Job::file`], when it could be found.
    pub line: Option<usize>,
    /// The file that defines the job: the pipeline's own, or for a merged pipeline
    /// ([`parse_merged`]) the file that wrote the job's key last.
    pub file: String,
    /// The text of [`Job::file`], for the lines of the job's keys in later messages.
    pub text: SourceText,
}

/// `inherit:variables`: all global variables (the default), or only those named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableInheritance {
    All,
    Only(Vec<String>),
}

/// A container image: `image: name` or `image: {name:, entrypoint:}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub name: String,
    /// Overrides the image's entrypoint when set: `[""]` turns it off, an empty list keeps the
    /// image's (as the docker executor reads them; the payload reading decides).
    pub entrypoint: Option<Vec<String>>,
    /// `docker: user:`, the user the job container runs as.
    pub user: Option<String>,
    /// `docker: platform:`.
    pub platform: Option<String>,
    /// `pull_policy:`, one name or a list, as written.
    pub pull_policy: Vec<String>,
}

/// Parse the text of a `.gitlab-ci.yml`; `file` names it in error messages.
pub fn parse(text: &str, file: &str) -> Result<Pipeline, GitlabCiError> {
    parse_with_inputs(text, file, &[], &[])
}

/// [`parse`] with values for the file's `spec:inputs` (`NAME`, text as given on the command
/// line: `--input NAME=VALUE`), interpolated where the file writes `$[[ inputs.NAME ]]`.
/// `variables` are what the `expand_vars` function may expand (GitLab expands the project's
/// and the pipeline's variables there, not the file's own `variables:`).
pub fn parse_with_inputs(
    text: &str,
    file: &str,
    inputs: &[(String, String)],
    variables: &[(String, String)],
) -> Result<Pipeline, GitlabCiError> {
    parse_within(text, file, inputs, variables, &mut Budget::new())
}

/// [`parse_with_inputs`], charging every value it makes to `budget` ([`budget`] says why).
fn parse_within(
    text: &str,
    file: &str,
    given: &[(String, String)],
    variables: &[(String, String)],
    budget: &mut Budget,
) -> Result<Pipeline, GitlabCiError> {
    let given: Vec<(String, inputs::Given)> = given
        .iter()
        .map(|(name, text)| (name.clone(), inputs::Given::Text(text.clone())))
        .collect();
    let read = inputs::read_file(text, file, &given, variables, budget)?;
    // Lines of the pipeline document are looked up in a text holding only it.
    let at = Locator {
        text: &read.content_text,
        file,
        origins: None,
    };
    let raw = top_level(read.content, &at)?;
    parse_config(raw, &at, budget, read.warnings)
}

/// One pipeline file read as GitLab reads it, before any merge: its documents (a `spec:`
/// header and the pipeline), its inputs checked and interpolated, keys written twice read the
/// last winning. What the `include:` walker needs per file instead of a plain YAML load.
#[derive(Debug)]
pub struct FileRead {
    /// The pipeline document, its top-level keys checked to be strings.
    pub config: Mapping,
    /// What reading it made, in the bytes [`crate::yaml::node_cost`] counts.
    pub cost: usize,
    /// Repeated keys and documents not read, each a whole line naming the file and line.
    pub warnings: Vec<String>,
}

/// Read one file (`file` names it in messages) with `inputs` for its `spec:inputs` (from the
/// command line for the main file, an include entry's `inputs:` for an included one), making
/// at most `limit` bytes; `variables` are what `expand_vars` may expand.
pub fn read_file(
    text: &str,
    file: &str,
    inputs: &[(String, Input)],
    variables: &[(String, String)],
    limit: usize,
) -> Result<FileRead, GitlabCiError> {
    let mut budget = Budget::with_left(limit);
    let read = inputs::read_file(text, file, inputs, variables, &mut budget)?;
    let at = Locator {
        text: &read.content_text,
        file,
        origins: None,
    };
    if let Some(key) = read.content.keys().find(|k| !k.is_string()) {
        return Err(at.file_error(format!(
            "has a top-level key that is not a string ({}); quote job names",
            values::describe(key)
        )));
    }
    Ok(FileRead {
        config: read.content,
        cost: limit.min(budget::MAX_BYTES) - budget.left(),
        warnings: read.warnings,
    })
}

/// Parse a pipeline already merged from several files by `include:` (see
/// `crate::local::include`): `config` is the merged top-level mapping without `include:`,
/// `origins` says which file wrote each top-level key so errors and [`Job::file`] name it, and
/// `file`/`text` are the main file's, for messages about the pipeline as a whole.
pub fn parse_merged(
    config: Mapping,
    origins: &Origins,
    file: &str,
    text: &str,
) -> Result<Pipeline, GitlabCiError> {
    let mut budget = Budget::new();
    let at = Locator {
        text,
        file,
        origins: Some(origins),
    };
    for (key, value) in &config {
        let name = key.as_str().unwrap_or_default();
        budget
            .charge_value(key)
            .and_then(|()| budget.charge_value(value))
            .map_err(|m| at.top_error(name, m))?;
    }
    parse_config(config, &at, &mut budget, Vec::new())
}

/// The steps after loading: `extends:`, `!reference`, globals, then each job.
fn parse_config(
    raw: Mapping,
    at: &Locator,
    budget: &mut Budget,
    warnings: Vec<String>,
) -> Result<Pipeline, GitlabCiError> {
    let file = at.file;
    let extended = extends::apply(&raw, budget).map_err(|e| {
        at.key_error(
            &e.entry,
            "extends",
            format!("job `{}`: {}", e.entry, e.message),
        )
    })?;
    // Each step copies the whole file: let go of the last copy as soon as it is used.
    drop(raw);
    let config = reference::resolve_all(&extended, budget).map_err(|e| {
        let place = match &e.key {
            Some(key) => format!("`{}:{key}`", e.entry),
            None => format!("`{}`", e.entry),
        };
        let message = format!("{place}: {}", e.message);
        match &e.key {
            Some(key) => at.key_error(&e.entry, key, message),
            None => at.top_error(&e.entry, message),
        }
    })?;
    drop(extended);

    let stages = globals::stages(&config, at)?;
    let variables = globals::variables(&config, at)?;
    let workflow = globals::workflow(&config, at)?;
    let defaults = globals::defaults(&config, at)?;
    let cx = job::Context {
        at,
        stages: &stages,
        defaults: &defaults,
        variables: &variables,
    };
    // Each job copies its own keys and what it may inherit: `default:` (or the deprecated
    // globals) and the global `variables:`.
    let inherited: usize = ["default", "variables"]
        .iter()
        .chain(keywords::DEPRECATED_GLOBALS)
        .filter_map(|key| config.get(*key))
        .map(|value| budget::cost(value, budget.left()))
        .fold(0, usize::saturating_add);
    let mut jobs = Vec::new();
    let mut texts = SharedTexts::default();
    for (name, value) in &config {
        let Some(name) = name.as_str() else { continue };
        if name.starts_with('.') || RESERVED.contains(&name) {
            continue;
        }
        budget
            .charge_value(value)
            .and_then(|()| budget.charge(inherited))
            .map_err(|m| at.top_error(name, format!("job `{name}` {m}")))?;
        let mut job = job::build(name, value, &cx)?;
        job.text = texts.of(&job.file, at.top_text(name));
        // Each job `parallel:` makes is another copy of this one.
        let copy = budget::cost(value, budget.left()).saturating_add(inherited);
        let parallel = value.as_mapping().and_then(|map| map.get("parallel"));
        let made = parallel::expand(job, parallel, |n| budget.charge(copy.saturating_mul(n)))
            .map_err(|m| {
                at.key_error(name, "parallel", format!("job `{name}`: `parallel:` {m}"))
            })?;
        jobs.extend(made);
    }
    if jobs.is_empty() {
        return Err(at.file_error(format!(
            "defines no jobs{}; add a job with a `script:` (names starting with a dot are hidden)",
            extends::include_hint(&config)
        )));
    }
    Ok(Pipeline {
        file: file.to_string(),
        stages,
        jobs,
        variables,
        workflow,
        ignored_global: globals::ignored(&config),
        warnings,
    })
}

impl Pipeline {
    /// The job called `name`, or an error listing the jobs there are.
    pub fn job(&self, name: &str) -> Result<&Job, GitlabCiError> {
        match self.jobs.iter().find(|j| j.name == name) {
            Some(job) => Ok(job),
            None => Err(self.unknown_job(name)),
        }
    }

    fn unknown_job(&self, name: &str) -> GitlabCiError {
        // A long pipeline would make a very long line; the hint says how to see them all.
        const SHOWN: usize = 10;
        // A job `parallel:` made into several, or a matrix name written with other spacing.
        let squeezed = |s: &str| s.split_whitespace().collect::<String>();
        let made: Vec<&str> = self
            .jobs
            .iter()
            .map(|j| j.name.as_str())
            .filter(|j| parallel::made_from(j, name) || squeezed(j) == squeezed(name))
            .collect();
        let (what, listed) = match made.as_slice() {
            [] => ("jobs", self.jobs.iter().map(|j| j.name.as_str()).collect()),
            [one] if !parallel::made_from(one, name) => ("did you mean", made.clone()),
            _ => ("`parallel:` makes it into", made.clone()),
        };
        let more = match listed.len().saturating_sub(SHOWN) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        let shown: Vec<String> = listed
            .iter()
            .take(SHOWN)
            .map(|n| format!("`{n}`"))
            .collect();
        let why = if name.starts_with('.') {
            " (names starting with a dot are hidden jobs, which never run)"
        } else {
            ""
        };
        GitlabCiError::new(
            &self.file,
            None,
            format!(
                "there is no job `{name}`{why}; {what}: {}{more}; run `executor run` with no job to list them",
                shown.join(", ")
            ),
        )
    }
}

/// The pipeline document as a top-level mapping with string keys.
fn top_level(map: Mapping, at: &Locator) -> Result<Mapping, GitlabCiError> {
    if let Some(key) = map.keys().find(|k| !k.is_string()) {
        return Err(at.file_error(format!(
            "has a top-level key that is not a string ({}); quote job names",
            values::describe(key)
        )));
    }
    if map.is_empty() {
        return Err(at.file_error("is empty; add at least one job with a `script:`"));
    }
    Ok(map)
}
