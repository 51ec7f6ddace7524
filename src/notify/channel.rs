//! The three channels — Telegram `sendMessage`, Resend `POST /emails`, a JSON webhook —
//! and what their answers mean: delivered, worth another try later, or refused for good.
//!
//! Every error text leaves here with the request URL stripped and the channel's secrets
//! replaced by `<redacted>`: a Telegram URL holds the bot token.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

use super::event::Message;
use crate::config::{Notifications, Resend, Telegram, Webhook};
use crate::secret::{self, Secret, Source, Unavailable};

/// Channel names, as `notify test` and the logs spell them.
pub const NAMES: [&str; 3] = ["telegram", "resend", "webhook"];

/// Connects that take longer than this fail fast even when the total timeout is longer:
/// a dead host should cost seconds, not the whole timeout.
const MAX_CONNECT: Duration = Duration::from_secs(3);

/// A configured channel, its secret not yet read.
#[derive(Debug, Clone, Copy)]
pub struct Channel<'a> {
    pub name: &'static str,
    events: &'a [String],
    target: Target<'a>,
}

impl PartialEq for Channel<'_> {
    /// One channel of each name is configured at most.
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Telegram(&'a Telegram),
    Resend(&'a Resend),
    Webhook(&'a Webhook),
}

/// The channels the config sets up, in [`NAMES`] order.
pub fn configured(n: &Notifications) -> Vec<Channel<'_>> {
    let mut out = vec![];
    if let Some(t) = &n.telegram {
        out.push(Channel {
            name: "telegram",
            events: &t.events,
            target: Target::Telegram(t),
        });
    }
    if let Some(r) = &n.resend {
        out.push(Channel {
            name: "resend",
            events: &r.events,
            target: Target::Resend(r),
        });
    }
    if let Some(w) = &n.webhook {
        out.push(Channel {
            name: "webhook",
            events: &w.events,
            target: Target::Webhook(w),
        });
    }
    out
}

/// The HTTP client every send of a run shares. Built only when something is to be sent:
/// loading the TLS roots costs time on every run otherwise.
/// How much of an error answer is read.
const MAX_BODY: u64 = 64 * 1024;
/// The longest wait a service may ask for: the outbox's own longest backoff.
const MAX_RETRY_AFTER: u64 = 3600;

/// Makes ring rustls's process-wide crypto provider. reqwest is built without a provider
/// of its own (`rustls-no-provider`): its default, aws-lc-rs, compiles aws-lc-sys (C),
/// which was most of a clean build, and reqwest panics building a client when no
/// provider is installed. So every client is built after this. Idempotent: a second call
/// (a second client in one run) finds ring installed, and its `Err` is ignored.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn client(timeout: Duration) -> reqwest::Result<Client> {
    install_crypto_provider();
    Client::builder()
        .connect_timeout(timeout.min(MAX_CONNECT))
        .timeout(timeout)
        // A redirect is followed only to the same scheme, host and port: the request
        // carries secrets (a webhook's headers, a token in a path) that another host
        // must not get. Anything else is the answer, and not a delivery.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same = attempt.previous().first().is_some_and(|first| {
                first.scheme() == attempt.url().scheme()
                    && first.host_str() == attempt.url().host_str()
                    && first.port_or_known_default() == attempt.url().port_or_known_default()
            });
            if same && attempt.previous().len() < 5 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .user_agent(concat!("ccf/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why a send did not deliver. The text names no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Connect error, timeout, 5xx, 429: worth another try later.
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Any other answer (a bad token, a bad chat id): retrying will not help.
    Refused { error: String },
}

impl Failure {
    pub fn error(&self) -> &str {
        match self {
            Failure::Transient { error, .. } | Failure::Refused { error } => error,
        }
    }
}

impl<'a> Channel<'a> {
    /// Whether this channel's `events` filter lets `kind` through (empty = all).
    pub fn admits(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == kind)
    }

    /// Reads the channel's secret; `env` is the process environment.
    pub fn ready(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Ready<'a>, Unavailable> {
        let source = match self.target {
            Target::Telegram(t) => Source::of(
                t.bot_token.as_ref(),
                t.bot_token_file.as_ref(),
                t.bot_token_env.as_ref(),
            ),
            Target::Resend(r) => Source::of(
                r.api_key.as_ref(),
                r.api_key_file.as_ref(),
                r.api_key_env.as_ref(),
            ),
            Target::Webhook(_) => None,
        };
        let secret = source.map(|s| secret::resolve(s, env)).transpose()?;
        Ok(Ready {
            name: self.name,
            target: self.target,
            secret,
        })
    }
}

/// A channel with its secret in hand, able to send.
#[derive(Debug)]
pub struct Ready<'a> {
    pub name: &'static str,
    target: Target<'a>,
    secret: Option<Secret>,
}

