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

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;

/// Whether a file's include may not connect to `ip`.
pub(super) fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
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

/// Whether `host` (as a URL writes it: a name, an IPv4 address or `[v6]`) is one the person
/// named, compared without case.
pub(super) fn trusted(host: &str, trusted: &[String]) -> bool {
    trusted.iter().any(|t| t.eq_ignore_ascii_case(host))
}

/// The host part of `url`, as [`trusted`] compares it.
pub(super) fn host_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    uri.host().map(str::to_string)
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

/// Name resolution for the include client: the system's, then every forbidden address of a
/// host the person did not name taken out; none left is an error naming the host.
#[derive(Clone)]
pub(super) struct Resolver {
    pub trusted: Arc<Vec<String>>,
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
        let open = trusted(&host, &self.trusted);
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
        ] {
            assert!(!forbidden(ip.parse().unwrap()), "{ip}");
        }
        assert_eq!(literal("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(literal("gitlab.example"), None);
        assert!(trusted("GitLab.Example", &["gitlab.example".to_string()]));
        assert_eq!(
            host_of("https://git.corp:8443/a/").as_deref(),
            Some("git.corp")
        );
        assert_eq!(host_of("http://[::1]:80/").as_deref(), Some("[::1]"));
    }
}
