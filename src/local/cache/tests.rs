use super::*;
use crate::local::gitlab_ci::{CachePolicy, Keep};

fn cache(key: CacheKey) -> Cache {
    Cache {
        key,
        paths: vec!["vendor".into()],
        untracked: false,
        policy: CachePolicy::PullPush,
        when: Keep::OnSuccess,
        fallback_keys: vec!["cache-$CI_DEFAULT_BRANCH".into(), "$UNSET".into()],
    }
}

fn files(files: &[&str], prefix: Option<&str>) -> CacheKey {
    CacheKey::Files {
        files: files.iter().map(|f| f.to_string()).collect(),
        prefix: prefix.map(str::to_string),
    }
}

#[test]
fn keys_are_names_with_variables_or_hashes_of_files() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("Gemfile.lock"), "rake (13.0)\n").unwrap();
    std::fs::create_dir(root.path().join("sub")).unwrap();
    std::fs::write(root.path().join("sub/yarn.lock"), "x\n").unwrap();
    let vars = vec![
        ("CI_COMMIT_REF_SLUG".to_string(), "main".to_string()),
        ("CI_JOB_NAME".to_string(), "test".to_string()),
    ];
    // The key without GitLab's suffix, which `keys_carry_gitlabs_suffix_for_the_ref` checks.
    let key_of = |k: CacheKey| {
        let key = keys(&cache(k), &vars, root.path(), false).key;
        key.strip_suffix("-non_protected").unwrap().to_string()
    };
    let gemfile = key_of(files(&["Gemfile.lock"], None));
    assert_eq!(gemfile.len(), 40, "{gemfile}");
    for (k, want) in [
        (CacheKey::Name("default".into()), "default".to_string()),
        // GitLab's documented per-branch key.
        (CacheKey::Name("$CI_COMMIT_REF_SLUG".into()), "main".into()),
        (
            CacheKey::Name("${CI_JOB_NAME}-cache".into()),
            "test-cache".into(),
        ),
        // GitLab suffixes the key as written; the runner's expansion leaves only the suffix.
        (CacheKey::Name("$UNSET".into()), "".into()),
        (CacheKey::Name("a/../b".into()), "a%2F%2E%2E%2Fb".into()),
        (files(&["missing.lock"], None), "default".into()),
        (
            files(&["missing.lock"], Some("$CI_JOB_NAME")),
            "test-default".into(),
        ),
        (
            files(&["Gemfile.lock", "missing"], Some("$CI_JOB_NAME")),
            format!("test-{gemfile}"),
        ),
        (files(&["../outside"], None), "default".into()),
    ] {
        assert_eq!(key_of(k.clone()), want, "{k:?}");
    }
    // Two files hash differently from one; a changed file changes the key.
    let both = key_of(files(&["Gemfile.lock", "sub/yarn.lock"], None));
    assert_ne!(both, gemfile);
    std::fs::write(root.path().join("Gemfile.lock"), "rake (13.1)\n").unwrap();
    assert_ne!(key_of(files(&["Gemfile.lock"], None)), gemfile);
}

#[test]
fn saved_archives_load_by_key_then_fallback_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("77");
    let only = |key: &str, fallbacks: &[&str]| Keys {
        key: key.into(),
        fallbacks: fallbacks.iter().map(|f| f.to_string()).collect(),
    };
    assert_eq!(load(&d, &only("main", &[])), None);
    save(&d, "main", b"tar bytes").unwrap();
    assert_eq!(
        load(&d, &only("main", &[])),
        Some(("main".into(), b"tar bytes".to_vec()))
    );
    assert_eq!(
        load(&d, &only("feature", &["gone", "main"])),
        Some(("main".into(), b"tar bytes".to_vec()))
    );
    save(&d, "main", b"newer").unwrap();
    assert_eq!(
        load(&d, &only("main", &[])).map(|(_, b)| b),
        Some(b"newer".to_vec())
    );
    let big = std::fs::File::create(d.join("big.tar")).unwrap();
    big.set_len(MAX_CACHE as u64 + 1).unwrap();
    assert_eq!(load(&d, &only("big", &[])), None);
}

#[test]
fn keys_carry_gitlabs_suffix_for_the_ref() {
    let root = tempfile::tempdir().unwrap();
    let vars = vec![
        ("CI_COMMIT_REF_SLUG".to_string(), "feature-x".to_string()),
        ("CI_DEFAULT_BRANCH".to_string(), "main".to_string()),
    ];
    let slug = cache(CacheKey::Name("$CI_COMMIT_REF_SLUG".into()));
    // GitLab's `Ci::Build#cache`: the key and every fallback key, as the runner expands them.
    for (protected, want) in [
        (
            false,
            [
                "feature-x-non_protected",
                "cache-main-non_protected",
                "-non_protected",
            ],
        ),
        (
            true,
            ["feature-x-protected", "cache-main-protected", "-protected"],
        ),
    ] {
        let got = keys(&slug, &vars, root.path(), protected);
        assert_eq!(got.key, want[0], "{protected}");
        assert_eq!(got.fallbacks, want[1..], "{protected}");
    }
    // A key cut to a file name's length keeps its suffix: the two kinds of ref never meet.
    let long = cache(CacheKey::Name("k".repeat(300)));
    let (open, guarded) = (
        keys(&long, &vars, root.path(), false).key,
        keys(&long, &vars, root.path(), true).key,
    );
    assert!(open.ends_with("-non_protected") && guarded.ends_with("-protected"));
    assert_ne!(open, guarded);
}

