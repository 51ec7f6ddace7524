//! A swap never kills a turn (issue 16), with the real client: a session on `~/.claude`
//! follows the flip in the same process, in the middle of a Bash tool call and at the
//! limit screen; a session pinned by `CLAUDE_CONFIG_DIR` is left to finish its turn
//! (`pending_move: deferred`) and moved onto the link, unpinned, by the next check-quota
//! once it is idle; after a failover and a return no transcript holds a killed turn.
//!
//! Busy-ness reaches ccf two ways: hooks (`ccf install-hooks`) and the pane's footer
//! (`esc to interrupt` while a turn runs). The manual swap of a pinned session runs with
//! the hooks installed, the others without them: each source is relied on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::anthropic::{Mode, Request, TOOL_REPLY, Window, epoch_now};
use crate::support::real::{NUDGE_GAVE_UP, RealWorld, after, ready};
use crate::support::wait_for;

const SESSION: &str = "ccl-1-proj";
/// How long the Bash tool call runs: long enough for a swap (and today's relaunch of a
/// pinned session, with its waits) to happen inside it.
const TOOL_SECS: u64 = 20;
/// The footer while a turn runs (2.1.330, in every permission mode).
const BUSY: &str = "esc to interrupt";

fn rfc3339(epoch: i64) -> String {
    jiff::Timestamp::from_second(epoch).unwrap().to_string()
}

/// A world whose client runs Bash without asking.
fn world() -> Option<RealWorld> {
    let w = RealWorld::new()?;
    w.allow_bash();
    Some(w)
}

/// The last lines of a screen: the input box and the footer under it.
fn footer(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join("\n")
}

/// `account`'s next turn on `session` asks for a Bash call of `secs` seconds that then
/// writes `marker`. Waits until the call runs (the command on the pane, the footer
/// busy), then answers `account` normally again.
fn start_long_tool(w: &RealWorld, session: &str, account: &str, marker: &Path, secs: u64) {
    let command = format!("sleep {secs}; echo carried > {}", marker.display());
    w.set_mode(account, Mode::Bash { command });
    let prompt = format!("run the long command in {session}");
    w.prompt(session, &prompt);
    w.api.wait_turn(
        &format!("{session}'s prompt on {account}"),
        Duration::from_secs(20),
        |r| r.account.as_deref() == Some(account) && r.body.contains(&prompt),
    );
    w.wait_screen(session, "the Bash call running", |s| {
        s.contains(&format!("$ sleep {secs}")) && footer(s).contains(BUSY)
    });
    w.set_mode(account, Mode::Normal);
}

/// Waits for the Bash call's output file: the tool ran to its end. On time-out, says
/// what the transcripts show.
fn wait_marker(w: &RealWorld, session: &str, marker: &Path, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs + 15);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "{session}'s tool call never wrote {} (was its turn killed?); transcripts: {:?}; screen:\n{}",
            marker.display(),
            killed_turns(w),
            w.screen(session)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The turn that carried `session`'s Bash result (the conversation `id`).
fn bash_result(w: &RealWorld, id: &str) -> Request {
    let r = w
        .api
        .wait_turn("the Bash call's result", Duration::from_secs(30), |r| {
            r.session_id.as_deref() == Some(id) && r.carries_bash_result()
        });
    let results = r.tool_results();
    assert!(
        results.iter().all(|(_, error, _)| !error),
        "the tool call failed: {results:?}"
    );
    r
}

/// Waits until `session`'s turn is over: the reply to the tool's result is on the pane
/// and the footer no longer says a turn runs.
fn wait_turn_over(w: &RealWorld, session: &str) {
    w.wait_screen(session, "the turn's end", |s| {
        after(s, "run the long command").contains(TOOL_REPLY) && !footer(s).contains(BUSY)
    });
}

/// The conversation the stand-in saw last from `session`'s prompt.
fn session_id_of(w: &RealWorld, prompt: &str) -> String {
    w.api
        .turns()
        .iter()
        .rev()
        .find(|r| r.body.contains(prompt))
        .and_then(|r| r.session_id.clone())
        .expect("a turn with that prompt and a session id")
}

fn status(w: &RealWorld) -> Value {
    w.sb.ccf(&["status", "--json"]).run().json()
}

/// `session`'s entry in `status --json`.
fn session_status(status: &Value, session: &str) -> Value {
    status["sessions"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == session))
        .cloned()
        .unwrap_or_else(|| panic!("{session} is not in status --json: {status}"))
}

