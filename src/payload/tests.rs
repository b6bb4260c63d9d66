//! Reading the payload: the trusted fields only, and no secret in any error.

use super::*;

#[test]
fn reads_the_trusted_fields_only() {
    let json = br#"{"id": 1, "token": "secret",
            "job_info": {"project_id": 42, "project_full_path": "infra/deploy"},
            "git_info": {"repo_url": "https://x:y@h/other/path.git", "protected": true},
            "variables": [{"key": "CI_RUNNER_TAGS", "value": "[\"docker\", \"linux\"]", "public": true}]}"#;
    let facts = parse(json).unwrap();
    assert_eq!(
        facts,
        TrustedFacts {
            job_id: Some(1),
            runner_id: None,
            pipeline_id: None,
            project_id: Some(42),
            project_path: Some("infra/deploy".into()),
            protected: Some(true),
            runner_tags: Some(vec!["docker".into(), "linux".into()]),
            services: Vec::new(),
            job_image: JobImage::default(),
            public_variables: vec![("CI_RUNNER_TAGS".into(), "[\"docker\", \"linux\"]".into())],
            registry_credentials: Vec::new(),
        }
    );
}

#[test]
fn services_and_public_variables_but_no_secrets() {
    let json = br#"{"variables": [
                {"key": "CI_JOB_TOKEN", "value": "glcbt-x", "public": true, "masked": true},
                {"key": "CI_REPOSITORY_URL", "value": "https://gitlab-ci-token:x@h/p.git", "public": true},
                {"key": "PROJECT_SECRET", "value": "s3cret", "public": false},
                {"key": "POSTGRES_DB", "value": "app", "public": true}],
            "services": [{"name": "postgres:16", "alias": "db,pg", "entrypoint": null,
                          "command": ["postgres", "-c", "fsync=off"],
                          "variables": [{"key": "POSTGRES_PASSWORD", "value": "pw"}]}]}"#;
    let facts = parse(json).unwrap();
    assert_eq!(
        facts.public_variables,
        [("POSTGRES_DB".to_string(), "app".to_string())]
    );
    assert_eq!(
        facts.services,
        [ServiceRequest {
            name: "postgres:16".into(),
            alias: Some("db,pg".into()),
            entrypoint: None,
            command: Some(vec!["postgres".into(), "-c".into(), "fsync=off".into()]),
            variables: vec![("POSTGRES_PASSWORD".into(), "pw".into())],
            ports: Vec::new(),
            pull_policy: Vec::new(),
        }]
    );
}

#[test]
fn older_payloads_fall_back_to_the_repository_url() {
    let json = br#"{"git_info": {"repo_url": "https://gitlab-ci-token:t@gitlab.example.com/grp/sub/proj.git"}}"#;
    let facts = parse(json).unwrap();
    assert_eq!(facts.project_path.as_deref(), Some("grp/sub/proj"));
    assert_eq!(facts.protected, None);
}

#[test]
fn the_first_copy_of_a_predefined_variable_wins() {
    let json = br#"{"id": 9, "variables": [
            {"key": "CI_RUNNER_ID", "value": "12"}, {"key": "CI_PIPELINE_ID", "value": "5"},
            {"key": "CI_COMMIT_REF_PROTECTED", "value": "false"},
            {"key": "CI_RUNNER_ID", "value": "666"}, {"key": "CI_PIPELINE_ID", "value": "6"},
            {"key": "CI_COMMIT_REF_PROTECTED", "value": "true"}]}"#;
    let facts = parse(json).unwrap();
    assert_eq!(facts.job_id, Some(9));
    assert_eq!(facts.runner_id.as_deref(), Some("12"));
    assert_eq!(facts.pipeline_id.as_deref(), Some("5"));
    assert_eq!(facts.protected, Some(false));
}

#[test]
fn git_info_protected_wins_over_the_variable() {
    let json = br#"{"git_info": {"protected": false},
            "variables": [{"key": "CI_COMMIT_REF_PROTECTED", "value": "true"}]}"#;
    assert_eq!(parse(json).unwrap().protected, Some(false));
    let json = br#"{"variables": [{"key": "CI_COMMIT_REF_PROTECTED", "value": "yes"}]}"#;
    assert_eq!(parse(json).unwrap().protected, None);
}

#[test]
fn a_shadowed_runner_tags_variable_is_not_trusted() {
    let json = br#"{"variables": [{"key": "CI_RUNNER_TAGS", "value": "docker"},
                                       {"key": "CI_RUNNER_TAGS", "value": "privileged"}]}"#;
    assert_eq!(parse(json).unwrap().runner_tags, None);
}

#[test]
fn errors_never_quote_the_payload() {
    let err = parse(b"{\"token\": \"glcbt-secret\" oops").unwrap_err();
    assert!(!err.contains("secret"), "{err}");
    assert!(err.contains("line 1"), "{err}");
    assert!(parse(b"\x00\xff binary").is_err());
}
