//! The failover end to end: `ccf swap`/`ccf rollback` on a real tmux server with the fake
//! claude, check-quota's automatic paths (failover, parking, resume, return) through the
//! library with a pinned clock, and crash injection at every step of a swap.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use ccf::state::State;

use crate::support::{Sandbox, wait_for};

const DEDICATED_ID: &str = "11111111-2222-4333-8444-555555555555";

/// A sandbox with every account logged in and the shared layout built (link -> compte1).
fn world(accounts: &[&str]) -> Sandbox {
    let sb = Sandbox::with_accounts(accounts);
    sb.hold_notifications();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    sb
}

fn home(sb: &Sandbox, account: &str) -> String {
    sb.account_home(account).display().to_string()
}

/// Starts claude in `name` the way an operator would: pinned to `account` by
/// `CLAUDE_CONFIG_DIR` when given, else on `~/.claude`; `id` via `--session-id`.
fn start(sb: &Sandbox, name: &str, dir: &str, account: Option<&str>, id: Option<&str>) {
    let mut argv: Vec<String> = vec!["env".into()];
    if let Some(a) = account {
        argv.push(format!("CLAUDE_CONFIG_DIR={}", home(sb, a)));
    }
    argv.push("claude".into());
    if let Some(id) = id {
        argv.extend(["--session-id".into(), id.into()]);
    }
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    sb.tmux.new_session(name, &sb.path(dir), &argv);
    sb.tmux.wait_for_text(name, "Welcome to fake Claude Code");
}

/// Types a prompt and waits for the fake's answer (a reply or a banner).
fn prompt(sb: &Sandbox, name: &str, text: &str, answer: &str) {
    sb.tmux.type_line(name, text);
    sb.tmux.wait_for_text(name, answer);
}

/// The id of the shared transcript under `dir` that holds `text`.
fn transcript_id(sb: &Sandbox, dir: &str, text: &str) -> String {
    let slug = ccf::claude::slug(&sb.path(dir));
    let d = sb.path(".claude-shared/projects").join(slug);
    for e in std::fs::read_dir(&d).unwrap() {
        let p = e.unwrap().path();
        if std::fs::read_to_string(&p).unwrap().contains(text) {
            return p.file_stem().unwrap().to_string_lossy().into_owned();
        }
    }
    panic!("no transcript in {} holds {text:?}", d.display());
}

/// The fake's invocations after the first `skip`, for session `id`.
fn launches_of(sb: &Sandbox, skip: usize, id: &str) -> Vec<Value> {
    sb.claude_log()
        .into_iter()
        .skip(skip)
        .filter(|e| {
            e["argv"]
                .as_array()
                .unwrap()
                .windows(2)
                .any(|w| w[0] == "--resume" && w[1] == id)
        })
        .collect()
}

/// One relaunch of `id` in `dir` since the first `skip` launches, onto `~/.claude` (not
/// pinned, so the next swap carries it), which points at `account`.
fn assert_resumed(sb: &Sandbox, skip: usize, id: &str, dir: &str, account: &str) {
    let l = launches_of(sb, skip, id);
    assert_eq!(l.len(), 1, "one relaunch of {id}: {l:#?}");
    let e = &l[0];
    assert_eq!(e["cwd"], sb.path(dir).display().to_string(), "{e:#}");
    assert_eq!(
        e["config_dir"],
        sb.path(".claude").display().to_string(),
        "relaunched on the link: {e:#}"
    );
    assert!(
        e["env"].get("CLAUDE_CONFIG_DIR").is_none(),
        "not pinned: {e:#}"
    );
    assert_eq!(
        link(sb),
        sb.account_home(account),
        "the link is on {account}"
    );
    assert!(
        e["env"].get("CLAUDECODE").is_none(),
        "CLAUDECODE leaked: {e:#}"
    );
}

/// `name`'s claude was not restarted (same pid as `pid`) and got the resume prompt: its
/// next turn was answered on `account` (the fake names the home that answered).
fn assert_carried_and_resumed(
    sb: &Sandbox,
    name: &str,
    pid: u32,
    dir: &str,
    id: &str,
    account: &str,
) {
    assert_eq!(sb.tmux.pane_pid(name), pid, "{name} kept its process");
    sb.tmux.wait_for_text(name, "reply to: continue");
    let slug = ccf::claude::slug(&sb.path(dir));
    let t = std::fs::read_to_string(
        sb.path(".claude-shared/projects")
            .join(slug)
            .join(format!("{id}.jsonl")),
    )
    .unwrap();
    let last = t.lines().last().unwrap();
    let row: Value = serde_json::from_str(last).unwrap();
    assert_eq!(
        row["home"],
        std::fs::canonicalize(sb.account_home(account))
            .unwrap()
            .display()
            .to_string(),
        "{name}'s resumed turn went out on {account}: {last}"
    );
}

