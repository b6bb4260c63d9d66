//! `spec:inputs` headers and `$[[ inputs.NAME ]]`, with GitLab's documented examples.

use super::super::{parse_with_inputs, GitlabCiError, Pipeline};
use super::{pipeline, FILE};

fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn with(text: &str, inputs: &[(&str, &str)]) -> Pipeline {
    parse_with_inputs(text, FILE, &given(inputs), &[])
        .unwrap_or_else(|e| panic!("{text}\nfailed: {e}"))
}

fn refused(text: &str, inputs: &[(&str, &str)]) -> GitlabCiError {
    match parse_with_inputs(text, FILE, &given(inputs), &[]) {
        Ok(p) => panic!("{text}\nparsed, wanted an error: {p:?}"),
        Err(e) => e,
    }
}

/// `scan-website-job.yml` of https://docs.gitlab.com/ci/inputs/, with the values of its
/// `include:inputs` example.
const SCAN: &str = r#"spec:
  inputs:
    job-prefix:     # Mandatory string input
      description: "Define a prefix for the job name"
    job-stage:      # Optional string input with a default value when not provided
      default: test
    environment:    # Mandatory input that must match one of the options
      options: ['test', 'staging', 'production']
    concurrency:
      type: number  # Optional numeric input with a default value when not provided
      default: 1
    version:        # Mandatory string input that must match the regular expression
      type: string
      regex: ^v\d\.\d+(\.\d+)$
    export_results: # Optional boolean input with a default value when not provided
      type: boolean
      default: true
---

"$[[ inputs.job-prefix ]]-scan-website":
  stage: $[[ inputs.job-stage ]]
  script:
    - echo "scanning website -e $[[ inputs.environment ]] -c $[[ inputs.concurrency ]] -v $[[ inputs.version ]]"
    - if $[[ inputs.export_results ]]; then echo "export results"; fi
"#;

const SCAN_INPUTS: &[(&str, &str)] = &[
    ("job-prefix", "some-service-"),
    ("environment", "staging"),
    ("concurrency", "2"),
    ("version", "v1.3.2"),
    ("export_results", "false"),
];

#[test]
fn the_documented_example_interpolates_names_stages_and_scripts() {
    let p = with(SCAN, SCAN_INPUTS);
    let j = p.job("some-service--scan-website").unwrap();
    assert_eq!(j.stage, "test");
    assert_eq!(
        j.script,
        [
            "echo \"scanning website -e staging -c 2 -v v1.3.2\"",
            "if false; then echo \"export results\"; fi"
        ]
    );
    // A name made by interpolation is not written in the file, so it has no line.
    assert_eq!(j.line, None);
    let p = with(
        SCAN.replace("\"$[[ inputs.job-prefix ]]-scan-website\"", "scan")
            .as_str(),
        SCAN_INPUTS,
    );
    // A written name's line is found in the pipeline document, after the header.
    assert_eq!(p.job("scan").unwrap().line, Some(20));
}

#[test]
fn defaults_fill_in_and_whole_values_keep_their_type() {
    let text = r#"---
spec:
  inputs:
    default_input_string:
      type: string
      default: string
    default_input_number:
      default: 2
      type: number
    default_input_boolean:
      default: true
      type: boolean
    default_input_array:
      type: array
      default:
        - alice
        - bob
---
scan-website:
  parallel: $[[ inputs.default_input_number ]]
  script:
    - echo $[[ inputs.default_input_string ]]
    - echo $[[ inputs.default_input_number ]] $[[ inputs.default_input_boolean ]]
    - $[[ inputs.default_input_array ]]
    - echo $[[ inputs.default_input_array ]]
"#;
    let p = pipeline(text);
    // `parallel:` got the number 2, not the text "2".
    let j = p.job("scan-website 2/2").unwrap();
    assert_eq!(
        j.script,
        [
            "echo string",
            "echo 2 true",
            "alice",
            "bob",
            "echo [\"alice\", \"bob\"]"
        ]
    );
}

