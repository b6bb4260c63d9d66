//! The text of the file that wrote a job, kept with the job: messages made after parsing (an
//! image Docker refuses, a predefined variable the file sets) point at the line of the key
//! they are about, and for a job from an included file that line is in the included file's
//! text, which only the parser has (a remote or template include is nowhere on disk).
//!
//! One copy per file, shared by its jobs (and by each job `parallel:` makes); the files were
//! read whole already, within the include limits, so this adds at most one copy of each.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The text of [`super::Job::file`] as the parser read it (lines as in the file), when known.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceText(Option<Arc<str>>);

impl SourceText {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

// A job printed for a test failure shows the text's size, not the whole file.
impl fmt::Debug for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(text) => write!(f, "SourceText({} bytes)", text.len()),
            None => write!(f, "SourceText(none)"),
        }
    }
}

/// The texts handed out so far, by file name, so the jobs of one file share one copy.
#[derive(Default)]
pub(super) struct SharedTexts(HashMap<String, Arc<str>>);

impl SharedTexts {
    /// The text of `file`, copied from `text` the first time the file is asked for.
    pub fn of(&mut self, file: &str, text: &str) -> SourceText {
        let shared = self
            .0
            .entry(file.to_string())
            .or_insert_with(|| Arc::from(text));
        SourceText(Some(Arc::clone(shared)))
    }
}
