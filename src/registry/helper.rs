//! Docker credential helpers (`docker-credential-<name> get`), run only for the admin's
//! configurations: a job must never make the driver run a host program of its choosing, nor
//! receive what the admin's helpers know. The helper gets the registry on stdin and answers
//! JSON on stdout; it is given a deadline and its answer is read bounded.

use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Credential;

/// How long a helper may take: they talk to a keychain or a cloud API.
const HELPER_TIME: Duration = Duration::from_secs(10);
/// The most of a helper's answer read: a credential is a few KiB at most.
const ANSWER_MAX: u64 = 64 * 1024;

/// A helper name as Docker allows it: a plain file name part, no path.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Ask helper `name` for `server`'s credential. `Ok(None)`: it has none (it says so by failing
/// with "credentials not found", as every helper does). Errors name the helper and what went
/// wrong, never the answer.
pub async fn get(name: &str, server: &str) -> Result<Option<Credential>, String> {
    if !valid_name(name) {
        return Err(format!(
            "credential helper {} is not a plain name",
            super::config_file::shown_key(name)
        ));
    }
    let program = format!("docker-credential-{name}");
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{program} cannot be started ({e}); install it on the runner's host or remove it from the config"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let exchange = async {
        let _ = stdin.write_all(server.as_bytes()).await;
        drop(stdin);
        let mut answer = Vec::new();
        let _ = stdout.take(ANSWER_MAX + 1).read_to_end(&mut answer).await;
        let status = child.wait().await;
        (answer, status)
    };
    let (answer, status) = tokio::time::timeout(HELPER_TIME, exchange)
        .await
        .map_err(|_| {
            format!(
                "{program} did not answer within {} s",
                HELPER_TIME.as_secs()
            )
        })?;
    let status = status.map_err(|e| format!("{program} failed: {e}"))?;
    if !status.success() {
        // Helpers say "credentials not found in native keychain" on stdout and exit 1.
        let text = String::from_utf8_lossy(&answer);
        if text.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!("{program} failed ({status})"));
    }
    if answer.len() as u64 > ANSWER_MAX {
        return Err(format!(
            "{program} answered more than {} KiB",
            ANSWER_MAX / 1024
        ));
    }
    let answer: Answer = serde_json::from_slice(&answer)
        .map_err(|_| format!("{program} did not answer the credential JSON"))?;
    Ok(Some(match answer.username.as_str() {
        // An identity token (OAuth refresh token) is stored under this user name.
        "<token>" => Credential {
            identity_token: Some(answer.secret),
            ..Credential::default()
        },
        _ => Credential {
            username: answer.username,
            password: answer.secret,
            ..Credential::default()
        },
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_names_are_helpers() {
        for ok in ["ecr-login", "gcloud", "pass", "osxkeychain", "test_1.2"] {
            assert!(super::valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "../../bin/sh",
            "/bin/sh",
            "a/b",
            ".hidden",
            "a b",
            "x\n",
            "é",
        ] {
            assert!(!super::valid_name(bad), "{bad}");
        }
    }
}
