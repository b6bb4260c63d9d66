//! `rules:if` expressions, each with its variables and the result GitLab gives. Most come from
//! <https://docs.gitlab.com/ci/jobs/job_rules/#cicd-variable-expressions> and the `rules`
//! examples there; the rest pin Ruby semantics GitLab users have reported
//! (gitlab-org/gitlab#358775, #327711, #206960).

use super::super::{Expression, ExpressionError};

/// (expression, variables as NAME=value, expected)
const CASES: &[(&str, &[&str], bool)] = &[
    // Equality with strings, both quote styles.
    (
        r#"$VARIABLE == "some value""#,
        &["VARIABLE=some value"],
        true,
    ),
    (r#"$VARIABLE == "some value""#, &["VARIABLE=other"], false),
    (r#"$VARIABLE == "some value""#, &[], false),
    (r#"$VARIABLE != "some value""#, &["VARIABLE=other"], true),
    (
        r#"$VARIABLE != "some value""#,
        &["VARIABLE=some value"],
        false,
    ),
    ("$VARIABLE == 'single'", &["VARIABLE=single"], true),
    (r#"$V == "it's""#, &["V=it's"], true),
    // Two variables.
    (
        "$VARIABLE_1 == $VARIABLE_2",
        &["VARIABLE_1=a", "VARIABLE_2=a"],
        true,
    ),
    (
        "$VARIABLE_1 == $VARIABLE_2",
        &["VARIABLE_1=a", "VARIABLE_2=b"],
        false,
    ),
    (
        "$VARIABLE_1 != $VARIABLE_2",
        &["VARIABLE_1=a", "VARIABLE_2=b"],
        true,
    ),
    ("$VARIABLE_1 == $VARIABLE_2", &[], true), // nil == nil
    ("$VARIABLE_1 != $VARIABLE_2", &[], false),
    ("$VARIABLE_1 == $VARIABLE_2", &["VARIABLE_2="], false), // nil != ""
    // null: undefined variables only.
    ("$VARIABLE == null", &[], true),
    ("$VARIABLE == null", &["VARIABLE="], false),
    ("$VARIABLE == null", &["VARIABLE=x"], false),
    ("$VARIABLE != null", &["VARIABLE="], true),
    ("$VARIABLE != null", &[], false),
    ("null == $VARIABLE", &[], true),
    // Defined but empty.
    (r#"$VARIABLE == """#, &["VARIABLE="], true),
    (r#"$VARIABLE == """#, &[], false),
    (r#"$VARIABLE != """#, &[], true), // #206960: unset is not ""
    (r#"$VARIABLE != """#, &["VARIABLE=x"], true),
    // A bare variable: defined and not empty (nor only spaces).
    ("$VARIABLE", &["VARIABLE=x"], true),
    ("$VARIABLE", &["VARIABLE="], false),
    ("$VARIABLE", &["VARIABLE=  "], false),
    ("$VARIABLE", &[], false),
    ("$CI_COMMIT_TAG", &["CI_COMMIT_TAG=v1.0"], true),
    // Values are not expanded (#327711).
    (
        "$MY_VARIABLE == null",
        &["MY_VARIABLE=$I_AM_UNDEFINED"],
        false,
    ),
    (
        r#"$MY_VARIABLE == """#,
        &["MY_VARIABLE=$I_AM_UNDEFINED"],
        false,
    ),
    ("$MY_VARIABLE", &["MY_VARIABLE=$I_AM_UNDEFINED"], true),
    // Regular expressions.
    ("$VARIABLE =~ /^content.*/", &["VARIABLE=content-x"], true),
    ("$VARIABLE =~ /^content.*/", &["VARIABLE=no content"], false),
    ("$VARIABLE =~ /^content.*/", &[], false),
    ("$VARIABLE !~ /^content.*/", &["VARIABLE=no content"], true),
    ("$VARIABLE !~ /^content.*/", &[], true),
    ("$VARIABLE !~ /^content.*/", &["VARIABLE=content"], false),
    (
        "$CI_COMMIT_BRANCH =~ /^feature\\//",
        &["CI_COMMIT_BRANCH=feature/x"],
        true,
    ),
    (
        "$CI_COMMIT_BRANCH =~ /^feature\\//",
        &["CI_COMMIT_BRANCH=featurex"],
        false,
    ),
    ("$B =~ /^(release|hotfix)-\\d+$/", &["B=hotfix-12"], true),
    ("$B =~ /issue/", &["B=severe-issues"], true), // docs: unanchored matches a substring
    ("$B =~ /^issue-/", &["B=severe-issues"], false),
    // Flags: i, m, s (RE2's meanings).
    ("$B =~ /^MAIN$/", &["B=main"], false),
    ("$B =~ /^MAIN$/i", &["B=main"], true),
    ("$MSG =~ /^skip$/m", &["MSG=title\nskip"], true),
    ("$MSG =~ /^skip$/", &["MSG=title\nskip"], false),
    ("$MSG =~ /title.skip/s", &["MSG=title\nskip"], true),
    ("$MSG =~ /title.skip/", &["MSG=title\nskip"], false),
    // A regular expression held by a variable, on the right (docs: "Store a regular
    // expression in a variable").
    (
        "$teststring =~ $pattern",
        &["teststring=abcde", "pattern=/^ab.*/"],
        true,
    ),
    (
        "$teststring =~ $pattern",
        &["teststring=fghij", "pattern=/^ab.*/"],
        false,
    ),
    (
        "$teststring !~ $pattern",
        &["teststring=fghij", "pattern=/^ab.*/"],
        true,
    ),
    ("$B =~ $P", &["B=main", "P=/^MAIN$/i"], true),
    ("$B =~ $P", &["B=x", "P=/a/"], false), // one character is fine from a variable
    // Variables inside a pattern are not resolved.
    (
        "$CI_JOB_NAME =~ /$string1/",
        &["CI_JOB_NAME=regex-job1", "string1=regex-job1"],
        false,
    ),
    (
        "$CI_JOB_NAME =~ $pattern",
        &[
            "CI_JOB_NAME=regex-job2",
            "string2=regex-job2",
            "pattern=/$string2/",
        ],
        false,
    ),
    // Not a `/pattern/`: the left side is looked for as a substring of the right.
    (r#""23" =~ "1234""#, &[], true),
    (r#""23" =~ /1234/"#, &[], false),
    ("$B =~ $P", &["B=1.0", "P=release-1.0"], true),
    ("$B =~ $P", &["B=(", "P=/(/"], true), // an invalid pattern is text too
    (r#"$UNDEFINED =~ "abc""#, &[], true), // "" is in every string
    ("$B =~ null", &["B=x"], false),
    ("$B !~ null", &["B=x"], true),
    ("$B =~ $UNSET", &["B=x"], false),
    // && binds tighter than ||; parentheses group.
    (
        r#"$VARIABLE1 =~ /^content.*/ && $VARIABLE2 == "something""#,
        &["VARIABLE1=content", "VARIABLE2=something"],
        true,
    ),
    (
        r#"$VARIABLE1 =~ /^content.*/ && $VARIABLE2 == "something""#,
        &["VARIABLE1=content", "VARIABLE2=else"],
        false,
    ),
    (
        "$VARIABLE1 =~ /^content.*/ && $VARIABLE2 =~ /thing$/ && $VARIABLE3",
        &["VARIABLE1=content", "VARIABLE2=something", "VARIABLE3=1"],
        true,
    ),
    (
        "$VARIABLE1 =~ /^content.*/ || $VARIABLE2 =~ /thing$/ && $VARIABLE3",
        &["VARIABLE1=content"],
        true,
    ),
    (
        "$VARIABLE1 =~ /^content.*/ || $VARIABLE2 =~ /thing$/ && $VARIABLE3",
        &["VARIABLE2=something"],
        false,
    ),
    (
        "$VARIABLE1 =~ /^content.*/ || $VARIABLE2 =~ /thing$/ && $VARIABLE3",
        &["VARIABLE2=something", "VARIABLE3=yes"],
        true,
    ),
    (
        "($VARIABLE1 =~ /^content.*/ || $VARIABLE2) && ($VARIABLE3 =~ /thing$/ || $VARIABLE4)",
        &["VARIABLE2=x", "VARIABLE4=y"],
        true,
    ),
    (
        "($VARIABLE1 =~ /^content.*/ || $VARIABLE2) && ($VARIABLE3 =~ /thing$/ || $VARIABLE4)",
        &["VARIABLE1=content"],
        false,
    ),
    (
        "($VARIABLE1 =~ /^content.*/ || $VARIABLE2 =~ /thing$/) && $VARIABLE3",
        &["VARIABLE2=a thing", "VARIABLE3=1"],
        true,
    ),
    (
        r#"$CI_COMMIT_BRANCH == "my-branch" || (($VARIABLE1 == "thing" || $VARIABLE2 == "thing") && $VARIABLE3)"#,
        &["VARIABLE2=thing", "VARIABLE3=1"],
        true,
    ),
    (
        r#"$CI_COMMIT_BRANCH == "my-branch" || (($VARIABLE1 == "thing" || $VARIABLE2 == "thing") && $VARIABLE3)"#,
        &["VARIABLE2=thing"],
        false,
    ),
    (
        r#"($CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_BRANCH == "develop") && $MY_VARIABLE"#,
        &[
            "CI_COMMIT_BRANCH=develop",
            "CI_DEFAULT_BRANCH=main",
            "MY_VARIABLE=1",
        ],
        true,
    ),
    (
        "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_COMMIT_TITLE =~ /Merge branch.*/",
        &[
            "CI_COMMIT_BRANCH=main",
            "CI_DEFAULT_BRANCH=main",
            "CI_COMMIT_TITLE=Merge branch 'x'",
        ],
        true,
    ),
    ("(($A))", &["A=1"], true),
    // Ruby's && and ||: an empty variable is true INSIDE them (#358775).
    ("$a || $b == '1'", &["a=", "b=1"], false),
    ("$b == '1' || $a", &["a=", "b=1"], true),
    (r#"$EMPTY && $X == "a""#, &["EMPTY=", "X=a"], true),
    (r#"$X == "a" && $EMPTY"#, &["EMPTY=", "X=a"], false),
    // Pipeline sources, as the docs use them.
    (
        r#"$CI_PIPELINE_SOURCE == "merge_request_event""#,
        &["CI_PIPELINE_SOURCE=merge_request_event"],
        true,
    ),
    (
        r#"$CI_PIPELINE_SOURCE == "schedule""#,
        &["CI_PIPELINE_SOURCE=push"],
        false,
    ),
];

fn holds(text: &str, vars: &[&str]) -> bool {
    let pairs: Vec<(&str, &str)> = vars.iter().map(|v| v.split_once('=').unwrap()).collect();
    let expression = Expression::parse(text).unwrap_or_else(|e| panic!("{e}"));
    expression.holds(&|name| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    })
}

#[test]
fn gitlabs_documented_expressions_evaluate_as_on_gitlab() {
    assert!(CASES.len() >= 40);
    let wrong: Vec<String> = CASES
        .iter()
        .filter(|(text, vars, want)| holds(text, vars) != *want)
        .map(|(text, vars, want)| format!("{text} with {vars:?}: want {want}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// (expression, column, part of the message)
const ERRORS: &[(&str, usize, &str)] = &[
    ("", 1, "empty"),
    ("   ", 1, "empty"),
    ("$A ==", 6, "ends where a value was expected"),
    ("== $A", 1, "operator where a value was expected"),
    ("$A $B", 4, "expected `&&`, `||` or a comparison"),
    ("($A == 'x'", 11, "expected `)`"),
    ("$A == 'x')", 10, "without a matching `(`"),
    ("$A && || $B", 7, "operator where a value"),
    ("$A = 'x'", 4, "compare with `==`"),
    ("${A} == 'x'", 1, "write `$NAME`"),
    ("$A == \"x", 7, "not closed"),
    ("$A =~ /./", 7, "at least two characters"),
    ("$A =~ /ab/x", 11, "unexpected `x`"),
    ("$A =~ /(ab/", 7, "invalid regular expression"),
    ("!$A", 1, "no `!` (not) operator"),
    ("$A == main", 7, "quote strings"),
    ("$A == 'x' and $B", 11, "quote strings"),
    ("()", 2, "`)` where a value was expected"),
];

#[test]
fn syntax_errors_name_the_expression_and_column() {
    for (text, column, part) in ERRORS {
        let e: ExpressionError = match Expression::parse(text) {
            Ok(parsed) => panic!("{text:?} parsed: {parsed:?}"),
            Err(e) => e,
        };
        assert_eq!(e.column, *column, "{text:?}: {e}");
        assert!(e.message.contains(part), "{text:?}: {e}");
        let line = e.to_string();
        assert!(
            line.starts_with(&format!("invalid expression `{text}` at column {column}: ")),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}
