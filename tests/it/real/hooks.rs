//! ccf's hooks in the real client: `install-hooks` writes them into the account's
//! `settings.json`, the real `SessionStart` and `StopFailure` payloads reach the spool,
//! check-quota decides on them with the exact reset of the transcript row, and the real
//! `UserPromptSubmit`/`Stop` payloads record the carried session's turn.

use std::time::Duration;

use serde_json::Value;

use crate::support::anthropic::{Mode, Window, epoch_now};
use crate::support::real::{NUDGE_GAVE_UP, RealWorld, after};
use crate::support::wait_for;

const SESSION: &str = "ccl-1-proj";

/// The spool's records of one event (`session_start`, `stop_failure`).
fn spooled(w: &RealWorld, event: &str) -> Vec<Value> {
    let Ok(dir) = std::fs::read_dir(w.sb.path("state/spool")) else {
        return vec![];
    };
    dir.filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| serde_json::from_slice::<Value>(&std::fs::read(e.path()).ok()?).ok())
        .filter(|v| v["event"] == event)
        .collect()
}

/// The pid of the claude under the session's pane (started by hand: a shell's child).
fn claude_pid(w: &RealWorld) -> u32 {
    ccf::failover::find_claude(w.sb.tmux.pane_pid(SESSION))
        .expect("claude runs in the session")
        .pid
}

fn wait_spooled(w: &RealWorld, event: &str) -> Value {
    wait_for(
        &format!("a {event} record in the spool"),
        Duration::from_secs(30),
        || spooled(w, event).pop(),
    )
}

