//! Registry names as Docker and gitlab-runner match credentials to images: an image's lookup
//! path (`registry.example.com/group/app`), and a credential key as people write them
//! (`https://index.docker.io/v1/`, `Registry.Example.com:5000`, `ghcr.io/org`).

/// Where Docker Hub's images live, as credential keys name it.
pub const DOCKER_HUB: &str = "docker.io";

/// Docker Hub's other names in credential keys and image references.
const DOCKER_HUB_ALIASES: [&str; 3] = ["index.docker.io", "registry-1.docker.io", "docker.io"];

/// The path credentials are looked up by for `image`: its registry host (lower case; Docker
/// Hub's for a name without one) and repository, without tag or digest.
/// `alpine:3` → `docker.io/alpine`; `Reg.Example:5000/grp/app@sha256:…` → `reg.example:5000/grp/app`.
pub fn image_path(image: &str) -> String {
    let image = image.trim();
    let image = image.split_once('@').map_or(image, |(name, _)| name);
    let image = match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    };
    match image.split_once('/') {
        Some((first, rest)) if names_a_host(first) => with_host(first, rest),
        _ => format!("{DOCKER_HUB}/{image}"),
    }
}

/// The registry host of `image`, as [`image_path`] has it.
pub fn registry_of(image: &str) -> String {
    let path = image_path(image);
    path.split('/').next().unwrap_or_default().to_string()
}

/// A credential key as a lookup path: a URL (`https://host/v1/`) is its host; Docker Hub's
/// names are `docker.io`; a trailing `/` and a tag are dropped; the host is lower-cased.
pub fn key_path(key: &str) -> String {
    let key = key.trim();
    let lower = key.to_ascii_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = lower.strip_prefix(scheme) {
            let host = rest.split('/').next().unwrap_or_default();
            return hub_or(host).to_string();
        }
    }
    let key = key.trim_end_matches('/');
    let key = match (key.rfind(':'), key.rfind('/')) {
        (Some(colon), Some(slash)) if colon > slash => &key[..colon],
        _ => key,
    };
    match key.split_once('/') {
        Some((host, rest)) => with_host(host, rest),
        None => hub_or(&key.to_ascii_lowercase()).to_string(),
    }
}

/// The paths to try for `path`, longest first: `a/b/c`, `a/b`, `a`.
pub fn lookup_order(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = current.rfind('/').map(|slash| &current[..slash]);
        Some(current)
    })
}

/// What a credential helper is asked for a registry host: Docker Hub's is its v1 URL, as the
/// Docker CLI stores it.
pub fn server_address(host: &str) -> String {
    match host {
        DOCKER_HUB => "https://index.docker.io/v1/".to_string(),
        other => other.to_string(),
    }
}

/// Docker's rule: the first part of a name is a registry host when it has a dot or a port, is
/// `localhost`, or has an upper-case letter (a repository path never does, so `Reg/app` is
/// image `app` of host `Reg`, not a Docker Hub name).
fn names_a_host(first: &str) -> bool {
    first.contains('.')
        || first.contains(':')
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

fn with_host(host: &str, rest: &str) -> String {
    format!("{}/{rest}", hub_or(&host.to_ascii_lowercase()))
}

fn hub_or(host: &str) -> &str {
    match DOCKER_HUB_ALIASES.contains(&host) {
        true => DOCKER_HUB,
        false => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_paths_as_docker_reads_names() {
        for (image, path) in [
            ("alpine", "docker.io/alpine"),
            ("alpine:3.20", "docker.io/alpine"),
            ("library/alpine@sha256:abc", "docker.io/library/alpine"),
            ("grp/app:1", "docker.io/grp/app"),
            (
                "Reg.Example.com:5000/grp/app:1",
                "reg.example.com:5000/grp/app",
            ),
            (
                "reg.example.com:5000/grp/app",
                "reg.example.com:5000/grp/app",
            ),
            ("localhost/app", "localhost/app"),
            ("localhost:5000/app:latest", "localhost:5000/app"),
            ("index.docker.io/grp/app", "docker.io/grp/app"),
            (
                "registry-1.docker.io/library/debian",
                "docker.io/library/debian",
            ),
            ("127.0.0.1:5000/a/b/c:t@sha256:0", "127.0.0.1:5000/a/b/c"),
            ("Reg/app:1", "reg/app"),
        ] {
            assert_eq!(image_path(image), path, "{image}");
        }
        assert_eq!(registry_of("ghcr.io/org/tool:1"), "ghcr.io");
        assert_eq!(registry_of("debian"), "docker.io");
    }

    #[test]
    fn keys_as_people_write_them() {
        for (key, path) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("HTTPS://Index.Docker.IO/v1/", "docker.io"),
            ("http://reg.example.com:5000", "reg.example.com:5000"),
            ("https://reg.example.com/some/path", "reg.example.com"),
            ("index.docker.io", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("docker.io", "docker.io"),
            ("Reg.Example.com:5000", "reg.example.com:5000"),
            ("reg.example.com:5000/", "reg.example.com:5000"),
            ("ghcr.io/Org/App:1", "ghcr.io/Org/App"),
            ("ghcr.io/org/", "ghcr.io/org"),
        ] {
            assert_eq!(key_path(key), path, "{key}");
        }
    }

    #[test]
    fn lookups_go_from_the_repository_up_to_the_host() {
        let order: Vec<&str> = lookup_order("reg.example/grp/sub/app").collect();
        assert_eq!(
            order,
            [
                "reg.example/grp/sub/app",
                "reg.example/grp/sub",
                "reg.example/grp",
                "reg.example"
            ]
        );
        assert_eq!(server_address("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(server_address("reg.example:5000"), "reg.example:5000");
    }
}
