//! `include:` for local runs: every file a `.gitlab-ci.yml` includes, read or fetched, then
//! merged the way GitLab merges them (<https://docs.gitlab.com/ci/yaml/includes/>).
//!
//! [`resolve`] takes the main file's text and gives back one top-level mapping ([`Merged`]) that
//! the parser reads with `gitlab_ci::parse_merged`, plus where each top-level key was written so
//! its errors and the job list name the right file. The steps, each in its own file:
//!
//! - `entry.rs`: an `include:` value as GitLab reads it (a string, `local:`, `remote:`,
//!   `template:`, `project:`/`ref:`/`file:`; `component:` refused in one line);
//! - `glob.rs`: `*` and `**` in `local:` paths, matched as GitLab matches them;
//! - `source.rs`: where each file is: in the project, a local clone of another project, the
//!   GitLab API, a URL; `read.rs` reads it, fetching over HTTP(S) through the cache
//!   (`cache.rs`, `fetch.rs`, `http.rs`);
//! - `walk.rs`: nested includes, GitLab's limits, cycles named by their chain;
//! - `rules.rs`: `rules:` on an entry, decided by the job rules' own evaluator against the
//!   run's facts ([`RuleFacts`]); an entry they leave out is not read at all;
//! - `merge.rs`: the deep merge: included files in order, then the including file on top.
//!
//! Anchors stay inside their file (each file is its own YAML document); `extends:` and
//! `!reference` work across files because the parser applies them to the merged mapping.
//! `rules:` on an include are handed to [`Hooks::include_passes`] ([`IncludeRules`] in a run;
//! by default every include is taken); taken entries are kept in [`Merged::includes`], left
//! out ones in [`Merged::skipped`] with the rule that decided.
//!
//! ```ignore
//! let mut options = include::Options::new(".gitlab-ci.yml"); // relative to the project root
//! options.variables = predefined_and_cli_variables;          // for `$VAR` in locations
//! options.refresh = args.refresh;
//! options.hooks = Box::new(IncludeRules::new(facts));       // decide `rules:` on entries
//! let merged = include::resolve(&project_root, &text, &options)?; // blocks while fetching
//! for warning in &merged.warnings { report.note(warning) }
//! let pipeline = merged.parse()?; // gitlab_ci::parse_merged; Job::file names each job's file
//! ```

mod cache;
mod entry;
mod error;
mod fetch;
mod glob;
mod guard;
mod http;
mod merge;
mod read;
mod rules;
mod source;
mod walk;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::local::gitlab_ci::{parse_merged, GitlabCiError, Origins, Pipeline};
use crate::yaml::{Mapping, Value};

pub use cache::default_cache_dir;
pub use error::Error;
pub use fetch::{Fetch, FetchError, Request};
pub use http::Http;
pub use rules::{IncludeRules, RuleFacts};

/// GitLab's own limit on included files per pipeline, duplicates counted (`ci_max_includes`).
pub const MAX_INCLUDES: usize = 150;
/// How deep includes may nest here. GitLab counts only the total ([`MAX_INCLUDES`]); a chain
/// this long is a loop in practice, and the error names it.
pub const MAX_DEPTH: usize = 100;
/// The most one included file may hold.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// How long one fetch may take, redirects included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long all fetches of one run may take together: a server answering each of 150
/// includes just inside [`FETCH_TIMEOUT`] would otherwise hold a listing for 25 minutes.
pub const FETCH_TOTAL: Duration = Duration::from_secs(30);
/// Where GitLab's CI templates are read from by default: GitLab's repository, as the raw link
/// GitLab itself shows for a `template:` include.
pub const TEMPLATE_BASE: &str =
    "https://gitlab.com/gitlab-org/gitlab/-/raw/master/lib/gitlab/ci/templates/";

