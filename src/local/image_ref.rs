//! Whether a name is an image reference Docker accepts, as its reference grammar (the
//! `distribution/reference` rules `docker pull` and the engine apply) reads it:
//! `[host[:port]/]path[:tag][@digest]`, the path lower case. Checked before a local run
//! creates anything, so a name built from variables fails with the variables named instead of
//! at the pull, after the network and volumes exist.
//!
//! Reasons never quote the name: a part of it may come from a `--var`, which may be a secret.

/// The longest name (host and path) Docker accepts.
const NAME_MAX: usize = 255;
/// The longest tag Docker accepts.
const TAG_MAX: usize = 128;

/// Why Docker would refuse `reference`, as a fragment that reads after "it is refused: ";
/// `None` when it is a valid reference.
pub fn problem(reference: &str) -> Option<&'static str> {
    if reference.is_empty() {
        return Some("it is empty");
    }
    if reference.contains(' ') {
        return Some("it has a space");
    }
    if reference
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Some("it has a blank or control character");
    }
    let (name_tag, digest) = match reference.split_once('@') {
        Some((name_tag, digest)) => (name_tag, Some(digest)),
        None => (reference, None),
    };
    // A `:` after the last `/` starts the tag; one before it is a registry's port.
    let (name, tag) = match name_tag.rfind(':') {
        Some(at) if !name_tag[at..].contains('/') => (&name_tag[..at], Some(&name_tag[at + 1..])),
        _ => (name_tag, None),
    };
    tag.and_then(tag_problem)
        .or_else(|| digest.and_then(digest_problem))
        .or_else(|| name_problem(name))
}

fn tag_problem(tag: &str) -> Option<&'static str> {
    if tag.is_empty() {
        return Some("it ends with `:`, an empty tag");
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let first_ok = tag.chars().next().is_some_and(word);
    let rest_ok = tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if !first_ok || !rest_ok || tag.len() > TAG_MAX {
        return Some(
            "its tag must be letters, digits, `_`, `.` and `-`, at most 128, not starting \
             with `.` or `-`",
        );
    }
    None
}

fn digest_problem(digest: &str) -> Option<&'static str> {
    let valid = digest.split_once(':').is_some_and(|(algorithm, hex)| {
        let component = |c: &str| {
            c.chars().next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.chars().all(|c| c.is_ascii_alphanumeric())
        };
        algorithm.split(['+', '.', '-', '_']).all(component)
            && hex.len() >= 32
            && hex.chars().all(|c| c.is_ascii_hexdigit())
    });
    (!valid).then_some("its digest is not `algorithm:hex`, such as `sha256:` and 64 hex digits")
}

fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it has no repository name");
    }
    if name.len() > NAME_MAX {
        return Some("its name is longer than 255 characters");
    }
    let (host, path) = split_host(name);
    if host.is_some_and(|h| !is_host(h)) {
        return Some("its registry host is not a host name with an optional `:port`");
    }
    for part in path.split('/') {
        if part.is_empty() {
            return Some("it has an empty part: a leading, trailing or double `/`");
        }
        if part.chars().any(|c| c.is_ascii_uppercase()) {
            return Some("its repository has upper-case letters");
        }
        if !is_path_part(part) {
            return Some(
                "its repository has a character Docker does not allow: lower-case letters and \
                 digits, with `.`, `_`, `__` or `-` between them",
            );
        }
    }
    None
}

/// Docker's rule: the first part is a registry host when another part follows and it has a
/// `.` or a `:`, is `localhost`, or has an upper-case letter; else the name is Docker Hub's.
fn split_host(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// `host[:port]`: dot-separated labels of letters, digits and inner `-`, or `[ipv6]`.
fn is_host(host: &str) -> bool {
    let is_port = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    if let Some(bracketed) = host.strip_prefix('[') {
        let Some((ip, rest)) = bracketed.split_once(']') else {
            return false;
        };
        let ip_ok = !ip.is_empty() && ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
        return ip_ok && (rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port));
    }
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    port.is_none_or(is_port) && name.split('.').all(label)
}

/// A path part: runs of `[a-z0-9]` joined by `.`, `_`, `__` or one or more `-`.
fn is_path_part(part: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let starts_and_ends = part.starts_with(alnum) && part.ends_with(alnum);
    let separators_ok = part
        .split(alnum)
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, "." | "_" | "__") || sep.chars().all(|c| c == '-'));
    starts_and_ends && separators_ok && part.chars().all(|c| alnum(c) || "._-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn references_docker_accepts_pass() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for name in [
            "alpine",
            "alpine:3.19",
            "docker:27-dind",
            "my_app",
            "my__app",
            "my--app",
            "a.b",
            "registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-v17.11.0",
            "localhost/app",
            "localhost:5000/app:1",
            "localhost:5000",
            "127.0.0.1:5000/group/app",
            "[::1]:5000/app:tag",
            "Registry.Example.com/app",
            "mcr.microsoft.com/dotnet/sdk:8.0",
            "app:_x",
            &format!("ghcr.io/o/a@{digest}"),
            &format!("alpine:3@{digest}"),
        ] {
            assert_eq!(problem(name), None, "{name}");
        }
    }

    #[test]
    fn references_docker_refuses_say_why() {
        for (name, why) in [
            ("", "it is empty"),
            ("my app", "it has a space"),
            ("app\n", "it has a blank or control character"),
            ("alpine:", "it ends with `:`, an empty tag"),
            (
                "registry.example.com/app:",
                "it ends with `:`, an empty tag",
            ),
            ("app:-x", "its tag must be letters"),
            (
                &format!("app:{}", "x".repeat(129)),
                "its tag must be letters",
            ),
            ("app@", "its digest is not"),
            ("app@sha256:xyz", "its digest is not"),
            (":1", "it has no repository name"),
            ("App", "its repository has upper-case letters"),
            (
                "Registry.example.com/App:1",
                "its repository has upper-case letters",
            ),
            ("group/App", "its repository has upper-case letters"),
            ("/app", "it has an empty part"),
            ("a//b", "it has an empty part"),
            ("app/", "it has an empty part"),
            (
                "a_-b",
                "its repository has a character Docker does not allow",
            ),
            (
                "-app",
                "its repository has a character Docker does not allow",
            ),
            (
                "app!",
                "its repository has a character Docker does not allow",
            ),
            ("reg..com/app", "its registry host is not a host name"),
            (
                "reg.example.com:/app",
                "its registry host is not a host name",
            ),
            (
                "reg.example.com:50x/app",
                "its registry host is not a host name",
            ),
            ("[zz]:5000/app", "its registry host is not a host name"),
            (
                &format!("{}/app", "a.".repeat(130)),
                "its name is longer than 255",
            ),
        ] {
            let got = problem(name);
            assert!(got.is_some_and(|g| g.starts_with(why)), "{name}: {got:?}");
        }
    }
}
