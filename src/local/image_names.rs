//! The names a job gives Docker (its `image:`, each service's `name:` and `alias:`), expanded
//! against the job's variables and checked before anything is created. A name whose variables
//! are unset would otherwise pass as an empty image (the runner's default, silently) or a
//! half name (`registry/app:`) that fails at the pull, after the network and volumes exist;
//! here it fails first, naming the variables and how to set them.

use super::expand;
use super::image_ref;

/// Where a job's variables were set, so a message can say where to fix a value. A value the
/// person gave with `--var` may be a secret (it stands for a project's CI/CD variable), so a
/// name built from one is never shown.
pub(super) struct Origins<'a> {
    /// The person's `--var`s.
    pub person: &'a [(String, String)],
    /// The file's: `variables:` (global, the job's, its rule's), dotenv reports'.
    pub file: &'a [(String, String)],
}

impl Origins<'_> {
    fn has(list: &[(String, String)], name: &str) -> bool {
        list.iter().any(|(k, _)| k == name)
    }

    fn of(&self, name: &str) -> &'static str {
        if Self::has(self.person, name) {
            "set by `--var`"
        } else if Self::has(self.file, name) {
            "set in the file's `variables:`"
        } else {
            "predefined"
        }
    }
}

/// What a name must be once expanded.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// An image reference Docker accepts.
    Image,
    /// A service's aliases: host names, separated by `,` or spaces.
    Aliases,
}

/// A name as the file writes it.
pub(super) struct Written<'a> {
    /// The key it is under, as messages quote it: `image`, `services: name`.
    pub key: &'a str,
    pub text: &'a str,
    pub kind: Kind,
    /// The top-level job key to fix a name written wrong: `image`, `services`.
    pub fix: &'a str,
}

/// `written` expanded against `vars` and checked. A refusal is one line that names the
/// variables that expanded to nothing, or where the value came from, and what to do.
pub(super) fn expand_checked(
    written: &Written,
    vars: &[(String, String)],
    origins: &Origins,
) -> Result<String, String> {
    let lookup = |name: &str| expand::last(vars, name);
    let quoted = format!("`{}: {}`", written.key, shown(written.text, 200));
    let value = expand::expand(written.text, lookup, expand::MAX_VALUE).ok_or_else(|| {
        format!(
            "{quoted} expands to more than {} MiB; look for `$NAME` references that repeat",
            expand::MAX_VALUE >> 20
        )
    })?;
    let problem = match written.kind {
        Kind::Image => image_ref::problem(&value),
        Kind::Aliases => aliases_problem(&value),
    };
    let Some(why) = problem else {
        return Ok(value);
    };
    // `${}` looks up nothing anyone could set.
    let mut names = expand::references(written.text);
    names.retain(|n| !n.is_empty());
    let outcome = match value.is_empty() {
        true => "expands to nothing".to_string(),
        false => format!("expands to a name Docker refuses ({why})"),
    };
    let unset = expand::unset_references(written.text, lookup);
    if !unset.is_empty() {
        let states: Vec<String> = unset
            .iter()
            .map(|n| match lookup(n) {
                None => format!("`{n}` is not set"),
                Some(_) => format!("`{n}` is empty ({})", origins.of(n)),
            })
            .collect();
        let flags: Vec<String> = unset.iter().map(|n| format!("--var {n}=VALUE")).collect();
        let them = if unset.len() == 1 { "it" } else { "them" };
        return Err(format!(
            "{quoted} {outcome}: {}; set {them} with `{}` or in `variables:`",
            states.join(", "),
            flags.join(" ")
        ));
    }
    if names.is_empty() {
        return Err(format!(
            "{quoted} is a name Docker refuses ({why}); fix the job's `{}:`",
            written.fix
        ));
    }
    let sources: Vec<String> = names
        .iter()
        .map(|n| format!("`{n}` ({})", origins.of(n)))
        .collect();
    let secret = names.iter().any(|n| Origins::has(origins.person, n));
    let result = match secret {
        true => outcome,
        false => format!(
            "expands to `{}`, which Docker refuses ({why})",
            shown(&value, 200)
        ),
    };
    Err(format!(
        "{quoted} {result}: the value comes from {}; fix it there",
        sources.join(", ")
    ))
}

/// Why `list` is not a list of host names (`,` or spaces between them), if it is not.
fn aliases_problem(list: &str) -> Option<&'static str> {
    let aliases: Vec<&str> = list.split([',', ' ']).filter(|a| !a.is_empty()).collect();
    if aliases.is_empty() {
        return Some("it is empty");
    }
    let host = |a: &str| {
        !a.starts_with('-')
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    };
    match aliases.iter().all(|a| host(a)) {
        true => None,
        false => Some("an alias is not a host name of letters, digits, `-`, `.` and `_`"),
    }
}

/// `text` for a one-line message: control characters escaped, at most `max` characters.
pub(super) fn shown(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            match c.is_control() {
                true => Box::new(c.escape_default()),
                false => Box::new(std::iter::once(c)),
            }
        })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}