/// How `include:` entries are read.
pub struct Options {
    /// The main file's name relative to the project root, as messages show it.
    pub main_file: String,
    /// Variables `include:` locations may use (`$CI_PROJECT_PATH`, `$CI_COMMIT_REF_NAME`, ...),
    /// and, but for the [`Options::private_variables`], `expand_vars` in a `spec:` input.
    pub variables: Vec<(String, String)>,
    /// The names in [`Options::variables`] the person gave (`--var`): never put into a
    /// `remote:` or `template:` URL, where the file would choose the host they go to, and
    /// never expanded by `expand_vars` (which would hide them from that check).
    pub private_variables: Vec<String>,
    /// The main file's `spec:inputs` (`--input NAME=VALUE`).
    pub inputs: Vec<(String, String)>,
    /// The GitLab instance `project:` includes are fetched from (`local.gitlab_url`).
    pub gitlab_url: String,
    /// Where `template:` names are looked up (a base URL ending in `/`).
    pub template_base: String,
    /// More servers (`host:port`) that may be at a local-only address of this machine,
    /// beside those of [`Options::gitlab_url`] and [`Options::template_base`]: none in a run;
    /// tests name their loopback servers here.
    pub local_servers: Vec<String>,
    /// Sent with `project:` fetches to [`Options::gitlab_url`] only, never printed.
    pub token: Option<Token>,
    /// An environment variable holding a token that is not sent (the config does not name
    /// the instance): a refused `project:` file says how to use it.
    pub unused_token: Option<&'static str>,
    /// Local clones of other projects (`local.projects`): `group/project` to its directory.
    /// A project found here is read from the directory's files, never fetched.
    pub projects: HashMap<String, PathBuf>,
    /// Where fetched files are kept; `None` keeps nothing (every run fetches).
    pub cache_dir: Option<PathBuf>,
    /// Fetch again even when a copy is cached (`--refresh`).
    pub refresh: bool,
    pub max_includes: usize,
    pub max_depth: usize,
    pub max_file_bytes: usize,
    pub timeout: Duration,
    /// All fetches of one `resolve` together (copies from the cache do not count).
    pub total_timeout: Duration,
    /// How files are fetched: [`Http`] unless a test serves them.
    pub fetch: Box<dyn Fetch>,
    /// `rules:` on includes, decided by the caller (`spec:` headers are read with each file).
    pub hooks: Box<dyn Hooks>,
}

impl Options {
    /// The servers the person named (host and port): the GitLab instance's, the templates'
    /// and [`Options::local_servers`]. Only these may be at a local-only address of this
    /// machine (`guard.rs`).
    fn trusted_hosts(&self) -> Vec<String> {
        [&self.gitlab_url, &self.template_base]
            .into_iter()
            .filter_map(|url| guard::server_of(url))
            .chain(self.local_servers.iter().cloned())
            .collect()
    }

    /// What `expand_vars` may expand: [`Options::variables`] but the person's `--var`s.
    /// GitLab's `expand_vars` leaves masked variables as written, and a local run cannot
    /// tell which `--var` stands for a masked one; expanded, a value would reach a
    /// `remote:` URL as plain text that no `$NAME` check sees, or be cut by `truncate` into
    /// pieces no masking finds. Left as `$NAME`, it is expanded (or refused) by the rules of
    /// wherever it lands.
    fn expandable(&self) -> Vec<(String, String)> {
        self.variables
            .iter()
            .filter(|(name, _)| !self.private_variables.contains(name))
            .cloned()
            .collect()
    }

    /// GitLab.com's defaults, the user's cache dir, and HTTPS fetches.
    pub fn new(main_file: &str) -> Options {
        Options {
            main_file: main_file.to_string(),
            variables: Vec::new(),
            private_variables: Vec::new(),
            inputs: Vec::new(),
            gitlab_url: "https://gitlab.com".to_string(),
            template_base: TEMPLATE_BASE.to_string(),
            local_servers: Vec::new(),
            token: None,
            unused_token: None,
            projects: HashMap::new(),
            cache_dir: default_cache_dir(),
            refresh: false,
            max_includes: MAX_INCLUDES,
            max_depth: MAX_DEPTH,
            max_file_bytes: MAX_FILE_BYTES,
            timeout: FETCH_TIMEOUT,
            total_timeout: FETCH_TOTAL,
            fetch: Box::new(Http),
            hooks: Box::new(TakeAll),
        }
    }
}

/// A GitLab token and the header it goes in. `Debug` and messages never show the value.
#[derive(Clone)]
pub struct Token {
    kind: TokenKind,
    value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A personal, project or group access token (`--gitlab-token`, `GITLAB_TOKEN`):
    /// `PRIVATE-TOKEN`.
    Private,
    /// A job token (`CI_JOB_TOKEN`): `JOB-TOKEN`.
    Job,
}

impl Token {
    pub fn new(kind: TokenKind, value: impl Into<String>) -> Token {
        Token {
            kind,
            value: value.into(),
        }
    }

