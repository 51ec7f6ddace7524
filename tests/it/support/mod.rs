//! Test support: a private tmux server, a loopback HTTP server, a sandboxed HOME with
//! account homes and the fake claude first on PATH, and a builder that runs the real ccf
//! binary and checks exit code, stdout and stderr together.

#![allow(dead_code, reason = "shared by every test module; each uses a part")]

pub mod anthropic;
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
