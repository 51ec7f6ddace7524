//! Test support: a private tmux server, a loopback HTTP server, a sandboxed HOME with
//! account homes and the fake claude first on PATH, and a builder that runs the real ccf
//! binary and checks exit code, stdout and stderr together.

#![allow(dead_code, reason = "shared by every test module; each uses a part")]

pub mod anthropic;
pub mod etcd;
pub mod http;
pub mod manager;
pub mod real;
pub mod run;
pub mod sandbox;
pub mod tmux;

pub use run::Run;
pub use sandbox::Sandbox;
pub use tmux::TmuxServer;

use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
/// Tests synchronise on conditions, never on sleeps.
/// A banner's reset time of day three hours from now, in UTC (`5pm`). A test on the
/// real clock must not name a fixed time: within five minutes after it, a banner's time
/// reads as the reset happening now (the banner rounds), and the limit is ignored.
pub fn reset_ahead() -> String {
    let hour = (jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .hour()
        + 3)
        % 24;
    match hour {
        0 => "12am".to_string(),
        12 => "12pm".to_string(),
        h if h < 12 => format!("{h}am"),
        h => format!("{}pm", h - 12),
    }
}

/// Logged in, links built, the clock pinned at `now`, the dedicated session running the
/// fake claude on `~/.claude` (compte1): where a limit is hit and the session moves.
pub fn dedicated_on_claude(now: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.hold_notifications();
    sb.login_all();
    sb.set_env("CCF_NOW", now);
    sb.ccf(&["ensure-symlinks"]).run();
    sb.tmux
        .new_session("ccl-1-proj", &sb.path("proj"), &["claude"]);
    sb.tmux
        .wait_for_text("ccl-1-proj", "Welcome to fake Claude Code");
    sb
}

/// The dedicated session's turn ends on `error` with `message`, as Claude Code's
/// `StopFailure` hook reports it; then check-quota moves it to compte2.
pub fn stop_and_swap(sb: &Sandbox, error: &str, message: &str) {
    let input = serde_json::json!({
        "session_id": "6f1c", "cwd": sb.path("proj"), "hook_event_name": "StopFailure",
        "error": error, "last_assistant_message": message
    });
    sb.ccf(&["hook", "stop-failure"])
        .stdin(input.to_string())
        .run();
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .run();
    sb.tmux
        .wait_for_text("ccl-1-proj", "Welcome to fake Claude Code");
}

pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Makes a FIFO at `path` (what a hostile or broken setup leaves where a file belongs).
pub fn mkfifo(path: &std::path::Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// Every file and directory ccf wrote under `dir` is its user's alone (0600 / 0700);
/// `seen` counts what was looked at. Links are not followed, and task files (`*.md`)
/// are the operator's and keep their mode. Callers run ccf as an ordinary user: what
/// root writes proves nothing about what that user's files get.
pub fn assert_private(dir: &std::path::Path, seen: &mut usize) {
    use std::os::unix::fs::PermissionsExt as _;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.file_type().is_symlink() || p.extension().is_some_and(|x| x == "md") {
            continue;
        }
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}", p.display());
            assert_private(&p, seen);
        } else {
            assert_eq!(mode, 0o600, "{} is {mode:o}", p.display());
        }
        *seen += 1;
    }
}
