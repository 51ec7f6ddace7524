//! A swap never kills a turn (with the fake claude): a session on `~/.claude` is carried
//! by the flip whatever it is doing; a pinned one in the middle of a turn is deferred —
//! the swap completes without it — and moved by check-quota once idle, onto the link; a
//! failed relaunch stays owed and `ccf swap --to <active>` (what ccf says to run) makes
//! it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Sandbox, wait_for};

const ID: &str = "11111111-2222-4333-8444-555555555555";
const SESSION: &str = "ccl-1-proj";

fn world() -> Sandbox {
    let sb = Sandbox::with_accounts(&["compte1", "compte2"]);
    sb.hold_notifications();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    sb
}

/// Starts claude in the dedicated session, pinned to `pin` when given, with one answered
/// prompt in its conversation.
fn start(sb: &Sandbox, pin: Option<&str>) {
    let mut argv = vec!["env".to_string()];
    if let Some(a) = pin {
        argv.push(format!(
            "CLAUDE_CONFIG_DIR={}",
            sb.account_home(a).display()
        ));
    }
    argv.extend(["claude", "--session-id", ID].map(String::from));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    sb.tmux.new_session(SESSION, &sb.path("proj"), &argv);
    sb.tmux
        .wait_for_text(SESSION, "Welcome to fake Claude Code");
    sb.tmux.type_line(SESSION, "hi");
    sb.tmux.wait_for_text(SESSION, "reply to: hi");
}

/// Starts a long turn (the fake's `work` mode on `account`) and waits for its footer.
fn busy(sb: &Sandbox, account: &str, secs: u32) {
    sb.set_mode(account, &format!("work {secs}"));
    sb.tmux.type_line(SESSION, "long job");
    sb.tmux.wait_for_text(SESSION, "esc to interrupt");
}

