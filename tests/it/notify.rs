//! Notifications end to end against a real loopback HTTP server: the exact request of
//! each channel, the outbox across runs (down, 500, 429, the bound), the lock between
//! runs, `notify test`, and that no secret ever reaches output or files.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::http::{HttpServer, Reply, dead_url};
use crate::support::{Sandbox, sandbox::set_mode};

const TOKEN: &str = "123456:TG-secret-token";
const KEY: &str = "re_resend-secret-key";
const HOOK_TOKEN: &str = "hook-secret-header";

/// Which channels a test configures, and where they point.
#[derive(Default)]
struct Channels {
    telegram: Option<String>,
    resend: Option<String>,
    webhook: Option<String>,
    extra: &'static str,
}

/// Writes the sandbox config with these channels; the token is in a file, the key in
/// `$RESEND_KEY` (set by [`ccf`]), the webhook has a secret header.
fn configure(sb: &Sandbox, c: &Channels) {
    let secrets = sb.path("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    let token = secrets.join("tg");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    set_mode(&token, 0o600);
    let timeout = if c.extra.contains("timeout:") {
        ""
    } else {
        "  timeout: 2s\n"
    };
    let mut y = format!(
        "{}notifications:\n{timeout}{}",
        sb.default_config(),
        c.extra
    );
    if let Some(u) = &c.telegram {
        let _ = write!(
            y,
            "  telegram:\n    bot_token_file: {}\n    chat_id: \"42\"\n    api_base: {u}\n",
            token.display()
        );
    }
    if let Some(u) = &c.resend {
        let _ = write!(
            y,
            "  resend:\n    api_key_env: RESEND_KEY\n    from: \"ccf <ccf@example.org>\"\n    to: [op@example.org]\n    api_base: {u}\n"
        );
    }
    if let Some(u) = &c.webhook {
        let _ = write!(
            y,
            "  webhook:\n    url: {u}/hook\n    headers: {{X-Token: {HOOK_TOKEN}}}\n"
        );
    }
    sb.write_config(&y);
    set_mode(&sb.config, 0o600);
}

fn ccf(sb: &Sandbox, args: &[&str]) -> crate::support::Run {
    sb.ccf(args).env("RESEND_KEY", KEY)
}

fn outbox(sb: &Sandbox) -> PathBuf {
    sb.path("state/outbox")
}

static QUEUED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Puts a message in the outbox as `emit` would, created `age_secs` ago.
fn queue(sb: &Sandbox, event: &Value, age_secs: i64) -> PathBuf {
    let created = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(age_secs);
    let dir = outbox(sb);
    std::fs::create_dir_all(&dir).unwrap();
    let n = QUEUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{}-{n:04}.json", created.as_millisecond()));
    let record = json!({"created_at": created, "attempts": 0, "event": event});
    std::fs::write(&path, record.to_string()).unwrap();
    path
}

fn swap_done() -> Value {
    json!({"kind": "swap_done", "from": "compte1", "to": "compte2", "reason": "usage limit",
           "moved": ["ccl-1-proj", "ccl-auto-11"], "failed": []})
}

/// The outbox's messages (not the lock or temp files).
fn queued(sb: &Sandbox) -> Vec<Value> {
    let Ok(rd) = std::fs::read_dir(outbox(sb)) else {
        return vec![];
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v.iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// Every file under `dir`, with its content.
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
    out
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn each_channel_sends_exactly_the_documented_request() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    configure(
        &sb,
        &Channels {
            telegram: Some(format!("{}/tg", srv.url)),
            resend: Some(format!("{}/resend/", srv.url)),
            webhook: Some(srv.url.clone()),
            ..Channels::default()
        },
    );
    queue(&sb, &swap_done(), 0);
    ccf(&sb, &["check-quota"]).run();
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    let subject = "ccf: swapped compte1 → compte2 (usage limit)";

    let tg = &reqs[0];
    assert_eq!(
        (tg.method.as_str(), tg.path.as_str()),
        ("POST", format!("/tg/bot{TOKEN}/sendMessage").as_str())
    );
    assert_eq!(tg.header("content-type"), Some("application/json"));
    let body = tg.json();
    assert_eq!(body["chat_id"], "42");
    assert_eq!(body["disable_web_page_preview"], true);
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "{subject}\nmoved 2: ccl-1-proj, ccl-auto-11\n{} · ",
            hostname()
        )),
        "{text}"
    );
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");

    let rs = &reqs[1];
    assert_eq!(
        (rs.method.as_str(), rs.path.as_str()),
        ("POST", "/resend/emails")
    );
    assert_eq!(
        rs.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        rs.json(),
        json!({"from": "ccf <ccf@example.org>", "to": ["op@example.org"], "subject": subject, "text": text})
    );

    let wh = &reqs[2];
    assert_eq!((wh.method.as_str(), wh.path.as_str()), ("POST", "/hook"));
    assert_eq!(wh.header("x-token"), Some(HOOK_TOKEN));
    let body = wh.json();
    assert_eq!(body["event"], "swap_done");
    assert_eq!(body["subject"], subject);
    assert_eq!(body["text"], text);
    assert_eq!(body["host"], hostname());
    assert_eq!(body["details"], swap_done());
    assert!(body["at"].as_str().unwrap().ends_with('Z'), "{body}");

    assert!(
        queued(&sb).is_empty(),
        "delivered messages leave the outbox"
    );
    ccf(&sb, &["check-quota"]).run();
    assert_eq!(srv.requests().len(), 3, "and are never sent again");
}

