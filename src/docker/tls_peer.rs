//! What the driver learns of a TLS engine's certificate: the verifier that checks it (against
//! `ca.pem` alone) keeps the last one it accepted, so `executor doctor` can say which names
//! the connection was made under; and the client's own certificate is read before connecting,
//! so an expired one is named as such instead of as the engine's refusal.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use x509_parser::extensions::GeneralName;

/// The engine's certificate (DER) of the last handshake that verified, shared with `Engine`.
pub type Seen = Arc<Mutex<Option<Vec<u8>>>>;

/// The CA's verdict, with the accepted certificate kept.
#[derive(Debug)]
pub struct Recording {
    pub inner: Arc<WebPkiServerVerifier>,
    pub seen: Seen,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.to_vec());
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The names a certificate carries (`DNS:docker.internal, IP:10.0.0.5`) and when it expires.
pub fn describe(der: &[u8]) -> String {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return "a certificate that cannot be read".into();
    };
    let mut names: Vec<String> = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push(format!("DNS:{dns}")),
                GeneralName::IPAddress(bytes) => names.push(format!("IP:{}", ip(bytes))),
                _ => {}
            }
        }
    }
    let names = match names.is_empty() {
        true => "no names".to_string(),
        false => names.join(", "),
    };
    let until = cert.validity().not_after.to_datetime().date();
    crate::outcome::one_line(&format!("{names}; valid until {until}"))
}

fn ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).unwrap_or_default()).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).unwrap_or_default()).to_string(),
        _ => "?".into(),
    }
}

/// Why the client's certificate cannot be used now (expired, or not valid yet), if so.
pub fn out_of_date(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let validity = cert.validity();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    if validity.not_after.timestamp() < now {
        return Some(format!(
            "expired on {}; renew it",
            validity.not_after.to_datetime().date()
        ));
    }
    if validity.not_before.timestamp() > now {
        return Some(format!(
            "is not valid before {}; check the clock",
            validity.not_before.to_datetime().date()
        ));
    }
    None
}
