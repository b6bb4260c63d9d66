//! Sizes in the config file: `500MiB`, `20GiB`, `1G`, or a bare number of bytes. `K`, `M`, `G`
//! and `T` are decimal (as `docker system df` prints them); `KiB`, `MiB`, `GiB`, `TiB` binary.

/// Parse a size into bytes, or say what was expected.
pub fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write e.g. 500MiB, 20GiB or 10G"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit; use B, K, M, G, T, KiB, MiB, GiB or TiB"
            ))
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A size for people: `1.5 GiB`, `320 MiB`, `12 KiB`, `80 B`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        for (text, want) in [
            ("512", 512),
            ("1K", 1_000),
            ("10G", 10_000_000_000),
            ("500MiB", 500 << 20),
            ("20GiB", 20 << 30),
            (" 2 gib ", 2 << 30),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_nonsense() {
        for text in [
            "",
            "GiB",
            "1.5G",
            "10 apples",
            "-3G",
            "99999999999999999999T",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(80), "80 B");
        assert_eq!(human(12 << 10), "12 KiB");
        assert_eq!(human(1536 << 20), "1.5 GiB");
        assert_eq!(human(320 << 20), "320 MiB");
    }
}
