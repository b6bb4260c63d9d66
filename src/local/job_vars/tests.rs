use super::*;
use crate::local::gitlab_ci;
use crate::local::test_vars::{get, pairs};
use crate::payload::ServiceRequest;
use crate::settings::Settings;

/// `job` of `yaml` built with `--var`s `person`: its refusal as one line, or what it built.
fn build_job(yaml: &str, job: &str, person: &[(&str, &str)]) -> Result<Built, String> {
    build_awaiting(yaml, job, person, None)
}

/// The same, with the job's dotenv sources awaited as a run (`Some(false)`) or a dry run
/// (`Some(true)`) awaits them.
fn build_awaiting(
    yaml: &str,
    job: &str,
    person: &[(&str, &str)],
    dry_run: Option<bool>,
) -> Result<Built, String> {
    let pipeline = gitlab_ci::parse(yaml, ".gitlab-ci.yml").unwrap();
    let job = pipeline.job(job).unwrap();
    let sources = match dry_run {
        Some(_) => crate::local::chain::dotenv_sources(job, &pipeline),
        None => Vec::new(),
    };
    let checkout = Checkout::fake(Some("main"), None, Some("group/app"));
    let overrides = pairs(person);
    let ids = LocalIds::new(&checkout).overridden(&overrides);
    let settings = Settings::from_text("", "t").unwrap();
    let given = Given {
        job,
        checkout: &checkout,
        ids: &ids,
        local: &settings.local,
        overrides: &overrides,
        default_image: "docker:cli",
        awaited: Awaited {
            sources: &sources,
            dry_run: dry_run.unwrap_or_default(),
        },
    };
    build(&given, "/builds").map_err(|e| e.to_string())
}

fn refusal(yaml: &str, job: &str, person: &[(&str, &str)]) -> String {
    match build_job(yaml, job, person) {
        Ok(built) => panic!(
            "`{job}` was not refused; its image: {:?}",
            get(&built.variables, "CI_JOB_IMAGE")
        ),
        Err(message) => message,
    }
}

const IMAGES: &str = r#"
variables:
  REGISTRY: registry.example.com
  EMPTY: ""
  UPPER: Registry.example.com/App
missing:
  image: $MISSING
  script: [x]
tag:
  image: "${REGISTRY}/app:${TAG}"
  script: [x]
empty_tag:
  image: "${REGISTRY}/app:${EMPTY}"
  script: [x]
two:
  image: "${HOST}/app:${TAG}"
  script: [x]
upper:
  image: "$UPPER:1"
  script: [x]
written:
  image: "alpine:"
  script: [x]
fine:
  image: "${REGISTRY}/app:${CI_COMMIT_REF_SLUG}${EMPTY}"
  script: [x]
"#;

#[test]
fn an_image_that_expands_to_nothing_names_the_variables_and_the_fix() {
    assert_eq!(
        refusal(IMAGES, "missing", &[]),
        "`image: $MISSING` expands to nothing: `MISSING` is not set; set it with \
         `--var MISSING=VALUE` or in `variables:`"
    );
    assert_eq!(
        refusal(IMAGES, "tag", &[]),
        "`image: ${REGISTRY}/app:${TAG}` expands to a name Docker refuses (it ends with `:`, \
         an empty tag): `TAG` is not set; set it with `--var TAG=VALUE` or in `variables:`"
    );
    assert!(
        refusal(IMAGES, "empty_tag", &[]).contains(
            "`EMPTY` is empty (set in the file's `variables:`); set it with \
             `--var EMPTY=VALUE` or in `variables:`"
        ),
        "{}",
        refusal(IMAGES, "empty_tag", &[])
    );
    assert!(refusal(IMAGES, "two", &[]).ends_with(
        "`HOST` is not set, `TAG` is not set; set them with `--var HOST=VALUE --var \
         TAG=VALUE` or in `variables:`"
    ));
    // Set, the same files run; an empty variable the name does not need is no problem.
    let built = build_job(IMAGES, "tag", &[("TAG", "1.2")]).unwrap();
    assert_eq!(
        get(&built.variables, "CI_JOB_IMAGE"),
        Some("registry.example.com/app:1.2")
    );
    let built = build_job(IMAGES, "fine", &[]).unwrap();
    assert_eq!(
        get(&built.variables, "CI_JOB_IMAGE"),
        Some("registry.example.com/app:main")
    );
}

