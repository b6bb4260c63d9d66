//! Fetched includes (`remote:`, `template:`, `project:`) from a server on loopback, through the
//! real HTTP client, and the cache: kept copies, `--refresh`, offline runs.

use super::server::{closed_base, ok, redirect, status, Server};
use super::*;
use crate::local::include::{Token, TokenKind};

const REMOTE: &str = "remote: {script: r}\n";

fn cached(cache: &Path, base: &str) -> Options {
    let mut options = serving(base);
    options.cache_dir = Some(cache.to_path_buf());
    options
}

#[test]
fn remote_includes_are_fetched_as_strings_or_remote_entries() {
    let server = Server::start(&[("/ci/r.yml", ok(REMOTE))]);
    let dir = project(&[]);
    let url = format!("{}/ci/r.yml", server.base);
    for main in [
        format!("include: {url}\n"),
        format!("include:\n  - remote: '{url}'\n"),
    ] {
        let merged = run(dir.path(), &main, &serving(&server.base)).unwrap();
        assert_eq!(keys(&merged), ["remote"]);
        assert_eq!(merged.file_of("remote").name, url);
    }
    // No token ever goes to a remote file's host.
    let mut options = serving(&server.base);
    options.token = Some(Token::new(TokenKind::Private, "secret-token"));
    run(dir.path(), &format!("include: {url}\n"), &options).unwrap();
    assert!(server
        .seen()
        .iter()
        .all(|s| !s.headers.contains_key("private-token")));
}

#[test]
fn templates_are_fetched_from_the_configured_base() {
    let server = Server::start(&[(
        "/templates/Jobs/Build.gitlab-ci.yml",
        ok("build: {script: b}\n"),
    )]);
    let mut options = options();
    options.template_base = format!("{}/templates/", server.base);
    let dir = project(&[]);
    let main = "include:\n  - template: Jobs/Build.gitlab-ci.yml\n";
    let merged = run(dir.path(), main, &options).unwrap();
    assert_eq!(keys(&merged), ["build"]);
    assert_eq!(
        merged.file_of("build").name,
        "template Jobs/Build.gitlab-ci.yml"
    );
}

#[test]
fn project_files_come_from_the_api_with_the_token_and_nest_in_that_project() {
    let api = "/api/v4/projects/group%2Fsub%2Fproj/repository/files";
    let server = Server::start(&[
        (
            &format!("{api}/ci%2Fone.yml/raw?ref=v1.0") as &str,
            ok("include:\n  - local: /ci/nested.yml\none: {script: one}\n"),
        ),
        (
            &format!("{api}/two.yml/raw?ref=v1.0"),
            ok("two: {script: two}\n"),
        ),
        (
            &format!("{api}/ci%2Fnested.yml/raw?ref=v1.0"),
            ok("nested: {script: n}\n"),
        ),
        (&format!("{api}/default.yml/raw"), ok("dflt: {script: d}\n")),
    ]);
    let mut options = options();
    options.gitlab_url = format!("{}/", server.base);
    options.token = Some(Token::new(TokenKind::Job, "job-token-value"));
    let dir = project(&[]);
    let main = "include:\n  - project: Group/Sub/Proj\n    ref: v1.0\n    file: [/ci/one.yml, two.yml]\n  - project: group/sub/proj\n    file: default.yml\n";
    let merged = run(dir.path(), main, &options).unwrap();
    assert_eq!(keys(&merged), ["nested", "one", "two", "dflt"]);
    assert_eq!(
        merged.file_of("nested").name,
        "group/sub/proj:ci/nested.yml@v1.0"
    );
    assert_eq!(merged.file_of("dflt").name, "group/sub/proj:default.yml");
    let seen = server.seen();
    assert_eq!(seen.len(), 4);
    assert!(seen
        .iter()
        .all(|s| s.headers.get("job-token").map(String::as_str) == Some("job-token-value")));
    // The token is never in a message or a Debug print.
    assert!(!format!("{:?}", options.token).contains("job-token-value"));
}

