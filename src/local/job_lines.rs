//! Lines of a pipeline file for messages about values the parser has read already (a job's
//! `image:` or `services:`, a `variables:` entry): found from the job's own line, which the
//! parser keeps ([`super::gitlab_ci::Job::line`]), by indentation, as the parser finds its own
//! lines, and searched only inside that job's block, so another job's keys never answer.
//! The block is searched in the text of the file that wrote the job, which the parser keeps
//! with it ([`super::gitlab_ci::Job::text`]): an included file's, for a job from one.

use std::cell::OnceCell;
use std::io::Read;
use std::path::Path;

use super::gitlab_ci::Job;
use crate::yaml::line_of;

/// The most of a file read again to find a line; a larger one gets messages without a line.
const MAX_BYTES: u64 = 4 << 20;

/// The text of `path`, or `None` when it cannot be read or is larger than [`MAX_BYTES`].
pub(super) fn read(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .ok()?;
    (text.len() as u64 <= MAX_BYTES).then_some(text)
}

/// Where messages about one job point: the file that wrote it and, when found, the line.
pub(super) struct JobPlace<'a> {
    /// The pipeline's main file, the one text searched.
    main: &'a Path,
    main_text: OnceCell<Option<String>>,
    /// The file that wrote the job, as messages name it.
    job_file: String,
    job_line: Option<usize>,
    job_name: &'a str,
    /// The text of the job's file as the parser read it.
    job_text: Option<&'a str>,
}

impl<'a> JobPlace<'a> {
    pub(super) fn new(main: &'a Path, job: &'a Job) -> JobPlace<'a> {
        JobPlace {
            main,
            main_text: OnceCell::new(),
            job_file: match job.file.is_empty() {
                true => main.display().to_string(),
                false => job.file.clone(),
            },
            job_line: job.line,
            job_name: &job.name,
            job_text: job.text.get(),
        }
    }

    /// `FILE:LINE: job `NAME`` for the job's `key`, or its own line when `key` is not
    /// written in its block (it came from `extends:` or `default:`).
    pub(super) fn key(&self, key: &str) -> String {
        let line = self
            .own_text()
            .zip(self.job_line)
            .and_then(|(text, job)| in_entry(text, job, &[key]));
        self.at(&self.job_file, line.or(self.job_line))
    }

    /// The same for where the variable `name` is set: the job's `variables:` (or a rule's), its
    /// file's global `variables:`, for a job of an included file the main file's, else the
    /// job's own line.
    pub(super) fn variable(&self, name: &str) -> String {
        if let Some(text) = self.own_text() {
            if let Some(line) = variable_line(text, self.job_line, name) {
                return self.at(&self.job_file, Some(line));
            }
        }
        if !self.in_main() {
            if let Some(line) = self.text().and_then(|t| variable_line(t, None, name)) {
                return self.at(&self.main.display().to_string(), Some(line));
            }
        }
        self.at(&self.job_file, self.job_line)
    }

    fn at(&self, file: &str, line: Option<usize>) -> String {
        match line {
            Some(line) => format!("{file}:{line}: job `{}`", self.job_name),
            None => format!("{file}: job `{}`", self.job_name),
        }
    }

    /// The text of the file that wrote the job: as the parser read it, else (a job not made
    /// by the parser) the main file's when the job is written in it.
    fn own_text(&self) -> Option<&str> {
        self.job_text
            .or_else(|| self.in_main().then(|| self.text()).flatten())
    }

    fn in_main(&self) -> bool {
        self.job_file == self.main.display().to_string()
    }

    fn text(&self) -> Option<&str> {
        self.main_text.get_or_init(|| read(self.main)).as_deref()
    }
}

/// 1-based line of `path` (keys, each under the one before) inside the top-level entry whose
/// key is on line `top_line`.
pub(super) fn in_entry(text: &str, top_line: usize, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = top_line.checked_sub(1)?;
    let rest = lines.get(start + 1..)?;
    let len = 1 + rest.iter().take_while(|l| !is_top_level(l)).count();
    let block = lines[start..start + len].concat();
    line_of(&block, path).map(|line| start + line)
}