/// The swap reached `to`: the link points at its home and status says it is active.
fn assert_active(w: &RealWorld, to: &str) -> Value {
    let link = std::fs::read_link(w.sb.path(".claude")).unwrap();
    assert_eq!(link, w.sb.account_home(to), "~/.claude");
    let st = status(w);
    assert_eq!(st["active_account"], to, "{st}");
    assert!(st["swap_in_progress"].is_null(), "{st}");
    st
}

/// `session` is recorded as deferred onto `to` (the swap left it running).
fn assert_deferred(st: &Value, session: &str, to: &str) {
    let s = session_status(st, session);
    let pending = &s["pending_move"];
    assert_eq!(
        pending["why"], "deferred",
        "{session} is not recorded as a deferred move: {s}"
    );
    assert_eq!(pending["to"], to, "{s}");
    assert!(
        pending["since"]
            .as_str()
            .is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()),
        "{s}"
    );
}

/// The pid of the claude in `session`, which must be `pid`.
fn assert_same_process(w: &RealWorld, session: &str, pid: u32, when: &str) {
    let now = w.claude_pid(session);
    assert_eq!(
        now,
        Some(pid),
        "{session} was relaunched {when} (claude pid {pid} -> {now:?}); screen:\n{}",
        w.screen(session)
    );
}

/// The variables of a process.
fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Waits until `session` runs a claude other than `old` that shows its input box, and
/// checks it runs on `~/.claude` (no `CLAUDE_CONFIG_DIR`). Returns its pid.
fn assert_relaunched_unpinned(w: &RealWorld, session: &str, old: u32) -> u32 {
    let pid = wait_for(
        &format!("a new claude in {session}"),
        Duration::from_secs(30),
        || w.claude_pid(session).filter(|p| *p != old),
    );
    w.wait_screen(session, "the relaunched client", ready);
    let pinned: Vec<String> = environ(pid)
        .into_iter()
        .filter(|v| v.starts_with("CLAUDE_CONFIG_DIR="))
        .collect();
    assert!(
        pinned.is_empty(),
        "{session} was relaunched pinned: {pinned:?}"
    );
    pid
}

/// The operator's next prompt in `session` goes out from `account` in conversation `id`
/// and is answered on the pane.
fn conversation_continues_on(w: &RealWorld, session: &str, account: &str, id: &str, prompt: &str) {
    w.prompt(session, prompt);
    let turn = w.api.wait_turn(
        &format!("{session}'s {prompt:?} on {account}"),
        Duration::from_secs(20),
        |r| r.body.contains(prompt) && r.session_id.as_deref() == Some(id),
    );
    assert_eq!(
        turn.account.as_deref(),
        Some(account),
        "{}",
        w.api.summary()
    );
    let reply = format!("Stand-in reply: {}.", prompt.to_uppercase());
    w.wait_screen(session, "the reply", |s| s.contains(&reply));
}

/// Every turn of conversation `id` from `from` on went out from `account`.
fn all_turns_on(w: &RealWorld, from: usize, id: &str, account: &str) {
    let strays: Vec<Request> = w.api.turns()[from..]
        .iter()
        .filter(|r| r.session_id.as_deref() == Some(id) && r.account.as_deref() != Some(account))
        .cloned()
        .collect();
    assert!(
        strays.is_empty(),
        "turns of {id} not on {account}:\n{}",
        w.api.summary()
    );
}

