//! The walk through nested includes, in GitLab's order: each file's includes are read and merged
//! in the order written (each one's own includes first, recursively), then the file itself on
//! top. GitLab counts every included file against one limit (150, duplicates counted); a file
//! that includes itself, directly or not, would only stop there, so it is named as a cycle
//! with its chain (`a.yml -> b.yml -> a.yml`), and so is a chain deeper than the depth limit.
//! A file included twice is read once and merged twice: the last time wins, as GitLab documents.

use std::collections::HashMap;
use std::path::Path;

use crate::yaml::{Mapping, Value};

use super::entry::{self, Entry};
use super::error::{entry_line, Error};
use super::merge::deep_merge;
use super::source::{self, Place, Target};
use super::{glob, read};
use super::{Included, Merged, Options, Skipped, Source};

/// What all files together may cost once loaded: the parser's own bound for one file, as
/// `gitlab_ci/budget.rs` explains.
const MAX_LOADED: usize = 32 << 20;

pub(super) fn run(root: &Path, main_text: &str, options: &Options) -> Result<Merged, Error> {
    let main = options.main_file.trim_start_matches('/').to_string();
    let mut walk = Walk {
        root,
        options,
        sources: vec![Source {
            name: options.main_file.clone(),
            text: main_text.to_string(),
        }],
        read: HashMap::from([(format!("local:{main}"), 0)]),
        origins: HashMap::new(),
        includes: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
        count: 0,
        chain: vec![0],
        left: MAX_LOADED,
        fetch_time: read::Budget::new(options.total_timeout),
        glob_work: glob::Work::new(),
    };
    let config = walk.file(0, &Place::Root, None)?;
    Ok(Merged {
        config,
        sources: walk.sources,
        origins: walk.origins,
        includes: walk.includes,
        skipped: walk.skipped,
        warnings: walk.warnings,
    })
}

struct Walk<'a> {
    root: &'a Path,
    options: &'a Options,
    sources: Vec<Source>,
    /// Files already read, by [`Target::identity`], as indexes into `sources`.
    read: HashMap<String, usize>,
    origins: HashMap<String, Vec<usize>>,
    includes: Vec<Included>,
    skipped: Vec<Skipped>,
    warnings: Vec<String>,
    /// Files included so far, duplicates counted.
    count: usize,
    /// The files from the main one down to the one being read.
    chain: Vec<usize>,
    /// What loading more files may still cost.
    left: usize,
    /// What fetching more files may still take.
    fetch_time: read::Budget,
    /// What matching more `*` patterns may still cost.
    glob_work: glob::Work,
}

