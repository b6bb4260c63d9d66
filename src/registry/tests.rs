use super::*;
use crate::settings::Settings;

fn settings(yaml: &str) -> Settings {
    Settings::from_text(yaml, "t").unwrap()
}

fn env(vars: &[(&str, &str)]) -> JobEnv {
    JobEnv::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn auths(entries: &[(&str, &str, &str)]) -> String {
    let entries: Vec<String> = entries
        .iter()
        .map(|(key, user, pass)| {
            format!("\"{key}\": {{\"username\": \"{user}\", \"password\": \"{pass}\"}}")
        })
        .collect();
    format!("{{\"auths\": {{{}}}}}", entries.join(", "))
}

fn payload(url: &str, password: &str) -> Vec<RegistryCredential> {
    let json = format!(
        "{{\"credentials\": [{{\"type\": \"registry\", \"url\": \"{url}\", \
         \"username\": \"gitlab-ci-token\", \"password\": \"{password}\"}}]}}"
    );
    crate::payload::parse(json.as_bytes())
        .unwrap()
        .registry_credentials
}

fn found(registries: &Registries, image: &str) -> Option<(String, Source)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(registries.for_image(image))
        .unwrap()
        .map(|f| (f.credential.password, f.source))
}

#[test]
fn the_jobs_variable_then_the_runners_then_the_payload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(
        &file,
        auths(&[
            ("reg.example", "f", "from-file"),
            ("other.example", "f", "file-only"),
        ]),
    )
    .unwrap();
    let settings = settings(&format!("registry:\n  auth_config: {}\n", file.display()));
    let env = env(&[
        (
            "CUSTOM_ENV_DOCKER_AUTH_CONFIG",
            &auths(&[("reg.example", "j", "from-job")]),
        ),
        (
            "DOCKER_AUTH_CONFIG",
            &auths(&[("third.example", "r", "from-runner-var")]),
        ),
    ]);
    let registries = Registries::gather(
        &settings,
        &env,
        &[
            payload("reg.example", "token-a"),
            payload("gitlab.example", "token-b"),
        ]
        .concat(),
    )
    .unwrap();
    assert_eq!(
        found(&registries, "reg.example/app:1"),
        Some(("from-job".into(), Source::JobVariable))
    );
    assert_eq!(
        found(&registries, "other.example/app"),
        Some(("file-only".into(), Source::RunnerFile(file.clone())))
    );
    assert_eq!(
        found(&registries, "third.example/x"),
        Some(("from-runner-var".into(), Source::RunnerVariable))
    );
    assert_eq!(
        found(&registries, "gitlab.example/grp/app"),
        Some(("token-b".into(), Source::Payload))
    );
    assert_eq!(found(&registries, "alpine"), None);
    let described = registries.describe().join("\n");
    for secret in [
        "from-job",
        "from-file",
        "file-only",
        "token-a",
        "from-runner-var",
    ] {
        assert!(!described.contains(secret), "{described}");
    }
    assert!(
        described.contains("other.example, reg.example"),
        "{described}"
    );
}

#[test]
fn the_longest_registry_path_wins_across_sources() {
    let settings = settings("registry:\n  auth_config: \"\"\n");
    let env = env(&[(
        "CUSTOM_ENV_DOCKER_AUTH_CONFIG",
        &auths(&[("reg.example", "j", "host-wide")]),
    )]);
    let registries =
        Registries::gather(&settings, &env, &payload("reg.example/grp/app", "exact")).unwrap();
    assert_eq!(
        found(&registries, "reg.example/grp/app:2").unwrap().0,
        "exact"
    );
    assert_eq!(
        found(&registries, "reg.example/grp/other").unwrap().0,
        "host-wide"
    );
}

#[test]
fn docker_hub_under_any_of_its_names() {
    let settings = settings("registry:\n  auth_config: \"\"\n");
    for key in [
        "https://index.docker.io/v1/",
        "docker.io",
        "index.docker.io",
    ] {
        let env = env(&[("DOCKER_AUTH_CONFIG", &auths(&[(key, "u", "hub")]))]);
        let registries = Registries::gather(&settings, &env, &[]).unwrap();
        for image in [
            "alpine",
            "library/debian:12",
            "docker.io/grp/app",
            "index.docker.io/a/b",
        ] {
            assert_eq!(found(&registries, image).unwrap().0, "hub", "{key} {image}");
        }
    }
}

#[test]
fn a_jobs_helpers_are_never_run_and_a_broken_job_variable_is_ignored() {
    let settings = settings("registry:\n  auth_config: \"\"\n");
    let job = r#"{"auths": {"a.example": {"auth": "dTpw"}}, "credHelpers": {"b.example": "evil"}, "credsStore": "evil"}"#;
    let registries = Registries::gather(
        &settings,
        &env(&[("CUSTOM_ENV_DOCKER_AUTH_CONFIG", job)]),
        &[],
    )
    .unwrap();
    assert_eq!(found(&registries, "a.example/x").unwrap().0, "p");
    // Nothing is run: no entry for b.example, no store for anything else.
    assert_eq!(found(&registries, "b.example/x"), None);
    assert_eq!(found(&registries, "c.example/x"), None);
    let broken = Registries::gather(
        &settings,
        &env(&[("CUSTOM_ENV_DOCKER_AUTH_CONFIG", "{not json")]),
        &payload("a.example", "tok"),
    )
    .unwrap();
    assert_eq!(found(&broken, "a.example/x").unwrap().0, "tok");
}

