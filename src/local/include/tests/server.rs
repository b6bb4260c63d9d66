//! A tiny HTTP/1.1 server on 127.0.0.1 for the fetch tests: fixed answers per path, every
//! request recorded (path and headers) so tests can check what was sent.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

pub fn ok(body: &str) -> Answer {
    Answer {
        status: 200,
        body: body.as_bytes().to_vec(),
        headers: Vec::new(),
    }
}

pub fn status(code: u16) -> Answer {
    Answer {
        status: code,
        body: b"no".to_vec(),
        headers: Vec::new(),
    }
}

pub fn redirect(to: &str) -> Answer {
    Answer {
        status: 302,
        body: Vec::new(),
        headers: vec![("location".into(), to.into())],
    }
}

/// One request as the server saw it: the path with its query, and lowercased headers.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HashMap<String, String>,
}

pub struct Server {
    pub base: String,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Serve `answers` (path with query to answer) until the test process ends.
    pub fn start(answers: &[(&str, Answer)]) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let answers: HashMap<String, Answer> = answers
            .iter()
            .map(|(path, answer)| (path.to_string(), answer.clone()))
            .collect();
        let answers = Arc::new(Mutex::new(answers));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (table, log) = (Arc::clone(&answers), Arc::clone(&seen));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = HashMap::new();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = header.trim_end().split_once(':') {
                        headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
                    }
                }
                log.lock().unwrap().push(Seen {
                    path: path.clone(),
                    headers,
                });
                let answer = table.lock().unwrap().get(&path).cloned();
                let answer = answer.unwrap_or_else(|| status(404));
                let mut head = format!(
                    "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    answer.status,
                    answer.body.len()
                );
                for (name, value) in &answer.headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&answer.body);
            }
        });
        Server {
            base,
            answers,
            seen,
        }
    }

    /// Answer `path` with `answer` from now on.
    pub fn set(&self, path: &str, answer: Answer) {
        self.answers
            .lock()
            .unwrap()
            .insert(path.to_string(), answer);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A loopback URL nothing listens on: fetching it is refused at once.
pub fn closed_base() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
