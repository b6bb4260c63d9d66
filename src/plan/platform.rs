//! The job's `image: docker: platform:` (`linux/arm64`, `linux/arm/v7`): which of an image's
//! platforms the job container runs. The job may pick any; the engine refuses an image that
//! is not for it, and the job's own container is all it changes.

use super::{printable_value, PlanError};
use crate::payload::JobImage;

/// The job's platform, checked: `os/arch` or `os/arch/variant`, each part lower-case letters,
/// digits or `_` (`x86_64`). A bare `arm64` is refused rather than guessed at, and nothing else
/// reaches the engine's query string.
pub fn job_platform(image: Option<&JobImage>) -> Result<Option<String>, PlanError> {
    let Some(platform) = image.and_then(|i| i.platform.as_deref()) else {
        return Ok(None);
    };
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 32
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let parts: Vec<&str> = platform.split('/').collect();
    if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| part(p)) {
        return Err(PlanError(format!(
            "image: docker: platform: {} is not a platform; use OS/ARCH or OS/ARCH/VARIANT in \
             lower case, such as linux/arm64 or linux/arm/v7",
            printable_value(platform)
        )));
    }
    Ok(Some(platform.to_string()))
}

/// Whether an image the engine holds (its `os`, `arch`, `variant`) is for `platform`. An
/// image without a variant fits any variant of its architecture, as the engine matches them.
pub fn fits(platform: &str, os: &str, arch: &str, variant: &str) -> bool {
    let mut parts = platform.split('/');
    let (want_os, want_arch) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let want_variant = parts.next().unwrap_or("");
    want_os == os
        && normal_arch(want_arch) == normal_arch(arch)
        && (want_variant.is_empty() || variant.is_empty() || want_variant == variant)
}

/// The names the kernel and some tools use for the two common architectures, as OCI names them.
fn normal_arch(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(platform: &str) -> Result<Option<String>, PlanError> {
        job_platform(Some(&JobImage {
            platform: Some(platform.into()),
            ..JobImage::default()
        }))
    }

    #[test]
    fn os_arch_and_an_optional_variant() {
        for good in [
            "linux/amd64",
            "linux/arm64",
            "linux/arm/v7",
            "linux/x86_64",
            "windows/amd64",
        ] {
            assert_eq!(checked(good).unwrap().as_deref(), Some(good));
        }
        assert_eq!(job_platform(None).unwrap(), None);
        assert_eq!(job_platform(Some(&JobImage::default())).unwrap(), None);
    }

    #[test]
    fn anything_else_is_one_line_naming_the_value() {
        for bad in [
            "arm64",
            "Linux/ARM64",
            "linux/",
            "/arm64",
            "linux/arm/v7/extra",
            "linux/arm64&x=1",
            "linux/arm 64",
            "linux/\u{1b}[2K",
        ] {
            let err = checked(bad).unwrap_err().0;
            assert!(err.starts_with("image: docker: platform: `"), "{err}");
            assert!(!err.contains('\n') && !err.contains('\u{1b}'), "{err}");
        }
    }

    #[test]
    fn an_image_fits_its_platform_under_either_name() {
        assert!(fits("linux/amd64", "linux", "amd64", ""));
        assert!(fits("linux/x86_64", "linux", "amd64", ""));
        assert!(fits("linux/arm64/v8", "linux", "arm64", ""));
        assert!(fits("linux/arm/v7", "linux", "arm", "v7"));
        assert!(!fits("linux/arm/v6", "linux", "arm", "v7"));
        assert!(!fits("linux/arm64", "linux", "amd64", ""));
        assert!(!fits("windows/amd64", "linux", "amd64", ""));
    }
}
