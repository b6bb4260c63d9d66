//! A registry stub on loopback for tests that need a registry to misbehave: it answers
//! `GET /v2/` as a registry does and gives every other `GET` or `HEAD` the answer the test
//! chose. Anything else, a TLS hello among it (the engine tries HTTPS first), is dropped, so
//! the engine falls back to plain HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// A status line's text (`"404 Not Found"`) and a JSON body.
pub type Answer = (&'static str, Arc<[u8]>);

/// Start the stub; its port. `answer` is called once per request, on that request's thread,
/// so it may take its time (to stall a pull) without holding up other requests.
pub fn stub_registry(answer: impl Fn() -> Answer + Send + Sync + 'static) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = Arc::clone(&answer);
            std::thread::spawn(move || serve(stream, &*answer));
        }
    });
    port
}

fn serve(mut stream: TcpStream, answer: &dyn Fn() -> Answer) {
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap_or(0);
    let request = String::from_utf8_lossy(&buf[..n]);
    if !(request.starts_with("GET ") || request.starts_with("HEAD ")) {
        return;
    }
    let (status, body): Answer = match request.starts_with("GET /v2/ ") {
        true => ("200 OK", Arc::from(&b"{}"[..])),
        false => answer(),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    if !request.starts_with("HEAD ") {
        let _ = stream.write_all(&body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `request` sent to the stub; its whole answer.
    fn ask(port: u16, request: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    /// Engine-free: the stub answers `/v2/` itself, the rest with the test's answer (no body
    /// to a `HEAD`), and drops what is not `GET` or `HEAD`.
    #[test]
    fn the_stub_registry_answers_v2_itself_and_the_rest_as_told() {
        let port = stub_registry(|| ("404 Not Found", Arc::from(&b"{\"errors\":[]}"[..])));
        let v2 = ask(port, "GET /v2/ HTTP/1.1\r\n\r\n");
        assert!(v2.starts_with("HTTP/1.1 200 OK\r\n"), "{v2}");
        assert!(v2.ends_with("\r\n\r\n{}"), "{v2}");
        let get = ask(port, "GET /v2/a/manifests/1 HTTP/1.1\r\n\r\n");
        assert!(get.starts_with("HTTP/1.1 404 Not Found\r\n"), "{get}");
        assert!(get.contains("Content-Length: 13\r\n"), "{get}");
        assert!(get.ends_with("\r\n\r\n{\"errors\":[]}"), "{get}");
        let head = ask(port, "HEAD /v2/a/manifests/1 HTTP/1.1\r\n\r\n");
        assert!(head.ends_with("Connection: close\r\n\r\n"), "{head}");
        assert_eq!(ask(port, "\x16\x03\x01 hello"), "");
    }
}
