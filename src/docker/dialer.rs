//! How to open a connection of the driver's own to the engine, for the bounded requests of
//! `raw` (bollard reads answers whole): the socket, plain TCP, or TCP with the same TLS
//! client configuration bollard's requests use (the engine's certificate checked against
//! `ca.pem` alone, the client's presented).

use std::sync::Arc;

use rustls::pki_types::ServerName;

use super::raw::Io;

#[derive(Clone)]
pub enum Dialer {
    Unix(String),
    Tcp(String),
    Tls {
        addr: String,
        config: Arc<rustls::ClientConfig>,
    },
}

impl Dialer {
    pub async fn dial(&self) -> Result<Box<dyn Io>, String> {
        match self {
            Dialer::Unix(path) => Ok(Box::new(
                tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| e.to_string())?,
            )),
            Dialer::Tcp(addr) => {
                let tcp = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = tcp.set_nodelay(true);
                Ok(Box::new(tcp))
            }
            Dialer::Tls { addr, config } => {
                let host = match addr.rsplit_once(':') {
                    Some((host, _)) => host.trim_start_matches('[').trim_end_matches(']'),
                    None => addr.as_str(),
                };
                let name = ServerName::try_from(host.to_string())
                    .map_err(|e| format!("`{host}` is not a host name: {e}"))?;
                let tcp = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = tcp.set_nodelay(true);
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS with the engine at tcp://{addr}: {e}"))?;
                Ok(Box::new(tls))
            }
        }
    }
}