#[test]
fn an_array_input_is_spliced_into_a_list_and_given_values_are_read_as_yaml() {
    let text = "spec:\n  inputs:\n    steps:\n      type: array\n---\njob:\n  script:\n    - echo first\n    - $[[ inputs.steps ]]\n";
    let p = with(text, &[("steps", "[echo a, echo b]")]);
    assert_eq!(
        p.job("job").unwrap().script,
        ["echo first", "echo a", "echo b"]
    );
}

#[test]
fn functions_expand_vars_truncate_posix_escape_and_split() {
    let text = r#"spec:
  inputs:
    test:
      default: 'test $MY_VAR'
    name:
      default: "it's $HOME"
    list:
      default: "a, b ,c"
---
test-job:
  script:
    - echo $[[ inputs.test | expand_vars | truncate(5,8) ]]
    - echo $[[ inputs.name | posix_escape ]]
    - $[[ inputs.list | split(',') ]]
"#;
    let vars = vec![("MY_VAR".to_string(), "my value".to_string())];
    let p = parse_with_inputs(text, FILE, &[], &vars).unwrap();
    assert_eq!(
        p.job("test-job").unwrap().script,
        ["echo my value", "echo it\\'s\\ \\$HOME", "a", "b", "c"]
    );
    // Without the variable, `expand_vars` leaves the reference as written.
    let p = pipeline(text);
    assert_eq!(p.job("test-job").unwrap().script[0], "echo $MY_VAR");
}

#[test]
fn a_file_without_a_header_is_not_interpolated() {
    let p = pipeline("job:\n  script: echo $[[ inputs.x ]]\n");
    assert_eq!(p.job("job").unwrap().script, ["echo $[[ inputs.x ]]"]);
}

#[test]
fn tags_are_not_interpolated_as_gitlab_leaves_them() {
    let text = "spec:\n  inputs:\n    k:\n      default: one\n---\n.s:\n  one: [echo one]\njob:\n  script: !reference [.s, '$[[ inputs.k ]]']\n  after_script: ['echo $[[ inputs.k ]]']\n";
    let e = refused(text, &[]);
    assert!(
        e.to_string().contains("`.s` has no key `$[[ inputs.k ]]`"),
        "{e}"
    );
    let text = text.replace("[.s, '$[[ inputs.k ]]']", "[.s, one]");
    let j = pipeline(&text).job("job").unwrap().clone();
    assert_eq!(j.script, ["echo one"]);
    assert_eq!(j.after_script, ["echo one"]);
}

