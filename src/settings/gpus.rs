//! `container.gpus`: a GPU request in `docker run --gpus` syntax, which gitlab-runner's `gpus`
//! takes too: `all`, a count, or comma-separated `key=value` fields (`count`, `device`,
//! `driver`, `capabilities`), a field holding commas quoted (`"device=0,1"`), as in CSV.

/// A GPU request as the engine takes it (a `DeviceRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gpus {
    /// As the admin wrote it, for `--dry-run`.
    pub written: String,
    pub driver: Option<String>,
    /// `-1`: every GPU.
    pub count: Option<i64>,
    pub device_ids: Vec<String>,
    /// Always holds `gpu`, as the docker CLI asks for it.
    pub capabilities: Vec<String>,
}

pub(super) fn parse(text: &str) -> Result<Gpus, String> {
    let bad = |why: &str| {
        format!(
            "`{}` {why}; write all, a count, or \"device=0,1\" (docker run --gpus syntax)",
            super::container_checks::shown(text)
        )
    };
    let mut gpus = Gpus {
        written: text.to_string(),
        driver: None,
        count: None,
        device_ids: Vec::new(),
        capabilities: Vec::new(),
    };
    let mut seen: Vec<&str> = Vec::new();
    let fields = fields(text).ok_or_else(|| bad("has an unclosed quote"))?;
    if fields.is_empty() {
        return Err(bad("asks for nothing"));
    }
    for field in &fields {
        let (key, value) = field.split_once('=').unwrap_or(("count", field));
        if seen.contains(&key) {
            return Err(bad(&format!("gives {key} twice")));
        }
        seen.push(key);
        let list = || value.split(',').map(str::to_string).collect::<Vec<_>>();
        match key {
            "count" => {
                gpus.count = Some(
                    count(value).ok_or_else(|| bad("has a count that is not all or a number"))?,
                )
            }
            "device" => gpus.device_ids = list(),
            "driver" => gpus.driver = Some(value.to_string()),
            "capabilities" => gpus.capabilities = list(),
            _ => return Err(bad(&format!("has the unknown field {key}"))),
        }
        let word =
            |s: &String| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !list().iter().all(word) {
            return Err(bad(&format!("has an empty or spaced {key}")));
        }
    }
    // As the docker CLI: one GPU unless a count or devices are named; always the `gpu` capability.
    if gpus.count.is_none() && gpus.device_ids.is_empty() {
        gpus.count = Some(1);
    }
    if !gpus.capabilities.iter().any(|c| c == "gpu") {
        gpus.capabilities.push("gpu".into());
    }
    Ok(gpus)
}

fn count(text: &str) -> Option<i64> {
    match text {
        "all" => Some(-1),
        _ => text.parse::<i64>().ok().filter(|n| *n > 0),
    }
}

/// The fields of one CSV record: split at commas outside double quotes, quotes removed (`""`
/// inside quotes is a quote). `None` for an unclosed quote.
fn fields(text: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn gpu_requests_as_docker_run_takes_them() {
        let all = parse("all").unwrap();
        assert_eq!(
            (all.count, all.capabilities.clone()),
            (Some(-1), vec!["gpu".to_string()])
        );
        assert_eq!(parse("2").unwrap().count, Some(2));
        let devices = parse("\"device=0,1\",driver=nvidia").unwrap();
        assert_eq!(devices.device_ids, ["0", "1"]);
        assert_eq!(
            (devices.count, devices.driver.as_deref()),
            (None, Some("nvidia"))
        );
        let caps = parse("count=1,capabilities=utility").unwrap();
        assert_eq!(caps.capabilities, ["utility", "gpu"]);
        for bad in [
            "",
            "many",
            "0",
            "count=1,count=2",
            "colour=red",
            "\"device=0",
            "device=",
            "all,2",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.contains("docker run --gpus syntax") && !e.contains('\n'),
                "{bad}: {e}"
            );
        }
    }
}
