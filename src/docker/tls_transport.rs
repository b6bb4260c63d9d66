//! A `tcp://` engine over TLS, as `docker --tlsverify` reaches one: the server's certificate
//! checked against `ca.pem` of `docker.cert_path` alone (no system roots: any public CA could
//! name the host), the client's `cert.pem` and `key.pem` presented when both are there (as
//! the Docker CLI, which leaves a missing pair out). Connections are kept for reuse, so one
//! call's many requests pay for one handshake.
//!
//! Each way TLS can fail gets one line naming the file or the host ([`explain`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard::errors::Error as BollardError;
use bollard::{BollardRequest, Docker};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError};

use super::tls_peer::{out_of_date, Recording, Seen};
use crate::outcome::Failure;

/// The most of one certificate or key file read: a chain is a few KiB.
const FILE_MAX: u64 = 256 * 1024;

/// A client for the engine at `addr` (`host:port`) with the certificates in `dir`, and where
/// the engine's certificate of the last verified handshake is kept.
pub fn connect(
    addr: &str,
    dir: &Path,
    timeout: u64,
) -> Result<(Docker, Seen, Arc<rustls::ClientConfig>), Failure> {
    let seen = Seen::default();
    let config = client_config(dir, &seen)?;
    let shared = Arc::new(config.clone());
    // Small writes (a stage's stdin, then its end) go out at once, as over the socket: with
    // Nagle's algorithm each could wait for the engine's delayed ACK.
    let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
    tcp.set_nodelay(true);
    tcp.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .wrap_connector(tcp);
    let client = Arc::new(Client::builder(TokioExecutor::new()).build(connector));
    let transport = move |request: BollardRequest| {
        let client = Arc::clone(&client);
        Box::pin(async move { client.request(request).await.map_err(BollardError::from) })
            as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
    };
    let docker = Docker::connect_with_custom_transport(
        transport,
        Some(format!("https://{addr}")),
        timeout,
        bollard::API_DEFAULT_VERSION,
    )
    .map_err(|e| Failure::System(format!("cannot set up TLS to tcp://{addr}: {e}")))?;
    Ok((docker, seen, shared))
}

fn client_config(dir: &Path, seen: &Seen) -> Result<rustls::ClientConfig, Failure> {
    let ca = dir.join("ca.pem");
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(&ca)? {
        roots.add(cert).map_err(|e| bad_file(&ca, &e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let setup = |e: rustls::Error| Failure::System(format!("cannot set up TLS: {e}"));
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| bad_file(&ca, &format!("holds no usable CA ({e})")))?;
    let recording = Recording {
        inner: verifier,
        seen: Arc::clone(seen),
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(setup)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(recording));
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    match (cert.exists(), key.exists()) {
        (false, false) => Ok(builder.with_no_client_auth()),
        (true, true) => {
            let chain = certificates(&cert)?;
            if let Some(why) = out_of_date(&chain[0]) {
                return Err(bad_file(&cert, &why));
            }
            let key_der = PrivateKeyDer::from_pem_slice(&read(&key)?)
                .map_err(|e| bad_file(&key, &format!("holds no private key ({})", pem_why(&e))))?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| bad_file(&cert, &format!("does not go with key.pem ({e})")))
        }
        (true, false) => Err(bad_file(
            &key,
            "is missing while cert.pem is there; put both or neither",
        )),
        (false, true) => Err(bad_file(
            &cert,
            "is missing while key.pem is there; put both or neither",
        )),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| {
        Failure::System(format!(
            "cannot read {} ({e}); docker.cert_path must hold ca.pem, cert.pem and key.pem \
             readable by the runner's user",
            path.display()
        ))
    })?;
    let mut bytes = Vec::new();
    file.take(FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad_file(path, &e.to_string()))?;
    if bytes.len() as u64 > FILE_MAX {
        return Err(bad_file(path, "is larger than a certificate file can be"));
    }
    Ok(bytes)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let bytes = read(path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| bad_file(path, &format!("is not PEM ({})", pem_why(&e))))?;
    if certs.is_empty() {
        return Err(bad_file(path, "holds no certificate"));
    }
    Ok(certs)
}

/// What is wrong with a PEM file, in words of our own: the parser's own text quotes the
/// file's lines (a `key.pem` whose newlines were lost would be printed whole, key and all).
fn pem_why(e: &rustls::pki_types::pem::Error) -> &'static str {
    use rustls::pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { .. } => "a BEGIN line without its END line",
        Error::IllegalSectionStart { .. } => "a malformed BEGIN line",
        Error::Base64Decode(_) => "a section that is not base64",
        Error::NoItemsFound => "nothing of the kind in it",
        _ => "cannot be read as PEM",
    }
}

