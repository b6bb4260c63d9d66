//! A service's `ports:` in a local `.gitlab-ci.yml`: numbers, or mappings with `number` (and
//! GitLab's optional `protocol` and `name`), as GitLab reads them and sends them on.

use crate::payload::ServicePort;
use crate::yaml::Value;

use super::values::{check_keys, describe};

/// The ports of service `name`; the plan checks their range, as it does for a payload's.
pub(super) fn ports(name: &str, value: &Value) -> Result<Vec<ServicePort>, String> {
    let wrong = |found: &Value| {
        format!(
            "service {name}: `ports` must list port numbers or mappings with `number`, found {}",
            describe(found)
        )
    };
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        other => return Err(wrong(other)),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Number(n) => n.as_i64().map(number).ok_or_else(|| wrong(item)),
            Value::Mapping(map) => {
                check_keys(map, &["number", "protocol", "name"])
                    .map_err(|m| format!("service {name}: a port {m}"))?;
                let text = |key: &str| match map.get(key) {
                    Some(Value::String(s)) => Some(s.clone()),
                    _ => None,
                };
                match map.get("number") {
                    Some(Value::Number(n)) => Ok(ServicePort {
                        number: n.as_i64().ok_or_else(|| wrong(item))?,
                        protocol: text("protocol"),
                        name: text("name"),
                    }),
                    _ => Err(wrong(item)),
                }
            }
            other => Err(wrong(other)),
        })
        .collect()
}

fn number(n: i64) -> ServicePort {
    ServicePort {
        number: n,
        ..ServicePort::default()
    }
}

#[cfg(test)]
mod tests {
    use super::ports;

    fn parsed(yaml: &str) -> Result<Vec<i64>, String> {
        let value = crate::yaml::load_value(yaml).unwrap();
        ports("web", &value).map(|p| p.iter().map(|p| p.number).collect())
    }

    #[test]
    fn numbers_and_mappings() {
        assert_eq!(
            parsed("[9090, {number: 8080, protocol: http, name: web}]"),
            Ok(vec![9090, 8080])
        );
        assert_eq!(parsed("~"), Ok(vec![]));
        for bad in [
            "9090",
            "[web]",
            "[{protocol: http}]",
            "[{number: 1, host: x}]",
        ] {
            let err = parsed(bad).unwrap_err();
            assert!(err.starts_with("service web: "), "{err}");
        }
    }
}
