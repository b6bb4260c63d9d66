//! Where the driver's config is read from (`docs/configuration.md`): `--config PATH`, else
//! `EXECUTOR_CONFIG`, else the default path, where a missing file means the built-in
//! defaults. Nothing here contacts the engine: `config` and `prepare --dry-run` show what the
//! settings say.

use std::path::Path;

use executor::settings::DEFAULT_CONFIG_PATH;

use crate::harness::{with_helper, Job};

/// The shipped example, whose values are the built-in defaults (a unit test holds it to that).
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/executor.yaml");

/// Neither `--config` nor `EXECUTOR_CONFIG`, and no file at the default path: the job is
/// planned with the built-in defaults, exactly as under the shipped example.
#[test]
fn without_a_config_file_the_built_in_defaults_apply() {
    assert!(
        !Path::new(DEFAULT_CONFIG_PATH).exists(),
        "this test needs {DEFAULT_CONFIG_PATH} absent: it proves that a missing file at the \
         default path means the built-in defaults. Move that file away while the tests run."
    );
    // A slot below the default `slots` (64), and the runner version the default helper image
    // is named after.
    let job = Job::new("")
        .var("CI_CONCURRENT_ID", "3")
        .var("CI_RUNNER_VERSION", "17.5.0")
        .without_config_variable();
    let defaults = job.call(&["prepare", "--dry-run"]);
    defaults.ok();
    for want in [
        "mode: dind\n",
        "  image: docker:cli\n",
        "  image: docker:dind\n",
        "  privileged: yes\n",
        "gitlab-runner-helper:",
        "-v17.5.0\n",
        " at /builds\n",
        " at /cache\n",
    ] {
        assert!(
            defaults.stdout.contains(want),
            "{want}: {}",
            defaults.stdout
        );
    }
    let example = job.call(&["--config", EXAMPLE, "prepare", "--dry-run"]);
    example.ok();
    assert_eq!(defaults.stdout, example.stdout);
    let config = job.config();
    config.ok();
    assert!(
        config
            .stdout
            .starts_with(r#"{"builds_dir":"/builds","cache_dir":"/cache","#),
        "{}",
        config.stdout
    );
}

/// `--config` wins over `EXECUTOR_CONFIG` when both are given; a flag naming a missing file
/// is an error, not a fall back to the variable's file.
#[test]
fn the_config_flag_wins_over_executor_config() {
    let job = Job::with_config("none", "builds_dir: /from-variable\n");
    let flag = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(flag.path(), with_helper("builds_dir: /from-flag\n")).unwrap();
    let flag = flag.path().display().to_string();

    let variable = job.config();
    variable.ok();
    assert!(
        variable.stdout.contains(r#""builds_dir":"/from-variable""#),
        "{}",
        variable.stdout
    );
    let both = job.call(&["--config", &flag, "config"]);
    both.ok();
    assert!(
        both.stdout.contains(r#""builds_dir":"/from-flag""#),
        "{}",
        both.stdout
    );
    let planned = job.call(&["--config", &flag, "prepare", "--dry-run"]);
    planned.ok();
    assert!(
        planned.stdout.contains(" at /from-flag\n") && !planned.stdout.contains("/from-variable"),
        "{}",
        planned.stdout
    );
    let missing = job.call(&["--config", "/nonexistent/flag.yaml", "config"]);
    missing.expect(1);
    assert!(
        missing
            .stderr
            .contains("config /nonexistent/flag.yaml: cannot be read"),
        "{}",
        missing.stderr
    );
}
