//! A real HTTP server on loopback for the notification tests: it records every request
//! (method, path, headers, body) and answers from a per-test script — 200, a status with
//! headers, or no answer at all (a hung service) — then with a default.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `status`, these headers, this body.
    Status(u16, Vec<(String, String)>, String),
    /// Never answers (the request is held until the server stops): a hung service.
    Hang,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status(200, vec![], r#"{"ok":true}"#.into())
    }

    pub fn status(code: u16, body: &str) -> Reply {
        Reply::Status(code, vec![], body.into())
    }

    /// 429 with a `Retry-After` header.
    pub fn too_many(retry_after_secs: u64) -> Reply {
        Reply::Status(
            429,
            vec![("Retry-After".into(), retry_after_secs.to_string())],
            r#"{"message":"rate limited"}"#.into(),
        )
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("request body is not JSON ({e}): {}", self.body))
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    default: Option<Reply>,
    seen: Vec<Recorded>,
}

/// Stops and joins its thread on drop.
pub struct HttpServer {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    script: Arc<Mutex<Script>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Answers 200 `{"ok":true}` to everything until scripted otherwise.
    pub fn start() -> HttpServer {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = server.server_addr().to_ip().expect("an IP listener");
        let script = Arc::new(Mutex::new(Script {
            default: Some(Reply::ok()),
            ..Script::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let script = Arc::clone(&script);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || serve(&server, &script, &stop))
        };
        HttpServer {
            url: format!("http://{addr}"),
            script,
            stop,
            thread: Some(thread),
        }
    }

    /// Answers the next requests with `replies`, in order, then with the default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().replies.extend(replies);
    }

    /// The answer once the script is used up.
    pub fn default_reply(&self, reply: Reply) {
        self.script.lock().unwrap().default = Some(reply);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.script.lock().unwrap().seen.clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(server: &tiny_http::Server, script: &Mutex<Script>, stop: &AtomicBool) {
    let mut held = vec![];
    while !stop.load(Ordering::Relaxed) {
        let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(50)) else {
            continue;
        };
        let mut body = String::new();
        let _ = req.as_reader().read_to_string(&mut body);
        let recorded = Recorded {
            method: req.method().to_string(),
            path: req.url().to_string(),
            headers: req
                .headers()
                .iter()
                .map(|h| (h.field.to_string(), h.value.to_string()))
                .collect(),
            body,
        };
        let reply = {
            let mut s = script.lock().unwrap();
            s.seen.push(recorded);
            s.replies
                .pop_front()
                .or_else(|| s.default.clone())
                .unwrap_or_else(Reply::ok)
        };
        match reply {
            Reply::Status(code, headers, body) => {
                let mut resp = tiny_http::Response::from_string(body).with_status_code(code);
                resp.add_header(
                    tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                );
                for (k, v) in headers {
                    resp.add_header(tiny_http::Header::from_bytes(k, v).unwrap());
                }
                let _ = req.respond(resp);
            }
            Reply::Hang => held.push(req),
        }
    }
}

/// A loopback URL where nothing listens: a service that is down.
pub fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}