/// What in the transcripts says a turn was cut short: a tool call without a result, a
/// result that is an error (`Exit code 137` of a killed command among them), the
/// client's interruption notes, a prompt that got no answer before the next one.
fn killed_turns(w: &RealWorld) -> Vec<String> {
    let mut found = Vec::new();
    for (path, rows) in w.transcripts() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut calls: Vec<String> = Vec::new();
        let mut results: Vec<String> = Vec::new();
        let mut unanswered: Option<String> = None;
        for row in &rows {
            let text = row.to_string();
            for note in [
                "Exit code 137",
                "[Tool call interrupted",
                "[Request interrupted",
            ] {
                if text.contains(note) {
                    found.push(format!("{name}: {note}"));
                }
            }
            let content = &row["message"]["content"];
            let blocks = content.as_array().cloned().unwrap_or_default();
            match row["type"].as_str() {
                Some("assistant") => {
                    unanswered = None;
                    for b in blocks.iter().filter(|b| b["type"] == "tool_use") {
                        calls.push(b["id"].as_str().unwrap_or("").to_string());
                    }
                }
                Some("user") if row["isMeta"] != true => {
                    let tool: Vec<&Value> = blocks
                        .iter()
                        .filter(|b| b["type"] == "tool_result")
                        .collect();
                    for b in &tool {
                        results.push(b["tool_use_id"].as_str().unwrap_or("").to_string());
                        if b["is_error"] == true {
                            found.push(format!("{name}: an error result {b}"));
                        }
                    }
                    if tool.is_empty() {
                        let prompt = content.as_str().map_or_else(
                            || {
                                blocks
                                    .iter()
                                    .filter_map(|b| b["text"].as_str())
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            },
                            str::to_string,
                        );
                        if let Some(before) = unanswered.replace(prompt) {
                            found.push(format!("{name}: no answer to {before:?}"));
                        }
                    }
                }
                _ => {}
            }
        }
        for c in calls.iter().filter(|c| !results.contains(c)) {
            found.push(format!("{name}: tool call {c} has no result"));
        }
        if let Some(p) = unanswered {
            found.push(format!("{name}: no answer to {p:?}"));
        }
    }
    found
}