impl Ready<'_> {
    pub fn send(&self, client: &Client, m: &Message) -> Result<(), Failure> {
        let result = self.request(client, m).send();
        let secrets = self.secrets();
        classify(result).map_err(|f| match f {
            Failure::Transient { error, retry_after } => Failure::Transient {
                error: secret::redact(&error, &secrets),
                retry_after,
            },
            Failure::Refused { error } => Failure::Refused {
                error: secret::redact(&error, &secrets),
            },
        })
    }

    fn request(&self, client: &Client, m: &Message) -> RequestBuilder {
        let key = self.secret.as_ref().map_or("", Secret::expose);
        match self.target {
            Target::Telegram(t) => client
                .post(format!(
                    "{}/bot{key}/sendMessage",
                    t.api_base.trim_end_matches('/')
                ))
                .json(&json!({
                    "chat_id": t.chat_id,
                    "text": m.text,
                    "disable_web_page_preview": true,
                })),
            Target::Resend(r) => client
                .post(format!("{}/emails", r.api_base.trim_end_matches('/')))
                .bearer_auth(key)
                .json(&json!({
                    "from": r.from,
                    "to": r.to,
                    "subject": m.subject,
                    "text": m.text,
                })),
            Target::Webhook(w) => {
                let mut req = client.post(&w.url);
                for (k, v) in &w.headers {
                    req = req.header(k, v.expose());
                }
                req.json(&json!({
                    "event": m.kind,
                    "text": m.text,
                    "subject": m.subject,
                    "at": m.at,
                    "host": m.host,
                    "details": m.details,
                }))
            }
        }
    }

    /// Everything that must not appear in an error: the token or key, and the webhook's
    /// header values (an `Authorization` header is a secret too).
    fn secrets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.secret.iter().map(Secret::expose).collect();
        if let Target::Webhook(w) = self.target {
            out.extend(w.headers.values().map(Secret::expose));
            // A URL often carries the token itself (a path, a query, user:password@).
            if url_holds_secret(&w.url) {
                out.push(w.url.as_str());
                if let Some(rest) = path_and_query(&w.url).filter(|r| r.len() > 1) {
                    out.push(rest);
                }
            }
        }
        out
    }
}

/// Whether a webhook URL carries a secret: `user:password@`, a query string, or a path
/// segment that looks like a token (16 or more letters and digits, both kinds).
pub fn url_holds_secret(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') || rest.contains('?') {
        return true;
    }
    rest.split('/').skip(1).any(|seg| {
        seg.len() >= 16
            && seg.chars().any(|c| c.is_ascii_digit())
            && seg.chars().any(|c| c.is_ascii_alphabetic())
    })
}

/// The part of a URL after its authority (`/hook/T0k3n?x=y`).
fn path_and_query(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    rest.find('/').map(|i| &rest[i..])
}

fn classify(result: reqwest::Result<Response>) -> Result<(), Failure> {
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            let refused = e.is_builder();
            let error = error_text(e);
            return Err(if refused {
                Failure::Refused { error }
            } else {
                Failure::Transient {
                    error,
                    retry_after: None,
                }
            });
        }
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let header_wait = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // An error answer is read bounded: its first words are all a message needs.
    let mut raw = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_BODY), &mut raw);
    let body = String::from_utf8_lossy(&raw);
    let (description, body_wait) = describe(&body);
    let error = match description {
        Some(d) => format!("HTTP {status}: {d}"),
        None => format!("HTTP {status}"),
    };
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let retry_after = header_wait
            .or(body_wait)
            .map(|s| Duration::from_secs(s.min(MAX_RETRY_AFTER)));
        Err(Failure::Transient { error, retry_after })
    } else {
        Err(Failure::Refused { error })
    }
}

/// The useful part of an error answer, and Telegram's `parameters.retry_after`.
fn describe(body: &str) -> (Option<String>, Option<u64>) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let wait = v["parameters"]["retry_after"].as_u64();
    let text = ["description", "message", "error"]
        .iter()
        .find_map(|k| v[*k].as_str().map(str::to_string))
        .or_else(|| {
            let t = body.trim();
            (!t.is_empty() && !t.starts_with('<')).then(|| t.to_string())
        })
        .map(|t| crate::human::printable(&t.chars().take(200).collect::<String>()).into_owned());
    (text, wait)
}

/// A reqwest error without its URL, with its causes (reqwest's own text hides them).
fn error_text(e: reqwest::Error) -> String {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if timeout && !text.contains("timed out") {
        text.push_str(" (timed out)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_builds_twice_with_ring_as_the_provider() {
        // Without a provider installed, reqwest panics in `build`.
        for _ in 0..2 {
            client(Duration::from_secs(1)).expect("the client builds");
        }
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }

    #[test]
    fn describe_finds_telegram_s_reason_and_wait() {
        let (d, w) = describe(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
        );
        assert_eq!(d.as_deref(), Some("Too Many Requests: retry after 7"));
        assert_eq!(w, Some(7));
        let (d, w) = describe(
            r#"{"statusCode":422,"message":"Invalid `to` field","name":"validation_error"}"#,
        );
        assert_eq!(d.as_deref(), Some("Invalid `to` field"));
        assert_eq!(w, None);
        assert_eq!(describe("<html>bad gateway</html>"), (None, None));
        assert_eq!(describe("").0, None);
    }

    #[test]
    fn an_empty_filter_admits_every_event_and_a_list_only_its_own() {
        let n: Notifications = serde_yaml::from_str(
            "telegram: {bot_token_env: T, chat_id: '1'}\nresend: {api_key_env: K, from: a@b, to: [c@d], events: [swap_done]}\n",
        )
        .unwrap();
        let ch = configured(&n);
        assert_eq!(
            ch.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["telegram", "resend"]
        );
        assert!(ch[0].admits("degraded") && ch[0].admits("swap_done"));
        assert!(ch[1].admits("swap_done") && !ch[1].admits("degraded"));
    }
}
