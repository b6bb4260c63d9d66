//! A bounded GET against the engine, by hand. bollard reads and decodes an answer whole, and an
//! image's configuration (its labels, environment, healthcheck) is the image author's: a job
//! that names an image with 48 MiB of labels would make every inspect of it cost the driver
//! that much. The image is therefore first read here, at most [`MAX_INSPECT`] bytes; a larger
//! one is refused, and nothing is ever created from it, so no later inspect meets it.

use std::time::Duration;

use super::dialer::Dialer;

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};

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

/// `GET path` on the engine `dialer` reaches, reading at most `cap` bytes of answer.
pub async fn get(dialer: &Dialer, path: &str, cap: usize) -> Result<Answer, String> {
    let exchange = async { exchange(dialer.dial().await?, path, cap).await };
    tokio::time::timeout(GET_TIME, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", GET_TIME.as_secs())))
}

/// HTTP/1.0: the engine answers without chunking and closes the connection at the end.
async fn exchange(mut stream: Box<dyn Io>, path: &str, cap: usize) -> Result<Answer, String> {
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

/// An engine request whose answer is read as it comes (a pull's progress stream), line by line
/// and each line bounded: what the engine says about a pull is largely the registry's text,
/// which the engine passes on whole (64 MiB of a registry's error cost the driver 209 MiB
/// through bollard, which reads an answer whole).
pub struct Opened {
    pub status: u16,
    reader: BufReader<Box<dyn Io>>,
}

/// A connection to the engine, by socket or TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The most of the engine's headers read.
const HEAD_MAX: usize = 16 * 1024;

impl Opened {
    /// The next line (without its `\n`), at most `cap` bytes of it: `(text, cut)`; the rest
    /// of a longer line is read past, never kept. `None` at the end of the answer.
    pub async fn line(&mut self, cap: usize) -> Result<Option<(Vec<u8>, bool)>, String> {
        read_line(&mut self.reader, cap).await
    }

    /// The rest of the answer, at most `cap` bytes of it: `(body, cut)`.
    pub async fn body(mut self, cap: usize) -> Result<(Vec<u8>, bool), String> {
        let mut body = Vec::new();
        (&mut self.reader)
            .take(cap as u64 + 1)
            .read_to_end(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        let cut = body.len() > cap;
        body.truncate(cap);
        Ok((body, cut))
    }
}

/// Send `method target` (path and query, already encoded) with `headers` to the engine
/// `dialer` reaches, and read its status line and headers (at most 16 KiB); the body is left
/// to read.
pub async fn open(
    dialer: &Dialer,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Result<Opened, String> {
    let mut stream = dialer.dial().await?;
    let mut request = format!("{method} {target} HTTP/1.0\r\nHost: docker\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Length: 0\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut status = None;
    let mut read = 0;
    loop {
        let (line, cut) = read_line(&mut reader, HEAD_MAX)
            .await?
            .ok_or("the engine's answer has no end of headers")?;
        read += line.len();
        if cut || read > HEAD_MAX {
            return Err("the engine's headers are too long".into());
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches('\r');
        if status.is_none() {
            let code = line.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok());
            status = Some(code.ok_or_else(|| {
                format!(
                    "the engine answered {}",
                    crate::outcome::one_line(&line.chars().take(80).collect::<String>())
                )
            })?);
        } else if line.is_empty() {
            break;
        }
    }
    Ok(Opened {
        status: status.unwrap_or_default(),
        reader,
    })
}

/// One line of `reader`, at most `cap` bytes kept (see [`Opened::line`]).
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    cap: usize,
) -> Result<Option<(Vec<u8>, bool)>, String> {
    let mut line = Vec::new();
    let mut cut = false;
    let mut any = false;
    loop {
        let buf = reader.fill_buf().await.map_err(|e| e.to_string())?;
        if buf.is_empty() {
            return Ok(any.then_some((line, cut)));
        }
        any = true;
        let (chunk, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (&buf[..at], Some(at + 1)),
            None => (buf, None),
        };
        let room = cap.saturating_sub(line.len());
        cut |= chunk.len() > room;
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = end.unwrap_or(buf.len());
        reader.consume(used);
        if end.is_some() {
            return Ok(Some((line, cut)));
        }
    }
}

/// `pairs` as a URL query, every byte but the unreserved ones percent-encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let escape = |text: &str| {
        let mut out = String::with_capacity(text.len());
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'~' => {
                    out.push(b as char)
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", escape(name), escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The engine's words in an answer it cut short or whole: its `{"message": …}`, or for a
/// progress line its `error`; of an answer cut at the cap, its text as far as read.
pub fn message(body: &[u8], cut: bool) -> String {
    #[derive(serde::Deserialize)]
    struct Said {
        message: Option<String>,
        error: Option<String>,
    }
    if !cut {
        if let Ok(said) = serde_json::from_slice::<Said>(body) {
            if let Some(text) = said.message.or(said.error) {
                return text;
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match ["{\"message\":\"", "{\"errorDetail\":{\"message\":\""]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))
    {
        Some(string) => unescape(string),
        None => text.to_string(),
    }
}

/// The start of a JSON string's contents (cut anywhere) as text: its escapes decoded, up to
/// its closing quote or an escape cut short.
fn unescape(string: &str) -> String {
    let mut out = String::new();
    let mut chars = string.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => {
                let decoded = match chars.next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some('b') => '\u{8}',
                    Some('f') => '\u{c}',
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).collect();
                        match u32::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == 4)
                        {
                            Some(code) => char::from_u32(code).unwrap_or('\u{fffd}'),
                            None => break,
                        }
                    }
                    Some(other) => other,
                    None => break,
                };
                out.push(decoded);
            }
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode what may not stand in a request path as it is; image references keep their
/// `/`, `:` and `@`, which the engine's routes expect.
pub fn encode(path: &str) -> String {
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

    /// A pull's progress stream: each line kept to the cap, the rest of a longer one read past.
    #[tokio::test]
    async fn lines_are_cut_at_the_cap_and_the_next_line_still_read() {
        let flood = format!(
            "{{\"errorDetail\":{{\"message\":\"denied {}",
            "x".repeat(1 << 20)
        );
        let text = format!("{{\"status\":\"a\"}}\n{flood}\"}}}}\nlast");
        let mut reader = tokio::io::BufReader::with_capacity(4096, text.as_bytes());
        let (first, cut) = read_line(&mut reader, 64).await.unwrap().unwrap();
        assert_eq!((first.as_slice(), cut), (&b"{\"status\":\"a\"}"[..], false));
        let (long, cut) = read_line(&mut reader, 64).await.unwrap().unwrap();
        assert!(cut && long.len() == 64, "{}", long.len());
        assert!(message(&long, cut).starts_with("denied xxx"));
        let (last, cut) = read_line(&mut reader, 64).await.unwrap().unwrap();
        assert_eq!((last.as_slice(), cut), (&b"last"[..], false));
        assert_eq!(read_line(&mut reader, 64).await.unwrap(), None);
        assert_eq!(
            message(br#"{"message":"no such image"}"#, false),
            "no such image"
        );
        assert_eq!(message(br#"{"error":"denied"}"#, false), "denied");
        assert_eq!(
            message(br#"{"message":"a\nb\u001b[2K \"q\" \u00e9 \u00"#, true),
            "a\nb\u{1b}[2K \"q\" \u{e9} "
        );
        assert_eq!(
            query(&[("fromImage", "reg:5000/a b@sha256:0"), ("tag", "x&y")]),
            "fromImage=reg%3A5000%2Fa%20b%40sha256%3A0&tag=x%26y"
        );
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
        let dialer = super::Dialer::Unix(path.display().to_string());
        assert_eq!(
            get(&dialer, "/images/x/json", 64 * 1024).await.unwrap(),
            Answer::TooLarge
        );
    }
}
