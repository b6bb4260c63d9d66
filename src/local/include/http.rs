//! [`Http`]: GETs over HTTP(S) with the crates the driver already has (hyper-util, hyper-rustls,
//! rustls with ring), the server's certificate checked against this machine's trusted roots
//! (`rustls-native-certs`: a private GitLab's CA installed on the machine is trusted, as git
//! and curl trust it). Each fetch runs on its own thread with a small runtime, so callers may
//! be inside the driver's runtime or not. Redirects are followed (up to five, never from HTTPS
//! to plain HTTP); the secret header goes only to the host it was meant for. No hop may reach
//! a local-only address of this machine unless the person named its host (`guard.rs`).

use std::sync::{Arc, OnceLock};

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::fetch::{Fetch, FetchError, Request};
use super::guard::{self, Resolver};

const MAX_REDIRECTS: usize = 5;

/// Fetches over HTTP(S).
pub struct Http;

impl Fetch for Http {
    fn get(&self, request: &Request) -> Result<Vec<u8>, FetchError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| FetchError::Unreachable(format!("no runtime: {e}")))?;
                    let result = runtime.block_on(async {
                        match tokio::time::timeout(request.timeout, get(request)).await {
                            Ok(result) => result,
                            Err(_) => Err(FetchError::Unreachable(format!(
                                "no answer within {} s",
                                request.timeout.as_secs()
                            ))),
                        }
                    });
                    // A name lookup still running after the timeout must not hold us up.
                    runtime.shutdown_background();
                    result
                })
                .join()
                .unwrap_or_else(|_| Err(FetchError::Invalid("the fetch failed".into())))
        })
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector<Resolver>>;

