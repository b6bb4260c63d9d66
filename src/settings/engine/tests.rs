use super::EngineEnv;
use crate::settings::{DockerHost, Settings};

fn host(yaml: &str, env: &EngineEnv) -> Result<DockerHost, String> {
    Settings::from_text_in(yaml, "t", env)
        .map(|s| s.docker_host)
        .map_err(|e| e.to_string())
}

fn env(pairs: &[(&str, &str)]) -> EngineEnv {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    EngineEnv {
        host: get("DOCKER_HOST"),
        cert_path: get("DOCKER_CERT_PATH"),
        tls_verify: get("DOCKER_TLS_VERIFY"),
        home: get("HOME"),
        machine_id: get("MACHINE_ID"),
    }
}

#[test]
fn tcp_needs_certificates_or_an_explicit_insecure() {
    let none = EngineEnv::default();
    assert_eq!(
        host(
            "docker:\n  host: tcp://e.internal:2376\n  cert_path: /etc/certs\n",
            &none
        ),
        Ok(DockerHost::Tcp {
            addr: "e.internal:2376".into(),
            tls: Some("/etc/certs".into())
        })
    );
    assert_eq!(
        host(
            "docker:\n  host: tcp://127.0.0.1:2375\n  insecure: true\n",
            &none
        ),
        Ok(DockerHost::Tcp {
            addr: "127.0.0.1:2375".into(),
            tls: None
        })
    );
    for (yaml, want) in [
        (
            "host: tcp://e.internal:2375",
            "docker.host at line 2: `tcp://e.internal:2375` without docker.cert_path is plain HTTP",
        ),
        (
            "host: tcp://e:2376\n  cert_path: /c\n  insecure: true",
            "docker.insecure at line 4: is true while docker.cert_path (/c) asks for TLS",
        ),
        (
            "host: unix:///run/docker.sock\n  cert_path: /c",
            "docker.cert_path at line 3: is for a tcp:// docker.host",
        ),
        (
            "cert_path: /c",
            "docker.cert_path at line 2: is for a tcp:// docker.host",
        ),
        (
            "host: tcp://e:2376\n  cert_path: certs",
            "`certs` is not an absolute path",
        ),
        (
            "host: tcp://e",
            "`tcp://e` is not unix:///absolute/path or tcp://host:port",
        ),
        (
            "host: tcp://e:x",
            "is not unix:///absolute/path or tcp://host:port",
        ),
        (
            "host: \"tcp://e f:1\"",
            "is not unix:///absolute/path or tcp://host:port",
        ),
        (
            "host: https://e:2376",
            "is not unix:///absolute/path or tcp://host:port",
        ),
        ("secure: true", "unknown field `secure`"),
    ] {
        let error = host(&format!("docker:\n  {yaml}\n"), &none).unwrap_err();
        assert!(error.contains(want), "{yaml}: {error}");
    }
}

#[test]
fn without_a_host_the_drivers_own_docker_variables_decide() {
    assert_eq!(
        host("", &EngineEnv::default()),
        Ok(DockerHost::Unix("/var/run/docker.sock".into()))
    );
    assert_eq!(
        host(
            "",
            &env(&[("DOCKER_HOST", "unix:///run/user/1000/docker.sock")])
        ),
        Ok(DockerHost::Unix("/run/user/1000/docker.sock".into()))
    );
    assert_eq!(
        host(
            "",
            &env(&[
                ("DOCKER_HOST", "tcp://e:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs")
            ])
        ),
        Ok(DockerHost::Tcp {
            addr: "e:2376".into(),
            tls: Some("/certs".into())
        })
    );
    // DOCKER_CERT_PATH alone turns on TLS with the engine verified (the CLI would need
    // DOCKER_TLS_VERIFY too: never plain HTTP to an engine the admin gave certificates for).
    assert_eq!(
        host(
            "",
            &env(&[
                ("DOCKER_HOST", "tcp://e:2376"),
                ("DOCKER_CERT_PATH", "/certs")
            ])
        ),
        Ok(DockerHost::Tcp {
            addr: "e:2376".into(),
            tls: Some("/certs".into())
        })
    );
    // The Docker CLI's default place.
    assert_eq!(
        host(
            "",
            &env(&[
                ("DOCKER_HOST", "tcp://e:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("HOME", "/home/runner")
            ])
        ),
        Ok(DockerHost::Tcp {
            addr: "e:2376".into(),
            tls: Some("/home/runner/.docker".into())
        })
    );
    let plain = env(&[("DOCKER_HOST", "tcp://e:2375")]);
    let error = host("", &plain).unwrap_err();
    assert!(
        error.contains("DOCKER_HOST=tcp://e:2375 in the driver's environment is plain HTTP"),
        "{error}"
    );
    assert_eq!(
        host("docker:\n  insecure: true\n", &plain),
        Ok(DockerHost::Tcp {
            addr: "e:2375".into(),
            tls: None
        })
    );
    // The config's own host wins over the environment.
    assert_eq!(
        host("docker:\n  host: unix:///x.sock\n", &plain),
        Ok(DockerHost::Unix("/x.sock".into()))
    );
    let error = host("", &env(&[("DOCKER_HOST", "ssh://u@e")])).unwrap_err();
    assert!(
        error.contains("docker.host: is not set, and DOCKER_HOST in the driver's environment"),
        "{error}"
    );
}

#[test]
fn the_manager_id_is_the_configs_or_the_machines() {
    let machine = env(&[("MACHINE_ID", "0F3A9C21b7e54d2c9a1b2c3d4e5f6a7b")]);
    let manager = |yaml: &str, env: &EngineEnv| {
        Settings::from_text_in(yaml, "t", env)
            .map(|s| s.manager_id)
            .map_err(|e| e.to_string())
    };
    assert_eq!(manager("", &machine), Ok("0f3a9c21".into()));
    assert_eq!(manager("", &EngineEnv::default()), Ok(String::new()));
    assert_eq!(
        manager("", &env(&[("MACHINE_ID", "short")])),
        Ok(String::new())
    );
    assert_eq!(
        manager("runner:\n  manager_id: build7\n", &machine),
        Ok("build7".into())
    );
    assert_eq!(
        manager("runner:\n  manager_id: \"\"\n", &machine),
        Ok(String::new())
    );
    for bad in ["Build7", "a-b", "12345678901234567"] {
        let error = manager(&format!("runner:\n  manager_id: \"{bad}\"\n"), &machine).unwrap_err();
        assert!(
            error.contains("runner.manager_id at line 2") && error.contains("is not a manager id"),
            "{bad}: {error}"
        );
    }
}
