//! The admin's container options ([`ContainerOptions`]) as the engine's `HostConfig` takes
//! them. Host directories and named volumes go in `Binds`, as `docker run -v` and the docker
//! executor send them: a missing host directory is made by the engine, and a named volume is
//! made on first use without labels, so no cleanup or gc ever removes it (it is the admin's).

use std::collections::HashMap;

use bollard::models::{DeviceMapping, DeviceRequest, HostConfig};

use crate::settings::ContainerOptions;

/// `host` with `options` filled in; `binds` are the driver's own `Binds` entries.
pub(super) fn apply(options: &ContainerOptions, mut host: HostConfig) -> HostConfig {
    let o = options;
    let some = |list: &[String]| (!list.is_empty()).then(|| list.to_vec());
    let mut binds = host.binds.take().unwrap_or_default();
    binds.extend(o.volumes.iter().map(|v| v.bind()));
    host.binds = Some(binds);
    host.devices = (!o.devices.is_empty()).then(|| {
        let map = |d: &crate::settings::Device| DeviceMapping {
            path_on_host: Some(d.host.clone()),
            path_in_container: Some(d.container.clone()),
            cgroup_permissions: Some(d.permissions.clone()),
        };
        o.devices.iter().map(map).collect()
    });
    host.device_requests = o.gpus.as_ref().map(|g| {
        vec![DeviceRequest {
            driver: g.driver.clone(),
            count: g.count,
            device_ids: some(&g.device_ids),
            capabilities: Some(vec![g.capabilities.clone()]),
            options: None,
        }]
    });
    host.extra_hosts = some(&o.extra_hosts);
    host.dns = some(&o.dns);
    host.dns_search = some(&o.dns_search);
    // As the docker CLI sends them, so `docker inspect` reads as after `docker run --cap-drop`.
    let caps = |list: &[String]| {
        let named = list.iter().map(|c| match c.as_str() {
            "ALL" => c.clone(),
            _ => format!("CAP_{c}"),
        });
        (!list.is_empty()).then(|| named.collect::<Vec<_>>())
    };
    host.cap_add = caps(&o.cap_add);
    host.cap_drop = caps(&o.cap_drop);
    let security: Vec<String> = o.security_opt.iter().map(|s| s.engine.clone()).collect();
    host.security_opt = some(&security);
    let map = |m: &std::collections::BTreeMap<String, String>| {
        (!m.is_empty()).then(|| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>()
        })
    };
    host.sysctls = map(&o.sysctls);
    host.tmpfs = map(&o.tmpfs);
    host.userns_mode = o.userns_mode.clone();
    host
}

#[cfg(test)]
mod tests {
    use super::apply;
    use bollard::models::HostConfig;

    /// Every option reaches the engine's request; none of them when none is set, so a
    /// container without options is created exactly as before.
    #[test]
    fn each_option_lands_in_the_host_config() {
        let text = "container:\n  volumes: [\"/srv/d:/d:ro\", \"tools:/t\"]\n  devices: [/dev/fuse]\n  \
                    gpus: \"\\\"device=0,1\\\"\"\n  extra_hosts: [\"a:1.2.3.4\"]\n  dns: [10.0.0.53]\n  \
                    dns_search: [corp.example]\n  cap_add: [SYS_PTRACE]\n  cap_drop: [NET_RAW]\n  \
                    security_opt: [no-new-privileges]\n  sysctls: {net.ipv4.ip_forward: 1}\n  \
                    tmpfs: {/scratch: size=1m}\n  userns_mode: host\n";
        let settings = crate::settings::Settings::from_text(text, "t").unwrap();
        let driver = HostConfig {
            binds: Some(vec!["/b:/b".into()]),
            ..Default::default()
        };
        let host = apply(&settings.container, driver);
        assert_eq!(host.binds.unwrap(), ["/b:/b", "/srv/d:/d:ro", "tools:/t"]);
        let device = &host.devices.unwrap()[0];
        assert_eq!(device.path_in_container.as_deref(), Some("/dev/fuse"));
        assert_eq!(device.cgroup_permissions.as_deref(), Some("rwm"));
        let gpus = &host.device_requests.unwrap()[0];
        assert_eq!(
            (gpus.count, gpus.device_ids.clone()),
            (None, Some(vec!["0".into(), "1".into()]))
        );
        assert_eq!(host.extra_hosts.unwrap(), ["a:1.2.3.4"]);
        assert_eq!(
            (host.dns.unwrap(), host.dns_search.unwrap()),
            (
                vec!["10.0.0.53".to_string()],
                vec!["corp.example".to_string()]
            )
        );
        assert_eq!(
            (host.cap_add.unwrap(), host.cap_drop.unwrap()),
            (
                vec!["CAP_SYS_PTRACE".to_string()],
                vec!["CAP_NET_RAW".to_string()]
            )
        );
        assert_eq!(host.security_opt.unwrap(), ["no-new-privileges"]);
        assert_eq!(host.sysctls.unwrap()["net.ipv4.ip_forward"], "1");
        assert_eq!(host.tmpfs.unwrap()["/scratch"], "size=1m");
        assert_eq!(host.userns_mode.as_deref(), Some("host"));

        let none = apply(&Default::default(), HostConfig::default());
        assert_eq!(
            format!("{none:?}"),
            format!(
                "{:?}",
                HostConfig {
                    binds: Some(Vec::new()),
                    ..Default::default()
                }
            )
        );
    }
}