/// 1-based line where `name` is set for the job whose key is on `job_line`: under its
/// `variables:` (or a rule's), else under the top-level `variables:`; for a flow mapping
/// (`variables: {A: 1}`) the line of the `variables:` that holds it.
pub(super) fn variable_line(text: &str, job_line: Option<usize>, name: &str) -> Option<usize> {
    let job = |path: &[&str]| job_line.and_then(|line| in_entry(text, line, path));
    let global = |path: &[&str]| {
        top_level_line(text, "variables").and_then(|line| in_entry(text, line, path))
    };
    let mentions = |line: &usize| text.lines().nth(line - 1).is_some_and(|l| l.contains(name));
    job(&["variables", name])
        .or_else(|| global(&["variables", name]))
        .or_else(|| job(&["variables"]).filter(mentions))
        .or_else(|| global(&["variables"]).filter(mentions))
}

/// 1-based line of the top-level key `key`.
fn top_level_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            is_top_level(line)
                && line
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|index| index + 1)
}

fn is_top_level(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty() && !trimmed.starts_with('#') && !line.starts_with([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
variables:
  CI_PROJECT_DIR: /x
  image: not-a-key
build:
  image: $IMG
  variables:
    CI_JOB_ID: \"1\"
  rules:
    - variables:
        CI_PIPELINE_ID: \"2\"
flow:
  # a comment
  variables: {CI_CONCURRENT_ID: \"3\"}
  services: [postgres]
";

    #[test]
    fn lines_are_found_inside_the_jobs_block_then_the_global_variables() {
        assert_eq!(in_entry(TEXT, 4, &["image"]), Some(5));
        assert_eq!(in_entry(TEXT, 11, &["services"]), Some(14));
        // `flow` has no image; the global `variables:` entry named `image` is not its.
        assert_eq!(in_entry(TEXT, 11, &["image"]), None);
        assert_eq!(variable_line(TEXT, Some(4), "CI_JOB_ID"), Some(7));
        assert_eq!(variable_line(TEXT, Some(4), "CI_PIPELINE_ID"), Some(10));
        assert_eq!(variable_line(TEXT, Some(4), "CI_PROJECT_DIR"), Some(2));
        assert_eq!(variable_line(TEXT, Some(11), "CI_CONCURRENT_ID"), Some(13));
        assert_eq!(variable_line(TEXT, None, "CI_PROJECT_DIR"), Some(2));
        assert_eq!(variable_line(TEXT, Some(11), "CI_RUNNER_ID"), None);
        assert_eq!(in_entry(TEXT, 99, &["image"]), None);
    }

    /// A job from an included file: its keys and variables are found in that file's text, not
    /// at the job's own line, and a global variable of the main file in the main file.
    #[test]
    fn an_included_jobs_keys_are_found_in_the_included_file() {
        let root = tempfile::tempdir().unwrap();
        let main = "include:\n  - local: ci/jobs.yml\nvariables:\n  CI_PROJECT_DIR: /x\n";
        let included = "# jobs\n\nbuild:\n  stage: test\n  variables:\n    CI_JOB_ID: \"1\"\n  \
                        image: alpine\n  script: make\n";
        std::fs::create_dir(root.path().join("ci")).unwrap();
        std::fs::write(root.path().join("ci/jobs.yml"), included).unwrap();
        let main_path = root.path().join(".gitlab-ci.yml");
        std::fs::write(&main_path, main).unwrap();
        let options = crate::local::include::Options::new(".gitlab-ci.yml");
        let merged = crate::local::include::resolve(root.path(), main, &options).unwrap();
        let pipeline = merged.parse().unwrap();
        let job = pipeline.job("build").unwrap();
        let place = JobPlace::new(&main_path, job);
        assert_eq!(place.key("image"), "ci/jobs.yml:7: job `build`");
        assert_eq!(place.variable("CI_JOB_ID"), "ci/jobs.yml:6: job `build`");
        let shown = main_path.display();
        assert_eq!(
            place.variable("CI_PROJECT_DIR"),
            format!("{shown}:4: job `build`")
        );
        // A key the job does not write (from `default:`) points at the job's line.
        assert_eq!(place.key("services"), "ci/jobs.yml:3: job `build`");
    }

    #[test]
    fn a_file_is_read_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yml");
        std::fs::write(&path, TEXT).unwrap();
        assert_eq!(read(&path).as_deref(), Some(TEXT));
        assert_eq!(read(&dir.path().join("missing.yml")), None);
    }
}