fn link(sb: &Sandbox) -> PathBuf {
    std::fs::read_link(sb.path(".claude")).unwrap()
}

/// Waits until the pane runs claude again (after a relaunch) and returns its pid.
fn claude_pid(sb: &Sandbox, name: &str) -> u32 {
    wait_for(
        &format!("claude in {name}"),
        Duration::from_secs(10),
        || (sb.tmux.pane_command(name) == "claude").then(|| sb.tmux.pane_pid(name)),
    )
}

/// The kinds of the queued events, sorted (events of one run share a timestamp).
fn outbox_kinds(sb: &Sandbox) -> Vec<String> {
    sb.outbox()
        .iter()
        .map(|v| v["event"]["kind"].as_str().unwrap().to_string())
        .collect::<std::collections::BTreeSet<String>>()
        .into_iter()
        .collect()
}

/// Swapping again to the active account relaunches nothing; returns the log length.
fn assert_a_second_swap_changes_nothing(sb: &Sandbox, names: &[&str]) -> usize {
    let pids: Vec<u32> = names.iter().map(|n| claude_pid(sb, n)).collect();
    let after = sb.claude_log().len();
    sb.ccf(&["swap", "--to", "compte2"])
        .stdout_has("already on compte2")
        .run();
    assert_eq!(sb.claude_log().len(), after);
    for (n, pid) in names.iter().zip(&pids) {
        assert_eq!(sb.tmux.pane_pid(n), *pid, "{n} untouched by the second run");
    }
    after
}

#[test]
fn swap_moves_pinned_and_blocked_sessions_with_their_ids_and_leaves_the_rest_running() {
    let sb = world(&["compte1", "compte2"]);
    start(
        &sb,
        "ccl-1-proj",
        "proj",
        Some("compte1"),
        Some(DEDICATED_ID),
    );
    start(&sb, "ccl-auto-11", "work", Some("compte1"), None);
    start(&sb, "ccl-auto-12", "work", None, None);
    start(&sb, "ccl-auto-13", "work", None, None);
    start(&sb, "ccl-0", "proj", None, None);
    prompt(
        &sb,
        "ccl-1-proj",
        "hello dedicated",
        "reply to: hello dedicated",
    );
    prompt(&sb, "ccl-auto-11", "task eleven", "reply to: task eleven");
    prompt(
        &sb,
        "ccl-auto-13",
        "task thirteen",
        "reply to: task thirteen",
    );
    sb.set_mode("compte1", "limit 1893456000");
    prompt(
        &sb,
        "ccl-auto-12",
        "task twelve",
        "You've hit your 5-hour limit",
    );
    sb.set_mode("compte1", "normal");
    let id11 = transcript_id(&sb, "work", "task eleven");
    let id12 = transcript_id(&sb, "work", "task twelve");
    let follower = sb.tmux.pane_pid("ccl-auto-13");
    let blocked = sb.tmux.pane_pid("ccl-auto-12");
    let manual = sb.tmux.pane_pid("ccl-0");
    // A tmux server started from inside Claude carries this; no relaunch may inherit it.
    sb.tmux.ok(["set-environment", "-g", "CLAUDECODE", "1"]);
    let before = sb.claude_log().len();

    sb.ccf(&["swap"])
        .stdout_has("swap compte1 -> compte2")
        .stdout_has("ccl-auto-13 follows the link")
        .stdout_has("active account: compte2")
        .run();

    assert_resumed(&sb, before, DEDICATED_ID, "proj", "compte2");
    assert_resumed(&sb, before, &id11, "work", "compte2");
    // Blocked on the link: the same process gets the resume prompt, on compte2.
    assert_carried_and_resumed(&sb, "ccl-auto-12", blocked, "work", &id12, "compte2");
    assert_eq!(
        sb.claude_log().len(),
        before + 2,
        "exactly two relaunches: the pinned ones"
    );
    assert_eq!(link(&sb), sb.account_home("compte2"));
    assert_eq!(
        sb.tmux.pane_pid("ccl-auto-13"),
        follower,
        "a working follower keeps running"
    );
    assert_eq!(
        sb.tmux.pane_pid("ccl-0"),
        manual,
        "a manual session is never touched"
    );
    let st = sb.state();
    assert_eq!(st["active_account"], "compte2");
    assert!(st["swap"].is_null());
    for (name, id) in [
        ("ccl-1-proj", DEDICATED_ID),
        ("ccl-auto-11", id11.as_str()),
        ("ccl-auto-12", id12.as_str()),
    ] {
        assert_eq!(st["sessions"][name]["session_id"], id, "{name}");
        assert_eq!(st["sessions"][name]["account"], "compte2", "{name}");
        claude_pid(&sb, name);
    }
    assert_eq!(st["sessions"]["ccl-auto-13"]["account"], "compte2");
    assert!(st["sessions"].get("ccl-0").is_none());
    assert_eq!(st["last_swap"]["from"], "compte1");
    assert_eq!(st["last_swap"]["manual"], true);
    assert!(
        st["pending_return"].is_null(),
        "a manual swap sets no return"
    );
    assert_eq!(outbox_kinds(&sb), ["swap_done", "swap_started"]);

    let after =
        assert_a_second_swap_changes_nothing(&sb, &["ccl-1-proj", "ccl-auto-11", "ccl-auto-12"]);

    rollback_carries_them_back(&sb, after, &["ccl-1-proj", "ccl-auto-11", "ccl-auto-12"]);
}