fn transcript(sb: &Sandbox) -> Vec<Value> {
    let slug = ccf::claude::slug(&sb.path("proj"));
    let p = sb
        .path(".claude-shared/projects")
        .join(slug)
        .join(format!("{ID}.jsonl"));
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// No turn was cut short: every prompt in the transcript has its answer.
fn assert_no_turn_killed(sb: &Sandbox) {
    let rows = transcript(sb);
    let kinds: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    for (i, k) in kinds.iter().enumerate() {
        if *k == "user" {
            assert_eq!(
                kinds.get(i + 1),
                Some(&"assistant"),
                "a turn was killed: {rows:#?}"
            );
        }
    }
}

fn home_of_last_answer(sb: &Sandbox) -> String {
    let rows = transcript(sb);
    rows.iter()
        .rev()
        .find(|r| r["type"] == "assistant")
        .map(|r| r["home"].as_str().unwrap_or_default().to_string())
        .unwrap()
}

fn canonical(p: &Path) -> String {
    std::fs::canonicalize(p).unwrap().display().to_string()
}

fn session_status(sb: &Sandbox) -> Value {
    let s = sb.ccf(&["status", "--json"]).run().json();
    s["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == SESSION)
        .cloned()
        .unwrap()
}

fn relaunches(sb: &Sandbox) -> Vec<Value> {
    sb.claude_log()
        .into_iter()
        .filter(|e| {
            e["argv"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "--resume")
        })
        .collect()
}

#[test]
fn a_session_on_the_link_is_carried_in_the_middle_of_a_turn() {
    let sb = world();
    start(&sb, None);
    busy(&sb, "compte1", 4);
    let pid = sb.tmux.pane_pid(SESSION);
    sb.ccf(&["swap", "--to", "compte2"])
        .stdout_has("ccl-1-proj follows the link to compte2")
        .run();
    assert_eq!(sb.tmux.pane_pid(SESSION), pid, "same process");
    sb.tmux.wait_for_text(SESSION, "reply to: long job");
    assert_eq!(
        home_of_last_answer(&sb),
        canonical(&sb.account_home("compte2")),
        "the turn that was running ended on compte2"
    );
    assert!(relaunches(&sb).is_empty());
    assert_no_turn_killed(&sb);
    assert_eq!(session_status(&sb)["pinned"], false);
}

#[test]
fn a_pinned_session_in_the_middle_of_a_turn_is_deferred_and_moved_onto_the_link_once_idle() {
    let sb = world();
    start(&sb, Some("compte1"));
    busy(&sb, "compte1", 6);
    let pid = sb.tmux.pane_pid(SESSION);
    sb.ccf(&["swap", "--to", "compte2", "--dry-run"])
        .stdout_has("would defer ccl-1-proj: its turn is running")
        .run();
    sb.ccf(&["swap", "--to", "compte2"])
        .stdout_has("defer ccl-1-proj")
        .stdout_has("deferred ccl-1-proj: a turn is running")
        .stdout_has("active account: compte2")
        .run();
    // The swap is complete; the session was not touched.
    let st = sb.state();
    assert_eq!(st["active_account"], "compte2");
    assert!(st["swap"].is_null());
    assert_eq!(
        std::fs::read_link(sb.path(".claude")).unwrap(),
        sb.account_home("compte2")
    );
    assert_eq!(sb.tmux.pane_pid(SESSION), pid);
    let s = session_status(&sb);
    assert_eq!(s["pending_move"]["why"], "deferred", "{s:#}");
    assert_eq!(s["pending_move"]["to"], "compte2", "{s:#}");
    assert_eq!(s["pinned"], true, "{s:#}");
    sb.ccf(&["status"])
        .stdout_has("owed a move to compte2")
        .run();
    // Still busy: check-quota leaves it.
    sb.ccf(&["check-quota"]).run();
    assert_eq!(
        sb.tmux.pane_pid(SESSION),
        pid,
        "never relaunched while busy"
    );
    // Its turn ends (on compte1: a manual swap leaves that account working).
    sb.tmux.wait_for_text(SESSION, "reply to: long job");
    assert!(relaunches(&sb).is_empty());
    sb.ccf(&["check-quota"])
        .stdout_has("owed moves on compte2: moved ccl-1-proj")
        .run();
    let r = relaunches(&sb);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert!(
        r[0]["env"].get("CLAUDE_CONFIG_DIR").is_none(),
        "onto the link: {:#}",
        r[0]
    );
    assert_eq!(r[0]["config_dir"], sb.path(".claude").display().to_string());
    wait_for("claude again", Duration::from_secs(10), || {
        (sb.tmux.pane_command(SESSION) == "claude").then_some(())
    });
    let s = session_status(&sb);
    assert!(s["pending_move"].is_null(), "{s:#}");
    assert_eq!(s["account"], "compte2");
    assert_eq!(s["pinned"], false);
    assert_no_turn_killed(&sb);
    // The next swap carries it.
    sb.set_mode("compte1", "normal");
    let pid = sb.tmux.pane_pid(SESSION);
    sb.ccf(&["swap", "--to", "compte1"]).run();
    assert_eq!(sb.tmux.pane_pid(SESSION), pid, "carried");
    assert_eq!(relaunches(&sb).len(), 1);
}

#[test]
fn a_failed_relaunch_stays_owed_and_the_swap_ccf_recommends_makes_it() {
    let sb = world();
    start(&sb, Some("compte1"));
    // A claude cannot start on compte2 (the fake's stand-in for a lost login).
    let fail = sb.account_home("compte2").join("fake-start");
    std::fs::write(&fail, "fail").unwrap();
    sb.set_env("CCF_RELAUNCH_DEADLINE", "1s");
    sb.ccf(&["swap", "--to", "compte2"])
        .code(1)
        .stderr_has("relaunching ccl-1-proj (attempt 1/3)")
        .stderr_has("relaunching ccl-1-proj (attempt 3/3)")
        .stderr_has("fake start failure on this account")
        .stderr_may_have("failed to relaunch ccl-1-proj")
        .stderr_has("`ccf swap --to compte2` relaunches them")
        .run();
    let s = session_status(&sb);
    assert_eq!(s["pending_move"]["why"], "failed", "{s:#}");
    let detail = s["pending_move"]["detail"].as_str().unwrap();
    assert!(detail.contains("fake start failure"), "{detail}");
    // Fixed: the command ccf named relaunches it.
    std::fs::remove_file(&fail).unwrap();
    sb.ccf(&["swap", "--to", "compte2"])
        .stdout_lacks("already on")
        .run();
    wait_for("claude again", Duration::from_secs(10), || {
        (sb.tmux.pane_command(SESSION) == "claude").then_some(())
    });
    let s = session_status(&sb);
    assert!(s["pending_move"].is_null(), "{s:#}");
    assert_eq!(s["account"], "compte2");
}

#[test]
fn an_owed_move_of_a_session_that_is_gone_is_dropped() {
    let sb = world();
    start(&sb, Some("compte1"));
    busy(&sb, "compte1", 6);
    sb.ccf(&["swap", "--to", "compte2"])
        .stdout_has("deferred ccl-1-proj")
        .run();
    assert_eq!(
        sb.state()["sessions"][SESSION]["pending_move"]["why"],
        "deferred"
    );
    sb.tmux.ok(["kill-session", "-t", &format!("={SESSION}")]);
    sb.ccf(&["check-quota"]).run();
    let st = sb.state();
    assert!(
        st["sessions"][SESSION]["pending_move"].is_null(),
        "{:#}",
        st["sessions"][SESSION]
    );
}
