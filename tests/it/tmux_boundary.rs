//! The tmux module against a real private server: batching, exact targets, no server.

use std::path::PathBuf;

use ccf::config::TmuxSocket;
use ccf::tmux::{Launch, Tmux};

use crate::support::{Sandbox, wait_for};

/// A tmux wrapper that logs each invocation, so a test can count tmux processes.
fn counting_tmux(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let log = sb.path("tmux-calls.log");
    let wrapper = sb.bin.join("tmux-counting");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> {}\nexec tmux \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    crate::support::sandbox::set_mode(&wrapper, 0o755);
    (wrapper, log)
}

#[test]
fn capturing_many_panes_costs_one_tmux_process() {
    let sb = Sandbox::new();
    let names: Vec<String> = (11..=30).map(|i| format!("ccl-auto-{i}")).collect();
    for (i, n) in names.iter().enumerate() {
        sb.tmux.new_session(
            n,
            &sb.home,
            &[
                "sh",
                "-c",
                &format!("echo pane-{i}-says-hello; exec sleep 600"),
            ],
        );
    }
    for (i, n) in names.iter().enumerate() {
        sb.tmux.wait_for_text(n, &format!("pane-{i}-says-hello"));
    }
    let (wrapper, log) = counting_tmux(&sb);
    let tmux = Tmux::with_program(&wrapper, &TmuxSocket::Path(sb.tmux.socket.clone()));
    let captures = tmux.capture_many(&names, 50);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        1,
        "one tmux process for 20 panes"
    );
    for (i, (name, text)) in captures.iter().enumerate() {
        assert_eq!(name, &names[i]);
        let text = text.as_ref().unwrap();
        assert!(
            text.contains(&format!("pane-{i}-says-hello")),
            "{name}: {text}"
        );
        assert!(
            !text.contains(&format!("pane-{}-says-hello", (i + 1) % 20)),
            "{name} holds another pane's text"
        );
    }
}

#[test]
fn a_missing_session_in_a_batch_falls_back_to_one_capture_each() {
    let sb = Sandbox::new();
    sb.tmux.new_session(
        "ccl-auto-11",
        &sb.home,
        &["sh", "-c", "echo alive; exec sleep 600"],
    );
    sb.tmux.wait_for_text("ccl-auto-11", "alive");
    let tmux = Tmux::with_program("tmux", &TmuxSocket::Path(sb.tmux.socket.clone()));
    let out = tmux.capture_many(&["ccl-auto-11".into(), "gone".into()], 20);
    assert!(out[0].1.as_ref().unwrap().contains("alive"));
    assert!(out[1].1.is_err());
}

#[test]
fn exact_targets_never_match_a_longer_name() {
    let sb = Sandbox::new();
    sb.tmux.new_session(
        "ccl-auto-11",
        &sb.home,
        &["sh", "-c", "echo eleven; exec sleep 600"],
    );
    sb.tmux.wait_for_text("ccl-auto-11", "eleven");
    let tmux = Tmux::with_program("tmux", &TmuxSocket::Path(sb.tmux.socket.clone()));
    assert!(
        tmux.capture("ccl-auto-1", 10).is_err(),
        "ccl-auto-1 must not address ccl-auto-11"
    );
    assert!(tmux.kill_session("ccl-auto-1").is_err());
    assert!(sb.tmux.has_session("ccl-auto-11"));
}

#[test]
fn no_server_means_no_sessions_and_ccf_never_starts_one() {
    let dir = tempfile::Builder::new()
        .prefix("ccf-ns")
        .tempdir_in("/tmp")
        .unwrap();
    let socket = dir.path().join("s");
    let tmux = Tmux::with_program("tmux", &TmuxSocket::Path(socket.clone()));
    assert_eq!(tmux.list().unwrap(), vec![]);
    assert!(!tmux.server_running().unwrap());
    let launch = Launch {
        argv: vec![],
        cwd: dir.path().into(),
        env: vec![],
    };
    let err = tmux.new_session("x", &launch).unwrap_err().to_string();
    assert!(err.contains("no tmux server is running"), "{err}");
    assert!(!socket.exists(), "a server was started");
}

#[test]
fn respawn_runs_argv_verbatim_in_the_given_directory_with_the_given_environment() {
    let sb = Sandbox::new();
    sb.tmux.new_session("ccl-1-proj", &sb.home, &[]);
    let tmux = Tmux::with_program("tmux", &TmuxSocket::Path(sb.tmux.socket.clone()));
    let marker = sb.path("pwned");
    let hostile = format!("$(touch {0}); `touch {0}`; echo", marker.display());
    let out = sb.path("out.txt");
    let launch = Launch {
        argv: vec![
            "sh".into(),
            "-c".into(),
            format!(
                "printf '%s|%s|%s' \"$1\" \"$PWD\" \"$FOO\" > {}; exec sleep 600",
                out.display()
            ),
            "sh".into(),
            hostile.clone(),
        ],
        cwd: sb.path("proj"),
        env: vec![("FOO".into(), "bar baz".into())],
    };
    tmux.respawn("ccl-1-proj", &launch).unwrap();
    let got = wait_for(
        "respawned command output",
        std::time::Duration::from_secs(5),
        || std::fs::read_to_string(&out).ok().filter(|s| !s.is_empty()),
    );
    assert_eq!(
        got,
        format!("{hostile}|{}|bar baz", sb.path("proj").display())
    );
    assert!(!marker.exists());
}

#[test]
fn send_text_delivers_key_names_and_dashes_literally() {
    let sb = Sandbox::new();
    let out = sb.path("typed.txt");
    sb.tmux.new_session(
        "ccl-auto-11",
        &sb.home,
        &[
            "sh",
            "-c",
            &format!("read -r line; printf '%s' \"$line\" > {}", out.display()),
        ],
    );
    let tmux = Tmux::with_program("tmux", &TmuxSocket::Path(sb.tmux.socket.clone()));
    tmux.send_text("ccl-auto-11", "-n Enter C-c; $(x)", true)
        .unwrap();
    let got = wait_for("typed line", std::time::Duration::from_secs(5), || {
        std::fs::read_to_string(&out).ok().filter(|s| !s.is_empty())
    });
    assert_eq!(got, "-n Enter C-c; $(x)");
}

/// A user manager or cron may start ccf with no locale at all; without one, tmux turns
/// the tabs of `-F` output into `_` unless told the client speaks UTF-8 (`-u`).
#[test]
fn panes_are_seen_whatever_the_locale_of_the_environment() {
    let sb = Sandbox::new();
    sb.ccf(&["ensure-symlinks"]).run();
    sb.tmux.new_session("ccl-1-proj", &sb.path("proj"), &[]);
    let v = sb
        .ccf(&["status", "--json"])
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_CTYPE")
        .run()
        .json();
    let session = &v["sessions"][0];
    assert_eq!(session["name"], "ccl-1-proj", "{v}");
    assert_eq!(session["running"], true, "{v}");
}
