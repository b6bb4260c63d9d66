//! Stage scripts written the way gitlab-runner's bash shell writes them (`protocol.md` §5):
//! the same wrapper (TERM trap, pipefail, errexit, the body `eval`ed in a subshell with stdin
//! from /dev/null), every variable exported, `$GITLAB_ENV` carried between stages, `cd` to the
//! project dir, each command echoed as `$ cmd` before it runs. Pure text, no I/O.

use std::fmt::Write;

/// What every stage script of one job shares.
pub struct ScriptContext {
    /// Exported in order (predefined first, then the job's; later ones win in bash too).
    pub variables: Vec<(String, String)>,
    pub project_dir: String,
    /// Colour the `$ cmd` echo lines (a terminal is watching).
    pub color: bool,
}

impl ScriptContext {
    /// `<project dir>.tmp`, where the runner keeps `gitlab_runner_env` (§5.3).
    fn tmp_dir(&self) -> String {
        format!("{}.tmp", self.project_dir)
    }

    fn exports(&self, body: &mut String) {
        for (key, value) in &self.variables {
            let _ = writeln!(body, "export {key}={}", quote(value));
        }
        let env_file = format!("{}/gitlab_runner_env", self.tmp_dir());
        let _ = writeln!(body, "export GITLAB_ENV={}", quote(&env_file));
        // Lines `KEY=VALUE` written to $GITLAB_ENV by an earlier stage are exported in later
        // ones, taken literally (not parsed by the shell), as the runner does.
        let _ = writeln!(
            body,
            "mkdir -p {tmp}\ntouch \"$GITLAB_ENV\"\n\
             while IFS= read -r line || [ -n \"$line\" ]; do case \"$line\" in *=*) export \"$line\";; esac; done < \"$GITLAB_ENV\"",
            tmp = quote(&self.tmp_dir())
        );
    }

    fn cd_project(&self, body: &mut String) {
        let _ = writeln!(
            body,
            "mkdir -p {dir}\ncd {dir}",
            dir = quote(&self.project_dir)
        );
    }

    fn commands(&self, body: &mut String, commands: &[String]) {
        for command in commands {
            let shown = format!("$ {command}");
            let shown = if self.color {
                format!("\x1b[32;1m{shown}\x1b[0;m")
            } else {
                shown
            };
            let _ = writeln!(body, "printf '%s\\n' {}", quote(&shown));
            let _ = writeln!(body, "{command}");
        }
    }
}

/// `prepare_script`: say where the job runs.
pub fn prepare_script(driver: &str) -> String {
    wrap(&format!(
        "echo \"Running on $(hostname) via {}...\"\n",
        driver.replace(['"', '$', '`', '\\'], "")
    ))
}

/// `get_sources`: unpack the checkout's files (a base64 tar archive) into the project dir.
pub fn get_sources(ctx: &ScriptContext, archive_base64: &str) -> String {
    let mut body = String::new();
    ctx.exports(&mut body);
    body.push_str("echo \"Copying the local checkout into $CI_PROJECT_DIR...\"\n");
    ctx.cd_project(&mut body);
    untar(&mut body, archive_base64);
    // tar run by root keeps the archived modes; a clone under the helper's `umask 0000` (the
    // docker executor's) gives everyone write access, so a job image whose USER is not root
    // can change its checkout. Do as that clone would.
    body.push_str("if [ \"$(umask)\" = 0000 ]; then chmod -R a+rwX . 2>/dev/null || true; fi\n");
    wrap(&body)
}

/// `download_artifacts` and `restore_cache` of a local run: say `message`, then unpack a
/// base64 tar archive (another job's artifacts, a kept cache) into the project dir.
pub fn unpack(ctx: &ScriptContext, message: &str, archive_base64: &str) -> String {
    let mut body = String::new();
    ctx.exports(&mut body);
    let _ = writeln!(body, "printf '%s\\n' {}", quote(message));
    ctx.cd_project(&mut body);
    untar(&mut body, archive_base64);
    wrap(&body)
}

/// Unpack a base64 tar archive, given inline as a here-document, into the current directory.
fn untar(body: &mut String, archive_base64: &str) {
    body.push_str("base64 -d <<'EXECUTOR_SOURCES' | tar -x -o -f -\n");
    for line in archive_base64.as_bytes().chunks(76) {
        body.push_str(std::str::from_utf8(line).unwrap_or_default());
        body.push('\n');
    }
    body.push_str("EXECUTOR_SOURCES\n");
}

/// `build_script`: before_script then script, in one shell.
pub fn build_script(ctx: &ScriptContext, before: &[String], script: &[String]) -> String {
    let mut body = String::new();
    ctx.exports(&mut body);
    ctx.cd_project(&mut body);
    ctx.commands(&mut body, before);
    ctx.commands(&mut body, script);
    wrap(&body)
}

/// `after_script`: a new shell; only what went through `$GITLAB_ENV` survives from `script`.
pub fn after_script(ctx: &ScriptContext, commands: &[String]) -> String {
    let mut body = String::new();
    ctx.exports(&mut body);
    ctx.cd_project(&mut body);
    ctx.commands(&mut body, commands);
    wrap(&body)
}

/// `cleanup_file_variables`: remove the runner's per-job files.
pub fn cleanup_file_variables(ctx: &ScriptContext) -> String {
    wrap(&format!(
        "rm -f {}/gitlab_runner_env\n",
        quote(&ctx.tmp_dir())
    ))
}

/// The runner's bash wrapper (19.1+ form, §5.2).
fn wrap(body: &str) -> String {
    format!(
        "#!/usr/bin/env bash\n\ntrap 'exit 1' TERM\n\nset -o pipefail\nset -o errexit\n\
         set +o noclobber\n(trap 'exit 1' TERM; eval {}) < /dev/null\nexit 0\n",
        quote(body)
    )
}

/// Bash `$'...'` quoting, as the runner's `ShellEscape` produces: safe for any byte string.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    out.push_str("$'");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests;