async fn get(request: &Request<'_>) -> Result<Vec<u8>, FetchError> {
    let first: http::Uri = request
        .url
        .parse()
        .map_err(|_| FetchError::Invalid(format!("`{}` is not a URL", request.url)))?;
    // Plain HTTP needs no roots: a machine without any can still fetch from one.
    let tls = match tls_config() {
        Err(_) if first.scheme_str() == Some("http") => Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| FetchError::Invalid(e.to_string()))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        ),
        other => other?,
    };
    let mut uri = first.clone();
    for _ in 0..=MAX_REDIRECTS {
        // Each hop's own server decides whether it may be local-only: a redirect from a
        // server the person named to another port of its host is no longer that server.
        let open = guard::server(&uri).is_some_and(|s| guard::trusted(&s, request.trusted_hosts));
        // A literal address is never resolved, so the resolver cannot check it.
        let host = uri.host().unwrap_or_default();
        if let Some(ip) = guard::literal(host) {
            if guard::forbidden(ip) && !open {
                return Err(FetchError::Invalid(guard::refusal(host, ip)));
            }
        }
        let client = client(&tls, open);
        let mut builder = http::Request::get(uri.clone()).header(
            "user-agent",
            concat!("executor/", env!("CARGO_PKG_VERSION")),
        );
        if let Some((name, value)) = request.secret_header {
            if uri.authority() == first.authority() && uri.scheme() == first.scheme() {
                let mut value = http::HeaderValue::from_str(value).map_err(|_| {
                    FetchError::Invalid("the token holds unusable characters".into())
                })?;
                value.set_sensitive(true);
                builder = builder.header(name, value);
            }
        }
        let built = builder
            .body(Empty::new())
            .map_err(|e| FetchError::Invalid(e.to_string()))?;
        let response = client
            .request(built)
            .await
            .map_err(|e| FetchError::Unreachable(why(&e)))?;
        let status = response.status();
        if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
            let next = redirect(&uri, response.headers().get("location"))?;
            // A file's URL must name a YAML file (`source.rs`); a redirect must too, or the
            // file's own server could send this machine's GET to any endpoint it likes.
            if names_yaml(&first) && !names_yaml(&next) {
                return Err(FetchError::Invalid(
                    "a redirect to a path that does not end in .yml or .yaml, which is not \
                     followed"
                        .into(),
                ));
            }
            uri = next;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        // Read frame by frame, so a body past the limit is never held whole.
        let mut body = response.into_body();
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| FetchError::Unreachable(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > request.max_bytes {
                    return Err(FetchError::TooLarge);
                }
                out.extend_from_slice(&data);
            }
        }
        return Ok(out);
    }
    Err(FetchError::Invalid(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

/// A client whose resolver lets a name be at a local-only address only when `open`.
fn client(tls: &rustls::ClientConfig, open: bool) -> Client<Https, Empty<&'static [u8]>> {
    let mut http = HttpConnector::new_with_resolver(Resolver { open });
    // The TLS layer above decides the scheme.
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Whether `uri`'s path ends in `.yml` or `.yaml`.
fn names_yaml(uri: &http::Uri) -> bool {
    let path = uri.path().to_ascii_lowercase();
    path.ends_with(".yml") || path.ends_with(".yaml")
}

/// Where a redirect points, relative locations resolved against `from`.
fn redirect(
    from: &http::Uri,
    location: Option<&http::HeaderValue>,
) -> Result<http::Uri, FetchError> {
    let location = location
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| FetchError::Invalid("a redirect without a location".into()))?;
    let target: http::Uri = if location.contains("://") {
        location.parse()
    } else {
        let scheme = from.scheme_str().unwrap_or("https");
        let authority = from.authority().map_or("", |a| a.as_str());
        let path = if location.starts_with('/') {
            location.to_string()
        } else {
            let dir = from.path().rsplit_once('/').map_or("", |(dir, _)| dir);
            format!("{dir}/{location}")
        };
        format!("{scheme}://{authority}{path}").parse()
    }
    .map_err(|_| FetchError::Invalid(format!("a redirect to `{location}`, which is not a URL")))?;
    if from.scheme_str() == Some("https") && target.scheme_str() != Some("https") {
        return Err(FetchError::Invalid(
            "a redirect from HTTPS to plain HTTP, which is not followed".into(),
        ));
    }
    Ok(target)
}

/// The client's TLS setup, made once: this machine's roots, ring, TLS 1.2 and 1.3.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, FetchError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(
                    "this machine has no trusted root certificates (install the \
                            ca-certificates package)"
                        .to_string(),
                );
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| format!("cannot set up TLS: {e}"))
        })
        .clone()
        .map_err(FetchError::Unreachable)
}

/// The innermost cause, which names what failed (DNS, refused, certificate).
fn why(error: &hyper_util::client::legacy::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_and_never_downgrade() {
        let from: http::Uri = "https://h.example/a/b.yml".parse().unwrap();
        let to = |loc: &str| {
            redirect(&from, Some(&http::HeaderValue::from_str(loc).unwrap())).map(|u| u.to_string())
        };
        assert_eq!(to("/c.yml").unwrap(), "https://h.example/c.yml");
        assert_eq!(to("c.yml").unwrap(), "https://h.example/a/c.yml");
        assert_eq!(
            to("https://o.example/d.yml").unwrap(),
            "https://o.example/d.yml"
        );
        assert!(to("http://h.example/c.yml").is_err());
        assert!(redirect(&from, None).is_err());
    }

    /// A server whose certificate no trusted root signed is refused: certificates are checked.
    #[test]
    fn https_servers_must_have_a_trusted_certificate() {
        use std::io::Read;
        use std::net::TcpListener;

        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let key_der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key_der.into())
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let listener_addr = listener.local_addr().unwrap().to_string();
        let url = format!("https://{listener_addr}/a.yml");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let _ = tls.read(&mut [0u8; 64]);
            }
        });
        let request = Request {
            url: &url,
            secret_header: None,
            max_bytes: 1024,
            timeout: std::time::Duration::from_secs(10),
            trusted_hosts: &[listener_addr],
        };
        match Http.get(&request) {
            Err(FetchError::Unreachable(why)) => {
                assert!(why.to_lowercase().contains("certificate"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }
}
