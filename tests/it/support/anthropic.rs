//! A loopback stand-in for the Anthropic Messages API, for the real-client tier.
//!
//! The real Claude Code, started with `ANTHROPIC_BASE_URL=<base_url()>`, talks to this
//! server instead of the network. Each account is recognised by its OAuth bearer token; the
//! test sets a [`Mode`] per account. `POST /v1/messages` answers with a streamed (SSE)
//! reply or with one of the error shapes the client tells apart: a usage-limit 429 with the
//! unified rate-limit headers of each window and claim the pinned client reads, out of usage
//! credits, a spend limit, a throttle 429, 401, 403, 400 credit balance, 500, 503, 529, a
//! stream that fails or breaks mid-response, a sub-agent that hits the limit, a Bash tool
//! call, and any of these late; anything else is answered `{}`. Every request is logged
//! with the account whose token it carried. Stops on drop.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Which window a usage limit is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    FiveHour,
    SevenDay,
    /// The per-model weekly windows (`seven_day_opus`, `seven_day_sonnet`).
    SevenDayOpus,
    SevenDaySonnet,
}

/// How `POST /v1/messages` answers one account.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// A streamed reply: `Stand-in reply: <LAST USER LINE IN UPPER CASE>.`
    #[default]
    Normal,
    /// HTTP 429 `rate_limit_error` with the unified headers of a subscriber whose window is
    /// exhausted until `reset` (Unix seconds).
    UsageLimit {
        reset: i64,
        window: Window,
    },
    /// HTTP 429 without the unified headers: a throttle, not the account's quota.
    Throttle429,
    ServerError500,
    Overloaded529,
    /// HTTP 429 `rate_limit_error` whose claim is `overage`, rejected because the account
    /// is out of usage credits (extra usage), resetting at `reset`.
    OutOfCredits {
        reset: i64,
    },
    /// HTTP 429 `billing_error` of a monthly spend limit (`org_spend_cap_reached`), as a
    /// gateway enforcing one answers, resetting at `reset`.
    SpendLimit {
        reset: i64,
    },
    /// HTTP 401 `authentication_error`: a token the API does not know.
    InvalidToken401,
    /// HTTP 401 `authentication_error`: an expired OAuth token.
    ExpiredToken401,
    /// HTTP 403 `permission_error`: the organisation is disabled.
    OrgDisabled403,
    /// HTTP 400 `invalid_request_error`: the credit balance is too low (API-key billing).
    CreditBalance400,
    Unavailable503,
    /// A stream that starts a reply, then sends an `error` event (a server error
    /// mid-response).
    ErrorMidStream,
    /// A stream that starts a reply, then breaks off: the body is cut short and the
    /// connection dropped.
    BrokenStream,
    /// The first turn asks for a sub-agent (a `tool_use` of the `Agent` tool); the
    /// sub-agent's requests get the usage-limit 429 of `window`, and so does every turn
    /// after that (the account is at its limit).
    SubAgentLimit {
        reset: i64,
        window: Window,
    },
    /// A turn that offers the Bash tool is answered with a `tool_use` of it running
    /// `command`; the turn that carries its `tool_result` (on whichever account) with
    /// [`TOOL_REPLY`].
    Bash {
        command: String,
    },
    /// `then`'s answer, sent `secs` seconds after the request arrived (it is logged at
    /// once): a turn that stays in flight.
    Slow {
        secs: u64,
        then: Box<Mode>,
    },
}

/// The reply to the `tool_result` of a [`Mode::Bash`] call, in every mode that answers
/// normally.
pub const TOOL_REPLY: &str = "Stand-in reply: TOOL FINISHED.";

/// The ids of [`Mode::Bash`]'s `tool_use` blocks start so.
const BASH_ID: &str = "toolu_standin_bash_";

/// One logged request.
#[derive(Clone, Debug)]
pub struct Request {
    /// The bearer token (or x-api-key).
    pub token: Option<String>,
    /// The account that token belongs to ([`Anthropic::name_token`]).
    pub account: Option<String>,
    pub method: String,
    pub path: String,
    /// `X-Claude-Code-Session-Id`.
    pub session_id: Option<String>,
    /// Length of the body's `messages` array.
    pub messages: Option<usize>,
    pub status: u16,
    pub body: String,
}

impl Request {
    /// A conversation turn: `POST /v1/messages` (not `count_tokens`).
    pub fn is_turn(&self) -> bool {
        self.method == "POST" && self.path.split('?').next() == Some("/v1/messages")
    }