#[test]
fn with_the_service_down_the_command_succeeds_and_the_next_run_delivers_once() {
    let sb = Sandbox::new();
    let down = Channels {
        telegram: Some(dead_url()),
        ..Channels::default()
    };
    configure(&sb, &down);
    queue(
        &sb,
        &json!({"kind": "degraded", "reason": "link diverged"}),
        0,
    );
    let out = ccf(&sb, &["check-quota"])
        .stderr_has("telegram is unreachable")
        .run();
    assert!(
        !out.stderr.lines().any(|l| l.starts_with("error:")),
        "{}",
        out.stderr
    );
    let q = queued(&sb);
    assert_eq!(q.len(), 1, "the message waits");
    assert_eq!(q[0]["attempts"], 1);
    assert!(q[0]["errors"]["telegram"].is_string(), "{}", q[0]);

    let srv = HttpServer::start();
    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            ..Channels::default()
        },
    );
    ccf(&sb, &["check-quota"]).stderr_empty().run();
    ccf(&sb, &["check-quota"]).stderr_empty().run();
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1, "delivered exactly once: {reqs:#?}");
    assert!(
        reqs[0].json()["text"]
            .as_str()
            .unwrap()
            .contains("link diverged")
    );
    assert!(queued(&sb).is_empty());
}

#[test]
fn a_500_is_retried_at_the_next_run() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    srv.script([Reply::status(500, "oops")]);
    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            ..Channels::default()
        },
    );
    queue(&sb, &json!({"kind": "test"}), 0);
    ccf(&sb, &["check-quota"])
        .stderr_has("HTTP 500 Internal Server Error: oops")
        .run();
    assert_eq!(queued(&sb)[0]["attempts"], 1);
    ccf(&sb, &["check-quota"]).stderr_empty().run();
    assert_eq!(srv.requests().len(), 2);
    assert!(queued(&sb).is_empty());
}