#[test]
fn the_runners_file_by_default_from_home_or_docker_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".docker")).unwrap();
    std::fs::write(
        dir.path().join(".docker/config.json"),
        auths(&[("h.example", "u", "home")]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        auths(&[("h.example", "u", "dc")]),
    )
    .unwrap();
    let home = dir.path().to_str().unwrap();
    let defaults = settings("");
    let by_home = Registries::gather(&defaults, &env(&[("HOME", home)]), &[]).unwrap();
    assert_eq!(found(&by_home, "h.example/a").unwrap().0, "home");
    let by_dc = Registries::gather(
        &defaults,
        &env(&[("HOME", home), ("DOCKER_CONFIG", home)]),
        &[],
    )
    .unwrap();
    assert_eq!(found(&by_dc, "h.example/a").unwrap().0, "dc");
    // No file at the default place is no credential; a named file that is missing is a failure.
    let empty = tempfile::tempdir().unwrap();
    let home = empty.path().to_str().unwrap();
    assert!(Registries::gather(&defaults, &env(&[("HOME", home)]), &[]).is_ok());
    let named = settings(&format!("registry:\n  auth_config: {home}/missing.json\n"));
    let failure = Registries::gather(&named, &env(&[]), &[]).err().unwrap();
    assert!(
        matches!(&failure, Failure::System(m) if m.contains("missing.json cannot be read")),
        "{failure:?}"
    );
}

#[test]
fn a_broken_runner_configuration_is_a_system_failure_that_quotes_nothing() {
    let settings = settings("registry:\n  auth_config: \"\"\n");
    let env = env(&[(
        "DOCKER_AUTH_CONFIG",
        "{\"auths\": {\"r\": {\"auth\": \"s3cret!!\"}}}",
    )]);
    let failure = Registries::gather(&settings, &env, &[]).err().unwrap();
    let Failure::System(message) = failure else {
        panic!("not a system failure")
    };
    assert!(
        message.contains("the runner's DOCKER_AUTH_CONFIG"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}

#[test]
fn credentials_debug_without_secrets() {
    let credential = Credential {
        username: "u".into(),
        password: "pw-secret".into(),
        identity_token: Some("id-secret".into()),
        registry_token: None,
    };
    let shown = format!("{credential:?}");
    assert!(!shown.contains("secret"), "{shown}");
}

#[test]
fn the_jobs_client_gets_its_own_logins_and_never_the_runners() {
    let env = env(&[
        (
            "CUSTOM_ENV_DOCKER_AUTH_CONFIG",
            &auths(&[("reg.example", "j", "from-job")]),
        ),
        (
            "DOCKER_AUTH_CONFIG",
            &auths(&[("runner.example", "r", "runners-secret")]),
        ),
    ]);
    let logins = job_logins(
        &env,
        &[
            payload("reg.example", "token-a"),
            payload("gitlab.example", "token-b"),
        ]
        .concat(),
    );
    let keys: Vec<&str> = logins.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["reg.example", "gitlab.example"]);
    let config = client_config(&logins);
    let parsed = config_file::parse(&config).unwrap();
    let passwords: Vec<&str> = parsed
        .auths
        .iter()
        .map(|(_, c)| c.password.as_str())
        .collect();
    assert_eq!(passwords, ["token-b", "from-job"]);
    assert!(!config.contains("runners-secret"));
}

/// A job's `DOCKER_AUTH_CONFIG` is as large as the runner lets a variable be (128 KiB: some
/// 5,900 logins); with `dind.login` each is compared once, not with every one before it (1.9 s
/// of the driver's CPU in a release build, 15 s in a debug one, each prepare).
#[test]
fn a_huge_jobs_docker_auth_config_is_read_in_one_pass() {
    let mut text = String::from("{\"auths\":{");
    let mut i = 0;
    while text.len() < 128 * 1024 - 40 {
        text.push_str(&format!("\"{i:x}\":{{\"auth\":\"Og==\"}},"));
        i += 1;
    }
    text.push_str("\"z\":{}}}");
    let env = JobEnv::from_vars([("CUSTOM_ENV_DOCKER_AUTH_CONFIG".to_string(), text)]);
    let started = std::time::Instant::now();
    let logins = super::job_logins(&env, &[]);
    let took = started.elapsed();
    assert_eq!(logins.len(), i);
    assert!(took < std::time::Duration::from_millis(500), "{took:?}");
}
