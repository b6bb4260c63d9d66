//! Tests of the resolver: a project made in a temporary folder, and for fetched files a small
//! HTTP server on loopback (`server.rs`) that the real [`super::Http`] talks to.

mod local;
mod nesting;
mod remote;
mod rules;
mod server;

use std::path::Path;

use super::{resolve, Error, Merged, Options};
use crate::yaml::{load_value, Mapping, Value};

/// A project folder holding `files` (path, text).
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    dir
}

/// Options that touch nothing outside the test: no cache unless a test sets one.
fn options() -> Options {
    let mut options = Options::new(".gitlab-ci.yml");
    options.cache_dir = None;
    // The test servers are on loopback, which only a host the person named may be at.
    options.gitlab_url = "http://127.0.0.1".to_string();
    options
}

/// [`options`] with the test server at `base` (`http://127.0.0.1:PORT`) named, as the
/// person names a server on this machine: only that port of loopback may be fetched from.
fn serving(base: &str) -> Options {
    let mut options = options();
    options
        .local_servers
        .push(base.trim_start_matches("http://").to_string());
    options
}

fn run(root: &Path, main: &str, options: &Options) -> Result<Merged, Error> {
    resolve(root, main, options)
}

/// Resolve `main` in a project of `files`, with default options.
fn merged(files: &[(&str, &str)], main: &str) -> Result<Merged, Error> {
    let dir = project(files);
    run(dir.path(), main, &options())
}

fn mapping(text: &str) -> Mapping {
    match load_value(text).unwrap() {
        Value::Mapping(map) => map,
        other => panic!("not a mapping: {other:?}"),
    }
}

/// The top-level keys of a merged config, in order.
fn keys(merged: &Merged) -> Vec<&str> {
    merged.config.keys().filter_map(Value::as_str).collect()
}

/// The driver may resolve on a blocking thread (`tokio::task::spawn_blocking`).
#[test]
fn options_and_results_can_move_to_another_thread() {
    fn send<T: Send + 'static>() {}
    send::<Options>();
    send::<Merged>();
    send::<Error>();
}