/// rollback takes the sessions back: on the link now, they follow it without a restart;
/// a second rollback has nothing to do.
fn rollback_carries_them_back(sb: &Sandbox, launches: usize, names: &[&str]) {
    let pids: Vec<u32> = names.iter().map(|n| sb.tmux.pane_pid(n)).collect();
    sb.ccf(&["rollback"]).stdout_has("back on compte1").run();
    assert_eq!(sb.claude_log().len(), launches, "no relaunch");
    for (n, pid) in names.iter().zip(pids) {
        assert_eq!(sb.tmux.pane_pid(n), pid, "{n} carried back");
    }
    assert_eq!(link(sb), sb.account_home("compte1"));
    assert_eq!(sb.state()["active_account"], "compte1");
    sb.ccf(&["rollback"])
        .stdout_has("nothing to roll back")
        .run();
    assert_eq!(sb.claude_log().len(), launches);
}

#[test]
fn three_accounts_with_the_second_exhausted_swap_to_the_third() {
    let sb = world(&["compte1", "compte2", "compte3"]);
    start(
        &sb,
        "ccl-1-proj",
        "proj",
        Some("compte1"),
        Some(DEDICATED_ID),
    );
    prompt(&sb, "ccl-1-proj", "hi", "reply to: hi");
    let mut st: Value = sb.state();
    st["accounts"]["compte2"] = serde_json::json!({"exhausted_until": "2099-01-01T00:00:00Z"});
    std::fs::write(sb.state_file(), st.to_string()).unwrap();
    let before = sb.claude_log().len();
    sb.ccf(&["swap"])
        .stdout_has("swap compte1 -> compte3")
        .run();
    assert_resumed(&sb, before, DEDICATED_ID, "proj", "compte3");
    assert_eq!(link(&sb), sb.account_home("compte3"));
}

/// The reset the fake claude's limit banner (and its transcript row) names: 1893456000.
const RESET: &str = "2030-01-01T00:00:00Z";

/// Shows a limit banner in `ccl-1-proj` (started on compte1 if it is not running) and
/// lets check-quota act on it, at the pinned instant `now`.
fn limit_hit(sb: &Sandbox, now: &str) -> String {
    if !sb.tmux.has_session("ccl-1-proj") {
        start(
            sb,
            "ccl-1-proj",
            "proj",
            Some("compte1"),
            Some(DEDICATED_ID),
        );
    }
    sb.set_mode("compte1", "limit 1893456000");
    prompt(sb, "ccl-1-proj", "hi", "You've hit your 5-hour limit");
    sb.set_mode("compte1", "normal");
    sb.set_env("CCF_NOW", now);
    sb.ccf(&["check-quota"]).run().stdout
}