#[test]
fn a_429_is_retried_no_sooner_than_the_service_asks() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    // Retry-After header, then Telegram's own parameters.retry_after.
    srv.script([
        Reply::too_many(600),
        Reply::status(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 900","parameters":{"retry_after":900}}"#,
        ),
    ]);
    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            ..Channels::default()
        },
    );
    let path = queue(&sb, &json!({"kind": "test"}), 0);
    for wait in [600, 900] {
        let before = jiff::Timestamp::now();
        ccf(&sb, &["check-quota"]).stderr_has("429").run();
        let rec = &queued(&sb)[0];
        let next: jiff::Timestamp = rec["next_at"].as_str().unwrap().parse().unwrap();
        assert!(
            next >= before + jiff::SignedDuration::from_secs(wait - 5),
            "next try at {next}, asked to wait {wait}s"
        );
        // Not due: the next run leaves it alone.
        ccf(&sb, &["check-quota"]).stderr_empty().run();
        // Time passes: pretend the wait is over.
        let mut rec = rec.clone();
        rec["next_at"] = json!(before);
        std::fs::write(&path, rec.to_string()).unwrap();
    }
    ccf(&sb, &["check-quota"]).stderr_empty().run();
    assert_eq!(srv.requests().len(), 3);
    assert!(queued(&sb).is_empty());
}

#[test]
fn a_message_delivered_on_one_channel_is_retried_only_on_the_other() {
    let sb = Sandbox::new();
    let tg = HttpServer::start();
    let rs = HttpServer::start();
    rs.script([Reply::status(502, "")]);
    configure(
        &sb,
        &Channels {
            telegram: Some(tg.url.clone()),
            resend: Some(rs.url.clone()),
            ..Channels::default()
        },
    );
    queue(&sb, &swap_done(), 0);
    ccf(&sb, &["check-quota"])
        .stderr_has("resend is unreachable")
        .run();
    assert_eq!(queued(&sb)[0]["done"]["telegram"], "delivered");
    ccf(&sb, &["check-quota"]).stderr_empty().run();
    assert_eq!((tg.requests().len(), rs.requests().len()), (1, 2));
    assert!(queued(&sb).is_empty());
}

#[test]
fn a_refusal_drops_the_message_for_that_channel_at_once() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    srv.default_reply(Reply::status(
        401,
        r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
    ));
    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            ..Channels::default()
        },
    );
    queue(&sb, &json!({"kind": "test"}), 0);
    ccf(&sb, &["check-quota"])
        .stderr_has("warning: telegram refused the test notification, which it will not get: HTTP 401 Unauthorized: Unauthorized")
        .run();
    assert!(queued(&sb).is_empty());
    ccf(&sb, &["check-quota"]).stderr_empty().run();
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn the_bound_drops_a_message_that_can_never_be_delivered() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    srv.default_reply(Reply::status(503, "maintenance"));
    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            extra: "  max_attempts: 2\n  max_age: 1h\n",
            ..Channels::default()
        },
    );
    queue(&sb, &json!({"kind": "test"}), 0);
    ccf(&sb, &["check-quota"]).run();
    assert_eq!(queued(&sb).len(), 1);
    ccf(&sb, &["check-quota"])
        .stderr_has("warning: dropped the test notification of ")
        .stderr_has(": 2 attempts failed; telegram: HTTP 503 Service Unavailable: maintenance")
        .run();
    assert!(queued(&sb).is_empty());
    assert_eq!(srv.requests().len(), 2);

    // Too old: dropped without a try.
    queue(&sb, &json!({"kind": "test"}), 7200);
    ccf(&sb, &["check-quota"])
        .stderr_has(": older than 1h")
        .run();
    assert!(queued(&sb).is_empty());
    assert_eq!(srv.requests().len(), 2);
}

#[test]
fn a_hung_service_is_tried_once_per_run_whatever_is_queued() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    srv.default_reply(Reply::Hang);
    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            extra: "  timeout: 1s\n",
            ..Channels::default()
        },
    );
    for _ in 0..3 {
        queue(&sb, &json!({"kind": "test"}), 0);
    }
    ccf(&sb, &["check-quota"])
        .stderr_has("telegram is unreachable")
        .run();
    assert_eq!(srv.requests().len(), 1, "one timeout per channel per run");
    let q = queued(&sb);
    assert_eq!(q.len(), 3);
    assert_eq!(
        q.iter()
            .map(|r| r["attempts"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 0, 0],
        "messages not tried keep their attempts"
    );
}