fn bad_file(path: &Path, why: &str) -> Failure {
    Failure::System(format!("TLS file {} {why}", path.display()))
}

/// The TLS failure inside `e`, as one line naming the host or the file to fix; `None` when
/// the failure was not TLS's.
pub fn explain(e: &BollardError, host: &str, dir: &Path) -> Option<String> {
    let tls = rustls_error(e)?;
    let file = |name: &str| -> PathBuf { dir.join(name) };
    Some(match tls {
        rustls::Error::InvalidCertificate(why) => match why {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "the engine at {host} presented a certificate that {} did not sign; use the \
                 CA that signed the engine's certificate",
                file("ca.pem").display()
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "the engine's certificate does not name the host of {host}; set docker.host \
                     to a name or address the certificate carries, or give the engine a \
                     certificate for it"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the engine's certificate at {host} has expired; renew it on the engine")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!(
                    "the engine's certificate at {host} is not valid yet; check both hosts' clocks"
                )
            }
            other => format!("the engine's certificate at {host} was refused ({other:?})"),
        },
        // Go's engine answers a missing client certificate with `bad certificate` too: what
        // the driver presented tells the two apart.
        rustls::Error::AlertReceived(alert) if !file("cert.pem").exists() => match alert {
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::HandshakeFailure => format!(
                "the engine at {host} wants a client certificate and {} has none; put the \
                 client's cert.pem and key.pem there",
                dir.display()
            ),
            other => format!("the engine at {host} ended the TLS handshake ({other:?})"),
        },
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::CertificateRequired => format!(
                "the engine at {host} wants a client certificate and {} has none; put the \
                 client's cert.pem and key.pem there",
                dir.display()
            ),
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateRevoked
            | AlertDescription::HandshakeFailure => format!(
                "the engine at {host} refused the client certificate {} ({alert:?}); use one \
                 its CA signed that has not expired",
                file("cert.pem").display()
            ),
            other => format!("the engine at {host} ended the TLS handshake ({other:?})"),
        },
        other => format!("TLS with the engine at {host} failed ({other})"),
    })
}

/// The rustls error among `e`'s causes; an `io::Error` hides its own inner error from
/// `source()`, so it is opened by hand.
fn rustls_error(e: &BollardError) -> Option<&rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut steps = 0;
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                    return Some(tls);
                }
                current = Some(inner);
                steps += 1;
                continue;
            }
        }
        current = error.source();
        steps += 1;
        if steps > 16 {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client set (`ca.pem`, `cert.pem`, `key.pem`) in a fresh directory.
    fn client_set() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::plan::TlsSpec { extra_sans: vec![] };
        for f in crate::tls::generate(&spec).unwrap() {
            if let Some(name) = f.path.strip_prefix("client/") {
                std::fs::write(dir.path().join(name), f.contents).unwrap();
            }
        }
        dir
    }

    #[test]
    fn a_key_file_that_is_not_pem_is_named_without_its_contents() {
        let dir = client_set();
        let key = std::fs::read_to_string(dir.path().join("key.pem")).unwrap();
        let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
        // The newlines lost, as when a key is pasted from a secret store as one line.
        let flat = key.replace('\n', " ");
        std::fs::write(dir.path().join("key.pem"), &flat).unwrap();
        let Err(Failure::System(line)) = client_config(dir.path(), &Seen::default()) else {
            panic!("a one-line key.pem was accepted");
        };
        assert!(line.contains("key.pem"), "{line}");
        // Neither the key's text nor its bytes as numbers.
        let numbers = format!("{:?}", &body.as_bytes()[..16]);
        let numbers = numbers.trim_matches(|c| c == '[' || c == ']');
        assert!(!line.contains(&body[..16]), "{line}");
        assert!(!line.contains(numbers), "the key's bytes are in: {line}");
    }
}
