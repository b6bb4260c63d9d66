//! A bounded GET against the engine, by hand. bollard reads and decodes an answer whole, and an
//! image's configuration (its labels, environment, healthcheck) is the image author's: a job
//! that names an image with 48 MiB of labels would make every inspect of it cost the driver
//! that much. The image is therefore first read here, at most [`MAX_INSPECT`] bytes; a larger
//! one is refused, and nothing is ever created from it, so no later inspect meets it.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The most of one inspect answer read: real images' inspect is a few KiB, rarely tens.
pub const MAX_INSPECT: usize = 1024 * 1024;
/// How long one bounded GET may take, connect to last byte.
const GET_TIME: Duration = Duration::from_secs(30);

/// What a bounded GET found.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200, with the body.
    Ok(Vec<u8>),
    NotFound,
    /// The answer did not fit in the cap.
    TooLarge,
    /// Another status, with its status line.
    Status(String),
}

/// `GET path` on the engine at `host` (`unix:///…` or `tcp://host:port`), reading at most
/// `cap` bytes of answer.
pub async fn get(host: &str, path: &str, cap: usize) -> Result<Answer, String> {
    let exchange = async {
        if let Some(socket) = host.strip_prefix("unix://") {
            let stream = tokio::net::UnixStream::connect(socket).await;
            exchange(stream.map_err(|e| e.to_string())?, path, cap).await
        } else if let Some(addr) = host.strip_prefix("tcp://") {
            let stream = tokio::net::TcpStream::connect(addr).await;
            exchange(stream.map_err(|e| e.to_string())?, path, cap).await
        } else {
            Err(format!("{host} is not an engine address"))
        }
    };
    tokio::time::timeout(GET_TIME, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", GET_TIME.as_secs())))
}

/// HTTP/1.0: the engine answers without chunking and closes the connection at the end.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    path: &str,
    cap: usize,
) -> Result<Answer, String> {
    let request = format!("GET {} HTTP/1.0\r\nHost: docker\r\n\r\n", encode(path));
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // Headers come on top of the body; allow them a little room of their own.
    let limit = cap + 16 * 1024;
    let mut answer = Vec::new();
    (&mut stream)
        .take(limit as u64 + 1)
        .read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    if answer.len() > limit {
        return Ok(Answer::TooLarge);
    }
    parse(&answer)
}

/// The status and body of a whole HTTP answer.
fn parse(answer: &[u8]) -> Result<Answer, String> {
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the engine's answer has no end of headers")?;
    let head = String::from_utf8_lossy(&answer[..split]);
    let status_line = head.lines().next().unwrap_or_default().to_string();
    let code = status_line.split(' ').nth(1).unwrap_or_default();
    Ok(match code {
        "200" => Answer::Ok(answer[split + 4..].to_vec()),
        "404" => Answer::NotFound,
        _ => Answer::Status(status_line),
    })
}

/// Percent-encode what may not stand in a request path as it is; image references keep their
/// `/`, `:` and `@`, which the engine's routes expect.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'/' | b':' | b'@' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_by_status() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Id\":\"x\"}";
        assert_eq!(parse(ok).unwrap(), Answer::Ok(b"{\"Id\":\"x\"}".to_vec()));
        assert_eq!(
            parse(b"HTTP/1.0 404 Not Found\r\n\r\n{}").unwrap(),
            Answer::NotFound
        );
        assert_eq!(
            parse(b"HTTP/1.0 500 Internal Server Error\r\n\r\n").unwrap(),
            Answer::Status("HTTP/1.0 500 Internal Server Error".into())
        );
        assert!(parse(b"garbage").is_err());
    }

    #[test]
    fn paths_keep_reference_characters() {
        assert_eq!(
            encode("/images/reg.example.com:5000/grp/img:1.2@sha256:ab/json"),
            "/images/reg.example.com:5000/grp/img:1.2@sha256:ab/json"
        );
        assert_eq!(encode("/images/a b?c/json"), "/images/a%20b%3Fc/json");
    }

    /// An answer past the cap is not read on.
    #[tokio::test]
    async fn a_flood_is_too_large() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engine.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            if let Ok((mut conn, _)) = listener.accept().await {
                let mut request = [0u8; 256];
                let _ = conn.read(&mut request).await;
                let _ = conn.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
                let chunk = vec![b'y'; 1 << 20];
                while conn.write_all(&chunk).await.is_ok() {}
            }
        });
        let host = format!("unix://{}", path.display());
        assert_eq!(
            get(&host, "/images/x/json", 64 * 1024).await.unwrap(),
            Answer::TooLarge
        );
    }
}