impl Walk<'_> {
    /// The merged content of source `index` (read in `place`) and everything it includes.
    fn file(
        &mut self,
        index: usize,
        place: &Place,
        inputs: Option<&Value>,
    ) -> Result<Mapping, Error> {
        let mut own = self.load(index, inputs)?;
        let mut merged = Mapping::new();
        if let Some(value) = own.remove("include") {
            let vars = entry::Vars {
                values: &self.options.variables,
                private: &self.options.private_variables,
            };
            let entries = entry::entries(&value, vars)
                .map_err(|(m, written)| self.error(index, &written, m))?;
            for entry in entries {
                if !self.passes(index, place, &entry)? {
                    continue;
                }
                let targets =
                    source::targets(&entry, place, self.root, self.options, &mut self.glob_work)
                        .map_err(|m| self.error(index, &entry.written, m))?;
                if targets.is_empty() {
                    self.warnings.push(format!(
                        "{}: include `{}` matches no file, so it adds nothing (GitLab skips it \
                         the same way)",
                        self.sources[index].name, entry.written
                    ));
                }
                for target in targets {
                    let child = self.enter(index, &entry, &target)?;
                    self.includes.push(Included {
                        source: child,
                        parent: index,
                        rules: entry.rules.clone(),
                        inputs: entry.inputs.clone(),
                    });
                    self.chain.push(child);
                    let content = self.file(child, &target.place, entry.inputs.as_ref())?;
                    self.chain.pop();
                    deep_merge(&mut merged, content);
                }
            }
        }
        for key in own.keys().filter_map(Value::as_str) {
            let files = self.origins.entry(key.to_string()).or_default();
            if files.last() != Some(&index) {
                files.push(index);
            }
        }
        deep_merge(&mut merged, own);
        Ok(merged)
    }

    /// Whether the entry's `rules:` (if any) let it in: GitLab decides them before it expands
    /// a glob or reads anything. One left out is kept with why, and what the rules could not
    /// check as GitLab would becomes a warning.
    fn passes(&mut self, index: usize, place: &Place, entry: &Entry) -> Result<bool, Error> {
        let Some(rules) = &entry.rules else {
            return Ok(true);
        };
        // `null` is GitLab's "not written".
        if rules.is_null() {
            return Ok(true);
        }
        let exists_root = match place {
            Place::Root => Some(self.root),
            Place::Clone { dir, .. } => Some(dir.as_path()),
            _ => None,
        };
        let verdict = self
            .options
            .hooks
            .include_passes(rules, exists_root)
            .map_err(|m| {
                let what = format!("`rules:` of include `{}`: {m}", entry.written);
                self.error(index, &entry.written, what)
            })?;
        let source = &self.sources[index];
        for note in verdict.notes {
            self.warnings.push(format!(
                "{}: include `{}`: {note}",
                source.name, entry.written
            ));
        }
        if !verdict.taken {
            self.skipped.push(Skipped {
                include: entry.written.clone(),
                file: source.name.clone(),
                line: entry_line(&source.text, &entry.written),
                why: verdict.why,
            });
        }
        Ok(verdict.taken)
    }

    /// Count `target` against the limits, refuse a cycle, and read it unless it was read.
    fn enter(&mut self, parent: usize, entry: &Entry, target: &Target) -> Result<usize, Error> {
        let known = self.read.get(&target.identity).copied();
        if let Some(index) = known.filter(|i| self.chain.contains(i)) {
            let message = format!(
                "include `{}` includes itself: {}; remove one of these includes",
                self.sources[index].name,
                self.chain_to(&target.name)
            );
            return Err(self.error(parent, &entry.written, message));
        }
        if self.chain.len() > self.options.max_depth {
            let message = format!(
                "includes nest more than {} files deep: {}; flatten them",
                self.options.max_depth,
                self.chain_to(&target.name)
            );
            return Err(self.error(parent, &entry.written, message));
        }
        self.count += 1;
        if self.count > self.options.max_includes {
            let message = format!(
                "include `{}` is one more than GitLab's limit of {} included files per \
                 pipeline (nested and repeated ones count): {}; include fewer files",
                target.name,
                self.options.max_includes,
                self.chain_to(&target.name)
            );
            return Err(self.error(parent, &entry.written, message));
        }
        if let Some(index) = known {
            return Ok(index);
        }
        let text = read::read(target, self.options, &mut self.fetch_time)
            .map_err(|m| self.error(parent, &entry.written, m))?;
        self.sources.push(Source {
            name: target.name.clone(),
            text,
        });
        let index = self.sources.len() - 1;
        self.read.insert(target.identity.clone(), index);
        Ok(index)
    }

    /// Source `index` as a top-level mapping, charged to what loading may still cost.
    /// Read file `index` as GitLab reads it (`crate::local::gitlab_ci::read_file`): its
    /// documents chosen, a `spec:` header's inputs given (the command line's `--input`s for
    /// the main file, the include entry's `inputs:` for an included one), repeated keys with
    /// the last one winning (each a warning), every value charged to what is left.
    fn load(&mut self, index: usize, inputs: Option<&Value>) -> Result<Mapping, Error> {
        use crate::local::gitlab_ci::{read_file, Input};
        let Source { name, text } = &self.sources[index];
        let given: Vec<(String, Input)> = match (index, inputs) {
            (0, _) => self
                .options
                .inputs
                .iter()
                .map(|(k, v)| (k.clone(), Input::Text(v.clone())))
                .collect(),
            (_, Some(Value::Mapping(map))) => map
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), Input::Value(v.clone()))))
                .collect(),
            _ => Vec::new(),
        };
        let read = read_file(text, name, &given, &self.options.expandable(), self.left)
            .map_err(|e| Error::new(name, e.line(), e.message()))?;
        self.left = self
            .left
            .checked_sub(read.cost)
            .ok_or_else(|| Error::new(name, None, too_large()))?;
        self.warnings.extend(read.warnings);
        Ok(read.config)
    }

    fn error(&self, index: usize, written: &str, message: String) -> Error {
        let source = &self.sources[index];
        Error::new(&source.name, entry_line(&source.text, written), message)
    }

    /// `main -> ... -> last`, long chains shortened to their ends.
    fn chain_to(&self, last: &str) -> String {
        let mut names: Vec<&str> = self
            .chain
            .iter()
            .map(|&i| self.sources[i].name.as_str())
            .collect();
        names.push(last);
        if names.len() > 8 {
            let hidden = names.len() - 6;
            let tail = names.split_off(names.len() - 3);
            names.truncate(3);
            return format!(
                "{} -> ({hidden} more) -> {}",
                names.join(" -> "),
                tail.join(" -> ")
            );
        }
        names.join(" -> ")
    }
}

fn too_large() -> String {
    format!(
        "the included files together grow past {} MiB as their anchors are read, more than a \
         local run reads; include fewer or smaller files",
        MAX_LOADED >> 20
    )
}