    /// The `tool_result` blocks of the last message: (`tool_use_id`, `is_error`, content
    /// as text).
    pub fn tool_results(&self) -> Vec<(String, bool, String)> {
        let json: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        tool_results(&last_content(&json))
    }

    /// Whether this turn asks the model to go on from a [`Mode::Bash`] call's result.
    pub fn carries_bash_result(&self) -> bool {
        self.tool_results()
            .iter()
            .any(|(id, _, _)| id.starts_with(BASH_ID))
    }
}

/// The content of a request body's last message.
fn last_content(body: &Value) -> Value {
    body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .map_or(Value::Null, |m| m["content"].clone())
}

fn tool_results(content: &Value) -> Vec<(String, bool, String)> {
    content
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["type"] == "tool_result")
        .map(|p| {
            let text = match &p["content"] {
                Value::String(s) => s.clone(),
                other => text_of(other),
            };
            (
                p["tool_use_id"].as_str().unwrap_or("").to_string(),
                p["is_error"].as_bool().unwrap_or(false),
                text,
            )
        })
        .collect()
}

#[derive(Default)]
struct Shared {
    modes: HashMap<String, Mode>,
    /// Token → account name, for the log.
    names: HashMap<String, String>,
    log: Vec<Request>,
}

pub struct Anthropic {
    addr: std::net::SocketAddr,
    server: Arc<tiny_http::Server>,
    shared: Arc<Mutex<Shared>>,
    thread: Option<JoinHandle<()>>,
}