#[test]
fn a_run_that_finds_the_outbox_being_delivered_leaves_it_alone() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            ..Channels::default()
        },
    );
    queue(&sb, &json!({"kind": "test"}), 0);
    let held = File::create(outbox(&sb).join(".lock")).unwrap();
    held.try_lock().unwrap();
    ccf(&sb, &["check-quota"]).stderr_empty().run();
    assert_eq!(srv.requests().len(), 0);
    assert_eq!(queued(&sb).len(), 1);
    drop(held);
    ccf(&sb, &["check-quota"]).run();
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn notify_test_sends_on_every_channel_and_reports_each() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    let broken = HttpServer::start();
    broken.default_reply(Reply::status(500, "down"));
    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            resend: Some(srv.url.clone()),
            webhook: Some(srv.url.clone()),
            // The filters do not apply to a test.
            extra: "",
        },
    );
    ccf(&sb, &["notify", "test"])
        .stdout_has("telegram: ok\nresend: ok\nwebhook: ok\n")
        .stderr_empty()
        .run();
    let paths: Vec<String> = srv.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            format!("/bot{TOKEN}/sendMessage"),
            "/emails".into(),
            "/hook".into()
        ]
    );
    assert!(
        srv.requests()[1].json()["subject"]
            .as_str()
            .unwrap()
            .starts_with("ccf: test message")
    );
    assert!(queued(&sb).is_empty(), "not through the outbox");

    ccf(&sb, &["notify", "test", "webhook"])
        .stdout_has("webhook: ok")
        .stdout_lacks("telegram")
        .run();
    assert_eq!(srv.requests().len(), 4);

    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            resend: Some(broken.url.clone()),
            ..Channels::default()
        },
    );
    ccf(&sb, &["notify", "test"])
        .code(1)
        .stdout_has("telegram: ok\nresend: failed: HTTP 500 Internal Server Error: down\n")
        .stderr_has("error: 1 channel failed\n")
        .run();
    ccf(&sb, &["notify", "test", "slack"])
        .code(1)
        .stderr_has("unknown channel \"slack\"; channels are telegram, resend, webhook")
        .run();
    ccf(&sb, &["notify", "test", "webhook"])
        .code(1)
        .stderr_has("channel webhook is not configured")
        .stderr_has("(configured: telegram, resend)")
        .run();
}

#[test]
fn no_secret_reaches_output_state_or_outbox() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    srv.default_reply(Reply::status(500, "nope"));
    let mut outputs = vec![];
    // A failing server, then a dead one: both error paths, with -vv for every log line.
    for url in [srv.url.clone(), dead_url()] {
        configure(
            &sb,
            &Channels {
                telegram: Some(url.clone()),
                resend: Some(url.clone()),
                webhook: Some(url.clone()),
                ..Channels::default()
            },
        );
        queue(&sb, &swap_done(), 0);
        for args in [&["-vv", "check-quota"][..], &["-vv", "notify", "test"][..]] {
            let mut run = ccf(&sb, args);
            if args[1] == "notify" {
                run = run.code(1).stderr_has("error: 3 channels failed");
            }
            let out = run.run();
            outputs.push(out.stdout);
            outputs.push(out.stderr);
        }
    }
    assert!(!srv.requests().is_empty());
    let files = all_files(&sb.path("state"));
    assert!(
        files.iter().any(|(p, _)| p.starts_with(outbox(&sb))),
        "{files:?}"
    );
    for secret in [TOKEN, KEY, HOOK_TOKEN] {
        for o in &outputs {
            assert!(!o.contains(secret), "{secret} printed:\n{o}");
        }
        for (p, bytes) in &files {
            assert!(
                !String::from_utf8_lossy(bytes).contains(secret),
                "{secret} in {}",
                p.display()
            );
        }
    }
}