#[test]
fn an_invalid_image_names_where_its_value_comes_from() {
    assert_eq!(
        refusal(IMAGES, "upper", &[]),
        "`image: $UPPER:1` expands to `Registry.example.com/App:1`, which Docker refuses (its \
         repository has upper-case letters): the value comes from `UPPER` (set in the file's \
         `variables:`); fix it there"
    );
    // A `--var` value may be a secret: the message names it without showing it.
    let message = refusal(IMAGES, "missing", &[("MISSING", "my image")]);
    assert_eq!(
        message,
        "`image: $MISSING` expands to a name Docker refuses (it has a space): the value comes \
         from `MISSING` (set by `--var`); fix it there"
    );
    assert_eq!(
        refusal(IMAGES, "written", &[]),
        "`image: alpine:` is a name Docker refuses (it ends with `:`, an empty tag); fix the \
         job's `image:`"
    );
}

const SERVICES: &str = r#"
variables:
  QUOTED: 'a"b'
  DB: postgres
unset_name:
  services: [{name: $SVC, alias: db}]
  script: [x]
unset_name_alone:
  services: [{name: $SVC}, {name: "${DB}:15"}, {name: $SVC, alias: $ALIAS}]
  script: [x]
unset_alias:
  services: [{name: "$DB:15", alias: $ALIAS}]
  script: [x]
bad_alias:
  services: [{name: redis, alias: "cache$QUOTED"}]
  script: [x]
quoted_value:
  services:
    - name: "$DB:15"
      alias: "db,${DB}-main"
      command: ["--opt=$QUOTED"]
      variables: {GREETING: "say $QUOTED"}
  script: [x]
"#;

#[test]
fn service_names_and_aliases_from_variables_are_checked_too() {
    assert_eq!(
        refusal(SERVICES, "unset_name", &[]),
        "`services: name: $SVC` expands to nothing: `SVC` is not set; set it with `--var \
         SVC=VALUE` or in `variables:`"
    );
    assert_eq!(
        refusal(SERVICES, "unset_alias", &[]),
        "`services: alias: $ALIAS` expands to nothing: `ALIAS` is not set; set it with `--var \
         ALIAS=VALUE` or in `variables:`"
    );
    assert_eq!(
        refusal(SERVICES, "bad_alias", &[]),
        "`services: alias: cache$QUOTED` expands to `cachea\"b`, which Docker refuses (an alias \
         is not a host name of letters, digits, `-`, `.` and `_`): the value comes from \
         `QUOTED` (set in the file's `variables:`); fix it there"
    );
}

/// gitlab-runner's Docker executor makes one container per alias of a service, and an empty
/// name has none: a service whose name and alias expand to nothing is no service.
#[test]
fn a_service_named_by_an_unset_variable_alone_is_skipped_as_on_gitlab() {
    let built = build_job(SERVICES, "unset_name_alone", &[]).unwrap();
    let json = get(&built.runner, "CI_JOB_SERVICES").unwrap();
    let services: Vec<ServiceRequest> = serde_json::from_str(json).unwrap();
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["postgres:15"]);
    // Set, the same service is there.
    let built = build_job(
        SERVICES,
        "unset_name_alone",
        &[("SVC", "redis"), ("ALIAS", "kv")],
    )
    .unwrap();
    let json = get(&built.runner, "CI_JOB_SERVICES").unwrap();
    let services: Vec<ServiceRequest> = serde_json::from_str(json).unwrap();
    assert_eq!(services.len(), 3);
}

/// A `"` in a value once broke the JSON of `CI_JOB_SERVICES`, and the job ran without its
/// services.
#[test]
fn services_reach_the_driver_whatever_their_values_hold() {
    let built = build_job(SERVICES, "quoted_value", &[]).unwrap();
    let json = get(&built.runner, "CI_JOB_SERVICES").unwrap();
    let services: Vec<ServiceRequest> = serde_json::from_str(json).unwrap();
    assert_eq!(services.len(), 1);
    let service = &services[0];
    assert_eq!(service.name, "postgres:15");
    assert_eq!(service.alias.as_deref(), Some("db,postgres-main"));
    assert_eq!(service.command, Some(vec!["--opt=a\"b".to_string()]));
    assert_eq!(
        service.variables,
        vec![("GREETING".to_string(), "say a\"b".to_string())]
    );
    assert_eq!(get(&built.variables, "CI_JOB_SERVICES"), Some(json));
}

#[test]
fn node_total_is_one_without_parallel_and_the_count_with_it() {
    let yaml = "single:\n  script: [x]\nsplit:\n  parallel: 3\n  script: [x]\n";
    let single = build_job(yaml, "single", &[]).unwrap().variables;
    assert_eq!(get(&single, "CI_NODE_TOTAL"), Some("1"));
    assert_eq!(get(&single, "CI_NODE_INDEX"), None);
    let second = build_job(yaml, "split 2/3", &[]).unwrap().variables;
    assert_eq!(get(&second, "CI_NODE_TOTAL"), Some("3"));
    assert_eq!(get(&second, "CI_NODE_INDEX"), Some("2"));
}