    fn header(&self) -> (&'static str, &str) {
        match self.kind {
            TokenKind::Private => ("PRIVATE-TOKEN", &self.value),
            TokenKind::Job => ("JOB-TOKEN", &self.value),
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({:?}, <hidden>)", self.kind)
    }
}

/// Work other parts of the parser do on includes; the defaults take every include as written.
pub trait Hooks: Send + Sync {
    /// Whether an include whose entry has these `rules:` is taken, and why. `exists_root` is
    /// the directory `rules:exists` paths are relative to (the project holding the including
    /// file), when there is one on this machine. An `Err` is a one-line reason, which fails
    /// the pipeline as GitLab fails it.
    fn include_passes(
        &self,
        _rules: &Value,
        _exists_root: Option<&Path>,
    ) -> Result<Verdict, String> {
        Ok(Verdict::taken("rules not evaluated"))
    }
}

/// What an include entry's `rules:` decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub taken: bool,
    /// The decision in one line, worded as a job's: `included by rules[1]: if: ...`,
    /// `excluded: no rule matched (2 rules)`, `excluded by rules[1]: ... (when: never)`.
    pub why: String,
    /// What could not be checked as GitLab would (no change set known, another project's
    /// files), one line each.
    pub notes: Vec<String>,
}

impl Verdict {
    pub fn taken(why: impl Into<String>) -> Verdict {
        Verdict {
            taken: true,
            why: why.into(),
            notes: Vec::new(),
        }
    }
}

/// The default [`Hooks`]: every include is taken, every file read as written.
pub struct TakeAll;

impl Hooks for TakeAll {}

/// The pipeline once every include is merged in.
#[derive(Debug)]
pub struct Merged {
    /// The merged top-level mapping, without `include:`, ready for the parser.
    pub config: Mapping,
    /// Every file read, the main file first; [`Merged::origins`] points into this.
    pub sources: Vec<Source>,
    /// For each top-level key, the files that wrote it in merge order: the last one's value
    /// wins for anything but mappings, which merge.
    pub origins: HashMap<String, Vec<usize>>,
    /// Every include entry taken, in the order they were read.
    pub includes: Vec<Included>,
    /// Every include entry its `rules:` left out, in the order they were met. What such a
    /// file would have included is never read, so it is not here either.
    pub skipped: Vec<Skipped>,
    /// Things a person should know that are not errors (a glob that matched nothing).
    pub warnings: Vec<String>,
}

/// One file read: its name as messages show it, and its text for finding lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// One include entry that was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Included {
    /// The file read, an index into [`Merged::sources`].
    pub source: usize,
    /// The file whose `include:` named it.
    pub parent: usize,
    /// The entry's `rules:`, as written, when it has them.
    pub rules: Option<Value>,
    /// The entry's `inputs:`, as written, when it has them.
    pub inputs: Option<Value>,
}

/// One include entry its `rules:` left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The location as written (variables unexpanded: a value may be a secret).
    pub include: String,
    /// The file whose `include:` has the entry, and the entry's line when found.
    pub file: String,
    pub line: Option<usize>,
    /// The decision in one line (`excluded: no rule matched (1 rule)`).
    pub why: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "include `{}` (", self.include)?;
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file)?,
            None => write!(f, "{}", self.file)?,
        }
        write!(f, "): {}", self.why)
    }
}

impl Merged {
    /// The file that last wrote top-level `key` (the main file when nothing did).
    pub fn file_of(&self, key: &str) -> &Source {
        let index = self
            .origins
            .get(key)
            .and_then(|files| files.last())
            .copied()
            .unwrap_or(0);
        &self.sources[index]
    }
}

impl Merged {
    /// The pipeline, parsed by `gitlab_ci::parse_merged` with each key's file for its errors
    /// and [`crate::local::gitlab_ci::Job::file`].
    pub fn parse(self) -> Result<Pipeline, GitlabCiError> {
        let Merged {
            config,
            sources,
            origins,
            ..
        } = self;
        let files = sources
            .iter()
            .map(|s| (s.name.as_str(), s.text.as_str()))
            .collect();
        let origins = Origins::new(files, origins);
        parse_merged(config, &origins, &sources[0].name, &sources[0].text)
    }
}

/// Read every file `main_text` includes (nested), under `project_root`, and merge them as
/// GitLab does. Blocks while it fetches (at most [`Options::timeout`] for each file and
/// [`Options::total_timeout`] for all).
pub fn resolve(project_root: &Path, main_text: &str, options: &Options) -> Result<Merged, Error> {
    walk::run(project_root, main_text, options)
}
