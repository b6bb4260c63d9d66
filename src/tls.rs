//! Certificates for `dind.tls`, made by the driver before the sidecar starts, so the job's first
//! `docker` command never races the daemon's own certificate generation (`peers.md` §5) and no
//! RSA key is generated in the sidecar's boot. A fresh CA per sidecar: its key never leaves
//! this process, so nothing else can mint a certificate the daemon trusts.
//!
//! The layout is docker:dind's, so its entrypoint finds a complete server set and only
//! verifies it: `server/{ca,cert,key}.pem` for the daemon, `client/{ca,cert,key}.pem` for the
//! job (mounted at `/certs/client`, `DOCKER_CERT_PATH`).

use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::plan::TlsSpec;

/// Names every server certificate carries: the sidecar's alias on the job network, and the
/// loopback names for a client inside the sidecar.
const SERVER_NAMES: [&str; 4] = ["docker", "localhost", "127.0.0.1", "::1"];
/// Longer than any job may run; the keys die with the sidecar anyway.
const VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);

/// One file of the set: its path under `/certs`, contents and mode.
#[derive(Debug, Clone)]
pub struct CertFile {
    pub path: &'static str,
    pub contents: String,
    pub mode: u32,
}

/// Make a CA, a server certificate for `docker` (plus the job's `DOCKER_TLS_SAN`, validated by
/// the plan) and a client certificate.
pub fn generate(spec: &TlsSpec) -> Result<Vec<CertFile>, String> {
    let ca_key = KeyPair::generate().map_err(|e| format!("make CA key: {e}"))?;
    let mut ca_params = params(Vec::new(), "executor dind CA")?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| format!("sign CA: {e}"))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names: Vec<String> = SERVER_NAMES.iter().map(|s| s.to_string()).collect();
    names.extend(spec.extra_sans.iter().cloned());
    let server = leaf(
        names,
        "docker",
        ExtendedKeyUsagePurpose::ServerAuth,
        &issuer,
    )?;
    let client = leaf(
        Vec::new(),
        "executor job",
        ExtendedKeyUsagePurpose::ClientAuth,
        &issuer,
    )?;
    let ca = ca_cert.pem();
    Ok(vec![
        file("server/ca.pem", ca.clone(), 0o644),
        file("server/cert.pem", server.0, 0o644),
        file("server/key.pem", server.1, 0o600),
        file("client/ca.pem", ca, 0o644),
        file("client/cert.pem", client.0, 0o644),
        // Readable by a job image's non-root user, as docker:dind leaves it.
        file("client/key.pem", client.1, 0o644),
    ])
}

fn file(path: &'static str, contents: String, mode: u32) -> CertFile {
    CertFile {
        path,
        contents,
        mode,
    }
}

fn params(names: Vec<String>, common_name: &str) -> Result<CertificateParams, String> {
    let mut params =
        CertificateParams::new(names).map_err(|e| format!("certificate names: {e}"))?;
    let now = SystemTime::now();
    // An hour of slack for a sidecar whose clock is a little behind ours.
    params.not_before = (now - Duration::from_secs(3600)).into();
    params.not_after = (now + VALIDITY).into();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    Ok(params)
}

/// A certificate and its key, both PEM, signed by the CA.
fn leaf(
    names: Vec<String>,
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> Result<(String, String), String> {
    let key = KeyPair::generate().map_err(|e| format!("make key: {e}"))?;
    let mut params = params(names, common_name)?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(|e| format!("sign {common_name}: {e}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_docker_dind_layout_without_the_ca_key() {
        let files = generate(&TlsSpec {
            extra_sans: vec!["builder.local".into(), "10.0.0.9".into()],
        })
        .unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                "server/ca.pem",
                "server/cert.pem",
                "server/key.pem",
                "client/ca.pem",
                "client/cert.pem",
                "client/key.pem"
            ]
        );
        for f in &files {
            let kind = if f.path.ends_with("key.pem") {
                "PRIVATE KEY"
            } else {
                "CERTIFICATE"
            };
            assert!(f.contents.contains(&format!("BEGIN {kind}")), "{}", f.path);
        }
        // The CA's own key is never written anywhere.
        assert!(!paths.iter().any(|p| p.starts_with("ca/")));
        assert_eq!(files[0].contents, files[3].contents);
        assert_ne!(files[2].contents, files[5].contents);
    }

    #[test]
    fn each_call_makes_a_new_ca() {
        let spec = TlsSpec { extra_sans: vec![] };
        assert_ne!(
            generate(&spec).unwrap()[0].contents,
            generate(&spec).unwrap()[0].contents
        );
    }
}
