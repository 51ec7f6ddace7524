//! The whole chain as an operator runs it: an ordinary user, a real systemd user manager
//! started with no locale, ccf installed the way the README says (`~/.cargo/bin/ccf`,
//! `ccf systemd install`), and nothing but systemd running ccf. The fake claude stands in
//! for Claude Code. One test, in steps, because the steps share one manager (starting one
//! takes a user, a cgroup and a login's worth of setup).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::manager::{UserManager, ok};
use crate::support::wait_for;

const USER: &str = "ccf-it";
const SERVICES: [&str; 4] = [
    "ccf-setup.service",
    "ccf-check-quota.service",
    "ccf-dispatch.service",
    "ccf-janitor.service",
];
/// One period of `ccf-check-quota.timer` and some slack.
const TICK: Duration = Duration::from_secs(40);

fn config(claude: &str) -> String {
    format!(
        "accounts:
  - {{name: compte1, home: ~/.claude-compte1}}
  - {{name: compte2, home: ~/.claude-compte2}}
  - {{name: compte3, home: ~/.claude-compte3}}
claude_link: ~/.claude
shared:
  root: ~/.claude-shared
timezone: UTC
claude:
  command: {claude}
  args: [--dangerously-skip-permissions]
quota:
  cooldown: 0s
pool:
  autonomous: {{prefix: ccl-auto-, start_index: 11, min: 1, max: 2, workdir: ~/work}}
  dedicated:
    - {{name: ccl-1-proj, project: ~/proj}}
dispatcher:
  queue_dir: ~/agent-queue
notifications:
  webhook: {{url: \"http://127.0.0.1:9/hook\"}}
",
    )
}

/// The `# ccf sandbox level:` line of an installed service.
fn service_level(um: &UserManager, service: &str) -> String {
    std::fs::read_to_string(um.path(&format!(".config/systemd/user/{service}")))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("# ccf sandbox level: "))
        .unwrap_or_default()
        .to_string()
}

/// What an operator has before `ccf systemd install`: ccf where `cargo install` puts
/// it, Claude Code (the fake) in `~/.local/bin`, logged-in accounts, a config.
fn prepare(um: &UserManager) {
    um.put(
        ".cargo/bin/ccf",
        &std::fs::read(env!("CARGO_BIN_EXE_ccf")).unwrap(),
        0o755,
    );
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_claude.py");
    let lib = um.put(
        ".local/lib/fake_claude.py",
        &std::fs::read(fake).unwrap(),
        0o644,
    );
    um.put(
        ".local/bin/claude",
        format!(
            "#!/bin/bash\nexec -a claude /usr/bin/python3 {} \"$@\"\n",
            lib.display()
        )
        .as_bytes(),
        0o755,
    );
    for d in ["proj", "work"] {
        um.put(&format!("{d}/.keep"), b"", 0o644);
    }
    for account in ["compte1", "compte2", "compte3"] {
        um.put(
            &format!(".claude-{account}/.credentials.json"),
            format!("{{\"claudeAiOauth\":{{\"accessToken\":\"tok-{account}\"}}}}").as_bytes(),
            0o600,
        );
        let trusted: serde_json::Map<String, Value> = ["proj", "work"]
            .iter()
            .map(|d| {
                (
                    um.path(d).display().to_string(),
                    serde_json::json!({"hasTrustDialogAccepted": true}),
                )
            })
            .collect();
        // The operator accepted Bypass Permissions mode once in each account.
        um.put(
            &format!(".claude-{account}/settings.json"),
            br#"{"skipDangerousModePermissionPrompt": true}"#,
            0o600,
        );
        um.put(
            &format!(".claude-{account}/.claude.json"),
            serde_json::json!({"hasCompletedOnboarding": true, "projects": trusted})
                .to_string()
                .as_bytes(),
            0o600,
        );
    }
    // `claude` as an operator writes it: found in ~/.local/bin through the units' PATH
    // (a user manager's own PATH has no ~/.local/bin).
    um.put(
        ".config/ccf/config.yaml",
        config("claude").as_bytes(),
        0o600,
    );
}

fn link(um: &UserManager) -> String {
    std::fs::read_link(um.path(".claude"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn wait_link(um: &UserManager, account: &str, timeout: Duration) -> Duration {
    let start = Instant::now();
    let want = um.path(&format!(".claude-{account}")).display().to_string();
    wait_for(&format!("~/.claude -> {account}"), timeout, || {
        (link(um) == want).then_some(())
    });
    start.elapsed()
}

fn state(um: &UserManager) -> Value {
    serde_json::from_slice(&std::fs::read(um.path(".local/state/ccf/state.json")).unwrap()).unwrap()
}

fn status_json(um: &UserManager) -> Value {
    let out = ok("ccf status --json", &um.ccf(&["status", "--json"]));
    serde_json::from_str(&out).unwrap()
}

/// Waits until `unit`'s timer has just fired, so its next tick is a whole period away.
fn after_a_tick(um: &UserManager, timer: &str) -> String {
    let before = um.property(timer, "LastTriggerUSec");
    wait_for(&format!("{timer} to fire"), TICK, || {
        let now = um.property(timer, "LastTriggerUSec");
        (now != before).then_some(now)
    })
}

/// A `StopFailure` hook event, as Claude Code hands it to `ccf hook stop-failure`.
fn stop_failure(um: &UserManager, error: &str, message: &str) {
    let input = serde_json::json!({
        "session_id": "0b1c2d3e-0000-4000-8000-000000000001",
        "cwd": um.path("proj"),
        "hook_event_name": "StopFailure",
        "error": error,
        "last_assistant_message": message,
    });
    let out = um.run_with_input(
        &[
            um.path(".cargo/bin/ccf").to_str().unwrap(),
            "hook",
            "stop-failure",
        ],
        &input.to_string(),
    );
    ok("ccf hook stop-failure", &out);
}

fn spool_len(um: &UserManager) -> usize {
    std::fs::read_dir(um.path(".local/state/ccf/spool")).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .count()
    })
}

#[test]
fn ccf_does_its_job_under_a_real_user_manager_as_an_ordinary_user() {
    let Some(um) = UserManager::start(USER) else {
        return;
    };
    prepare(&um);

    // The manager, like a PAM setup without a locale, has none: ccf must not care.
    let env = ok("show-environment", &um.systemctl(&["show-environment"]));
    assert!(
        !env.lines()
            .any(|l| l.starts_with("LANG=") || l.starts_with("LC_")),
        "{env}"
    );

    let (level, server) = install(&um);
    a_limit_on_screen_moves_through_the_timer(&um);
    a_hook_event_moves_through_the_path_unit(&um);
    an_event_during_a_run_is_handled_by_that_run(&um);
    a_task_goes_from_the_inbox_to_done(&um);
    what_ccf_writes_is_private(&um);

    // 6. Every ccf service ran under the installed level and none failed.
    let s = status_json(&um);
    assert_eq!(s["sandbox"], level.as_str(), "{s}");
    for u in s["units"].as_array().unwrap() {
        assert_eq!(u["failed"], false, "{u}");
    }
    for svc in SERVICES {
        assert!(
            !um.property(svc, "ExecMainExitTimestamp").is_empty(),
            "{svc} never ran"
        );
    }

    a_bad_config_fails_setup_and_the_check(&um);

    // 8. Uninstall leaves the tmux server, and every session in it, running.
    let gone = ok("ccf systemd uninstall", &um.ccf(&["systemd", "uninstall"]));
    assert!(gone.contains("keeps your tmux server running"), "{gone}");
    assert!(
        !um.path(".config/systemd/user/ccf-check-quota.timer")
            .exists()
    );
    let after = ok(
        "tmux display",
        &um.tmux(&["display-message", "-p", "#{pid}"]),
    );
    assert_eq!(after.trim(), server.to_string());
    ok(
        "the session is still there",
        &um.tmux(&["has-session", "-t", "=ccl-1-proj"]),
    );
}

/// Installed as the README says; the probe's level is the installed one, and the
/// install ran ccf-setup.service before saying so.
fn install(um: &UserManager) -> (String, u32) {
    let said = ok("ccf systemd install", &um.ccf(&["systemd", "install"]));
    let level = said
        .lines()
        .find_map(|l| l.strip_prefix("sandbox: "))
        .and_then(|r| r.split([',', ' ']).next())
        .unwrap_or_else(|| panic!("no sandbox line:\n{said}"))
        .to_string();
    assert!(said.contains("ccf-setup.service ran"), "{said}");
    for s in SERVICES {
        let text = std::fs::read_to_string(um.path(&format!(".config/systemd/user/{s}"))).unwrap();
        assert!(
            text.contains(&format!("# ccf sandbox level: {level} ")),
            "{s} is not at {level}:\n{text}"
        );
    }
    let again = ok(
        "ccf systemd install (again)",
        &um.ccf(&["systemd", "install"]),
    );
    assert!(again.contains("unchanged: 10 unit files"), "{again}");
    // A level this manager cannot start is refused even when asked for, and nothing
    // changes; a weaker one asked for is installed; a plain install measures again and
    // moves back to the strongest that runs.
    if level != "full" {
        let full = um.ccf(&["systemd", "install", "--sandbox", "full"]);
        assert_eq!(full.status.code(), Some(1), "{full:?}");
        assert!(
            String::from_utf8_lossy(&full.stderr).contains("--sandbox full cannot start"),
            "{full:?}"
        );
        assert!(service_level(um, "ccf-check-quota.service").contains(&level));
    }
    ok(
        "install --sandbox none",
        &um.ccf(&["systemd", "install", "--sandbox", "none"]),
    );
    assert!(service_level(um, "ccf-check-quota.service").contains("none"));
    let back = ok("install (measured again)", &um.ccf(&["systemd", "install"]));
    assert!(back.contains("updated "), "{back}");
    assert!(service_level(um, "ccf-check-quota.service").contains(&level));

    // The tmux server is ccf-tmux.service's.
    let server = ok(
        "tmux display",
        &um.tmux(&["display-message", "-p", "#{pid}"]),
    );
    let server: u32 = server.trim().parse().unwrap();
    let cgroup = std::fs::read_to_string(format!("/proc/{server}/cgroup")).unwrap();
    assert!(cgroup.contains("ccf-tmux.service"), "{cgroup}");

    let health = um.ccf(&["status", "--check"]);
    ok("ccf status --check on a good host", &health);
    (level, server)
}

/// A limit on screen; only the check-quota timer looks (no hooks are installed).
fn a_limit_on_screen_moves_through_the_timer(um: &UserManager) {
    // The janitor recreates a missing dedicated session at a shell in its project,
    // whenever its timer fires (every 5 minutes, on the wall clock): run it now, so the
    // session is there whatever the clock says, and start claude in it by hand.
    ok(
        "the janitor",
        &um.systemctl(&["start", "ccf-janitor.service"]),
    );
    let pane = ok(
        "the dedicated session",
        &um.tmux(&[
            "display-message",
            "-p",
            "-t",
            "=ccl-1-proj:",
            "#{pane_current_path}",
        ]),
    );
    assert_eq!(pane.trim(), um.path("proj").display().to_string());
    ok(
        "the size the limit banner was drawn for",
        &um.tmux(&[
            "resize-window",
            "-t",
            "=ccl-1-proj:",
            "-x",
            "200",
            "-y",
            "50",
        ]),
    );
    ok(
        "start claude by hand",
        &um.tmux(&[
            "respawn-pane",
            "-k",
            "-t",
            "=ccl-1-proj:",
            "-c",
            um.path("proj").to_str().unwrap(),
            "claude",
        ]),
    );
    um.wait_for_text(
        "ccl-1-proj",
        "Welcome to fake Claude Code",
        Duration::from_secs(10),
    );
    let reset = jiff::Timestamp::now().as_second() + 3 * 3600;
    um.put(
        ".claude-compte1/fake-mode",
        format!("limit {reset}").as_bytes(),
        0o644,
    );
    ok(
        "type",
        &um.tmux(&["send-keys", "-t", "=ccl-1-proj:", "-l", "hello"]),
    );
    ok(
        "enter",
        &um.tmux(&["send-keys", "-t", "=ccl-1-proj:", "Enter"]),
    );
    um.wait_for_text(
        "ccl-1-proj",
        "hit your 5-hour limit",
        Duration::from_secs(10),
    );
    let fired = um.property("ccf-check-quota.timer", "LastTriggerUSec");
    wait_link(um, "compte2", TICK);
    assert_ne!(
        um.property("ccf-check-quota.timer", "LastTriggerUSec"),
        fired,
        "the timer moved it"
    );
    assert_eq!(spool_len(um), 0, "no hook was involved");
    wait_for("ccl-1-proj on compte2", Duration::from_secs(20), || {
        let s = status_json(um);
        s["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "ccl-1-proj" && x["account"] == "compte2" && x["running"] == true)
            .then_some(())
    });
}

/// A `StopFailure` hook event: the path unit runs check-quota at once, long before
/// the timer's next tick.
fn a_hook_event_moves_through_the_path_unit(um: &UserManager) {
    let tick = after_a_tick(um, "ccf-check-quota.timer");
    let sent = Instant::now();
    stop_failure(
        um,
        "rate_limit",
        &format!(
            "You've hit your limit · resets {} (UTC)",
            crate::support::reset_ahead()
        ),
    );
    let latency = wait_link(um, "compte3", Duration::from_secs(10));
    assert_eq!(
        um.property("ccf-check-quota.timer", "LastTriggerUSec"),
        tick,
        "the path unit moved it, not the timer ({:?} after the event)",
        sent.elapsed()
    );
    eprintln!("user-manager tier: hook to link flip in {latency:?} through the path unit");
}

/// An event that lands while a check-quota run is in progress is handled by that
/// run, timer stopped; meanwhile another ccf run finds the lock taken (exit 75)
/// and its unit does not fail.
/// The other timers too: a run of theirs at the wrong moment would hold the lock.
fn an_event_during_a_run_is_handled_by_that_run(um: &UserManager) {
    let timers = [
        "ccf-check-quota.timer",
        "ccf-dispatch.timer",
        "ccf-janitor.timer",
    ];
    for t in timers {
        ok("stop a timer", &um.systemctl(&["stop", t]));
    }
    let slow = um.put(
        "slow-tmux",
        b"#!/bin/sh\nsleep 1\nexec tmux \"$@\"\n",
        0o755,
    );
    ok(
        "slow tmux",
        &um.systemctl(&["set-environment", &format!("CCF_TMUX={}", slow.display())]),
    );
    ok(
        "start check-quota",
        &um.systemctl(&["start", "--no-block", "ccf-check-quota.service"]),
    );
    // Until the run holds the state lock (flock(1) takes the same flock(2) lock).
    let lock = um.path(".local/state/ccf/state.lock");
    wait_for(
        "check-quota holding the lock",
        Duration::from_secs(10),
        || {
            let busy = std::process::Command::new("flock")
                .args(["-n", "-E", "99"])
                .arg(&lock)
                .arg("true")
                .status()
                .unwrap();
            (busy.code() == Some(99)).then_some(())
        },
    );
    stop_failure(um, "server_error", "API Error: 500 Internal server error");
    let busy = um.systemctl(&["start", "ccf-dispatch.service"]);
    ok("dispatch while the lock is held", &busy);
    assert_eq!(um.property("ccf-dispatch.service", "ExecMainStatus"), "75");
    assert_eq!(um.property("ccf-dispatch.service", "Result"), "success");
    // Handled = recorded and its spool file removed. The removal comes after the save
    // that records it (a crash in between replays the event), so the state can show
    // the signal a moment before the file is gone.
    wait_for("the event handled", Duration::from_secs(20), || {
        let s = state(um);
        let signal = &s["accounts"]["compte3"]["last_signal"];
        (signal["verdict"] == "server_error" && signal["source"] == "spool" && spool_len(um) == 0)
            .then_some(())
    });
    assert_eq!(
        um.property("ccf-check-quota.timer", "ActiveState"),
        "inactive"
    );
    ok(
        "fast tmux",
        &um.systemctl(&["unset-environment", "CCF_TMUX"]),
    );
    for t in timers {
        ok("start a timer", &um.systemctl(&["start", t]));
    }
}

/// A task renamed into the inbox: the path unit dispatches it, the janitor timer
/// settles it into done/. The janitor's timer at a test's pace (what an operator's
/// `systemctl --user edit ccf-janitor.timer` does).
/// The janitor's timer, at a test's pace (an operator's `systemctl --user edit`).
fn a_task_goes_from_the_inbox_to_done(um: &UserManager) {
    um.put(
        ".config/systemd/user/ccf-janitor.timer.d/pace.conf",
        b"[Timer]\nOnCalendar=\nOnCalendar=*:*:0/5\n",
        0o644,
    );
    ok("daemon-reload", &um.systemctl(&["daemon-reload"]));
    ok(
        "restart janitor timer",
        &um.systemctl(&["restart", "ccf-janitor.timer"]),
    );
    um.put(
        "agent-queue/inbox/.hello.tmp",
        b"---\nproject: ~/work\n---\nsay hello\n",
        0o644,
    );
    std::fs::rename(
        um.path("agent-queue/inbox/.hello.tmp"),
        um.path("agent-queue/inbox/hello.md"),
    )
    .unwrap();
    // Dispatch (path unit), the task's claude, then janitor on its timer: under load on 2
    // cores this took over 40 s once; the wait bounds a hang, not the speed.
    wait_for("hello.md in done/", Duration::from_secs(120), || {
        um.path("agent-queue/done/hello.md").exists().then_some(())
    });
    let result: Value = serde_json::from_slice(
        &std::fs::read(um.path("agent-queue/done/hello.result.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(result["outcome"], "success", "{result}");
    // Dispatch settles what ended too; the janitor's timer runs it all the same.
    wait_for(
        "the janitor timer to run janitor",
        Duration::from_secs(15),
        || {
            (!um.property("ccf-janitor.service", "ExecMainExitTimestamp")
                .is_empty())
            .then_some(())
        },
    );
    assert_eq!(um.property("ccf-janitor.service", "Result"), "success");
}

/// What ccf wrote is the user's alone; a spool record too (path unit held back
/// so it stays to be looked at).
fn what_ccf_writes_is_private(um: &UserManager) {
    ok(
        "stop the path unit",
        &um.systemctl(&["stop", "ccf-check-quota.path"]),
    );
    ok(
        "a session-start record",
        &um.run_with_input(
            &[
                um.path(".cargo/bin/ccf").to_str().unwrap(),
                "hook",
                "session-start",
            ],
            "{\"session_id\":\"x\",\"hook_event_name\":\"SessionStart\",\"source\":\"startup\"}",
        ),
    );
    assert_eq!(spool_len(um), 1);
    let outbox = std::fs::read_dir(um.path(".local/state/ccf/outbox"))
        .unwrap()
        .count();
    assert!(
        outbox > 0,
        "the dead webhook keeps the swaps' events in the outbox"
    );
    let mut seen = 0;
    crate::support::assert_private(&um.path(".local/state/ccf"), &mut seen);
    crate::support::assert_private(&um.path("agent-queue"), &mut seen);
    assert!(seen > 5, "only {seen} files looked at");
    ok(
        "start the path unit",
        &um.systemctl(&["start", "ccf-check-quota.path"]),
    );
}

/// A config that validate rejects fails ccf-setup.service, and status --check says so.
fn a_bad_config_fails_setup_and_the_check(um: &UserManager) {
    um.put(
        ".config/ccf/config.yaml",
        config("/nonexistent/claude").as_bytes(),
        0o600,
    );
    let setup = um.systemctl(&["restart", "ccf-setup.service"]);
    assert!(!setup.status.success(), "setup ran with a broken config");
    let check = um.ccf(&["status", "--check"]);
    assert_eq!(check.status.code(), Some(3));
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(said.contains("ccf-setup.service failed"), "{said}");
    um.put(
        ".config/ccf/config.yaml",
        config("claude").as_bytes(),
        0o600,
    );
    ok(
        "setup again",
        &um.systemctl(&["restart", "ccf-setup.service"]),
    );
}