#[test]
fn validate_flags_a_secret_header_in_a_config_others_can_read() {
    let sb = Sandbox::new();
    configure(
        &sb,
        &Channels {
            webhook: Some(dead_url()),
            ..Channels::default()
        },
    );
    set_mode(&sb.config, 0o644);
    let out = sb
        .ccf(&["validate"])
        .code(3)
        .stderr_has("problems found")
        .run();
    assert!(
        out.stdout
            .contains("holds a secret inline and others can read it"),
        "{}",
        out.stdout
    );
    set_mode(&sb.config, 0o600);
    let out = sb
        .ccf(&["validate"])
        .code(3)
        .stderr_has("problems found")
        .run();
    assert!(
        !out.stdout.contains("holds a secret inline"),
        "{}",
        out.stdout
    );
}

#[test]
fn without_a_channel_queued_events_are_let_go() {
    let sb = Sandbox::new();
    queue(&sb, &swap_done(), 0);
    sb.ccf(&["check-quota"]).stderr_empty().run();
    assert!(queued(&sb).is_empty());
}

/// A read never delivers (status must answer at once, whatever a notification service
/// does); a mutating run spends at most a small fixed budget on it, however long the
/// configured timeout and however many channels hang; an answer is read bounded.
#[test]
fn status_never_delivers_and_a_run_spends_a_bounded_time_on_hung_services() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    srv.script([Reply::Hang, Reply::Hang, Reply::Hang]);
    configure(
        &sb,
        &Channels {
            telegram: Some(srv.url.clone()),
            resend: Some(srv.url.clone()),
            webhook: Some(srv.url.clone()),
            extra: "  timeout: 20s\n",
        },
    );
    queue(&sb, &swap_done(), 0);
    let start = std::time::Instant::now();
    ccf(&sb, &["status"]).run();
    ccf(&sb, &["status", "--json"]).run();
    assert!(srv.requests().is_empty(), "a read delivered");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let start = std::time::Instant::now();
    ccf(&sb, &["check-quota"]).run();
    let spent = start.elapsed();
    assert!(!srv.requests().is_empty());
    // One request bounded by the 3 s budget, not 3 channels x 20 s.
    assert!(spent < Duration::from_secs(10), "{spent:?}");
    assert_eq!(queued(&sb).len(), 1, "it waits for the next run");
}

#[test]
fn a_swap_is_announced_on_telegram_and_by_email_after_it_is_saved() {
    let sb = Sandbox::new();
    let server = HttpServer::start();
    configure(
        &sb,
        &Channels {
            telegram: Some(server.url.clone()),
            resend: Some(server.url.clone()),
            ..Channels::default()
        },
    );
    sb.login_all();
    ccf(&sb, &["ensure-symlinks"]).run();
    ccf(&sb, &["swap", "--to", "compte2"]).run();
    assert_eq!(sb.state()["active_account"], "compte2");
    let requests = server.requests();
    let telegram: Vec<Value> = requests
        .iter()
        .filter(|r| r.path.contains("/sendMessage"))
        .map(crate::support::http::Recorded::json)
        .collect();
    let emails: Vec<Value> = requests
        .iter()
        .filter(|r| r.path == "/emails")
        .map(crate::support::http::Recorded::json)
        .collect();
    assert!(
        telegram
            .iter()
            .any(|m| m["text"].as_str().unwrap().contains("compte2")),
        "{telegram:#?}"
    );
    assert!(
        emails
            .iter()
            .any(|m| m["subject"].as_str().unwrap().contains("compte1 → compte2")),
        "{emails:#?}"
    );
    assert!(queued(&sb).is_empty(), "everything was delivered");
}