#[test]
fn project_api_refusals_say_what_to_check() {
    let server = Server::start(&[]);
    let mut options = options();
    options.gitlab_url = server.base.clone();
    let dir = project(&[]);
    let main = "include:\n  - project: g/p\n    file: a.yml\n";
    let e = run(dir.path(), main, &options).unwrap_err();
    assert!(e.message().contains("answers HTTP 404"), "{e}");
    assert!(
        e.message()
            .contains("needs a token (--gitlab-token, or GITLAB_TOKEN with local.gitlab_url set)"),
        "{e}"
    );
    // A token in the environment that is not sent is named, with how to send it.
    options.unused_token = Some("GITLAB_TOKEN");
    let e = run(dir.path(), main, &options).unwrap_err();
    assert!(
        e.message().contains("GITLAB_TOKEN is set but not sent"),
        "{e}"
    );
    options.unused_token = None;
    options.token = Some(Token::new(TokenKind::Private, "t0ken"));
    let e = run(dir.path(), main, &options).unwrap_err();
    assert!(
        e.message()
            .contains("check that the token may read the project"),
        "{e}"
    );
    assert!(!e.to_string().contains("t0ken"));
}

/// A private project's file read with a token is kept for runs with that token only: another
/// checkout's file naming the same `project:` file in a run without the token (or with
/// another) asks the server, which refuses it, instead of being served the kept copy.
#[test]
fn project_files_kept_from_a_run_with_a_token_serve_no_run_without_it() {
    let api = "/api/v4/projects/g%2Fprivate/repository/files/ci.yml/raw";
    let server = Server::start(&[(api, ok("private: {script: p}\n"))]);
    let cache = tempfile::tempdir().unwrap();
    let mut options = cached(cache.path(), &server.base);
    options.gitlab_url = server.base.clone();
    options.token = Some(Token::new(TokenKind::Private, "token-one"));
    let dir = project(&[]);
    let main = "include:\n  - project: g/private\n    file: ci.yml\n";
    assert_eq!(keys(&run(dir.path(), main, &options).unwrap()), ["private"]);
    // The same token is served the kept copy, without asking again.
    assert_eq!(keys(&run(dir.path(), main, &options).unwrap()), ["private"]);
    assert_eq!(server.seen().len(), 1);
    // The server now refuses anyone without the token (as GitLab does for a private project).
    server.set(api, status(404));
    options.token = None;
    let e = run(dir.path(), main, &options).unwrap_err();
    assert!(e.message().contains("answers HTTP 404"), "{e}");
    options.token = Some(Token::new(TokenKind::Private, "token-two"));
    let e = run(dir.path(), main, &options).unwrap_err();
    assert!(e.message().contains("answers HTTP 404"), "{e}");
    assert_eq!(server.seen().len(), 3);
}

#[test]
fn projects_mapped_to_a_local_clone_are_read_from_it() {
    let clone = project(&[
        (
            "templates/ci.yml",
            "include: /templates/more.yml\nfrom-clone: {script: c}\n",
        ),
        ("templates/more.yml", "more: {script: m}\n"),
    ]);
    let mut options = options();
    options
        .projects
        .insert("group/tools".into(), clone.path().to_path_buf());
    options.gitlab_url = closed_base();
    let dir = project(&[]);
    let main = "include:\n  - project: group/tools\n    ref: main\n    file: templates/ci.yml\n";
    let merged = run(dir.path(), main, &options).unwrap();
    assert_eq!(keys(&merged), ["more", "from-clone"]);
    assert_eq!(
        merged.file_of("more").name,
        "group/tools:templates/more.yml"
    );
}

#[test]
fn local_includes_inside_remote_files_are_refused_as_in_gitlab() {
    let server = Server::start(&[("/r.yml", ok("include: local.yml\n"))]);
    let dir = project(&[("local.yml", "a: 1\n")]);
    let url = format!("{}/r.yml", server.base);
    let e = run(
        dir.path(),
        &format!("include: {url}\n"),
        &serving(&server.base),
    )
    .unwrap_err();
    assert_eq!(e.file(), url);
    assert!(e.message().contains("belongs to no project"), "{e}");
}

