//! Generated scripts run by the real bash (no Docker needed): quoting round-trips, errexit,
//! echo lines, exports, `$GITLAB_ENV` between stages and the new shell of after_script.

use std::process::Command;

use super::*;

struct Ran {
    code: i32,
    stdout: String,
}

fn bash(script: &str) -> Ran {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .output()
        .expect("bash");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

fn context(dir: &std::path::Path) -> ScriptContext {
    ScriptContext {
        variables: vec![
            ("CI_PROJECT_DIR".into(), dir.join("p").display().to_string()),
            (
                "GREETING".into(),
                "it's \"quoted\" $HOME `x` \\ \n second line".into(),
            ),
        ],
        project_dir: dir.join("p").display().to_string(),
        color: false,
    }
}

#[test]
fn quoting_round_trips_any_text() {
    for text in [
        "",
        "plain",
        "it's",
        "a\\b",
        "$HOME `id` $(id)",
        "tab\there\nnew\rline",
        "\x01\x1b[0m",
        "ünï",
    ] {
        let ran = bash(&format!("printf %s {}", quote(text)));
        assert_eq!(ran.stdout, text, "{text:?}");
    }
}

#[test]
fn build_script_echoes_each_command_and_stops_at_the_first_failure() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path());
    let script = build_script(
        &ctx,
        &["echo before".into()],
        &[
            "printf '%s\\n' \"$GREETING\"".into(),
            "pwd".into(),
            "(exit 3)".into(),
            "echo never".into(),
        ],
    );
    let ran = bash(&script);
    assert_eq!(ran.code, 3);
    let expected_greeting = "it's \"quoted\" $HOME `x` \\ \n second line";
    assert!(
        ran.stdout.starts_with("$ echo before\nbefore\n"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains(expected_greeting), "{}", ran.stdout);
    assert!(
        ran.stdout.contains(&format!("{}\n", ctx.project_dir)),
        "cd into the project dir"
    );
    assert!(ran.stdout.contains("$ (exit 3)\n") && !ran.stdout.contains("never"));
}

#[test]
fn color_wraps_only_the_echo_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(dir.path());
    ctx.color = true;
    let ran = bash(&build_script(&ctx, &[], &["echo out".into()]));
    assert_eq!(ran.stdout, "\x1b[32;1m$ echo out\x1b[0;m\nout\n");
}

#[test]
fn after_script_is_a_new_shell_that_sees_gitlab_env() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path());
    let build = build_script(
        &ctx,
        &[],
        &[
            "LOST=1".into(),
            "echo 'KEPT=from build; $(not run)' >> \"$GITLAB_ENV\"".into(),
        ],
    );
    assert_eq!(bash(&build).code, 0);
    let after = after_script(&ctx, &["echo \"lost=${LOST:-unset} kept=$KEPT\"".into()]);
    let ran = bash(&after);
    assert_eq!(ran.code, 0);
    assert!(
        ran.stdout
            .contains("lost=unset kept=from build; $(not run)"),
        "{}",
        ran.stdout
    );
    assert_eq!(bash(&cleanup_file_variables(&ctx)).code, 0);
    assert!(!dir.path().join("p.tmp/gitlab_runner_env").exists());
}

#[test]
fn prepare_script_names_the_driver_and_cannot_be_injected() {
    let ran = bash(&prepare_script("executor 0.1.0 $(touch /tmp/x)\""));
    assert_eq!(ran.code, 0);
    assert!(ran.stdout.starts_with("Running on "), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("via executor 0.1.0 (touch /tmp/x)..."),
        "{}",
        ran.stdout
    );
}

#[test]
fn the_wrapper_passes_success_and_the_exit_code_through() {
    assert_eq!(bash(&wrap("true\n")).code, 0);
    assert_eq!(bash(&wrap("exit 7\n")).code, 7);
    assert_eq!(bash(&wrap("false | true\necho no\n")).code, 1, "pipefail");
}

#[test]
fn unpack_puts_an_archive_into_the_project_dir_over_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path());
    std::fs::create_dir_all(dir.path().join("p/out")).unwrap();
    std::fs::write(dir.path().join("p/kept"), "checkout\n").unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(9);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "./out/app.txt", &b"built-42\n"[..])
        .unwrap();
    let archive = builder.into_inner().unwrap();
    let text = unpack(
        &ctx,
        "Downloading artifacts of build...",
        &crate::local::checkout::base64(&archive),
    );
    let ran = bash(&text);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    assert_eq!(ran.stdout, "Downloading artifacts of build...\n");
    let read = |p: &str| std::fs::read_to_string(dir.path().join("p").join(p)).unwrap();
    assert_eq!(
        (read("out/app.txt"), read("kept")),
        ("built-42\n".into(), "checkout\n".into())
    );
}