/// No transcript holds a killed turn. The client writes a reply's row a moment after it
/// drew it: a prompt without an answer gets a few seconds.
fn assert_no_turn_killed(w: &RealWorld) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let killed = killed_turns(w);
        if killed.is_empty() {
            return;
        }
        let pending = killed.iter().all(|k| k.contains(": no answer to "));
        assert!(
            pending && Instant::now() < deadline,
            "killed turns: {killed:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Marker files in `dir`, one per test step.
fn marker(w: &RealWorld, dir: &str, name: &str) -> PathBuf {
    w.sb.path(&format!("{dir}/{name}"))
}

#[test]
fn an_unpinned_session_in_the_middle_of_a_tool_call_follows_a_swap_in_the_same_process() {
    let Some(w) = world() else { return };
    w.start_by_hand(SESSION, &w.sb.path("proj"));
    let pid = w.must_claude_pid(SESSION);
    let done = marker(&w, "proj", "carried");
    start_long_tool(&w, SESSION, "compte1", &done, TOOL_SECS);
    let id = session_id_of(&w, "run the long command");
    let turns = w.api.turns().len();

    w.sb.ccf(&["swap", "--to", "compte2"])
        .stdout_has("active account: compte2")
        .run();
    assert_active(&w, "compte2");
    assert_same_process(&w, SESSION, pid, "by the swap");
    assert!(!done.exists(), "the tool call ended before the swap");

    wait_marker(&w, SESSION, &done, TOOL_SECS);
    let result = bash_result(&w, &id);
    assert_eq!(
        result.account.as_deref(),
        Some("compte2"),
        "the tool's result did not go out on compte2:\n{}",
        w.api.summary()
    );
    wait_turn_over(&w, SESSION);
    assert_same_process(&w, SESSION, pid, "after the tool call");
    conversation_continues_on(&w, SESSION, "compte2", &id, "ping after the swap");
    all_turns_on(&w, turns, &id, "compte2");
    assert_no_turn_killed(&w);
}

/// The operator starts claude by hand (unpinned) on compte1, talks, and hits compte1's
/// limit. Returns the conversation id and the reset.
fn hit_the_limit(w: &RealWorld, session: &str, dir: &Path) -> (String, i64) {
    w.start_by_hand(session, dir);
    w.prompt(session, "ping alpha");
    w.wait_screen(session, "the reply", |s| {
        s.contains("Stand-in reply: PING ALPHA.")
    });
    let id = session_id_of(w, "ping alpha");
    let reset = (epoch_now() / 60 + 130) * 60;
    w.set_mode(
        "compte1",
        Mode::UsageLimit {
            reset,
            window: Window::FiveHour,
        },
    );
    w.prompt(session, "ping bravo");
    w.wait_screen(session, "the armed limit screen", |s| {
        after(s, "ping bravo").contains("Continuing automatically at")
    });
    (id, reset)
}

#[test]
fn an_unpinned_session_at_the_limit_screen_continues_in_the_same_process_after_the_swap() {
    let Some(w) = world() else { return };
    let (id, _) = hit_the_limit(&w, SESSION, &w.sb.path("proj"));
    let pid = w.must_claude_pid(SESSION);
    let turns = w.api.turns().len();

    w.sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .stderr_may_have(NUDGE_GAVE_UP)
        .run();
    assert_active(&w, "compte2");
    assert_same_process(&w, SESSION, pid, "by check-quota's swap");
    // claude.resume_prompt (`continue`) was typed into that process: the blocked prompt
    // is answered on compte2, in the same conversation.
    let turn = w.wait_resume_prompt(SESSION, "compte2", &id);
    assert!(
        turn.body.contains("ping bravo") && turn.body.contains("PING ALPHA"),
        "the resumed turn lost the conversation"
    );
    assert_same_process(&w, SESSION, pid, "after the resume prompt");
    conversation_continues_on(&w, SESSION, "compte2", &id, "ping charlie");
    all_turns_on(&w, turns, &id, "compte2");
    assert_no_turn_killed(&w);
}

#[test]
fn a_pinned_session_in_the_middle_of_a_tool_call_is_deferred_by_a_swap_and_moved_once_idle() {
    let Some(w) = world() else { return };
    w.sb.ccf(&["install-hooks"]).run();
    w.start_pinned(SESSION, &w.sb.path("proj"), "compte1");
    let pid = w.must_claude_pid(SESSION);
    let done = marker(&w, "proj", "deferred");
    start_long_tool(&w, SESSION, "compte1", &done, TOOL_SECS);
    let id = session_id_of(&w, "run the long command");

    w.sb.ccf(&["swap", "--to", "compte2"])
        .stdout_has("active account: compte2")
        .run();
    let st = assert_active(&w, "compte2");
    assert_same_process(&w, SESSION, pid, "by the swap while its tool ran");
    assert_deferred(&st, SESSION, "compte2");

    // Its turn ends on compte1, the account it is pinned to.
    wait_marker(&w, SESSION, &done, TOOL_SECS);
    let result = bash_result(&w, &id);
    assert_eq!(result.account.as_deref(), Some("compte1"));
    wait_turn_over(&w, SESSION);
    assert_same_process(&w, SESSION, pid, "before its turn ended");

    let turns = w.api.turns().len();
    w.sb.ccf(&["check-quota"]).run();
    assert_relaunched_unpinned(&w, SESSION, pid);
    let st = status(&w);
    let s = session_status(&st, SESSION);
    assert!(s["pending_move"].is_null(), "still pending: {s}");
    assert_eq!(s["account"], "compte2", "{s}");
    conversation_continues_on(&w, SESSION, "compte2", &id, "ping after the move");
    all_turns_on(&w, turns, &id, "compte2");
    assert_no_turn_killed(&w);
}

#[test]
fn a_pinned_session_in_the_middle_of_a_tool_call_is_deferred_by_the_return_and_moved_once_idle() {
    let Some(w) = world() else { return };
    // The limit on compte1 moves the fleet to compte2 and makes a return due at reset.
    let (id, reset) = hit_the_limit(&w, SESSION, &w.sb.path("proj"));
    w.sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .stderr_may_have(NUDGE_GAVE_UP)
        .run();
    w.wait_resume_prompt(SESSION, "compte2", &id);
    w.set_mode("compte1", Mode::Normal);

    // A session pinned to compte2 is in the middle of a tool call when the return is due.
    let pool = "ccl-auto-11";
    w.start_pinned(pool, &w.sb.path("work"), "compte2");
    let pid = w.must_claude_pid(pool);
    let done = marker(&w, "work", "returned");
    start_long_tool(&w, pool, "compte2", &done, TOOL_SECS);
    let pool_id = session_id_of(&w, &format!("run the long command in {pool}"));

    let due = rfc3339(reset + 6 * 60);
    w.sb.ccf(&["check-quota"])
        .env("CCF_NOW", &due)
        .stdout_has("swapped compte2 -> compte1")
        .run();
    let st = assert_active(&w, "compte1");
    assert_same_process(&w, pool, pid, "by the return while its tool ran");
    assert_deferred(&st, pool, "compte1");

    wait_marker(&w, pool, &done, TOOL_SECS);
    let result = bash_result(&w, &pool_id);
    assert_eq!(result.account.as_deref(), Some("compte2"));
    wait_turn_over(&w, pool);
    assert_same_process(&w, pool, pid, "before its turn ended");

    let turns = w.api.turns().len();
    w.sb.ccf(&["check-quota"]).env("CCF_NOW", &due).run();
    assert_relaunched_unpinned(&w, pool, pid);
    let s = session_status(&status(&w), pool);
    assert!(s["pending_move"].is_null(), "still pending: {s}");
    assert_eq!(s["account"], "compte1", "{s}");
    conversation_continues_on(&w, pool, "compte1", &pool_id, "ping after the return");
    all_turns_on(&w, turns, &pool_id, "compte1");
    conversation_continues_on(&w, SESSION, "compte1", &id, "ping back home");
    assert_no_turn_killed(&w);
}

/// A mixed fleet through a failover and the return: one session at the limit screen (on
/// the link), one pinned to the exhausted account in the middle of a tool call, one on
/// the link waiting for a slow reply; at the return, one on the link in the middle of a
/// tool call. Every turn ends as it would have without ccf.
#[test]
fn after_a_failover_and_the_return_no_transcript_holds_a_killed_turn() {
    let Some(w) = world() else { return };
    let (pinned, slow) = ("ccl-auto-11", "ccl-auto-12");
    w.start_by_hand(SESSION, &w.sb.path("proj"));
    w.start_pinned(pinned, &w.sb.path("work"), "compte1");
    w.start_by_hand(slow, &w.sb.path("work"));
    w.prompt(SESSION, "ping alpha");
    w.wait_screen(SESSION, "the reply", |s| {
        s.contains("Stand-in reply: PING ALPHA.")
    });
    let id = session_id_of(&w, "ping alpha");

    let first = marker(&w, "work", "first");
    start_long_tool(&w, pinned, "compte1", &first, 15);
    let pinned_id = session_id_of(&w, &format!("run the long command in {pinned}"));
    w.set_mode(
        "compte1",
        Mode::Slow {
            secs: 10,
            then: Box::new(Mode::Normal),
        },
    );
    w.prompt(slow, "ping slow");
    w.api
        .wait_turn("the slow prompt", Duration::from_secs(20), |r| {
            r.body.contains("ping slow")
        });
    let slow_id = session_id_of(&w, "ping slow");
    let reset = (epoch_now() / 60 + 130) * 60;
    w.set_mode(
        "compte1",
        Mode::UsageLimit {
            reset,
            window: Window::FiveHour,
        },
    );
    w.prompt(SESSION, "ping bravo");
    w.wait_screen(SESSION, "the armed limit screen", |s| {
        after(s, "ping bravo").contains("Continuing automatically at")
    });

    // The failover, with a tool call and a reply in flight.
    w.sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .stderr_may_have(NUDGE_GAVE_UP)
        .run();
    assert_active(&w, "compte2");
    w.wait_resume_prompt(SESSION, "compte2", &id);
    w.wait_screen(slow, "the slow reply", |s| {
        s.contains("Stand-in reply: PING SLOW.")
    });
    // The pinned session's tool call ends; its result meets compte1's limit.
    wait_marker(&w, pinned, &first, 15);
    bash_result(&w, &pinned_id);
    w.wait_screen(pinned, "its limit screen", |s| {
        after(s, "run the long command").contains("You've hit your 5-hour limit")
            && !footer(s).contains(BUSY)
    });
    // Now blocked, it is moved to compte2 and its turn resumed there.
    w.sb.ccf(&["check-quota"])
        .stderr_may_have(NUDGE_GAVE_UP)
        .run();
    w.wait_resume_prompt(pinned, "compte2", &pinned_id);

    // The return, with a tool call in flight on the link.
    w.set_mode("compte1", Mode::Normal);
    let second = marker(&w, "work", "second");
    start_long_tool(&w, slow, "compte2", &second, 10);
    w.sb.ccf(&["check-quota"])
        .env("CCF_NOW", &rfc3339(reset + 6 * 60))
        .stdout_has("swapped compte2 -> compte1")
        .run();
    assert_active(&w, "compte1");
    wait_marker(&w, slow, &second, 10);
    let result = bash_result(&w, &slow_id);
    assert_eq!(result.account.as_deref(), Some("compte1"));
    wait_turn_over(&w, slow);

    for (session, conversation) in [(SESSION, &id), (pinned, &pinned_id), (slow, &slow_id)] {
        let prompt = format!("ping home from {session}");
        conversation_continues_on(&w, session, "compte1", conversation, &prompt);
    }
    assert_no_turn_killed(&w);
}
