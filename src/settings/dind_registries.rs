//! `dind.registry_mirrors`, `dind.insecure_registries` and `dind.login`: what the inner daemon
//! of a dind job gets from the runner's admin. The values become dockerd flags in the sidecar's
//! command, so each is checked to be one plain word: no space, quote or control character can
//! add a flag of its own.

use super::validate::Invalid;

/// The most entries of each list: a few mirrors, a few registries.
const LIST_MAX: usize = 16;

/// A mirror: `http://` or `https://`, a host, an optional port and path.
pub(super) fn mirrors(list: Option<Vec<String>>) -> Result<Vec<String>, Invalid> {
    let key = || vec!["dind", "registry_mirrors"];
    let list = list.unwrap_or_default();
    if list.len() > LIST_MAX {
        return Err((key(), format!("lists more than {LIST_MAX} mirrors")));
    }
    for url in &list {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let host = rest.map(|r| r.split('/').next().unwrap_or_default());
        if !host.is_some_and(|h| !h.is_empty() && plain(h)) || !plain(url) {
            return Err((
                key(),
                format!(
                    "`{}` is not a mirror URL; write http://host[:port] or https://host[:port]",
                    crate::outcome::one_line(url)
                ),
            ));
        }
    }
    Ok(list)
}

/// An insecure registry: `host[:port]`, or a CIDR block (`10.0.0.0/8`).
pub(super) fn insecure(list: Option<Vec<String>>) -> Result<Vec<String>, Invalid> {
    let key = || vec!["dind", "insecure_registries"];
    let list = list.unwrap_or_default();
    if list.len() > LIST_MAX {
        return Err((key(), format!("lists more than {LIST_MAX} registries")));
    }
    for entry in &list {
        if entry.is_empty() || !plain(entry) || entry.contains("://") {
            return Err((
                key(),
                format!(
                    "`{}` is not a registry; write host[:port] or a CIDR block such as 10.0.0.0/8",
                    crate::outcome::one_line(entry)
                ),
            ));
        }
    }
    Ok(list)
}

/// `mirror:`: the pull-through cache the driver keeps (see `crate::mirror`).
pub(super) fn mirror(raw: Option<super::raw::RawMirror>) -> Result<super::Mirror, Invalid> {
    let raw = raw.unwrap_or_default();
    let upstream = raw
        .upstream
        .unwrap_or_else(|| "https://registry-1.docker.io".into());
    if mirrors(Some(vec![upstream.clone()])).is_err() {
        return Err((
            vec!["mirror", "upstream"],
            format!(
                "`{}` is not a registry URL; write http://host[:port] or https://host[:port]",
                crate::outcome::one_line(&upstream)
            ),
        ));
    }
    let image = raw.image.unwrap_or_else(|| "registry:2".into());
    if image.trim().is_empty() || !plain(&image.replace('@', "")) {
        return Err((vec!["mirror", "image"], "is not an image name".into()));
    }
    let max_size = super::size::parse(raw.max_size.as_deref().unwrap_or("20GiB"))
        .map_err(|m| (vec!["mirror", "max_size"], m))?;
    let network = raw.network.unwrap_or_else(|| "bridge".into());
    if !network_name(&network) {
        return Err((
            vec!["mirror", "network"],
            format!(
                "`{}` is not a network name; write the name of a network on the engine \
                 (letters, digits, `_.-`), or leave it out for the default bridge",
                crate::outcome::one_line(&network)
            ),
        ));
    }
    Ok(super::Mirror {
        managed: raw.managed.unwrap_or(false),
        image,
        upstream,
        network,
        max_size,
    })
}

/// What Docker accepts as a network name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, kept short. A
/// container or `host`/`none` mode is refused: the mirror must have a network of its own.
fn network_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && !matches!(name, "host" | "none" | "default")
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Letters, digits and `.-_:/[]%`: what host names, ports, IPv6 addresses and paths need.
fn plain(text: &str) -> bool {
    text.len() <= 256
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:/[]%".contains(c))
}

#[cfg(test)]
mod tests {
    use crate::settings::Settings;

    #[test]
    fn mirrors_and_insecure_registries_are_plain_words() {
        let ok = Settings::from_text(
            "dind:\n  registry_mirrors: [\"http://mirror.internal:5000\", \"https://m.example/x\"]\n  \
             insecure_registries: [\"mirror.internal:5000\", \"10.0.0.0/8\", \"[fd00::1]:5000\"]\n",
            "t",
        )
        .unwrap();
        assert_eq!(ok.dind_registry_mirrors.len(), 2);
        assert_eq!(ok.dind_insecure_registries.len(), 3);
        for (yaml, want) in [
            (
                "registry_mirrors: [\"mirror.internal\"]",
                "`mirror.internal` is not a mirror URL",
            ),
            (
                "registry_mirrors: [\"http://m --debug\"]",
                "is not a mirror URL",
            ),
            ("registry_mirrors: [\"http://\"]", "is not a mirror URL"),
            ("insecure_registries: [\"a b\"]", "`a b` is not a registry"),
            (
                "insecure_registries: [\"http://m:5000\"]",
                "is not a registry",
            ),
            ("insecure_registries: [\"\"]", "is not a registry"),
        ] {
            let error = Settings::from_text(&format!("dind:\n  {yaml}\n"), "t")
                .unwrap_err()
                .to_string();
            assert!(error.contains(want), "{yaml}: {error}");
        }
    }

    #[test]
    fn the_mirror_section_is_checked() {
        let default = Settings::from_text("", "t").unwrap().mirror;
        assert!(!default.managed);
        assert_eq!(default.image, "registry:2");
        assert_eq!(default.upstream, "https://registry-1.docker.io");
        assert_eq!(default.max_size, 20 << 30);
        let set = Settings::from_text(
            "mirror:\n  managed: true\n  image: reg.internal/registry:2.8\n  \
             upstream: http://hub-cache.internal:5000\n  network: registries\n  max_size: 5GiB\n",
            "t",
        )
        .unwrap()
        .mirror;
        assert!(set.managed);
        assert_eq!(set.upstream, "http://hub-cache.internal:5000");
        assert_eq!(set.max_size, 5 << 30);
        assert_eq!(set.network, "registries");
        assert_eq!(default.network, "bridge");
        for (yaml, want) in [
            (
                "upstream: hub.internal",
                "mirror.upstream at line 2: `hub.internal` is not a registry URL",
            ),
            ("upstream: \"http://a b\"", "is not a registry URL"),
            ("image: \"\"", "is not an image name"),
            ("image: \"registry:2 --x\"", "is not an image name"),
            ("max_size: lots", "mirror.max_size"),
            ("network: host", "`host` is not a network name"),
            ("network: \"container:x\"", "is not a network name"),
            ("network: \"-x\"", "is not a network name"),
            ("manage: true", "unknown field `manage`"),
        ] {
            let error = Settings::from_text(&format!("mirror:\n  {yaml}\n"), "t")
                .unwrap_err()
                .to_string();
            assert!(error.contains(want), "{yaml}: {error}");
        }
    }
}
