//! Which addresses a file's include may reach. A `remote:` URL is written by whoever wrote the
//! file, and a local run fetches it from the person's machine, before any job runs and on a
//! plain listing: a URL naming `localhost` or the cloud's metadata address
//! (`169.254.169.254`) would read what only this machine can (a service on its loopback, its
//! cloud credentials) and hand it to the file. So a host that is not one the person named in
//! the config (`local.gitlab_url`, `local.templates_url`) must not be at a loopback,
//! link-local, unspecified or multicast address. Private networks (10/8, 192.168/16, ...) stay
//! reachable: company GitLabs and file servers live there, and the jobs the file defines reach
//! them anyway once they run.
//!
//! The check is made on the addresses the connection will use: literal hosts before each
//! request (redirects too), names in the resolver the client connects with ([`Resolver`]),
//! so a name that resolves to loopback only at connect time is caught as well.
//!
//! A server the person named is its host *and port* (`http://localhost:8080` opens port 8080
//! of this machine, not its other services): the comparison is of [`server_of`]'s form.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;

/// Cloud metadata services outside the link-local ranges: AWS's over IPv6
/// (`fd00:ec2::254`) and Alibaba Cloud's (`100.100.100.200`).
const METADATA: [IpAddr; 2] = [
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
];

/// Whether a file's include may not connect to `ip`.
pub(super) fn forbidden(ip: IpAddr) -> bool {
    if METADATA.contains(&ip) {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                // 0.0.0.0/8, "this network": Linux takes 0.0.0.0 for this machine.
                || v4.octets()[0] == 0
                || v4.is_multicast()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped().or_else(|| embedded(v6)) {
            Some(v4) => forbidden(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    // fe80::/10, link-local.
                    || (first & 0xffc0) == 0xfe80
            }
        },
    }
}

/// The IPv4 address inside an IPv6 one that some networks route to it: IPv4-compatible
/// (`::127.0.0.1`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`). Not `::` and `::1`, which
/// are IPv6's own.
fn embedded(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// Whether `server` ([`server_of`]'s form) is one the person named, compared without case.
pub(super) fn trusted(server: &str, trusted: &[String]) -> bool {
    trusted.iter().any(|t| t.eq_ignore_ascii_case(server))
}

/// The server `uri` names, as [`trusted`] compares it: its host as the URL writes it (a
/// name, an IPv4 address or `[v6]`), `:`, and its port (80 for http, 443 for https unless
/// written).
pub(super) fn server(uri: &http::Uri) -> Option<String> {
    let host = uri.host()?;
    let port = uri.port_u16().or(match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    })?;
    Some(format!("{host}:{port}"))
}

/// The server `url` names ([`server`]).
pub(super) fn server_of(url: &str) -> Option<String> {
    server(&url.parse().ok()?)
}

/// The refusal for `host` at `ip`, one line.
pub(super) fn refusal(host: &str, ip: IpAddr) -> String {
    format!(
        "`{host}` is at {ip}, a loopback, link-local or otherwise local-only address, which \
         an include written in a file may not reach from this machine; name that server in \
         local.gitlab_url or local.templates_url if you trust it"
    )
}

/// A literal address in `host` (`10.0.0.1`, `[::1]`), if it is one.
pub(super) fn literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Name resolution for the include client: the system's, then, unless the client is for a
/// server the person named (`open`, decided for each request from its host and port, as a
/// resolver sees only the name), every forbidden address taken out; none left is an error
/// naming the host.
#[derive(Clone)]
pub(super) struct Resolver {
    pub open: bool,
}

type Resolving = Pin<Box<dyn Future<Output = io::Result<std::vec::IntoIter<SocketAddr>>> + Send>>;

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let open = self.open;
        Box::pin(async move {
            // The connector puts the URL's port on each address.
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if open {
                return Ok(found.into_iter());
            }
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| !forbidden(a.ip()))
                .collect();
            match (allowed.is_empty(), found.first()) {
                (true, Some(first)) => Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    refusal(&host, first.ip()),
                )),
                _ => Ok(allowed.into_iter()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_only_addresses_are_forbidden_and_networks_are_not() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "ff02::1",
            "0.1.2.3",
            "::127.0.0.1",
            "::7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "fd00:ec2::254",
            "100.100.100.200",
        ] {
            assert!(forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "8.8.8.8",
            "2001:db8::1",
            "fd00::1",
            "::0.0.0.2",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "100.100.100.201",
        ] {
            assert!(!forbidden(ip.parse().unwrap()), "{ip}");
        }
        assert_eq!(literal("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(literal("gitlab.example"), None);
        assert!(trusted(
            "GitLab.Example:443",
            &["gitlab.example:443".to_string()]
        ));
        assert_eq!(
            server_of("https://git.corp:8443/a/").as_deref(),
            Some("git.corp:8443")
        );
        assert_eq!(server_of("http://[::1]/").as_deref(), Some("[::1]:80"));
        assert_eq!(server_of("https://u@h/").as_deref(), Some("h:443"));
    }
}
