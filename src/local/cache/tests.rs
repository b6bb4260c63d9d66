use super::*;
use crate::local::gitlab_ci::{CachePolicy, Keep};

fn cache(key: CacheKey) -> Cache {
    Cache {
        key,
        paths: vec!["vendor".into()],
        untracked: false,
        policy: CachePolicy::PullPush,
        when: Keep::OnSuccess,
        fallback_keys: vec![],
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
    let key_of = |k: CacheKey| key(&cache(k), &vars, root.path());
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
        (CacheKey::Name("$UNSET".into()), "default".into()),
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
    assert_eq!(load(&d, "main", &[]), None);
    save(&d, "main", b"tar bytes").unwrap();
    assert_eq!(
        load(&d, "main", &[]),
        Some(("main".into(), b"tar bytes".to_vec()))
    );
    assert_eq!(
        load(&d, "feature", &["main".into()]),
        Some(("main".into(), b"tar bytes".to_vec()))
    );
    save(&d, "main", b"newer").unwrap();
    assert_eq!(
        load(&d, "main", &[]).map(|(_, b)| b),
        Some(b"newer".to_vec())
    );
    let big = std::fs::File::create(d.join("big.tar")).unwrap();
    big.set_len(MAX_CACHE as u64 + 1).unwrap();
    assert_eq!(load(&d, "big", &[]), None);
}