fn load(sb: &Sandbox) -> State {
    State::load(&sb.state_file()).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn all_accounts_exhausted_parks_the_sessions_and_resumes_them_after_the_reset() {
    let sb = world(&["compte1", "compte2"]);
    start(
        &sb,
        "ccl-1-proj",
        "proj",
        Some("compte1"),
        Some(DEDICATED_ID),
    );
    let mut st = sb.state();
    st["accounts"]["compte2"] = serde_json::json!({"exhausted_until": "2030-01-01T03:00:00Z"});
    std::fs::write(sb.state_file(), st.to_string()).unwrap();
    let parked_pid = sb.tmux.pane_pid("ccl-1-proj");
    let before = sb.claude_log().len();

    let out = limit_hit(&sb, "2029-12-31T23:00:00Z");
    assert!(
        out.contains("no account available to swap to from compte1; sessions parked"),
        "{out}"
    );
    let st = load(&sb);
    assert_eq!(st.all_exhausted_since, Some(ts("2029-12-31T23:00:00Z")));
    assert_eq!(st.accounts["compte1"].exhausted_until, Some(ts(RESET)));
    assert_eq!(
        sb.tmux.pane_pid("ccl-1-proj"),
        parked_pid,
        "parked, not relaunched"
    );
    assert_eq!(outbox_kinds(&sb), ["all_exhausted"]);
    // Before the reset (and its margin): still parked.
    sb.set_env("CCF_NOW", "2030-01-01T00:04:00Z");
    sb.ccf(&["check-quota"]).run();
    assert_eq!(sb.tmux.pane_pid("ccl-1-proj"), parked_pid);

    sb.set_env("CCF_NOW", "2030-01-01T00:06:00Z");
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte1")
        .run();
    // Pinned to the account that reset: its process takes the resume prompt, no restart.
    assert_eq!(sb.claude_log().len(), before, "no relaunch");
    assert_carried_and_resumed(
        &sb,
        "ccl-1-proj",
        parked_pid,
        "proj",
        DEDICATED_ID,
        "compte1",
    );
    let st = load(&sb);
    assert_eq!(st.all_exhausted_since, None);
    assert_eq!(outbox_kinds(&sb), ["all_exhausted", "work_resumed"]);
}

#[test]
fn an_automatic_failover_returns_to_the_primary_after_its_reset() {
    let sb = world(&["compte1", "compte2"]);
    start(
        &sb,
        "ccl-1-proj",
        "proj",
        Some("compte1"),
        Some(DEDICATED_ID),
    );
    let before = sb.claude_log().len();
    let out = limit_hit(&sb, "2029-12-31T22:00:00Z");
    assert!(out.contains("swapped compte1 -> compte2"), "{out}");
    assert_resumed(&sb, before, DEDICATED_ID, "proj", "compte2");
    let st = load(&sb);
    let pending = st.pending_return.clone().unwrap();
    assert_eq!(pending.to, "compte1");
    assert_eq!(pending.not_before, ts("2030-01-01T00:05:00Z"));

    // Exhausted now, available after the reset.
    let status = sb.ccf(&["status", "--json"]).run().json();
    assert_eq!(status["accounts"][0]["state"], "exhausted");
    let status = sb
        .ccf(&["status", "--json"])
        .env("CCF_NOW", "2030-01-01T00:06:00Z")
        .run()
        .json();
    assert_eq!(status["accounts"][0]["state"], "available");

    sb.set_env("CCF_NOW", RESET);
    sb.ccf(&["check-quota"]).run();
    assert_eq!(load(&sb).active_account.as_deref(), Some("compte2"));
    let before = sb.claude_log().len();
    let pid = claude_pid(&sb, "ccl-1-proj");
    sb.set_env("CCF_NOW", "2030-01-01T00:06:00Z");
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte2 -> compte1")
        .run();
    // ccf relaunched it onto ~/.claude: the return carries it, no restart.
    assert_eq!(sb.claude_log().len(), before, "no relaunch on the return");
    assert_eq!(sb.tmux.pane_pid("ccl-1-proj"), pid);
    let st = load(&sb);
    assert_eq!(st.active_account.as_deref(), Some("compte1"));
    assert_eq!(
        st.sessions["ccl-1-proj"].account.as_deref(),
        Some("compte1")
    );
    assert_eq!(st.pending_return, None);
    assert_eq!(link(&sb), sb.account_home("compte1"));
    assert_eq!(outbox_kinds(&sb), ["returned", "swap_done", "swap_started"]);
}

#[test]
fn a_disabled_primary_is_not_returned_to_until_it_is_enabled() {
    let sb = world(&["compte1", "compte2"]);
    start(
        &sb,
        "ccl-1-proj",
        "proj",
        Some("compte1"),
        Some(DEDICATED_ID),
    );
    let out = limit_hit(&sb, "2029-12-31T22:00:00Z");
    assert!(out.contains("swapped compte1 -> compte2"), "{out}");
    sb.ccf(&[
        "account",
        "disable",
        "compte1",
        "--reason",
        "kept for the demo",
    ])
    .run();
    sb.set_env("CCF_NOW", "2030-01-01T00:06:00Z");
    sb.ccf(&["check-quota"]).run();
    let st = load(&sb);
    assert_eq!(st.active_account.as_deref(), Some("compte2"), "no return");
    assert_eq!(link(&sb), sb.account_home("compte2"));
    sb.ccf(&["account", "enable", "compte1"]).run();
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte2 -> compte1")
        .run();
    assert_eq!(load(&sb).active_account.as_deref(), Some("compte1"));
}

#[test]
fn a_divergent_link_on_the_target_cancels_the_swap_and_puts_the_link_back() {
    let sb = world(&["compte1", "compte2"]);
    start(
        &sb,
        "ccl-1-proj",
        "proj",
        Some("compte1"),
        Some(DEDICATED_ID),
    );
    let pid = sb.tmux.pane_pid("ccl-1-proj");
    let planted = sb.account_home("compte2").join("projects");
    std::fs::remove_file(&planted).unwrap();
    std::os::unix::fs::symlink(sb.path("elsewhere"), &planted).unwrap();
    sb.ccf(&["swap"])
        .code(1)
        .stderr_has("cancelled")
        .stderr_has("projects")
        .run();
    assert_eq!(link(&sb), sb.account_home("compte1"));
    assert_eq!(
        std::fs::read_link(&planted).unwrap(),
        sb.path("elsewhere"),
        "left alone"
    );
    let st = sb.state();
    assert_eq!(st["active_account"], "compte1");
    assert!(st["swap"].is_null() && st["degraded"].is_null());
    assert_eq!(sb.tmux.pane_pid("ccl-1-proj"), pid);
    assert_eq!(outbox_kinds(&sb), ["swap_failed", "swap_started"]);
}

#[test]
fn a_swap_killed_at_any_step_is_repaired_by_the_next_run() {
    for point in [
        "planned",
        "link-flipped-unsaved",
        "link-flipped",
        "symlinks-ensured",
        "relaunching",
        "respawned",
        "relaunched",
        "finished",
    ] {
        let sb = world(&["compte1", "compte2"]);
        start(
            &sb,
            "ccl-1-proj",
            "proj",
            Some("compte1"),
            Some(DEDICATED_ID),
        );
        prompt(&sb, "ccl-1-proj", "hi", "reply to: hi");
        let killed = sb.ccf(&["swap"]).env("CCF_FAULT", point).code(-1).run();
        assert!(
            killed.stdout.is_empty() || !killed.stdout.contains("active account"),
            "{point}"
        );
        // The next mutating run repairs; status then shows a consistent world.
        sb.ccf(&["ensure-symlinks"]).run();
        sb.ccf(&["status", "--check"]).run();
        let st = sb.state();
        assert!(st["swap"].is_null(), "{point}: journal left");
        assert!(st["degraded"].is_null(), "{point}: degraded");
        let active = st["active_account"].as_str().unwrap().to_string();
        assert_eq!(
            link(&sb),
            sb.account_home(&active),
            "{point}: link and state disagree"
        );
        let rec = &st["sessions"]["ccl-1-proj"];
        let on = rec["account"].as_str().unwrap_or("compte1").to_string();
        assert_eq!(
            on, active,
            "{point}: the session is not on the active account"
        );
        let pid = claude_pid(&sb, "ccl-1-proj");
        let claude =
            ccf::failover::find_claude(pid).unwrap_or_else(|| panic!("{point}: no claude"));
        assert_eq!(
            claude.argv_id.as_deref(),
            Some(DEDICATED_ID),
            "{point}: id lost"
        );
        // Pinned where it started, or relaunched onto the link, which is on `active`.
        let on = claude.config_dir.clone().unwrap_or_else(|| link(&sb));
        assert_eq!(
            on,
            Path::new(&home(&sb, &active)),
            "{point}: runs on another account"
        );
    }
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let sb = world(&["compte1", "compte2"]);
    start(
        &sb,
        "ccl-1-proj",
        "proj",
        Some("compte1"),
        Some(DEDICATED_ID),
    );
    prompt(&sb, "ccl-1-proj", "hi", "reply to: hi");
    let state = std::fs::read(sb.state_file()).unwrap();
    let before = sb.claude_log().len();
    let pid = sb.tmux.pane_pid("ccl-1-proj");
    sb.ccf(&["swap", "--dry-run"])
        .stdout_has("swap compte1 -> compte2")
        .stdout_has(&format!(
            "relaunch ccl-1-proj on compte2 with --resume {DEDICATED_ID}"
        ))
        .run();
    sb.ccf(&["rollback", "--dry-run"])
        .stdout_has("nothing to roll back")
        .run();
    assert_eq!(std::fs::read(sb.state_file()).unwrap(), state);
    assert_eq!(sb.claude_log().len(), before);
    assert_eq!(link(&sb), sb.account_home("compte1"));
    assert_eq!(sb.tmux.pane_pid("ccl-1-proj"), pid);
}

#[test]
fn swap_to_an_unknown_account_is_refused_and_to_the_active_one_does_nothing() {
    let sb = world(&["compte1", "compte2"]);
    sb.ccf(&["swap", "--to", "nope"])
        .code(1)
        .stderr_has("no account named nope")
        .run();
    sb.ccf(&["swap", "--to", "compte1"])
        .stdout_has("already on compte1")
        .run();
    assert_eq!(link(&sb), sb.account_home("compte1"));
    assert!(sb.state()["last_swap"].is_null());
}

// check-quota drives the failover: the product's main loop, end to end.

/// An epoch two hours from now, as the fake's limit banner prints it (`resets 5:13am (UTC)`).
fn reset_in_two_hours() -> i64 {
    Timestamp::now().as_second() + 7200
}

#[test]
fn a_limit_seen_in_a_dedicated_session_moves_it_in_one_check_quota_run_and_back_after_the_reset() {
    let sb = world(&["compte1", "compte2"]);
    start(&sb, "ccl-1-proj", "proj", None, None);
    prompt(
        &sb,
        "ccl-1-proj",
        "first question",
        "reply to: first question",
    );
    let id = transcript_id(&sb, "proj", "first question");
    let reset = reset_in_two_hours();
    sb.set_mode("compte1", &format!("limit {reset}"));
    prompt(
        &sb,
        "ccl-1-proj",
        "second question",
        "hit your 5-hour limit",
    );
    let before = sb.claude_log().len();
    let pid = claude_pid(&sb, "ccl-1-proj");

    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .run();
    // On ~/.claude and stopped at the limit: the same process gets the resume prompt.
    assert_eq!(sb.claude_log().len(), before, "no relaunch");
    assert_carried_and_resumed(&sb, "ccl-1-proj", pid, "proj", &id, "compte2");
    assert_eq!(link(&sb), sb.account_home("compte2"));
    let state = sb.state();
    assert_eq!(state["active_account"], "compte2");
    assert_eq!(state["last_swap"]["trigger"]["session"], "ccl-1-proj");
    // The banner rounds to the minute; without a hook the pane's time is what ccf has.
    let until: Timestamp = state["accounts"]["compte1"]["exhausted_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (reset - 60..=reset).contains(&until.as_second()),
        "{until} vs {reset}"
    );
    // The old banner is still on the screen, above the answer: history, not a limit of
    // compte2.
    sb.tmux.wait_for_text("ccl-1-proj", "hit your 5-hour limit");
    let relaunched = sb.claude_log().len();
    sb.ccf(&["check-quota"]).run();
    sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has("→ stay on compte2")
        .run();
    let state = sb.state();
    assert_eq!(state["active_account"], "compte2");
    assert!(
        state["accounts"]["compte2"]["exhausted_until"].is_null(),
        "{state:#}"
    );
    assert_eq!(
        sb.claude_log().len(),
        relaunched,
        "nothing relaunched again"
    );
    // The conversation goes on on compte2.
    prompt(
        &sb,
        "ccl-1-proj",
        "third question",
        "reply to: third question",
    );
    assert_eq!(transcript_id(&sb, "proj", "third question"), id);

    // After compte1's reset plus return_margin, check-quota returns by itself.
    let after = Timestamp::from_second(reset + 6 * 60).unwrap().to_string();
    sb.ccf(&["check-quota"])
        .env("CCF_NOW", &after)
        .stdout_has("swapped compte2 -> compte1")
        .run();
    assert_eq!(sb.state()["active_account"], "compte1");
    assert_eq!(link(&sb), sb.account_home("compte1"));
    assert_eq!(
        sb.claude_log().len(),
        relaunched,
        "carried back, no relaunch"
    );
    assert_eq!(sb.tmux.pane_pid("ccl-1-proj"), pid);
}

#[test]
fn a_limit_without_a_reset_time_swaps_on_the_second_poll_not_the_first() {
    let sb = world(&["compte1", "compte2"]);
    start(&sb, "ccl-1-proj", "proj", None, None);
    sb.set_mode("compte1", "bare");
    prompt(&sb, "ccl-1-proj", "hello", "hit your session limit");
    sb.ccf(&["check-quota"]).stdout_lacks("swapped").run();
    assert_eq!(sb.state()["active_account"], "compte1");
    sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has("limit confirmed (2/2 polls")
        .run();
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .run();
    assert_eq!(sb.state()["active_account"], "compte2");
}

#[test]
fn a_second_limit_within_the_cooldown_moves_on_at_once_to_a_free_account() {
    let sb = world(&["compte1", "compte2", "compte3"]);
    start(&sb, "ccl-1-proj", "proj", None, None);
    let reset = reset_in_two_hours();
    sb.set_mode("compte1", &format!("limit {reset}"));
    prompt(&sb, "ccl-1-proj", "hello", "hit your 5-hour limit");
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .run();
    claude_pid(&sb, "ccl-1-proj");
    // compte2 is out too, seen within the cooldown (5 minutes by default): the cooldown
    // holds returns, never sessions at a confirmed limit while compte3 is free.
    sb.set_mode("compte2", &format!("weekly {}", reset + 3600));
    prompt(&sb, "ccl-1-proj", "again", "hit your weekly limit");
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte2 -> compte3")
        .run();
    let state = sb.state();
    assert_eq!(state["active_account"], "compte3");
    assert!(!state["accounts"]["compte2"]["exhausted_until"].is_null());
}

/// The kinds of the queued events in the order they will be delivered (file order).
fn outbox_sequence(sb: &Sandbox) -> Vec<String> {
    sb.outbox()
        .iter()
        .map(|v| v["event"]["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn events_are_queued_in_the_order_they_happened() {
    let sb = world(&["compte1", "compte2"]);
    let mut want = Vec::new();
    for to in [
        "compte2", "compte1", "compte2", "compte1", "compte2", "compte1",
    ] {
        sb.ccf(&["swap", "--to", to]).run();
        want.extend(["swap_started", "swap_done"]);
        assert_eq!(outbox_sequence(&sb), want);
    }
}

#[test]
fn a_manual_swap_back_to_the_primary_is_announced_as_a_swap_not_a_return() {
    let sb = world(&["compte1", "compte2"]);
    limit_hit(&sb, "2029-12-31T22:00:00Z");
    assert!(load(&sb).pending_return.is_some());
    sb.ccf(&["swap", "--to", "compte1", "--force"]).run();
    assert_eq!(
        outbox_sequence(&sb),
        ["swap_started", "swap_done", "swap_started", "swap_done"]
    );
    // Undone by rollback: the operator's word again, nothing "resumed" or "returned".
    sb.ccf(&["rollback"]).run();
    assert_eq!(outbox_sequence(&sb)[4..], ["swap_started", "swap_done"]);
}

#[test]
fn a_swap_that_relaunches_no_session_is_announced_as_failed_with_the_sessions_named() {
    let sb = world(&["compte1", "compte2"]);
    start(
        &sb,
        "ccl-1-proj",
        "proj",
        Some("compte1"),
        Some(DEDICATED_ID),
    );
    std::fs::rename(sb.bin.join("claude"), sb.bin.join("claude.away")).unwrap();
    sb.ccf(&["swap", "--to", "compte2"])
        .code(1)
        .stderr_has("warning: failed to relaunch ccl-1-proj with --resume")
        .stderr_has("error: could not relaunch ccl-1-proj (they keep their ids")
        .run();
    let events = sb.outbox();
    let kinds: Vec<&str> = events
        .iter()
        .map(|v| v["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["swap_started", "swap_failed"], "{events:#?}");
    assert_eq!(
        events[1]["event"]["failed"],
        serde_json::json!(["ccl-1-proj"])
    );
    assert!(
        events[1]["event"]["error"]
            .as_str()
            .unwrap()
            .contains("ccl-1-proj"),
        "{events:#?}"
    );
}

#[test]
fn a_swap_onto_an_exhausted_account_is_refused_without_force_and_the_dry_run_warns() {
    let sb = world(&["compte1", "compte2"]);
    limit_hit(&sb, "2029-12-31T22:00:00Z");
    let reset = ts(RESET);
    let dry = sb
        .ccf(&["swap", "--to", "compte1", "--dry-run"])
        .stdout_has(&format!(
            "warning: compte1 is marked exhausted until {reset}"
        ))
        .stdout_has("would swap compte2 -> compte1")
        .run();
    for line in dry.stdout.lines() {
        assert!(
            line.starts_with("would ") || line.starts_with("warning: "),
            "{}",
            dry.stdout
        );
    }
    sb.ccf(&["swap", "--to", "compte1"])
        .code(1)
        .stderr_has("compte1 is marked exhausted until")
        .stderr_has("in 2h")
        .stderr_has("ccf swap --to compte1 --force")
        .run();
    let st = sb.state();
    assert_eq!(st["active_account"], "compte2");
    assert_eq!(
        st["accounts"]["compte1"]["exhausted_until"],
        reset.to_string()
    );
    sb.ccf(&["swap", "--to", "compte1", "--force"])
        .stdout_has("compte1: cleared")
        .run();
    let st = sb.state();
    assert_eq!(st["active_account"], "compte1");
    assert!(st["accounts"]["compte1"]["exhausted_until"].is_null());
}

#[test]
fn an_operators_swap_waits_for_the_lock_when_asked_and_timers_still_get_75() {
    let sb = world(&["compte1", "compte2"]);
    let held = ccf::lock::StateLock::acquire(&sb.path("state")).unwrap();
    sb.ccf(&["swap", "--to", "compte2"])
        .code(75)
        .stderr_has("another ccf run holds")
        .run();
    sb.ccf(&["swap", "--to", "compte2", "--wait=200ms"])
        .code(75)
        .stderr_has("another ccf run holds")
        .run();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        drop(held);
    });
    sb.ccf(&["swap", "--to", "compte2", "--wait"])
        .stderr_has("holds")
        .stderr_has("waiting for it to finish (up to 1m)")
        .stdout_has("active account: compte2")
        .run();
    release.join().unwrap();
}

/// A session id reaches claude's argv after `--resume`: only a UUID may, whatever a
/// spool record says (a forged id could be read as another option).
#[test]
fn a_forged_session_id_in_a_hook_record_never_reaches_an_argv() {
    let sb = world(&["compte1", "compte2"]);
    start(&sb, "ccl-1-proj", "proj", Some("compte1"), None);
    prompt(&sb, "ccl-1-proj", "hi", "reply to: hi");
    let pane = sb.tmux.pane("ccl-1-proj", "#{pane_id}");
    let forged = r#"--settings={"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch /tmp/pwned"}]}]}}"#;
    let input = serde_json::json!({
        "session_id": forged, "cwd": sb.path("proj"), "hook_event_name": "SessionStart",
        "source": "startup"
    });
    sb.ccf(&["hook", "session-start"])
        .env("TMUX_PANE", &pane)
        .stdin(input.to_string())
        .run();
    sb.ccf(&["check-quota"])
        .stderr_has("ignoring a session_start record whose session id is not a UUID")
        .run();
    let st = sb.state();
    assert_ne!(st["sessions"]["ccl-1-proj"]["session_id"], forged, "{st}");
    let plan = sb.ccf(&["swap", "--dry-run"]).run();
    assert!(!plan.stdout.contains("--settings"), "{}", plan.stdout);
    let before = sb.claude_log().len();
    sb.ccf(&["swap", "--to", "compte2"]).run();
    assert!(
        !sb.claude_log()[before..].is_empty(),
        "relaunched with its real id"
    );
    for e in sb.claude_log().into_iter().skip(before) {
        let argv = e["argv"].to_string();
        assert!(!argv.contains("--settings"), "{argv}");
    }
}

/// `claude.env` values (tokens, often) reach the relaunched claude through tmux's
/// environment, not on an argv every local user can read in /proc for as long as claude
/// runs.
#[test]
fn claude_env_values_are_never_on_the_relaunch_argv() {
    let sb = world(&["compte1", "compte2"]);
    let config = std::fs::read_to_string(&sb.config).unwrap().replace(
        "  args: []\n",
        "  args: []\n  env: {GITHUB_TOKEN: ghp-secret-value}\n",
    );
    sb.write_config(&config);
    start(
        &sb,
        "ccl-1-proj",
        "proj",
        Some("compte1"),
        Some(DEDICATED_ID),
    );
    prompt(&sb, "ccl-1-proj", "hi", "reply to: hi");
    let before = sb.claude_log().len();
    sb.ccf(&["swap", "--to", "compte2"]).run();
    let pid = claude_pid(&sb, "ccl-1-proj");
    let launched = &sb.claude_log()[before..];
    assert_eq!(launched.len(), 1, "{launched:?}");
    assert_eq!(launched[0]["env"]["GITHUB_TOKEN"], "ghp-secret-value");
    // Every process of the pane: the relaunch's sh, claude itself.
    let mut pids = vec![sb.tmux.pane_pid("ccl-1-proj"), pid];
    pids.extend(ccf::procfs::children(pids[0]));
    for p in pids {
        let argv = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
        let argv = String::from_utf8_lossy(&argv);
        assert!(!argv.contains("ghp-secret-value"), "pid {p}: {argv}");
    }
}
