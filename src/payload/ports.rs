//! A service's `ports:` as GitLab sends them (`[{number, protocol, name}]`). The Kubernetes
//! executor declares them as the service's container ports; here they name what the service
//! listens on, so readiness waits for them instead of the image's `EXPOSE`d ports.

use serde::Deserialize;

/// One entry of a service's `ports:`. GitLab checks the number (1 to 65535) and the protocol
/// (`http` or `https`, both over TCP); the plan checks the number again, since without a
/// payload the list comes from a job variable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ServicePort {
    pub number: i64,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// `ports: null` as no ports.
pub(super) fn nullable<'de, D>(deserializer: D) -> Result<Vec<ServicePort>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<Vec<ServicePort>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::ServicePort;

    #[test]
    fn reads_gitlabs_form() {
        let ports: Vec<ServicePort> = serde_json::from_str(
            r#"[{"number": 9090, "protocol": "http", "name": "web"}, {"number": 5432}]"#,
        )
        .unwrap();
        assert_eq!(ports[0].number, 9090);
        assert_eq!(ports[0].name.as_deref(), Some("web"));
        assert_eq!(ports[1].protocol, None);
    }
}