impl Anthropic {
    pub fn start() -> Anthropic {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let addr = server.server_addr().to_ip().expect("an IP listener");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (srv, sh) = (server.clone(), shared.clone());
        let counter = Arc::new(AtomicU64::new(0));
        let thread = std::thread::spawn(move || {
            for rq in srv.incoming_requests() {
                let (sh, counter) = (sh.clone(), counter.clone());
                // One thread per request: a client holding a connection blocks no one.
                std::thread::spawn(move || handle(rq, &sh, &counter));
            }
        });
        Anthropic {
            addr,
            server,
            shared,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`, for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How the account with this token is answered from now on (default: normal).
    pub fn set_mode(&self, token: &str, mode: Mode) {
        self.shared
            .lock()
            .unwrap()
            .modes
            .insert(token.to_string(), mode);
    }

    /// Names the account `token` belongs to: its requests are logged with it.
    pub fn name_token(&self, token: &str, account: &str) {
        self.shared
            .lock()
            .unwrap()
            .names
            .insert(token.to_string(), account.to_string());
    }

    /// The conversation turns so far, oldest first.
    pub fn turns(&self) -> Vec<Request> {
        self.shared
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|r| r.is_turn())
            .cloned()
            .collect()
    }

    /// Waits until a turn satisfies `pred`; panics with the log after `timeout`.
    pub fn wait_turn(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Request) -> bool,
    ) -> Request {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.turns().into_iter().rev().find(|r| pred(r)) {
                return r;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "stand-in: timed out waiting for {what}; turns:\n{}",
                self.summary()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One line per turn, for failure messages.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for r in self.turns() {
            let _ = writeln!(
                out,
                "{} token={} account={} session={} messages={}{}",
                r.status,
                r.token.as_deref().unwrap_or("-"),
                r.account.as_deref().unwrap_or("-"),
                r.session_id.as_deref().unwrap_or("-"),
                r.messages.map_or("-".into(), |n| n.to_string()),
                if r.carries_bash_result() {
                    " (bash result)"
                } else {
                    ""
                },
            );
        }
        out
    }
}

impl Drop for Anthropic {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn epoch_now() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(d.as_secs()).unwrap()
}

fn header(rq: &tiny_http::Request, name: &str) -> Option<String> {
    rq.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

fn handle(mut rq: tiny_http::Request, shared: &Mutex<Shared>, counter: &AtomicU64) {
    let mut raw = Vec::new();
    let _ = rq.as_reader().read_to_end(&mut raw);
    let body = String::from_utf8_lossy(&raw).into_owned();
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let token = header(&rq, "authorization")
        .and_then(|a| a.strip_prefix("Bearer ").map(str::to_string))
        .or_else(|| header(&rq, "x-api-key"));
    let method = rq.method().as_str().to_ascii_uppercase();
    let path = rq.url().to_string();
    let bare = path.split('?').next().unwrap_or("").to_string();
    let (mode, account) = {
        let sh = shared.lock().unwrap();
        let t = token.as_ref();
        (
            t.and_then(|t| sh.modes.get(t).cloned()).unwrap_or_default(),
            t.and_then(|t| sh.names.get(t).cloned()),
        )
    };
    let (mode, delay) = match mode {
        Mode::Slow { secs, then } => (*then, Duration::from_secs(secs)),
        m => (m, Duration::ZERO),
    };
    let (status, headers, out) = if method == "POST" && bare == "/v1/messages" {
        reply(&mode, &json, counter.fetch_add(1, Ordering::SeqCst) + 1)
    } else if method == "POST" && bare == "/v1/messages/count_tokens" {
        (200, json_type(), json!({"input_tokens": 42}).to_string())
    } else {
        (200, json_type(), "{}".into())
    };
    shared.lock().unwrap().log.push(Request {
        token,
        account,
        method,
        path,
        session_id: header(&rq, "x-claude-code-session-id"),
        messages: json["messages"].as_array().map(Vec::len),
        status,
        body,
    });
    std::thread::sleep(delay);
    if headers
        .iter()
        .any(|(k, v)| k == "connection" && v == "close")
    {
        return break_off(rq, status, &headers, &out);
    }
    let parts: Vec<String> = out.split(PAUSE).map(str::to_string).collect();
    let hs = headers
        .iter()
        .map(|(k, v)| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap())
        .collect();
    if parts.len() > 1 {
        let resp = tiny_http::Response::new(status.into(), hs, Paused(parts, 0), None, None);
        let _ = rq.respond(resp);
        return;
    }
    let mut resp = tiny_http::Response::from_string(out).with_status_code(status);
    for h in hs {
        resp.add_header(h);
    }
    let _ = rq.respond(resp);
}

/// A body sent in parts, a second apart: a reply the client has begun to show before the
/// rest arrives.
struct Paused(Vec<String>, usize);

impl std::io::Read for Paused {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.1 < self.0.len() && self.0[self.1].is_empty() {
            self.1 += 1;
            if self.1 < self.0.len() {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        let Some(part) = self.0.get_mut(self.1) else {
            return Ok(0);
        };
        let k = part.len().min(buf.len());
        buf[..k].copy_from_slice(&part.as_bytes()[..k]);
        part.drain(..k);
        Ok(k)
    }
}

/// The head and the first chunk of a chunked reply, then a chunk size that is not one: the
/// client cannot read on and drops the connection, as when a stream breaks off.
fn break_off(rq: tiny_http::Request, status: u16, headers: &[(String, String)], body: &str) {
    let mut raw = format!("HTTP/1.1 {status} OK\r\n");
    for (k, v) in headers.iter().filter(|(k, _)| k != "connection") {
        let _ = write!(raw, "{k}: {v}\r\n");
    }
    let _ = write!(
        raw,
        "transfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\nzz\r\n\r\n",
        body.len()
    );
    let mut w = rq.into_writer();
    let _ = w.write_all(raw.as_bytes());
    let _ = w.flush();
}

type Reply = (u16, Vec<(String, String)>, String);

fn json_type() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/json".into())]
}

fn error(n: u64, status: u16, kind: &str, message: &str, extra: Vec<(String, String)>) -> Reply {
    let mut h = json_type();
    h.push(("request-id".into(), format!("req_standin_{n:06}")));
    h.extend(extra);
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    (status, h, body.to_string())
}

fn reply(mode: &Mode, body: &Value, n: u64) -> Reply {
    match mode {
        Mode::Normal => normal(body, n),
        Mode::UsageLimit { reset, window } => usage_limit(n, *reset, *window),
        Mode::Throttle429 => error(
            n,
            429,
            "rate_limit_error",
            "This request would exceed your account's rate limit. Please try again later.",
            vec![],
        ),
        Mode::ServerError500 => error(n, 500, "api_error", "Internal server error", vec![]),
        Mode::Overloaded529 => error(n, 529, "overloaded_error", "Overloaded", vec![]),
        Mode::OutOfCredits { reset } => {
            let h = unified(&[
                ("status", "rejected".into()),
                ("reset", reset.to_string()),
                ("representative-claim", "overage".into()),
                ("overage-status", "rejected".into()),
                ("overage-reset", reset.to_string()),
                ("overage-disabled-reason", "out_of_credits".into()),
            ]);
            error(n, 429, "rate_limit_error", "Error", h)
        }
        Mode::SpendLimit { reset } => {
            let mut h = unified(&[
                ("status", "rejected".into()),
                ("reset", reset.to_string()),
                ("overage-status", "rejected".into()),
                ("overage-reset", reset.to_string()),
                ("overage-period", "monthly".into()),
                ("overage-disabled-reason", "org_spend_cap_reached".into()),
            ]);
            h.push(("x-should-retry".into(), "false".into()));
            error(n, 429, "billing_error", "spend limit reached", h)
        }
        Mode::InvalidToken401 => error(
            n,
            401,
            "authentication_error",
            "Invalid bearer token",
            vec![],
        ),
        Mode::ExpiredToken401 => error(
            n,
            401,
            "authentication_error",
            "OAuth token has expired. Please obtain a new token or refresh your existing token.",
            vec![],
        ),
        Mode::OrgDisabled403 => error(
            n,
            403,
            "permission_error",
            "This organization has been disabled.",
            vec![],
        ),
        Mode::CreditBalance400 => error(
            n,
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
            vec![],
        ),
        Mode::Unavailable503 => error(n, 503, "api_error", "Service Unavailable", vec![]),
        Mode::ErrorMidStream | Mode::BrokenStream => cut_short(mode, body, n),
        Mode::SubAgentLimit { reset, window } => sub_agent(body, n, *reset, *window),
        Mode::Bash { command } => bash(body, n, command),
        // A slow mode inside a slow mode: the outer delay only.
        Mode::Slow { then, .. } => reply(then, body, n),
    }
}

/// The unified rate-limit headers, named without their common prefix.
fn unified(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (format!("anthropic-ratelimit-unified-{k}"), v.clone()))
        .collect()
}

/// A subscriber's window exhausted until `reset`: the claim names the window, the headers
/// of the rolling windows (`5h`, `7d`) say it is rejected.
fn usage_limit(n: u64, reset: i64, window: Window) -> Reply {
    let (claim, p) = match window {
        Window::FiveHour => ("five_hour", "5h"),
        Window::SevenDay => ("seven_day", "7d"),
        Window::SevenDayOpus => ("seven_day_opus", "7d"),
        Window::SevenDaySonnet => ("seven_day_sonnet", "7d"),
    };
    let h = unified(&[
        ("status", "rejected".into()),
        ("reset", reset.to_string()),
        (&format!("{p}-status"), "rejected".into()),
        (&format!("{p}-reset"), reset.to_string()),
        (&format!("{p}-utilization"), "1.0".into()),
        ("representative-claim", claim.into()),
    ]);
    error(n, 429, "rate_limit_error", "Error", h)
}

/// What the sub-agent is asked; its requests are known by it.
pub const SUBTASK: &str = "STANDIN SUBTASK: say hi";

/// [`Mode::SubAgentLimit`]: the sub-agent's requests and the main agent's turns after it
/// was told the sub-agent failed are refused; the first turn asks for the sub-agent; the
/// others (the main agent's turn on "backgrounded") are answered normally.
fn sub_agent(body: &Value, n: u64, reset: i64, window: Window) -> Reply {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let first = messages.first().map(|m| text_of(&m["content"]));
    let last = messages
        .last()
        .map(|m| m["content"].to_string())
        .unwrap_or_default();
    if first.is_some_and(|t| t.contains(SUBTASK)) || last.contains("<status>failed</status>") {
        return usage_limit(n, reset, window);
    }
    if body.to_string().contains("toolu_standin_agent") {
        return normal(body, n);
    }
    let input = json!({"description": "Stand-in subtask", "prompt": SUBTASK,
        "subagent_type": "general-purpose"});
    let block = json!({"type": "tool_use", "id": "toolu_standin_agent", "name": "Agent",
        "input": {}});
    let delta = json!({"type": "input_json_delta", "partial_json": input.to_string()});
    stream(body, n, &block, &delta, "tool_use")
}

/// [`Mode::Bash`]: a turn of the main agent (it offers the Bash tool) that does not carry
/// a tool result is answered by a call of the tool; anything else normally (the result's
/// turn with [`TOOL_REPLY`]).
fn bash(body: &Value, n: u64, command: &str) -> Reply {
    let offers_bash = body["tools"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["name"] == "Bash"));
    if !offers_bash || !tool_results(&last_content(body)).is_empty() {
        return normal(body, n);
    }
    let input = json!({"command": command, "description": "Stand-in long command"});
    let block = json!({"type": "tool_use", "id": format!("{BASH_ID}{n:06}"), "name": "Bash",
        "input": {}});
    let delta = json!({"type": "input_json_delta", "partial_json": input.to_string()});
    stream(body, n, &block, &delta, "tool_use")
}

/// [`Mode::ErrorMidStream`] and [`Mode::BrokenStream`]: the start of a streamed reply; the
/// rest is decided by [`delivery`]. A request that asks for no stream (the client's retry)
/// gets the same start, which it cannot read either.
fn cut_short(mode: &Mode, body: &Value, n: u64) -> Reply {
    let mut h = vec![
        ("content-type".to_string(), "text/event-stream".to_string()),
        ("request-id".into(), format!("req_standin_{n:06}")),
    ];
    let events = [
        json!({"type": "message_start", "message": {"id": format!("msg_standin_{n:06}"),
            "type": "message", "role": "assistant",
            "model": body["model"].as_str().unwrap_or("claude-opus-5-5"), "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "Stand-in partial reply, cut short"}}),
        json!({"type": "content_block_stop", "index": 0}),
    ];
    let mut sse = sse_of(&events);
    if *mode == Mode::ErrorMidStream {
        let e = json!({"type": "error",
            "error": {"type": "api_error", "message": "Internal server error"}});
        sse.push_str(PAUSE);
        sse.push_str(&sse_of(&[e]));
    } else {
        h.push(("connection".into(), "close".into()));
    }
    (200, h, sse)
}

/// Where [`delivery`] waits before sending the rest: the client shows the partial reply
/// only when it arrived some time before the error.
const PAUSE: &str = "\u{0}pause\u{0}";

fn sse_of(events: &[Value]) -> String {
    let mut sse = String::new();
    for e in events {
        let _ = write!(sse, "event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap());
    }
    sse
}

/// A streamed reply of one content block (`block`, then `delta` into it).
fn stream(body: &Value, n: u64, block: &Value, delta: &Value, stop: &str) -> Reply {
    let model = body["model"].as_str().unwrap_or("claude-opus-5-5");
    let id = format!("msg_standin_{n:06}");
    let usage = json!({"input_tokens": 10, "output_tokens": 8,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    let events = [
        json!({"type": "message_start", "message": {"id": id, "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": usage}}),
        json!({"type": "content_block_start", "index": 0, "content_block": block}),
        json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": stop,
            "stop_sequence": null}, "usage": {"output_tokens": 8}}),
        json!({"type": "message_stop"}),
    ];
    let h = vec![
        ("content-type".to_string(), "text/event-stream".to_string()),
        ("request-id".into(), format!("req_standin_{n:06}")),
    ];
    (200, h, sse_of(&events))
}

/// A normal answer, streamed when asked, with a subscriber's unified headers.
fn normal(body: &Value, n: u64) -> Reply {
    let reset5 = epoch_now() + 3 * 3600;
    let mut h: Vec<(String, String)> = [
        ("status", "allowed".to_string()),
        ("reset", reset5.to_string()),
        ("5h-status", "allowed".into()),
        ("5h-reset", reset5.to_string()),
        ("5h-utilization", "0.12".into()),
        ("representative-claim", "five_hour".into()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("anthropic-ratelimit-unified-{k}"), v))
    .collect();
    h.push(("request-id".into(), format!("req_standin_{n:06}")));
    let text = reply_text(body);
    let model = body["model"].as_str().unwrap_or("claude-opus-5-5");
    let usage = json!({"input_tokens": 10, "output_tokens": 8,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    let id = format!("msg_standin_{n:06}");
    if body["stream"].as_bool() != Some(true) {
        h.extend(json_type());
        let msg = json!({"id": id, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": null, "usage": usage});
        return (200, h, msg.to_string());
    }
    h.push(("content-type".into(), "text/event-stream".into()));
    let events = [
        json!({"type": "message_start", "message": {"id": id, "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": usage}}),
        json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn",
            "stop_sequence": null}, "usage": {"output_tokens": 8}}),
        json!({"type": "message_stop"}),
    ];
    let mut sse = String::new();
    for e in &events {
        let _ = write!(sse, "event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap());
    }
    (200, h, sse)
}

/// `Stand-in reply: <the last user line, upper-cased>.`: unlike the prompt line on screen,
/// so a test can wait for it; [`TOOL_REPLY`] to a [`Mode::Bash`] call's result alone.
pub fn reply_text(body: &Value) -> String {
    let last_user = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"));
    let bash_result = last_user.is_some_and(|m| {
        tool_results(&m["content"])
            .iter()
            .any(|(id, _, _)| id.starts_with(BASH_ID))
    });
    let last_user = last_user
        .map(|m| text_of(&m["content"]))
        .unwrap_or_default();
    let line = last_user
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('<'))
        .unwrap_or("")
        .chars()
        .take(200)
        .collect::<String>();
    // A prompt typed after a tool result the model never answered (the turn stopped
    // there) goes out in the result's message: the prompt is answered.
    if bash_result && line.is_empty() {
        return TOOL_REPLY.to_string();
    }
    format!("Stand-in reply: {}.", line.to_uppercase())
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .filter(|t| !t.trim_start().starts_with("<system-reminder>"))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}
