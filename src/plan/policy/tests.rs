//! The policy on trusted facts: the admin intent from docs/security.md, and that job variables can
//! request but never grant.

use super::*;
use crate::settings::Settings;

const ADMIN: &str = r#"
mode:
  default: dind
  allowed: [dind, socket, none]
policy:
  rules:
    - match: { projects: ["infra/*"], protected: true }
      modes: [socket, dind, none]
    - match: { projects: ["ourgroup/**"] }
      modes: [dind, none]
    - match: { project_ids: [4242] }
      modes: [socket]
    - match: { runner_tags: [trusted-builds] }
      modes: [dind, socket]
      default: socket
  default_modes: [none]
  job_images: ["docker:*", "registry.example.com/**"]
  dind_images: ["docker:*-dind"]
"#;

fn settings() -> Settings {
    Settings::from_text(ADMIN, "policy.yaml").unwrap()
}

fn env(vars: &[(&str, &str)]) -> JobEnv {
    JobEnv::from_vars(
        vars.iter()
            .map(|(k, v)| (format!("CUSTOM_ENV_{k}"), v.to_string())),
    )
}

fn facts(path: &str, protected: bool) -> TrustedFacts {
    TrustedFacts {
        project_id: Some(7),
        project_path: Some(path.into()),
        protected: Some(protected),
        runner_tags: None,
        ..TrustedFacts::default()
    }
}

fn mode(vars: &[(&str, &str)], facts: Option<&TrustedFacts>) -> Result<Mode, String> {
    choose_mode(&settings(), &env(vars), facts).map_err(|e| e.0)
}

const SOCKET: (&str, &str) = ("EXECUTOR_DOCKER_MODE", "socket");
const DIND: (&str, &str) = ("EXECUTOR_DOCKER_MODE", "dind");

#[test]
fn socket_only_for_infra_on_protected_refs() {
    assert_eq!(
        mode(&[SOCKET], Some(&facts("infra/deploy", true))),
        Ok(Mode::Socket)
    );
    let err = mode(&[SOCKET], Some(&facts("infra/deploy", false))).unwrap_err();
    assert_eq!(
        err,
        "EXECUTOR_DOCKER_MODE=`socket` is not allowed for project infra/deploy on an unprotected \
         ref by policy.default_modes; allowed for this job: none"
    );
}

#[test]
fn dind_for_the_group_and_none_for_everyone_else() {
    let group = facts("ourgroup/team/app", false);
    assert_eq!(mode(&[], Some(&group)), Ok(Mode::Dind));
    assert!(mode(&[SOCKET], Some(&group))
        .unwrap_err()
        .contains("by policy.rules[1]"));
    let fork = facts("alice/app", false);
    assert_eq!(
        mode(&[], Some(&fork)),
        Ok(Mode::None),
        "the first default mode"
    );
    assert!(mode(&[DIND], Some(&fork))
        .unwrap_err()
        .contains("policy.default_modes"));
}

#[test]
fn job_variables_cannot_stand_in_for_trusted_facts() {
    let fork = facts("alice/app", false);
    let forged = [
        SOCKET,
        ("CI_PROJECT_PATH", "infra/deploy"),
        ("CI_PROJECT_ID", "4242"),
        ("CI_COMMIT_REF_PROTECTED", "true"),
        ("CI_RUNNER_TAGS", "[\"trusted-builds\"]"),
    ];
    assert!(mode(&forged, Some(&fork)).is_err());
    // Without the payload no rule with conditions applies, whatever the variables say.
    let err = mode(&forged, None).unwrap_err();
    assert!(err.contains("no JOB_RESPONSE_FILE"), "{err}");
    assert_eq!(mode(&[], None), Ok(Mode::None));
}

#[test]
fn project_ids_and_runner_tags_match_too() {
    let mut by_id = facts("somewhere/else", false);
    by_id.project_id = Some(4242);
    assert_eq!(
        mode(&[], Some(&by_id)),
        Ok(Mode::Socket),
        "the rule's only mode"
    );
    let mut tagged = facts("somewhere/else", false);
    tagged.runner_tags = Some(vec!["linux".into(), "trusted-builds".into()]);
    assert_eq!(
        mode(&[], Some(&tagged)),
        Ok(Mode::Socket),
        "the rule's default"
    );
    tagged.runner_tags = Some(vec!["linux".into()]);
    assert_eq!(mode(&[], Some(&tagged)), Ok(Mode::None));
}

#[test]
fn job_images_must_be_allowed() {
    let s = settings();
    assert!(check_job_image(&s, "docker:27-cli").is_ok());
    assert!(check_job_image(&s, "registry.example.com/team/img:1").is_ok());
    let err = check_job_image(&s, "evil/miner:latest").unwrap_err().0;
    assert_eq!(
        err,
        "image `evil/miner:latest` is not allowed by policy.job_images (docker:*, \
         registry.example.com/**); use an allowed image"
    );
}

#[test]
fn jobs_pick_dind_images_only_from_the_list() {
    let s = settings();
    assert_eq!(dind_image(&s, &env(&[])).unwrap(), "docker:dind");
    let picked = env(&[(DIND_IMAGE_VARIABLE, "docker:27-dind")]);
    assert_eq!(dind_image(&s, &picked).unwrap(), "docker:27-dind");
    let denied = env(&[(DIND_IMAGE_VARIABLE, "evil/dind")]);
    assert!(dind_image(&s, &denied)
        .unwrap_err()
        .0
        .contains("allowed: docker:*-dind"));
    let strict = Settings::from_text("", "x.yaml").unwrap();
    let err = dind_image(&strict, &picked).unwrap_err().0;
    assert!(err.contains("only dind.image"), "{err}");
}

#[test]
fn without_a_policy_everything_offered_is_granted() {
    let s = Settings::from_text("mode:\n  allowed: [dind, socket, none]\n", "x.yaml").unwrap();
    assert_eq!(choose_mode(&s, &env(&[SOCKET]), None), Ok(Mode::Socket));
}

#[test]
fn socket_is_not_offered_unless_the_admin_writes_it_down() {
    let s = Settings::from_text("", "x.yaml").unwrap();
    assert_eq!(
        choose_mode(&s, &env(&[SOCKET]), None).unwrap_err().0,
        "EXECUTOR_DOCKER_MODE=`socket` is not allowed on this runner; allowed modes: dind, none"
    );
}
