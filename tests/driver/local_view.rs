//! `executor run --dry-run` without a job shows the whole pipeline for this ref, jobs from
//! included files too, as text and as JSON; `executor run JOB --dry-run` shows the job's
//! scripts as they will run. Dry runs never contact the engine: the config points at a
//! socket that does not exist, and they still succeed.

use serde_json::Value;

use crate::checkout::Checkout;

const MAIN: &str = "include:\n  - local: ci/templates.yml\n  - local: ci/tagged.yml\n    \
rules:\n      - if: $CI_COMMIT_TAG\n\
stages: [build, test, deploy]\n\
variables:\n  EXECUTOR_DOCKER_MODE: none\n\
build:\n  extends: .build\n  needs: []\n\
release:\n  stage: deploy\n  rules:\n    - if: $CI_COMMIT_TAG\n  script: [./release]\n\
review:\n  stage: deploy\n  rules:\n    - if: $CI_COMMIT_BRANCH\n      when: manual\n  \
needs: [{job: build, artifacts: false}]\n  script: [./review]\n";

const TEMPLATES: &str = ".setup: &setup\n  - echo setting up\n\
.lint:\n  script: [make lint]\n\
.build:\n  stage: build\n  image: $JOB_IMAGE\n  services: [{name: postgres:16, alias: db}]\n  \
before_script: *setup\n  script:\n    - !reference [.lint, script]\n    - make build\n\
test:\n  stage: test\n  variables:\n    EXECUTOR_DOCKER_MODE: dind\n  script: [make test]\n\
odd:\n  stage: test\n  variables:\n    EXECUTOR_DOCKER_MODE: sideways\n  script: [make odd]\n";