#[test]
fn missing_wrong_and_unknown_inputs_are_errors_naming_the_input() {
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<usize>, &'a str);
    let cases: &[Case] = &[
        (
            &[("environment", "staging"), ("version", "v1.3.2")],
            Some(3),
            "`job-prefix` input: required value has not been provided",
        ),
        (
            &[("job-prefix", "p"), ("environment", "dev"), ("version", "v1.3.2")],
            Some(7),
            "`environment` input: `dev` cannot be used because it is not in the list of allowed options (test, staging, production)",
        ),
        (
            &[("job-prefix", "p"), ("environment", "test"), ("version", "1.3")],
            Some(12),
            "`version` input: provided value does not match required RegEx pattern",
        ),
        (
            &[
                ("job-prefix", "p"),
                ("environment", "test"),
                ("version", "v1.3.2"),
                ("concurrency", "many"),
            ],
            Some(9),
            "`concurrency` input: provided value `many` is not a number",
        ),
        (
            &[
                ("job-prefix", "p"),
                ("environment", "test"),
                ("version", "v1.3.2"),
                ("export_results", "yes"),
            ],
            Some(15),
            "`export_results` input: provided value `yes` is not a boolean",
        ),
        (
            &[("jobprefix", "p")],
            Some(2),
            "unknown input arguments: jobprefix; the file declares job-prefix, job-stage",
        ),
    ];
    for (inputs, line, fragment) in cases {
        let e = refused(SCAN, inputs);
        let shown = e.to_string();
        assert_eq!(e.line(), *line, "{shown}");
        assert!(shown.contains(fragment), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }
    // Several missing: GitLab joins up to three into its one message.
    let shown = refused(SCAN, &[]).to_string();
    for name in ["job-prefix", "environment", "version"] {
        assert!(
            shown.contains(&format!("`{name}` input: required value")),
            "{shown}"
        );
    }
    // Inputs for a file without a header.
    let e = refused("job:\n  script: x\n", &[("a", "b")]);
    assert!(e.to_string().contains("declares no inputs"), "{e}");
}

#[test]
fn regex_is_matched_anywhere_in_the_value_with_re2_syntax() {
    let text = |regex: &str| {
        format!("spec:\n  inputs:\n    v:\n      regex: '{regex}'\n---\njob:\n  script: echo $[[ inputs.v ]]\n")
    };
    for (regex, value, fits) in [
        ("^v\\d+$", "v12", true),
        ("^v\\d+$", "xv12", false),
        // Not anchored: a match anywhere passes, as with GitLab's `UntrustedRegexp#match?`.
        ("\\d", "abc1", true),
        ("^\\p{Lu}", "Élan", true),
        ("(?P<major>\\d+)\\.(?P<minor>\\d+)", "1.2", true),
    ] {
        let result = parse_with_inputs(&text(regex), FILE, &given(&[("v", value)]), &[]);
        assert_eq!(result.is_ok(), fits, "{regex} {value}: {result:?}");
    }
}

#[test]
fn defaults_are_checked_too() {
    let cases: &[(&str, &str)] = &[
        (
            "    n:\n      type: number\n      default: one\n",
            "`n` input: default value is not a number",
        ),
        (
            "    s:\n      default: 1\n",
            "`s` input: default value is not a string",
        ),
        (
            "    a:\n      type: array\n      default: x\n",
            "`a` input: default value is not an array",
        ),
        (
            "    s:\n      default: b\n      options: [a]\n",
            "`b` cannot be used because it is not in the list",
        ),
        (
            "    s:\n      default: b\n      regex: '['\n",
            "invalid regular expression",
        ),
        (
            "    b:\n      type: boolean\n      default: true\n      options: [true]\n",
            "options can only be used with string and number inputs",
        ),
        (
            "    n:\n      type: number\n      default: 1\n      regex: x\n",
            "RegEx validation can only be used with string inputs",
        ),
        (
            "    t:\n      type: hash\n",
            "`spec:inputs:t` has the unknown type `hash`",
        ),
        ("    t:\n      rules: []\n", "uses `rules:`"),
        ("    t:\n      defualt: x\n", "unknown key `defualt`"),
    ];
    for (inputs, fragment) in cases {
        let text = format!("spec:\n  inputs:\n{inputs}---\njob:\n  script: x\n");
        let e = refused(&text, &[]);
        assert_eq!(e.line(), Some(3), "{e}");
        assert!(e.to_string().contains(fragment), "{text}\n{e}");
    }
}

#[test]
fn blocks_that_cannot_be_read_are_errors_naming_the_block_and_line() {
    let head = "spec:\n  inputs:\n    foo:\n      default: fizz\n---\n";
    let cases: &[(&str, &str)] = &[
        (
            "job:\n  script: echo $[[ inputs.bar ]]\n",
            "`$[[ inputs.bar ]]`: unknown interpolation key: `bar`; the declared inputs are foo",
        ),
        (
            "job:\n  script: echo $[[ foo ]]\n",
            "invalid interpolation access pattern",
        ),
        (
            "job:\n  script: echo $[[ vars.X ]]\n",
            "unknown interpolation key: `vars`",
        ),
        (
            "job:\n  script: echo $[[ inputs.foo | expand_var | expand_var | expand_var | expand_var ]]\n",
            "too many functions in interpolation block",
        ),
        (
            "job:\n  script: echo $[[ inputs.foo | upcase ]]\n",
            "no function matching `upcase`",
        ),
    ];
    for (body, fragment) in cases {
        let text = format!("{head}{body}");
        let e = refused(&text, &[]);
        assert_eq!(e.line(), Some(7), "{e}");
        assert!(e.to_string().contains(fragment), "{e}");
    }
    let number = "spec:\n  inputs:\n    n:\n      type: number\n      default: 5\n---\njob:\n  script: echo $[[ inputs.n | truncate(0,1) ]]\n";
    let e = refused(number, &[]);
    assert!(
        e.to_string()
            .contains("error in `truncate` function: invalid input type: truncate can only be used with string inputs"),
        "{e}"
    );
}

#[test]
fn the_header_and_documents_are_chosen_as_gitlab_chooses_them() {
    // A header alone is the pipeline, as in GitLab, where `spec` is then a job.
    let e = refused("spec:\n  inputs: {}\n---\n", &[]);
    assert!(e.to_string().contains("job `spec`"), "{e}");
    // A leading `---` and blank documents are dropped.
    let p = pipeline("---\n# nothing\n---\njob:\n  script: a\n");
    assert_eq!(p.jobs.len(), 1);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // A header may hold only `spec:`.
    let e = refused("spec: {}\nx: 1\n---\njob:\n  script: a\n", &[]);
    assert!(e.to_string().contains("may hold only `spec:`"), "{e}");
    // Without a `spec:` first, the first document is the pipeline and the rest is not read.
    let p = pipeline("job:\n  script: a\n---\nother:\n  script: b\n");
    assert_eq!(p.jobs.len(), 1);
    assert_eq!(
        p.warnings,
        [".gitlab-ci.yml:4: this YAML document is not read, as GitLab reads only the first one (or a `spec:` header and the pipeline after it)"]
    );
    // Anchors do not cross documents: each is read on its own.
    let e = refused(
        "spec:\n  inputs:\n    a: &x {default: 1}\n---\njob: *x\n",
        &[],
    );
    assert!(e.to_string().contains("invalid YAML"), "{e}");
    assert_eq!(e.line(), Some(5), "{e}");
}

/// What the `include:` walker calls per file: an included template with `include:inputs`.
#[test]
fn read_file_gives_an_included_files_pipeline_with_its_inputs() {
    use super::super::{read_file, Input};
    let text = "spec:\n  inputs:\n    stage:\n      default: test\n    replicas:\n      type: number\n---\ndeploy-$[[ inputs.stage ]]:\n  stage: $[[ inputs.stage ]]\n  parallel: $[[ inputs.replicas ]]\n  script: echo\n  script: deploy\n";
    let given = vec![
        ("stage".to_string(), Input::Value("deploy".into())),
        ("replicas".to_string(), Input::Value(3.into())),
    ];
    let read = read_file(text, "templates/deploy.yml", &given, &[], 1 << 20).unwrap();
    let job = &read.config["deploy-deploy"];
    assert_eq!(job["stage"].as_str(), Some("deploy"));
    assert_eq!(job["parallel"].as_u64(), Some(3));
    assert_eq!(job["script"].as_str(), Some("deploy"));
    assert!(read.cost > 0 && read.cost < 1 << 20);
    assert_eq!(
        read.warnings,
        ["templates/deploy.yml:12: `script` is set again (first on line 11); GitLab keeps the last value"]
    );
    // The walker's own count bounds what reading may make.
    let e = read_file(text, "templates/deploy.yml", &given, &[], 100).unwrap_err();
    assert!(e.to_string().contains("grows past"), "{e}");
    // A required input the entry does not give names the file.
    let e = read_file(text, "templates/deploy.yml", &[], &[], 1 << 20).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("templates/deploy.yml:5: `replicas` input: required value"),
        "{e}"
    );
}