#[test]
fn a_dead_notification_service_changes_nothing_but_a_delayed_message() {
    let sb = Sandbox::new();
    configure(
        &sb,
        &Channels {
            telegram: Some(dead_url()),
            ..Channels::default()
        },
    );
    sb.login_all();
    ccf(&sb, &["ensure-symlinks"]).run();
    ccf(&sb, &["swap", "--to", "compte2"]).run();
    assert_eq!(sb.state()["active_account"], "compte2");
    assert!(
        !queued(&sb).is_empty(),
        "the announcement waits in the outbox"
    );
}

/// A message waiting for its next try holds the newer ones on that channel: a channel
/// hears of events in the order they happened, across retries too.
#[test]
fn a_message_waiting_to_be_retried_holds_the_newer_ones_back() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    configure(
        &sb,
        &Channels {
            webhook: Some(srv.url.clone()),
            ..Channels::default()
        },
    );
    let older = queue(
        &sb,
        &json!({"kind": "swap_started", "from": "compte1", "to": "compte2",
        "reason": "r", "trigger": null, "sessions": []}),
        60,
    );
    let mut record: Value = serde_json::from_slice(&std::fs::read(&older).unwrap()).unwrap();
    let retry = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10);
    record["attempts"] = json!(2);
    record["next_at"] = json!(retry);
    std::fs::write(&older, record.to_string()).unwrap();
    queue(&sb, &swap_done(), 30);
    ccf(&sb, &["check-quota"]).run();
    assert!(srv.requests().is_empty(), "{:?}", srv.requests());
    assert_eq!(queued(&sb).len(), 2);
    let later = (retry + jiff::SignedDuration::from_secs(1)).to_string();
    ccf(&sb, &["check-quota"]).env("CCF_NOW", &later).run();
    let kinds: Vec<String> = srv
        .requests()
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["swap_started", "swap_done"]);
}

/// A webhook's headers hold secrets: a redirect to another host is not followed.
#[test]
fn a_redirect_to_another_host_never_gets_the_secret_headers() {
    let sb = Sandbox::new();
    let elsewhere = HttpServer::start();
    let port = elsewhere.url.rsplit(':').next().unwrap().to_string();
    let srv = HttpServer::start();
    srv.script([Reply::Status(
        307,
        vec![("Location".into(), format!("http://localhost:{port}/steal"))],
        String::new(),
    )]);
    configure(
        &sb,
        &Channels {
            webhook: Some(srv.url.clone()),
            ..Channels::default()
        },
    );
    queue(&sb, &swap_done(), 0);
    ccf(&sb, &["check-quota"]).stderr_has("webhook").run();
    assert_eq!(srv.requests().len(), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
}

/// A token in a webhook's URL is a secret like a header: never printed (a server that
/// echoes the path is redacted) and a config others can read that holds one is a
/// problem.
#[test]
fn a_token_in_a_webhook_url_is_treated_as_a_secret() {
    let sb = Sandbox::new();
    let srv = HttpServer::start();
    let token = "Zk3pQ9rT2vX8mN4bW7cY";
    srv.script([Reply::status(
        400,
        &format!("{{\"error\":\"bad topic /hook/{token}\"}}"),
    )]);
    let yaml = format!(
        "{}notifications:\n  timeout: 2s\n  webhook:\n    url: {}/hook/{token}\n",
        sb.default_config(),
        srv.url
    );
    sb.write_config(&yaml);
    set_mode(&sb.config, 0o644);
    sb.ccf(&["validate"])
        .code(3)
        .stdout_has("holds a secret inline and others can read it")
        .stderr_has("problems found")
        .run();
    set_mode(&sb.config, 0o600);
    queue(&sb, &swap_done(), 0);
    let out = ccf(&sb, &["check-quota"]).stderr_has("<redacted>").run();
    assert!(!out.stderr.contains(token), "{}", out.stderr);
}