/// A checkout with the two files and a config whose engine socket does not exist.
fn checkout() -> Checkout {
    let checkout = Checkout::new();
    let dir = checkout.dir.path();
    std::fs::create_dir_all(dir.join("ci")).unwrap();
    std::fs::write(dir.join("view.yml"), MAIN).unwrap();
    std::fs::write(dir.join("ci/templates.yml"), TEMPLATES).unwrap();
    std::fs::write(
        dir.join("ci/tagged.yml"),
        "tagged:\n  stage: deploy\n  script: [./tagged]\n",
    )
    .unwrap();
    let config = dir.join("executor.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("docker:\n  host: unix:///nonexistent/docker.sock\n");
    std::fs::write(&config, text).unwrap();
    checkout
}

#[test]
fn the_pipeline_dry_run_shows_every_stage_without_an_engine() {
    let checkout = checkout();
    let (code, shown, stderr) = checkout.run(&["--dry-run", "--file", "view.yml"]);
    assert_eq!(code, 0, "{stderr}");
    for want in [
        "branch ",
        ": 4 of 5 jobs run",
        "stage build:\n  build: included: no rules (when: on_success)\n",
        // The harness gives JOB_IMAGE with `--var`, whose values the views mask.
        "    image: [MASKED] (from $JOB_IMAGE)\n",
        "    services: postgres:16 as db\n",
        "    needs: none: starts at once (needs: [])\n",
        "stage test:\n  test: included: no rules (when: on_success)\n",
        "    mode: dind\n",
        "    mode: refused: EXECUTOR_DOCKER_MODE=`sideways` is not a Docker mode",
        "    defined in: ci/templates.yml:",
        "  release: excluded: no rule matched (1 rule)\n",
        "  review: included by rules[1]: if: $CI_COMMIT_BRANCH (when: manual)\n",
        "    needs: build (no artifacts)\n",
        "include `ci/tagged.yml` (view.yml:3): excluded: no rule matched (1 rule)\n",
    ] {
        assert!(shown.contains(want), "no {want:?} in:\n{shown}");
    }
    assert!(
        !shown.contains(".pre"),
        "empty stages are left out: {shown}"
    );

    let (code, json, stderr) = checkout.run(&["--dry-run", "--json", "--file", "view.yml"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["ref"]["kind"], "branch", "{json}");
    assert_eq!((&doc["jobs"], &doc["running"]), (&5.into(), &4.into()));
    let stages: Vec<&str> = doc["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["build", "test", "deploy"]);
    let job = |name: &str| {
        doc["stages"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["jobs"].as_array().unwrap())
            .find(|j| j["name"] == name)
            .unwrap_or_else(|| panic!("no job {name} in {json}"))
    };
    assert_eq!(job("build")["mode"], "none");
    assert_eq!(job("build")["services"][0]["alias"], "db");
    assert_eq!(job("test")["file"], "ci/templates.yml");
    assert_eq!(job("test")["mode"], "dind");
    assert_eq!(job("odd")["mode"], Value::Null);
    assert!(job("odd")["mode_error"]
        .as_str()
        .unwrap()
        .contains("sideways"));
    assert_eq!(job("release")["runs"], false);
    assert_eq!(job("review")["when"], "manual");
    assert_eq!(job("review")["needs"][0]["artifacts"], false);
    assert_eq!(doc["skipped_includes"][0]["include"], "ci/tagged.yml");
    assert_eq!(doc["skipped_includes"][0]["line"], 3);

    // A tag pipeline (`--var` as a project variable would) takes the include and its job.
    let args = [
        "--dry-run",
        "--file",
        "view.yml",
        "--var",
        "CI_COMMIT_TAG=v1",
    ];
    let (code, shown, stderr) = checkout.run(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(shown.contains("  tagged: included"), "{shown}");
    assert!(!shown.contains("include `ci/tagged.yml`"), "{shown}");
}

#[test]
fn a_job_dry_run_shows_its_merged_scripts_without_an_engine() {
    let checkout = checkout();
    let (code, shown, stderr) = checkout.run(&["build", "--dry-run", "--file", "view.yml"]);
    assert_eq!(code, 0, "{stderr}");
    let want = "before_script: (as written; variables are expanded by the shell)\n  \
                - echo setting up\n\
                script: (as written; variables are expanded by the shell)\n  \
                - make lint\n  - make build\nafter_script: none\n";
    assert!(
        shown.contains("mode: none") && shown.ends_with(want),
        "{shown}"
    );

    let (code, json, stderr) =
        checkout.run(&["build", "--dry-run", "--json", "--file", "view.yml"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["job"], "build");
    assert_eq!(
        (&doc["runs"], &doc["when"]),
        (&true.into(), &"on_success".into())
    );
    assert_eq!(doc["mode"], "none");
    assert_eq!(doc["before_script"], serde_json::json!(["echo setting up"]));
    assert_eq!(
        doc["script"],
        serde_json::json!(["make lint", "make build"])
    );
    assert_eq!(doc["after_script"], serde_json::json!([]));
    let roles: Vec<&str> = doc["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"service") && roles.contains(&"job"),
        "{json}"
    );
}

/// `local.images` stands a local image in for one the file names, for the job and its
/// services: the job's dry run plans the containers with the local ones, and the pipeline
/// view shows them.
#[test]
fn local_images_stand_in_for_the_files_images() {
    // Not the harness's JOB_IMAGE: that one is a `--var` value, which dry runs mask.
    const STAND_IN: &str = "executor-test/http:1";
    let checkout = checkout();
    let dir = checkout.dir.path();
    std::fs::write(
        dir.join("images.yml"),
        "a:\n  image: registry.example/unreachable/app:1\n  \
         services: [{name: \"postgres:16\", alias: db}]\n  \
         variables: {EXECUTOR_DOCKER_MODE: none}\n  script: [\"true\"]\n",
    )
    .unwrap();
    let config = dir.join("executor.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "local:\n  images:\n    \"registry.example/unreachable/app:1\": {STAND_IN}\n    \
         \"postgres:16\": executor-test/busybox:1\n"
    ));
    std::fs::write(&config, text).unwrap();

    let (code, json, stderr) = checkout.run(&["a", "--dry-run", "--json", "--file", "images.yml"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&json).unwrap();
    let image_of = |role: &str| {
        doc["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["role"] == role)
            .map(|c| c["image"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(image_of("job").as_deref(), Some(STAND_IN), "{json}");
    assert_eq!(
        image_of("service").as_deref(),
        Some("executor-test/busybox:1"),
        "{json}"
    );
    let (code, shown, stderr) = checkout.run(&["--dry-run", "--file", "images.yml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        shown.contains(&format!("    image: {STAND_IN}\n"))
            && shown.contains("    services: executor-test/busybox:1 as db\n"),
        "{shown}"
    );
}

/// An `include:` written in a flow mapping, quoted, or with a space before its colon is still
/// resolved: the jobs of the included file are listed, none lost silently.
#[test]
fn includes_written_any_way_yaml_allows_are_resolved() {
    let checkout = checkout();
    let dir = checkout.dir.path();
    std::fs::write(dir.join("b.yml"), "b:\n  script: [\"true\"]\n").unwrap();
    for (name, text) in [
        (
            "flow.yml",
            "{include: [{local: b.yml}], a: {script: [\"true\"]}}\n",
        ),
        ("quoted.yml", "'include': b.yml\na:\n  script: [\"true\"]\n"),
        ("spaced.yml", "include : b.yml\na:\n  script: [\"true\"]\n"),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
        let (code, out, stderr) = checkout.run(&["--file", name]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let listed: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("  "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert!(
            listed.contains(&"a") && listed.contains(&"b"),
            "{name}: {out}"
        );
    }
}

/// A checkout's job names, stage names, rule text, variable names and scripts reach the
/// terminal as text: an escape in them (retitle the window, clear the screen, recolour, a C1
/// control) is shown escaped in the job list, the pipeline view and a job's dry run, never
/// obeyed.
#[test]
fn escapes_in_the_checkouts_names_and_scripts_are_shown_not_obeyed() {
    let checkout = checkout();
    let file = "stages: [\"b\\e[31mred\\u009b\"]\n\
\"evil\\e]0;pwned\\a\\e[2J\":\n  stage: \"b\\e[31mred\\u009b\"\n  \
rules:\n    - if: '$X == \"\\e[5m\"'\n  script: [x]\n\
ok:\n  stage: \"b\\e[31mred\\u009b\"\n  variables:\n    \"V\\e[1m\": x\n  \
needs: [{job: \"evil\\e]0;pwned\\a\\e[2J\", optional: true}]\n  \
script: [\"echo \\e[31mred\\r\\tthere\"]\n";
    std::fs::write(checkout.dir.path().join("hostile.yml"), file).unwrap();
    for args in [
        &["--file", "hostile.yml"][..],
        &["--dry-run", "--file", "hostile.yml"],
        &["--dry-run", "--file", "hostile.yml", "ok"],
    ] {
        let (code, shown, stderr) = checkout.run(args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(shown.contains("evil") || shown.contains("red"), "{shown}");
        for c in ['\u{1b}', '\u{7}', '\u{9b}', '\r'] {
            assert!(!shown.contains(c), "{args:?}: {c:?} in:\n{shown:?}");
            assert!(!stderr.contains(c), "{args:?}: {c:?} in:\n{stderr:?}");
        }
    }
    let (_, shown, _) = checkout.run(&["--dry-run", "--file", "hostile.yml", "ok"]);
    assert!(
        shown.contains("echo \\u{1b}[31mred\\r\tthere"),
        "the script is shown escaped, its tab kept:\n{shown}"
    );
}

/// A `--var` value the file puts into an image, an alias or a service's command is shown as
/// `[MASKED]` by the job's dry run and the pipeline view, text and JSON, as GitLab masks a
/// variable in a job's log; the value is used all the same (a short value is shown: GitLab
/// cannot mask it either).
#[test]
fn var_values_the_file_puts_in_names_are_masked_in_dry_runs() {
    let checkout = checkout();
    let dir = checkout.dir.path();
    std::fs::write(
        dir.join("secret.yml"),
        "a:\n  image: registry.example/app:$TOKEN\n  \
         services: [{name: \"postgres:$TAG\", alias: \"db$TOKEN\", command: [\"--key=$TOKEN\"]}]\n  \
         variables: {EXECUTOR_DOCKER_MODE: none}\n  script: [\"true\"]\n",
    )
    .unwrap();
    let secret = "s3cr3t-t0ken";
    let vars = ["--var", "TOKEN=s3cr3t-t0ken", "--var", "TAG=16.1"];
    for args in [
        vec!["a", "--dry-run"],
        vec!["a", "--dry-run", "--json"],
        vec!["--dry-run"],
        vec!["--dry-run", "--json"],
    ] {
        let mut all = args.clone();
        all.extend(["--file", "secret.yml"]);
        all.extend(vars);
        let (code, shown, stderr) = checkout.run(&all);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(
            !shown.contains(secret) && !stderr.contains(secret),
            "{args:?}: {shown}{stderr}"
        );
        assert!(
            shown.contains("registry.example/app:[MASKED]"),
            "{args:?}: {shown}"
        );
        assert!(shown.contains("postgres:16.1"), "{args:?}: {shown}");
    }
}

/// A `--var` value stays masked where a view or a message escapes it (`it\'s`), cuts it (a
/// command is shown up to 40 characters, then `…`) or quotes it in a refusal on stderr; and
/// `expand_vars` cannot cut one into pieces masking does not know (it leaves a `--var` as
/// written, as GitLab leaves a masked variable, so the image expands it whole).
/// A `--var` value in an include's location (`local:`, `project:`) is masked in the
/// include's error, which shows the location expanded.
#[test]
fn var_values_in_include_locations_are_masked_in_their_errors() {
    let checkout = checkout();
    let dir = checkout.dir.path();
    std::fs::write(
        dir.join("inc.yml"),
        "include:\n  - local: ci/$NAME.yml\na: {script: [\"true\"]}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("proj.yml"),
        "include:\n  - project: g/$NAME\n    file: a.yml\na: {script: [\"true\"]}\n",
    )
    .unwrap();
    // `project:` files come from a closed port of this machine, never the network.
    let config = dir.join("executor.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("local:\n  gitlab_url: http://127.0.0.1:9\n");
    std::fs::write(&config, text).unwrap();
    let secret = "s3cr3t-n4me-of-a-file";
    let var = format!("NAME={secret}");
    for file in ["inc.yml", "proj.yml"] {
        for args in [vec!["--dry-run"], vec!["a"]] {
            let mut all = args.clone();
            all.extend(["--file", file, "--var", &var]);
            let (code, shown, stderr) = checkout.run(&all);
            let both = format!("{shown}{stderr}");
            assert_eq!(code, 125, "{file} {args:?}: {both}");
            assert!(!both.contains("s3cr3t"), "{file} {args:?}: {both}");
            assert!(both.contains("[MASKED]"), "{file} {args:?}: {both}");
        }
    }
}

#[test]
fn var_values_stay_masked_when_quoted_cut_or_refused() {
    let checkout = checkout();
    let dir = checkout.dir.path();
    std::fs::write(
        dir.join("cut.yml"),
        "spec:\n  inputs:\n    t:\n      default: '$TOKEN'\n---\n\
         a:\n  image: \"executor-test/debian:$[[ inputs.t | expand_vars | truncate(0,7) ]]\"\n  \
         services: [{name: \"postgres:16\", alias: db, entrypoint: [\"$TOKEN\"], \
         command: [\"$QUOTED\"]}]\n  \
         variables: {EXECUTOR_DOCKER_MODE: none}\n  script: [\"true\"]\n\
         b:\n  image: \"reg.example/app:$TOKEN\"\n  variables: {EXECUTOR_DOCKER_MODE: none}\n  \
         script: [\"true\"]\n",
    )
    .unwrap();
    let config = dir.join("executor.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("policy:\n  job_images: [\"executor-test/*\", \"postgres:*\"]\n");
    std::fs::write(&config, text).unwrap();
    let token = "glpat-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef";
    let quoted = "it's \"q\" 0k-v4lue";
    let token_var = format!("TOKEN={token}");
    let quoted_var = format!("QUOTED={quoted}");
    for (args, want) in [
        (vec!["a", "--dry-run"], 0),
        (vec!["a", "--dry-run", "--json"], 0),
        (vec!["--dry-run"], 0),
        (vec!["--dry-run", "--json"], 0),
        (vec!["b", "--dry-run"], 125),
        (vec!["b", "--dry-run", "--json"], 125),
    ] {
        let mut all = args.clone();
        all.extend([
            "--file",
            "cut.yml",
            "--var",
            &token_var,
            "--var",
            &quoted_var,
        ]);
        let (code, shown, stderr) = checkout.run(&all);
        assert_eq!(code, want, "{args:?}: {shown}{stderr}");
        let both = format!("{shown}{stderr}");
        assert!(
            !both.contains(&token[..7]) && !both.contains("0k-v4lue"),
            "{args:?}: {both}"
        );
        assert!(both.contains("[MASKED]"), "{args:?}: {both}");
    }
}