#[test]
fn copies_are_kept_used_and_refreshed() {
    let server = Server::start(&[("/r.yml", ok("first: {script: a}\n"))]);
    let cache = tempfile::tempdir().unwrap();
    let dir = project(&[]);
    let main = format!("include: {}/r.yml\n", server.base);
    let mut options = cached(cache.path(), &server.base);
    assert_eq!(keys(&run(dir.path(), &main, &options).unwrap()), ["first"]);
    // The server changes: the kept copy is still used, without asking the server...
    server.set("/r.yml", ok("second: {script: b}\n"));
    assert_eq!(keys(&run(dir.path(), &main, &options).unwrap()), ["first"]);
    assert_eq!(server.seen().len(), 1);
    // ...until --refresh fetches again and keeps the new copy.
    options.refresh = true;
    assert_eq!(keys(&run(dir.path(), &main, &options).unwrap()), ["second"]);
    options.refresh = false;
    assert_eq!(keys(&run(dir.path(), &main, &options).unwrap()), ["second"]);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn offline_runs_use_kept_copies_and_say_where_the_cache_is() {
    let cache = tempfile::tempdir().unwrap();
    let dir = project(&[]);
    let base = closed_base();
    let url = format!("{base}/r.yml");
    let main = format!("include:\n  - remote: {url}\n");
    let mut options = cached(cache.path(), &base);
    let e = run(dir.path(), &main, &options).unwrap_err();
    let path = super::super::cache::path_for(cache.path(), &url, None);
    assert!(
        e.message()
            .starts_with(&format!("include `{url}` could not be fetched (")),
        "{e}"
    );
    assert!(
        e.message().ends_with(&format!(
            "no copy is kept at {}; run once with the network to keep one",
            path.display()
        )),
        "{e}"
    );
    assert_eq!(e.line(), Some(2));
    // A copy kept from an earlier run is used offline, and --refresh says it is there.
    std::fs::write(&path, "kept: {script: k}\n").unwrap();
    assert_eq!(keys(&run(dir.path(), &main, &options).unwrap()), ["kept"]);
    options.refresh = true;
    let e = run(dir.path(), &main, &options).unwrap_err();
    assert!(e.message().contains("is used without --refresh"), "{e}");
}

#[test]
fn fetches_are_bounded_and_follow_redirects() {
    let big = format!("a: '{}'\n", "x".repeat(4000));
    let server = Server::start(&[
        ("/big.yml", ok(&big)),
        ("/moved.yml", redirect("/ci/r.yml")),
        ("/ci/r.yml", ok(REMOTE)),
        ("/gone.yml", status(500)),
    ]);
    let dir = project(&[]);
    let mut options = serving(&server.base);
    options.max_file_bytes = 1024;
    let base = &server.base;
    let e = run(dir.path(), &format!("include: {base}/big.yml\n"), &options).unwrap_err();
    assert!(e.message().contains("larger than 1 KiB"), "{e}");
    let merged = run(
        dir.path(),
        &format!("include: {base}/moved.yml\n"),
        &options,
    )
    .unwrap();
    assert_eq!(keys(&merged), ["remote"]);
    assert!(server.seen().iter().any(|s| s.path == "/ci/r.yml"));
    let e = run(dir.path(), &format!("include: {base}/gone.yml\n"), &options).unwrap_err();
    assert!(
        e.message()
            .ends_with("could not be fetched: HTTP status 500"),
        "{e}"
    );
}

#[test]
fn remote_integrity_is_checked() {
    let server = Server::start(&[("/r.yml", ok(""))]);
    let dir = project(&[]);
    let main = |hash: &str| {
        format!(
            "include:\n  - remote: {}/r.yml\n    integrity: '{hash}'\n",
            server.base
        )
    };
    // The server's body is empty: the file is refused as empty only once its hash matched.
    let empty = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let options = serving(&server.base);
    let e = run(dir.path(), &main(empty), &options).unwrap_err();
    assert!(e.message().ends_with("is empty"), "{e}");
    let e = run(dir.path(), &main("sha256-AAAA"), &options).unwrap_err();
    assert!(
        e.message().contains("does not match its `integrity:`"),
        "{e}"
    );
}

/// A file's `remote:` may not make this machine read its own loopback or link-local
/// addresses (a local service, the cloud's metadata): not by a literal address, not by a name
/// that resolves there, not by a redirect. Hosts the person named in the config may be there.
#[test]
fn remote_includes_cannot_reach_this_machines_local_addresses() {
    let server = Server::start(&[("/ci/r.yml", ok(REMOTE))]);
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let dir = project(&[]);
    let mut options = options();
    options.gitlab_url = "https://gitlab.example".to_string();
    for url in [
        format!("http://127.0.0.1:{port}/ci/r.yml"),
        format!("http://localhost:{port}/ci/r.yml"),
        format!("http://[::1]:{port}/ci/r.yml"),
        "http://169.254.169.254/latest/ci.yml".to_string(),
    ] {
        let e = run(dir.path(), &format!("include: '{url}'\n"), &options).unwrap_err();
        assert!(e.message().contains("local-only address"), "{url}: {e}");
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    // The person's own instance may be on loopback; a redirect from it to a name of this
    // machine the person did not name is refused all the same.
    let named = Server::start(&[
        ("/ci/r.yml", ok(REMOTE)),
        (
            "/away.yml",
            redirect(&format!("http://localhost:{port}/ci/r.yml")),
        ),
        (
            "/port.yml",
            redirect(&format!("http://127.0.0.1:{port}/ci/r.yml")),
        ),
    ]);
    options.gitlab_url = named.base.clone();
    let merged = run(
        dir.path(),
        &format!("include: {}/ci/r.yml\n", named.base),
        &options,
    )
    .unwrap();
    assert_eq!(keys(&merged), ["remote"]);
    let e = run(
        dir.path(),
        &format!("include: {}/away.yml\n", named.base),
        &options,
    )
    .unwrap_err();
    assert!(e.message().contains("`localhost` is at"), "{e}");
    // Naming a server names its port: another port of the same host (a database, a
    // metrics endpoint) stays closed, written or reached by a redirect.
    for url in [
        format!("http://127.0.0.1:{port}/ci/r.yml"),
        format!("{}/port.yml", named.base),
    ] {
        let e = run(dir.path(), &format!("include: {url}\n"), &options).unwrap_err();
        assert!(e.message().contains("`127.0.0.1` is at"), "{url}: {e}");
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
}

/// A URL's path must name a YAML file, and so must every redirect: else the file's own
/// server could send this machine's GET to any endpoint (`/admin/delete`) of any host.
#[test]
fn redirects_must_name_yaml_files_too() {
    let target = Server::start(&[("/admin/delete", ok(REMOTE)), ("/ci/r.yml", ok(REMOTE))]);
    let first = Server::start(&[
        ("/a.yml", redirect(&format!("{}/admin/delete", target.base))),
        ("/b.yml", redirect(&format!("{}/ci/r.yml", target.base))),
    ]);
    let dir = project(&[]);
    let mut options = serving(&first.base);
    options
        .local_servers
        .push(target.base.trim_start_matches("http://").into());
    let e = run(
        dir.path(),
        &format!("include: {}/a.yml\n", first.base),
        &options,
    )
    .unwrap_err();
    assert!(e.message().contains("does not end in .yml or .yaml"), "{e}");
    assert!(target.seen().is_empty(), "{:?}", target.seen());
    let merged = run(
        dir.path(),
        &format!("include: {}/b.yml\n", first.base),
        &options,
    );
    assert_eq!(keys(&merged.unwrap()), ["remote"]);
}

/// A `--var` value (a project variable's stand-in, maybe a secret) never goes into a URL the
/// file chose, in any form; predefined values do, and `--var`s still choose local files.
#[test]
fn var_values_never_go_into_remote_or_template_urls() {
    let server = Server::start(&[
        ("/ci/main.yml", ok(REMOTE)),
        ("/t/main.gitlab-ci.yml", ok(REMOTE)),
    ]);
    let dir = project(&[("ci/s3cret.yml", "local: {script: l}\n")]);
    let mut options = options();
    options.template_base = format!("{}/t/", server.base);
    options.variables = vec![
        ("CI_COMMIT_BRANCH".into(), "main".into()),
        ("TOKENISH".into(), "s3cret".into()),
        ("WHERE".into(), format!("{}/ci/main.yml", server.base)),
    ];
    options.private_variables = vec!["TOKENISH".into(), "WHERE".into()];
    let base = &server.base;
    for main in [
        format!("include: '{base}/ci/$TOKENISH.yml'\n"),
        format!("include:\n  - remote: '{base}/ci/main.yml?k=${{TOKENISH}}'\n"),
        "include:\n  - template: '$TOKENISH.gitlab-ci.yml'\n".to_string(),
        "include: $WHERE\n".to_string(),
    ] {
        let e = run(dir.path(), &main, &options).unwrap_err();
        assert!(e.message().contains("a --var value"), "{main}: {e}");
        assert!(!e.message().contains("s3cret"), "{e}");
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    let main = format!("include:\n  - '{base}/ci/$CI_COMMIT_BRANCH.yml'\n  - ci/$TOKENISH.yml\n");
    assert_eq!(
        keys(&run(dir.path(), &main, &options).unwrap()),
        ["remote", "local"]
    );
}

/// `expand_vars` in a `spec:` input leaves a `--var` as written (GitLab leaves masked
/// variables so, and any `--var` may stand for one): expanded, its value would reach the URL
/// as plain text, past the check of `$NAME`s above. Predefined variables are expanded.
#[test]
fn expand_vars_cannot_carry_a_var_value_into_a_url() {
    let server = Server::start(&[("/ci/main.yml", ok(REMOTE))]);
    let dir = project(&[("ci/.keep", "")]);
    let mut options = serving(&server.base);
    options.variables = vec![
        ("CI_COMMIT_BRANCH".into(), "main".into()),
        ("TOKENISH".into(), "s3cretvalue".into()),
    ];
    options.private_variables = vec!["TOKENISH".into()];
    let base = &server.base;
    let header =
        |default: &str| format!("spec:\n  inputs:\n    u:\n      default: '{default}'\n---\n");
    let url = format!("{base}/ci/$[[ inputs.u | expand_vars ]].yml");
    // In the main file, and in an included one given the value by its entry's `inputs:`.
    let nested = "include:\n  - local: ci/n.yml\n    inputs: {u: '$TOKENISH'}\n".to_string();
    std::fs::write(
        dir.path().join("ci/n.yml"),
        format!("spec:\n  inputs:\n    u:\n---\ninclude: '{url}'\n"),
    )
    .unwrap();
    for main in [format!("{}include: '{url}'\n", header("$TOKENISH")), nested] {
        let e = run(dir.path(), &main, &options).unwrap_err();
        assert!(e.message().contains("a --var value"), "{main}: {e}");
        assert!(!e.message().contains("s3cret"), "{e}");
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    let main = format!("{}include: '{url}'\n", header("$CI_COMMIT_BRANCH"));
    assert_eq!(keys(&run(dir.path(), &main, &options).unwrap()), ["remote"]);
    // Where a `--var` may go, it still arrives, expanded there.
    let main = format!(
        "{}include: 'ci/$[[ inputs.u | expand_vars ]].yml'\n",
        header("$TOKENISH")
    );
    std::fs::write(dir.path().join("ci/s3cretvalue.yml"), "l: {script: l}\n").unwrap();
    assert_eq!(keys(&run(dir.path(), &main, &options).unwrap()), ["l"]);
}

/// A server answering each include slowly cannot hold a run past the time all fetches may
/// take together.
#[test]
fn slow_servers_cannot_stall_a_run_past_the_total_fetch_time() {
    use crate::local::include::{Fetch, FetchError, Request};
    use std::time::{Duration, Instant};
    struct Slow;
    impl Fetch for Slow {
        fn get(&self, request: &Request) -> Result<Vec<u8>, FetchError> {
            std::thread::sleep(Duration::from_millis(300).min(request.timeout));
            Ok(format!("'{}': {{script: s}}\n", request.url).into_bytes())
        }
    }
    let dir = project(&[]);
    let mut options = options();
    options.fetch = Box::new(Slow);
    // A run's own bounds: 10 s a fetch, 30 s for all of them.
    let defaults = Options::new(".gitlab-ci.yml");
    assert_eq!(
        (defaults.timeout, defaults.total_timeout),
        (Duration::from_secs(10), Duration::from_secs(30))
    );
    options.total_timeout = Duration::from_secs(1);
    let main: String = (0..20)
        .map(|i| format!("- https://slow.example/{i}.yml\n"))
        .collect();
    let started = Instant::now();
    let e = run(dir.path(), &format!("include:\n{main}"), &options).unwrap_err();
    assert!(e.message().contains("took 1 s in all"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
