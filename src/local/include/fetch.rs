//! How included files are fetched: one GET, bounded in size and time. [`super::Http`] does it
//! over HTTP(S); tests serve files from loopback through the same trait.

use std::fmt;
use std::time::Duration;

/// One GET.
pub struct Request<'a> {
    pub url: &'a str,
    /// A header to send (`PRIVATE-TOKEN`/`JOB-TOKEN`): never printed, never sent to another
    /// host after a redirect.
    pub secret_header: Option<(&'static str, &'a str)>,
    /// The body may hold this many bytes; more is [`FetchError::TooLarge`].
    pub max_bytes: usize,
    /// The whole fetch, redirects included, takes at most this long.
    pub timeout: Duration,
    /// Servers (`host:port`) the person named (`local.gitlab_url`, `local.templates_url`):
    /// only these may be at a loopback or link-local address (`guard.rs`).
    pub trusted_hosts: &'a [String],
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("url", &self.url)
            .field("secret_header", &self.secret_header.map(|(name, _)| name))
            .field("max_bytes", &self.max_bytes)
            .field("timeout", &self.timeout)
            .field("trusted_hosts", &self.trusted_hosts)
            .finish()
    }
}

/// Why a fetch gave no file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The server answered with this status (after redirects).
    Status(u16),
    /// The body is longer than [`Request::max_bytes`].
    TooLarge,
    /// No answer: no network, no such host, refused, TLS failed, timed out. A cached copy
    /// would help here, so the message says where the cache is.
    Unreachable(String),
    /// The URL or the answer is unusable (a redirect loop, a redirect to plain HTTP).
    Invalid(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Status(code) => write!(f, "HTTP status {code}"),
            FetchError::TooLarge => write!(f, "the file is too large"),
            FetchError::Unreachable(why) | FetchError::Invalid(why) => f.write_str(why),
        }
    }
}

/// Fetches one URL.
pub trait Fetch: Send + Sync {
    fn get(&self, request: &Request) -> Result<Vec<u8>, FetchError>;
}
