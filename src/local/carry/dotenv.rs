//! `artifacts:reports:dotenv` read as GitLab reads it
//! (<https://docs.gitlab.com/ci/yaml/artifacts_reports/#artifactsreportsdotenv>): one
//! `KEY=VALUE` per line, the key ASCII letters, digits and `_`, key and value trimmed, quotes
//! kept as written, no variable expansion, at most 5 KiB and 20 variables (GitLab's default
//! limits). Any line that is not such a pair (an empty line, a comment) makes GitLab refuse the
//! whole report, and so does this: the later jobs get none of it.

/// GitLab's limit on a dotenv report's size.
pub const MAX_BYTES: usize = 5 * 1024;
/// GitLab's default limit on the variables of one dotenv report.
pub const MAX_VARIABLES: usize = 20;

/// The variables of a dotenv report, in order, or why the report is refused.
pub fn parse(text: &[u8]) -> Result<Vec<(String, String)>, String> {
    if text.len() > MAX_BYTES {
        return Err(format!(
            "is {} bytes; GitLab accepts at most {MAX_BYTES}",
            text.len()
        ));
    }
    let text = std::str::from_utf8(text).map_err(|_| "is not UTF-8 text".to_string())?;
    let mut variables: Vec<(String, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "line {}: `{}` is not KEY=VALUE",
                n + 1,
                shown(line)
            ));
        };
        let key = key.trim();
        let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(format!(
                "line {}: `{}` is not a variable name (ASCII letters, digits and _)",
                n + 1,
                shown(key)
            ));
        }
        match variables.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.trim().to_string(),
            None => variables.push((key.to_string(), value.trim().to_string())),
        }
    }
    if variables.len() > MAX_VARIABLES {
        return Err(format!(
            "sets {} variables; GitLab accepts at most {MAX_VARIABLES}",
            variables.len()
        ));
    }
    Ok(variables)
}

/// A line for a message: at most 40 characters, control characters shown as `?`.
fn shown(text: &str) -> String {
    text.chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::test_vars::pairs;

    #[test]
    fn reports_are_read_as_gitlab_reads_them() {
        let many: String = (0..21).map(|i| format!("V{i}=x\n")).collect();
        let big = format!("A={}\n", "x".repeat(MAX_BYTES));
        for (text, want) in [
            // GitLab's documented example: `echo "BUILD_VARIABLE=value_from_build_job" >> build.env`.
            (
                "BUILD_VARIABLE=value_from_build_job\n",
                Ok(pairs(&[("BUILD_VARIABLE", "value_from_build_job")])),
            ),
            (
                " KEY = spaced value \r\nB=\n",
                Ok(pairs(&[("KEY", "spaced value"), ("B", "")])),
            ),
            (
                "Q=\"quoted\"\nE=a=b\n",
                Ok(pairs(&[("Q", "\"quoted\""), ("E", "a=b")])),
            ),
            ("A=1\nA=2\n", Ok(pairs(&[("A", "2")]))),
            ("A=1\n\nB=2\n", Err("line 2: `` is not KEY=VALUE")),
            ("# comment\n", Err("line 1: `# comment` is not KEY=VALUE")),
            (
                "MY-VAR=1\n",
                Err("line 1: `MY-VAR` is not a variable name (ASCII letters, digits and _)"),
            ),
            (
                "=x\n",
                Err("line 1: `` is not a variable name (ASCII letters, digits and _)"),
            ),
            (
                many.as_str(),
                Err("sets 21 variables; GitLab accepts at most 20"),
            ),
            (
                big.as_str(),
                Err("is 5123 bytes; GitLab accepts at most 5120"),
            ),
        ] {
            assert_eq!(
                parse(text.as_bytes()),
                want.map_err(str::to_string),
                "{text}"
            );
        }
        assert_eq!(parse(b"A=\xff\n"), Err("is not UTF-8 text".to_string()));
    }
}