/// A local job's payload, variables and environment, made as a run makes them for `checkout`
/// with the person's `--var`s.
fn local_job(
    checkout: &crate::local::checkout::Checkout,
    overrides: &[(&str, &str)],
    tmp: &Path,
) -> (Vec<(String, String)>, JobEnv) {
    use crate::local::{expand, runner, vars};
    let settings = crate::settings::Settings::from_text("", "t").unwrap();
    let facts = vars::JobFacts {
        job_name: "build",
        stage: "test",
        builds_dir: "/builds",
        image: "",
    };
    let ids = vars::LocalIds::new(checkout);
    let mut variables = vars::predefined(&facts, checkout, &ids, &settings.local);
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    expand::layer(&mut variables, &overrides).unwrap();
    runner::write_payload(tmp, &ids, &variables, &[], None).unwrap();
    let env = runner::runner_env(&variables, tmp);
    (variables, env)
}

#[test]
fn a_local_runs_keys_agree_with_its_payload_and_ci_commit_ref_protected() {
    use crate::local::checkout::Checkout;
    let slug = cache(CacheKey::Name("$CI_COMMIT_REF_SLUG".into()));
    let cases = [
        // The default branch, protected by default on GitLab: a local run runs the work tree,
        // edits and all, so it is an unprotected ref's job, as its payload says.
        (
            Checkout::fake(Some("main"), None, None),
            "main-non_protected",
        ),
        (
            Checkout::fake(Some("feature/x"), None, None),
            "feature-x-non_protected",
        ),
        (
            Checkout::fake(None, Some("v1.0"), None),
            "v1-0-non_protected",
        ),
    ];
    for (checkout, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let (variables, env) = local_job(&checkout, &[], tmp.path());
        let protected = ref_protected(&env);
        let said = variables
            .iter()
            .find(|(k, _)| k == "CI_COMMIT_REF_PROTECTED");
        assert_eq!(said.map(|(_, v)| v.as_str()), Some(&*protected.to_string()));
        assert_eq!(keys(&slug, &variables, tmp.path(), protected).key, want);
    }
    // A `--var` (or a file's `variables:`) claiming a protected ref changes what the scripts
    // see, not the payload: the driver names it as ignored, and the cache stays unprotected.
    let tmp = tempfile::tempdir().unwrap();
    let checkout = Checkout::fake(Some("main"), None, None);
    let (_, env) = local_job(
        &checkout,
        &[("CI_COMMIT_REF_PROTECTED", "true")],
        tmp.path(),
    );
    assert!(!ref_protected(&env));
    // Without a readable payload the ref is not protected either.
    std::fs::remove_file(tmp.path().join("response.json")).unwrap();
    assert!(!ref_protected(&env));
}

#[test]
fn a_policy_variable_is_read_when_the_job_runs_as_the_runner_reads_it() {
    // GitLab's documented example: `policy: $POLICY`, set by the rule that let the job in.
    let with = |written: &str, vars: &[(&str, &str)]| {
        let c = Cache {
            policy: CachePolicy::Variable(written.into()),
            ..cache(CacheKey::Name("gems".into()))
        };
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        policy(&c, &vars)
    };
    assert_eq!(
        with("$POLICY", &[("POLICY", "pull")]),
        Ok(CachePolicy::Pull)
    );
    assert_eq!(
        with("${POLICY}", &[("POLICY", "push")]),
        Ok(CachePolicy::Push)
    );
    assert_eq!(
        with("$POLICY", &[("POLICY", "pull-push")]),
        Ok(CachePolicy::PullPush)
    );
    // Unset or empty: the runner's undefined policy, which is pull-push.
    assert_eq!(with("$POLICY", &[]), Ok(CachePolicy::PullPush));
    // The last value set wins, as everywhere in a job's variables.
    assert_eq!(
        with("$POLICY", &[("POLICY", "push"), ("POLICY", "pull")]),
        Ok(CachePolicy::Pull)
    );
    let refused = with("$POLICY", &[("POLICY", "sometimes")]).unwrap_err();
    assert!(refused.contains("unknown cache policy"), "{refused}");
    assert!(
        refused.contains("set `POLICY` to pull, push or pull-push"),
        "{refused}"
    );
    // A written policy is the policy.
    assert_eq!(
        policy(&cache(CacheKey::Name("x".into())), &[]),
        Ok(CachePolicy::PullPush)
    );
}

/// Files are hashed in chunks (never held whole), to the same key as before: the path, a NUL,
/// the length and the content.
#[test]
fn key_files_are_hashed_streaming_with_the_same_key() {
    let root = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.path().join("big.lock"), &content).unwrap();
    let mut want = ring::digest::Context::new(&ring::digest::SHA256);
    want.update(b"big.lock");
    want.update(&[0]);
    want.update(&(content.len() as u64).to_le_bytes());
    want.update(&content);
    let want: String = want.finish().as_ref()[..20]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let got = super::files_hash(&["big.lock".to_string()], root.path());
    assert_eq!(got.as_deref(), Some(want.as_str()));
}