const IDS: &str = r#"
variables:
  CI_PROJECT_DIR: /elsewhere
forged:
  variables:
    CI_JOB_ID: "1"
    CI_CONCURRENT_ID: abc
    CI_RUNNER_VERSION: "1.0"
  script: [x]
"#;

#[test]
fn predefined_ids_the_file_sets_reach_the_job_and_not_the_driver() {
    let built = build_job(IDS, "forged", &[]).unwrap();
    let (job, runner) = (&built.variables, &built.runner);
    assert_eq!(get(job, "CI_JOB_ID"), Some("1"));
    assert_eq!(get(job, "CI_CONCURRENT_ID"), Some("abc"));
    assert_eq!(get(job, "CI_PROJECT_DIR"), Some("/elsewhere"));
    // gitlab-runner sets its version after the job's variables.
    assert_eq!(
        get(job, "CI_RUNNER_VERSION"),
        Some(vars::LOCAL_RUNNER_VERSION)
    );
    assert_ne!(get(runner, "CI_JOB_ID"), Some("1"));
    assert_eq!(get(runner, "CI_CONCURRENT_ID"), Some("0"));
    assert_eq!(get(runner, "CI_PROJECT_DIR"), Some("/builds/group/app"));
    let named: Vec<&str> = built.set_by_file.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        named,
        [
            "CI_RUNNER_VERSION",
            "CI_JOB_ID",
            "CI_CONCURRENT_ID",
            "CI_PROJECT_DIR"
        ]
    );
    // The person's `--var` names the run: the driver gets it too, and nothing is noted.
    let built = build_job(IDS, "forged", &[("CI_JOB_ID", "77")]).unwrap();
    assert_eq!(get(&built.runner, "CI_JOB_ID"), Some("77"));
    assert_eq!(get(&built.variables, "CI_JOB_ID"), Some("77"));
    assert!(!built.set_by_file.iter().any(|(n, _)| *n == "CI_JOB_ID"));
}

const DOTENV: &str = "
stages: [build, deploy]
env: {stage: build, script: a, artifacts: {reports: {dotenv: build.env}}}
uses:
  stage: deploy
  image: ${FROM_ENV}
  services: [{name: $SVC_FROM_ENV, alias: cache}, $LONE_FROM_ENV, postgres:16]
  script: b
";

/// A dry run cannot know what a job before it writes to its dotenv report: an image that uses
/// such a variable is shown as written, a service left out, each with a note naming the job.
#[test]
fn a_dry_run_shows_a_name_from_a_dotenv_report_as_written() {
    let built = build_awaiting(DOTENV, "uses", &[], Some(true)).unwrap();
    assert_eq!(get(&built.runner, "CI_JOB_IMAGE"), Some("${FROM_ENV}"));
    let json = get(&built.runner, "CI_JOB_SERVICES").unwrap();
    let services: Vec<ServiceRequest> = serde_json::from_str(json).unwrap();
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["postgres:16"]);
    let notes: Vec<&str> = built.notes.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        notes,
        [
            "`image: ${FROM_ENV}` is shown as written: `FROM_ENV` is not set until the dotenv \
             report of `env`, which a run with --needs passes on",
            "`services: name: $SVC_FROM_ENV` is left out of this dry run: `SVC_FROM_ENV` is not \
             set until the dotenv report of `env`, which a run with --needs passes on",
            "`services: name: $LONE_FROM_ENV` is left out of this dry run: `LONE_FROM_ENV` is \
             not set until the dotenv report of `env`, which a run with --needs passes on",
        ]
    );
}

/// Run alone, the same job is refused (an image must not fall back to a default), and the
/// message says where the value would come from; a service named by an unset variable alone
/// is skipped as on GitLab, with a note.
#[test]
fn a_run_without_the_dotenv_report_refuses_naming_the_job_that_writes_it() {
    assert_eq!(
        build_awaiting(DOTENV, "uses", &[], Some(false))
            .err()
            .unwrap(),
        "`image: ${FROM_ENV}` expands to nothing: `FROM_ENV` is not set; set it with \
         `--var FROM_ENV=VALUE` or in `variables:`; or run with --needs: the dotenv report of \
         `env` may set it"
    );
    let set = [("FROM_ENV", "alpine"), ("SVC_FROM_ENV", "redis")];
    let built = build_awaiting(DOTENV, "uses", &set, Some(false));
    let notes: Vec<String> = built.unwrap().notes.into_iter().map(|(_, n)| n).collect();
    assert_eq!(
        notes,
        [
            "`services: name: $LONE_FROM_ENV` expands to nothing, so no service starts, as on \
          GitLab; run with --needs: the dotenv report of `env` may set it"
        ]
    );
}
