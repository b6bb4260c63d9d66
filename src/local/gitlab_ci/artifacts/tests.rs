use super::*;

fn load(text: &str) -> Value {
    crate::yaml::load_value_within(text, 1 << 20)
        .unwrap()
        .unwrap()
}

#[test]
fn artifacts_read_paths_exclude_untracked_when_and_dotenv() {
    // GitLab's documented examples of `artifacts:exclude` and `reports:dotenv`.
    let read = artifacts(&load(
        "paths: [binaries/]\nexclude: ['binaries/**/*.o']\nuntracked: true\nwhen: always\n\
         expire_in: 1 week\nreports: {dotenv: build.env, junit: report.xml}\n",
    ))
    .unwrap();
    assert_eq!(
        read,
        Artifacts {
            paths: vec!["binaries/".into()],
            exclude: vec!["binaries/**/*.o".into()],
            untracked: true,
            when: Keep::Always,
            dotenv: vec!["build.env".into()],
            ignored: vec![
                "artifacts:expire_in".into(),
                "artifacts:reports:junit".into()
            ],
        }
    );
    for (text, error) in [
        ("paths: build/", "`paths:` must be a list of strings, found `build/`"),
        ("when: later", "`when:` is `later`; use on_success, on_failure or always"),
        ("untracked: yes", "`untracked:` must be true or false, found `yes`"),
        ("[a]", "must be a mapping with `paths:`, `exclude:`, `untracked:`, `when:` and `reports:`, found a list"),
    ] {
        assert_eq!(artifacts(&load(text)), Err(error.to_string()), "{text}");
    }
}

#[test]
fn caches_read_keys_files_prefix_policy_and_lists() {
    let one = |key: CacheKey, paths: &[&str], policy: CachePolicy| Cache {
        key,
        paths: paths.iter().map(|p| p.to_string()).collect(),
        untracked: false,
        policy,
        when: Keep::OnSuccess,
        fallback_keys: vec![],
    };
    for (text, want) in [
        ("{}", Ok(vec![])),
        ("[]", Ok(vec![])),
        (
            "{paths: [.npm/]}",
            Ok(vec![one(CacheKey::Name("default".into()), &[".npm/"], CachePolicy::PullPush)]),
        ),
        // GitLab's documented `cache:key:files` with `prefix:` example.
        (
            "{key: {files: [Gemfile.lock], prefix: $CI_JOB_NAME}, paths: [vendor/ruby], policy: pull}",
            Ok(vec![one(
                CacheKey::Files {
                    files: vec!["Gemfile.lock".into()],
                    prefix: Some("$CI_JOB_NAME".into()),
                },
                &["vendor/ruby"],
                CachePolicy::Pull,
            )]),
        ),
        (
            "[{key: gems, paths: [vendor]}, {key: 7, paths: [node_modules], policy: push}]",
            Ok(vec![
                one(CacheKey::Name("gems".into()), &["vendor"], CachePolicy::PullPush),
                one(CacheKey::Name("7".into()), &["node_modules"], CachePolicy::Push),
            ]),
        ),
        // GitLab's documented `policy: $POLICY`: read when the job runs.
        (
            "{key: gems, paths: [vendor], policy: $POLICY}",
            Ok(vec![one(
                CacheKey::Name("gems".into()),
                &["vendor"],
                CachePolicy::Variable("$POLICY".into()),
            )]),
        ),
        ("{paths: [a], policy: sometimes}", Err("`policy:` is `sometimes`; use pull, push, pull-push or a `$VARIABLE` holding one of them")),
        ("{key: {files: []}, paths: [a]}", Err("`key:files` must list one or two files")),
        ("[{}, {}, {}, {}, {}]", Err("lists 5 caches; GitLab allows at most 4")),
    ] {
        assert_eq!(caches(&load(text)), want.map_err(str::to_string), "{text}");
    }
}

#[test]
fn keep_follows_the_jobs_result() {
    for (keep, passed, want) in [
        (Keep::OnSuccess, true, true),
        (Keep::OnSuccess, false, false),
        (Keep::OnFailure, false, true),
        (Keep::OnFailure, true, false),
        (Keep::Always, false, true),
    ] {
        assert_eq!(keep.after(passed), want, "{keep:?} {passed}");
    }
}