#[test]
fn the_real_hook_payloads_reach_the_spool_and_give_the_exact_reset() {
    let Some(w) = RealWorld::new() else { return };
    w.sb.ccf(&["install-hooks"])
        .stdout_has("did add the SessionStart hook")
        .stdout_has("did add the StopFailure hook")
        .run();
    let settings: Value = serde_json::from_slice(
        &std::fs::read(w.sb.account_home("compte1").join("settings.json")).unwrap(),
    )
    .unwrap();
    let command = settings["hooks"]["StopFailure"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert!(command.ends_with("hook stop-failure"), "{command}");

    w.start_by_hand(SESSION, &w.sb.path("proj"));
    let start = wait_spooled(&w, "session_start");
    assert_eq!(start["source"], "startup", "{start}");
    assert!(
        start["tmux_pane"]
            .as_str()
            .is_some_and(|p| p.starts_with('%')),
        "{start}"
    );
    w.prompt(SESSION, "ping alpha");
    w.wait_screen(SESSION, "the reply", |s| {
        s.contains("Stand-in reply: PING ALPHA.")
    });
    let id = w.last_session_id(&RealWorld::token("compte1"));
    assert_eq!(start["session_id"], id.as_str(), "{start}");
    w.sb.ccf(&["check-quota"]).run();
    let rec = &w.sb.state()["sessions"][SESSION];
    assert_eq!(rec["session_id"], id.as_str(), "{rec}");
    assert_eq!(rec["id_source"], "hook", "{rec}");
    assert_eq!(rec["account"], "compte1", "{rec}");

    // A reset off the minute: only the transcript row has it to the second.
    let reset = epoch_now() + 2 * 3600 + 17;
    w.api.set_mode(
        &RealWorld::token("compte1"),
        Mode::UsageLimit {
            reset,
            window: Window::FiveHour,
        },
    );
    w.prompt(SESSION, "ping delta");
    w.wait_screen(SESSION, "the limit screen", |s| {
        after(s, "ping delta").contains("You've hit your 5-hour limit")
    });
    let failure = wait_spooled(&w, "stop_failure");
    assert_eq!(failure["error"], "rate_limit", "{failure}");
    assert_eq!(failure["session_id"], id.as_str(), "{failure}");
    let exact = jiff::Timestamp::from_second(reset).unwrap().to_string();
    // Claude Code runs the StopFailure hook before it writes the failed turn to the
    // transcript: the exact reset is read when check-quota consumes the record. Wait for
    // the row (else, on a loaded machine, ccf rightly falls back to the banner's minute).
    wait_quota_row(failure["transcript_path"].as_str().unwrap(), reset);
    let out = w.sb.ccf(&["check-quota", "--dry-run"]).run().stdout;
    let line = |source: &str| {
        out.lines()
            .find(|l| l.contains(source))
            .unwrap_or_else(|| panic!("no {source} observation:\n{out}"))
    };
    for source in [
        "[spool] on compte1: limit",
        &format!("{SESSION} [pane] on compte1: limit"),
    ] {
        assert!(
            line(source).ends_with(&format!("→ limit until {exact}")),
            "{out}"
        );
    }
    assert!(
        out.contains("→ swap away from compte1 to compte2: usage limit on compte1"),
        "{out}"
    );

    let swapped_at = epoch_now() - 1;
    let before = claude_pid(&w);
    w.sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .stderr_may_have(NUDGE_GAVE_UP)
        .run();
    w.wait_resume_prompt(SESSION, "compte2", &id);
    let state = w.sb.state();
    assert_eq!(
        state["accounts"]["compte1"]["exhausted_until"],
        exact.as_str(),
        "{state}"
    );
    assert_turn_recorded(&w, &id, swapped_at);
    assert_eq!(
        claude_pid(&w),
        before,
        "the same claude: nothing was relaunched"
    );
    w.sb.ccf(&["check-quota"]).stdout_lacks("swapped").run();
    let state = w.sb.state();
    assert_eq!(state["sessions"][SESSION]["account"], "compte2", "{state}");
    assert!(
        state["accounts"]["compte2"]["exhausted_until"].is_null(),
        "{state}"
    );
}

/// Carried, not relaunched: the same claude took the resume prompt, and its turn ran the
/// real `UserPromptSubmit` and `Stop` hooks: the turn is recorded, closed, after the swap.
fn assert_turn_recorded(w: &RealWorld, id: &str, swapped_at: i64) {
    let turn_file = w.sb.path("state/turns").join(format!("{id}.json"));
    wait_for(
        "the turn closed by the real Stop hook",
        Duration::from_secs(30),
        || {
            std::fs::read(&turn_file)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .filter(|t| {
                    t["open"] == false
                        && t["at"]
                            .as_str()
                            .and_then(|a| a.parse::<jiff::Timestamp>().ok())
                            .is_some_and(|a| a.as_second() >= swapped_at)
                })
        },
    );
}

/// Waits until the transcript holds the API-error row with the reset the stand-in sent.
fn wait_quota_row(transcript: &str, reset: i64) {
    wait_for(
        "the transcript's quota row",
        Duration::from_secs(30),
        || {
            std::fs::read_to_string(transcript)
                .ok()
                .filter(|t| t.contains(&format!("\"resetsAt\":{reset}")))
        },
    );
}

/// An operator's own status line, chained by `install-hooks`, in the real client: the
/// pane shows the operator's line, drawn from the input the client gave, and ccf has
/// the client's usage figures (the stand-in's 12 % of the five-hour window).
#[test]
fn the_real_client_draws_the_operators_chained_status_line_and_ccf_records_its_figures() {
    let Some(w) = RealWorld::new() else { return };
    w.sb.write_config(&w.config().replace(
        "dispatcher:",
        "quota: {statusline_threshold: 90}\ndispatcher:",
    ));
    let settings = w.sb.account_home("compte1").join("settings.json");
    let mut doc: Value = std::fs::read(&settings)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    let theirs = r#"printf 'operator line: %s' "$(grep -o '"session_id":"[^"]*"' | head -n1)""#;
    doc["statusLine"] = serde_json::json!({"type": "command", "command": theirs});
    std::fs::write(&settings, doc.to_string()).unwrap();
    w.sb.ccf(&["install-hooks", "--account", "compte1"])
        .stdout_has("did chain the status line")
        .run();

    w.start_by_hand(SESSION, &w.sb.path("proj"));
    w.prompt(SESSION, "ping alpha");
    w.wait_screen(SESSION, "the reply", |s| {
        s.contains("Stand-in reply: PING ALPHA.")
    });
    let id = w.last_session_id(&RealWorld::token("compte1"));
    w.wait_screen(SESSION, "the operator's status line", |s| {
        s.contains(&format!("operator line: \"session_id\":\"{id}\""))
    });
    let usage = wait_for(
        "the status line's usage record",
        Duration::from_secs(30),
        || {
            let dir = std::fs::read_dir(w.sb.path("state/usage")).ok()?;
            dir.filter_map(Result::ok)
                .find_map(|e| serde_json::from_slice::<Value>(&std::fs::read(e.path()).ok()?).ok())
        },
    );
    assert_eq!(usage["account"], "compte1", "{usage}");
    assert_eq!(usage["session_id"], id.as_str(), "{usage}");
    assert!(
        usage["five_hour_used"]
            .as_f64()
            .is_some_and(|u| (u - 12.0).abs() < 0.5),
        "{usage}"
    );
    w.sb.ccf(&["install-hooks", "--uninstall", "--account", "compte1"])
        .stdout_has("did restore the status line")
        .run();
    let back: Value = serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    assert_eq!(back["statusLine"]["command"], theirs);
}
