//! Detection end to end: `ccf detect`, the hooks and the spool, and check-quota's
//! decisions on a private tmux server with the fake claude.

use std::path::Path;

use crate::support::Sandbox;

fn detect_json(sb: &Sandbox, text: &str, now: &str, tz: Option<&str>) -> serde_json::Value {
    let mut args = vec!["detect", "--json", "--now", now];
    if let Some(tz) = tz {
        args.extend(["--tz", tz]);
    }
    sb.ccf(&args).stdin(text).stderr_empty().run().json()
}

#[test]
fn detect_prints_exactly_the_documented_json() {
    let sb = Sandbox::new();
    let v = detect_json(
        &sb,
        "● You've hit your limit · resets 10pm (America/New_York)\n",
        "2026-01-30T20:00:00Z",
        None,
    );
    assert_eq!(
        v,
        serde_json::json!({
            "verdict": "limit", "scope": null, "resets_at": "2026-01-31T03:00:00Z",
            "matched": "● You've hit your limit · resets 10pm (America/New_York)"
        })
    );
}

#[test]
fn detect_uses_tz_for_a_banner_without_a_zone_and_needs_no_config() {
    let sb = Sandbox::new();
    std::fs::remove_file(&sb.config).unwrap();
    let v = detect_json(
        &sb,
        "5-hour limit reached ∙ resets 12:30am\n",
        "2025-08-10T20:00:00Z",
        Some("Europe/Paris"),
    );
    assert_eq!(v["resets_at"], "2025-08-10T22:30:00Z");
    assert_eq!(v["scope"], "five_hour");
}

#[test]
fn detect_explains_why_check_quota_would_not_swap_on_a_500() {
    let sb = Sandbox::new();
    let capture = "\x1b[31m  ⎿  API Error: 500 {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error: rate limit\"}}\x1b[0m\n";
    let path = sb.path("capture.txt");
    std::fs::write(&path, capture).unwrap();
    sb.ccf(&["detect", path.to_str().unwrap()])
        .stdout_has("verdict:   server_error")
        .stdout_has("would not swap: a server error")
        .run();
}

#[test]
fn an_unknown_zone_is_reported_not_guessed() {
    let sb = Sandbox::new();
    let out = sb
        .ccf(&["detect", "--json", "--now", "2026-01-30T20:00:00Z"])
        .stdin("You've hit your limit · resets 10pm (Mars/Olympus_Mons)\n")
        .stderr_has("unknown time zone \"Mars/Olympus_Mons\"")
        .run();
    assert_eq!(out.json()["resets_at"], serde_json::Value::Null);
}

fn hook(sb: &Sandbox, event: &str, input: &str, env: &[(&str, &str)]) {
    let mut run = sb.ccf(&["hook", event]).stdin(input);
    for (k, v) in env {
        run = run.env(k, v);
    }
    run.run();
}

fn spool_files(sb: &Sandbox) -> Vec<String> {
    std::fs::read_dir(sb.path("state/spool"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_hook_never_fails_claude_code() {
    let sb = Sandbox::new();
    sb.ccf(&["hook", "stop-failure"])
        .stdin("not json")
        .stderr_has("not JSON")
        .run();
    sb.ccf(&["hook", "session-start"])
        .stdin(vec![b'x'; 3 << 20])
        .stderr_has("over")
        .run();
    sb.ccf(&["hook", "session-start"])
        .env("CCF_CONFIG", "/nonexistent.yaml")
        .stdin("{}")
        .stderr_has("cannot read")
        .run();
    assert!(spool_files(&sb).is_empty());
}

#[test]
fn a_stop_failure_gets_its_exact_reset_from_the_transcript_when_consumed() {
    let sb = Sandbox::new();
    ready(&sb);
    // Claude Code runs the hook before it writes the failed turn: at hook time the
    // transcript ends with an older limit (another reset, other words).
    let transcript = sb.path("t.jsonl");
    let row = |reset: i64, text: &str| {
        format!(
            "{{\"type\":\"assistant\",\"isApiErrorMessage\":true,\"error\":\"rate_limit\",\"quotaLimits\":{{\"status\":\"rejected\",\"resetsAt\":{reset},\"rateLimitType\":\"five_hour\"}},\"message\":{{\"content\":[{{\"type\":\"text\",\"text\":\"{text}\"}}]}}}}\n"
        )
    };
    std::fs::write(
        &transcript,
        row(1_800_000_000, "You've hit your limit · resets 9am"),
    )
    .unwrap();
    let banner = "You've hit your 5-hour limit · resets 12am (UTC)";
    let input = serde_json::json!({
        "session_id": "6f1c", "transcript_path": transcript, "cwd": sb.path("proj"),
        "hook_event_name": "StopFailure", "error": "rate_limit", "last_assistant_message": banner
    });
    hook(
        &sb,
        "stop-failure",
        &input.to_string(),
        &[("TMUX_PANE", "%7")],
    );
    let files = spool_files(&sb);
    assert_eq!(files.len(), 1);
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.path("state/spool").join(&files[0])).unwrap())
            .unwrap();
    assert_eq!(rec["event"], "stop_failure");
    assert_eq!(rec["tmux_pane"], "%7");
    // The hook reads no transcript (a hot path, and the row is not there yet).
    assert!(rec["resets_at"].is_null(), "{rec}");
    // Then the row is written; check-quota takes its reset to the second.
    let mut text = std::fs::read_to_string(&transcript).unwrap();
    text.push_str(&row(1_893_456_017, banner));
    std::fs::write(&transcript, text).unwrap();
    sb.ccf(&["check-quota", "--dry-run"])
        .env("CCF_NOW", "2029-12-31T20:00:00Z")
        .stdout_has("[spool] on compte1: limit")
        .stdout_has("→ limit until 2030-01-01T00:00:17Z")
        .run();
}

/// A session running the fake claude, pinned to `account` or on ~/.claude.
fn start_claude(sb: &Sandbox, name: &str, dir: &Path, account: Option<&str>) {
    let mut argv: Vec<String> = vec!["env".into()];
    if let Some(a) = account {
        argv.push(format!(
            "CLAUDE_CONFIG_DIR={}",
            sb.account_home(a).display()
        ));
    }
    argv.push("claude".into());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    sb.tmux.new_session(name, dir, &argv);
    sb.tmux.wait_for_text(name, "Welcome to fake Claude Code");
}

fn ready(sb: &Sandbox) {
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
}

#[test]
fn a_500_shown_for_many_polls_never_swaps() {
    let sb = Sandbox::new();
    ready(&sb);
    start_claude(&sb, "ccl-1-proj", &sb.path("proj"), None);
    sb.set_mode("compte1", "500");
    sb.tmux.type_line("ccl-1-proj", "hello");
    sb.tmux.wait_for_text("ccl-1-proj", "API Error: 500");
    sb.ccf(&["check-quota"]).stderr_has("server_error").run();
    for _ in 0..3 {
        let quiet = sb.ccf(&["check-quota"]).run();
        assert!(
            !quiet.stderr.contains("server_error"),
            "a standing verdict is logged once: {}",
            quiet.stderr
        );
    }
    let state = sb.state();
    assert_eq!(state["active_account"], "compte1");
    assert!(state["last_swap"].is_null());
    assert!(state["accounts"]["compte1"]["exhausted_until"].is_null());
    sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has("ccl-1-proj [pane] on compte1: server_error")
        .stdout_has("→ stay on compte1")
        .run();
}

#[test]
fn dry_run_explains_each_session_and_consumes_nothing() {
    let sb = Sandbox::new();
    ready(&sb);
    start_claude(&sb, "ccl-1-proj", &sb.path("proj"), None);
    start_claude(&sb, "ccl-auto-11", &sb.path("work"), None);
    hook(
        &sb,
        "stop-failure",
        r#"{"session_id":"x","error":"overloaded"}"#,
        &[],
    );
    let before = std::fs::read(sb.state_file()).unwrap();
    sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has("ccl-1-proj [pane] on compte1: none")
        .stdout_has("ccl-auto-11 [pane] on compte1: none")
        .stdout_has("[spool] on compte1: server_error")
        .run();
    assert_eq!(std::fs::read(sb.state_file()).unwrap(), before);
    assert_eq!(spool_files(&sb).len(), 1);
}

#[test]
fn a_spooled_limit_on_another_account_is_consumed_once_and_marks_only_that_account() {
    let sb = Sandbox::new();
    ready(&sb);
    let home2 = sb.account_home("compte2").display().to_string();
    hook(
        &sb,
        "stop-failure",
        r#"{"session_id":"x","error":"rate_limit","last_assistant_message":"You've hit your limit"}"#,
        &[("CLAUDE_CONFIG_DIR", &home2)],
    );
    // A limit without a reset time needs two polls.
    sb.ccf(&["check-quota"]).run();
    assert!(spool_files(&sb).is_empty(), "the spool is consumed");
    assert!(sb.state()["accounts"]["compte2"]["exhausted_until"].is_null());
    sb.ccf(&["check-quota"]).run();
    assert!(
        sb.state()["accounts"]["compte2"]["exhausted_until"].is_null(),
        "a consumed event never counts twice"
    );
    assert_eq!(sb.state()["active_account"], "compte1");
}

#[test]
fn a_sub_agents_limit_in_the_spool_is_the_accounts_limit() {
    let sb = Sandbox::new();
    ready(&sb);
    let input = serde_json::json!({
        "session_id": "x", "error": "rate_limit", "agent_id": "sub-1",
        "last_assistant_message": format!(
            "Agent terminated early due to an API error: You've hit your 5-hour limit · resets {} (UTC)",
            crate::support::reset_ahead()
        )
    });
    hook(&sb, "stop-failure", &input.to_string(), &[]);
    sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has("[spool] on compte1: limit")
        .run();
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .run();
}

#[test]
fn session_start_records_the_session_id_of_the_pane() {
    let sb = Sandbox::new();
    ready(&sb);
    sb.tmux.new_session("ccl-1-proj", &sb.path("proj"), &[]);
    let pane = sb.tmux.pane("ccl-1-proj", "#{pane_id}");
    let input = serde_json::json!({"session_id": "0b6e2b1e-4a57-4c1e-9d35-2f0d0d6f7c11", "cwd": sb.path("proj"),
        "hook_event_name": "SessionStart", "source": "startup"});
    hook(
        &sb,
        "session-start",
        &input.to_string(),
        &[("TMUX_PANE", &pane)],
    );
    sb.ccf(&["check-quota"]).run();
    let rec = &sb.state()["sessions"]["ccl-1-proj"];
    assert_eq!(rec["session_id"], "0b6e2b1e-4a57-4c1e-9d35-2f0d0d6f7c11");
    assert_eq!(rec["id_source"], "hook");
    assert_eq!(rec["account"], "compte1");
    sb.ccf(&["status", "--json"]).run();
}

#[test]
fn install_hooks_merges_once_and_validate_stops_warning() {
    let sb = Sandbox::new();
    ready(&sb);
    sb.ccf(&["validate"])
        .stdout_has("has no ccf SessionStart/StopFailure/UserPromptSubmit/Stop hook")
        .run();
    std::fs::write(
        sb.account_home("compte1").join("settings.json"),
        r#"{"theme":"dark"}"#,
    )
    .unwrap();
    sb.ccf(&["install-hooks", "--dry-run"])
        .stdout_has("would add the SessionStart hook")
        .run();
    assert_eq!(
        std::fs::read_to_string(sb.account_home("compte1").join("settings.json")).unwrap(),
        r#"{"theme":"dark"}"#
    );
    sb.ccf(&["install-hooks"])
        .stdout_has("did add the StopFailure hook")
        .run();
    sb.ccf(&["install-hooks"])
        .stdout_has("hooks already installed")
        .stdout_lacks("did add")
        .run();
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sb.account_home("compte1").join("settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["theme"], "dark");
    let cmd = settings["hooks"]["SessionStart"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert!(
        cmd.ends_with(&format!(
            "--config {} hook session-start",
            sb.config.display()
        )),
        "{cmd}"
    );
    sb.ccf(&["validate"]).stdout_lacks("hook").run();
}

#[test]
fn install_hooks_counts_the_settings_files_it_could_not_update() {
    let sb = Sandbox::new();
    ready(&sb);
    let settings = sb.account_home("compte1").join("settings.json");
    std::fs::write(&settings, "{").unwrap();
    let out = sb
        .ccf(&["install-hooks"])
        .code(1)
        .stderr_has("settings.json is not valid JSON; fix it first")
        .stderr_has("error: 1 settings file could not be updated")
        .run();
    assert!(
        out.stderr.ends_with(
            "error: 1 settings file could not be updated (see above) and was left unchanged\n"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), "{");
}

#[test]
fn the_fake_claude_runs_the_installed_hooks_and_check_quota_learns_the_id() {
    let sb = Sandbox::new();
    ready(&sb);
    sb.ccf(&["install-hooks"]).run();
    start_claude(&sb, "ccl-1-proj", &sb.path("proj"), None);
    crate::support::wait_for(
        "a session-start spool file",
        std::time::Duration::from_secs(10),
        || (!spool_files(&sb).is_empty()).then_some(()),
    );
    sb.ccf(&["check-quota"]).run();
    // Like the real client, the transcript is written with the first turn.
    sb.tmux.type_line("ccl-1-proj", "hello");
    sb.tmux.wait_for_text("ccl-1-proj", "reply to: hello");
    let id = sb.state()["sessions"]["ccl-1-proj"]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let launched = sb.claude_log();
    assert!(
        Path::new(&launched[0]["config_dir"].as_str().unwrap())
            .join("projects")
            .exists()
    );
    let transcripts = sb
        .path(".claude-shared/projects")
        .join(ccf::claude::slug(&sb.path("proj")));
    assert!(
        transcripts.join(format!("{id}.jsonl")).exists(),
        "the recorded id {id} is not a transcript in {}: {:?}",
        transcripts.display(),
        std::fs::read_dir(sb.path(".claude-shared/projects"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect::<Vec<_>>()
    );
}

/// Screens captured from the real Claude Code 2.1.330 against a loopback API stand-in
/// (`tests/fixtures/real-2.1.330/`, with its no-break spaces): what each must say.
#[test]
fn real_2_1_330_screens_classify_as_seen() {
    let sb = Sandbox::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-2.1.330");
    for (file, verdict, resets_at) in [
        ("startup.txt", "none", None),
        ("reply.txt", "none", None),
        ("500.txt", "server_error", None),
        ("529.txt", "server_error", None),
        ("limit.txt", "limit", Some("2026-11-22T06:13:00Z")),
        // Esc cancels the automatic continue, not the limit.
        ("limit-after-esc.txt", "limit", Some("2026-11-22T06:03:00Z")),
        // The classifier sees the re-rendered banner; check-quota knows it is history.
        (
            "resumed-before-prompt.txt",
            "limit",
            Some("2026-11-22T06:13:00Z"),
        ),
    ] {
        let path = dir.join(file);
        let v = sb
            .ccf(&[
                "detect",
                "--json",
                "--now",
                "2026-11-22T04:05:00Z",
                "--tz",
                "UTC",
                path.to_str().unwrap(),
            ])
            .run()
            .json();
        assert_eq!(v["verdict"], verdict, "{file}: {v}");
        assert_eq!(v["resets_at"].as_str(), resets_at, "{file}: {v}");
        if verdict == "limit" {
            assert_eq!(v["scope"], "five_hour", "{file}");
        }
    }
}

#[test]
fn an_auth_failure_marks_the_account_until_its_credentials_change() {
    let sb = Sandbox::new();
    sb.hold_notifications();
    ready(&sb);
    start_claude(&sb, "ccl-1-proj", &sb.path("proj"), Some("compte2"));
    sb.set_mode("compte2", "auth");
    sb.tmux.type_line("ccl-1-proj", "hello");
    sb.tmux.wait_for_text("ccl-1-proj", "Please run /login");
    sb.ccf(&["check-quota"]).run();
    let state = sb.state();
    assert_eq!(
        state["accounts"]["compte2"]["auth_failed"], true,
        "{state:#}"
    );
    assert_eq!(
        state["active_account"], "compte1",
        "a failure on another account moves nothing"
    );
    assert!(
        sb.outbox()
            .iter()
            .any(|m| m["event"]["kind"] == "needs_login")
    );
    sb.ccf(&["validate"])
        .code(3)
        .stdout_has("account compte2 failed authentication")
        .stderr_has("error: 1 problem found")
        .run();
    assert_eq!(
        sb.ccf(&["status", "--json"]).run().json()["accounts"][1]["state"],
        "auth_failed"
    );
    // The operator logs in again: the credentials file changes.
    std::fs::write(
        sb.account_home("compte2").join(".credentials.json"),
        "{\"claudeAiOauth\":{\"accessToken\":\"new\"}}",
    )
    .unwrap();
    sb.set_mode("compte2", "normal");
    sb.tmux.type_line("ccl-1-proj", "again");
    sb.tmux.wait_for_text("ccl-1-proj", "reply to: again");
    sb.ccf(&["check-quota"]).stderr_has("usable again").run();
    assert_eq!(sb.state()["accounts"]["compte2"]["auth_failed"], false);
}

#[test]
fn swap_to_a_named_account_clears_what_ccf_held_against_it() {
    let sb = Sandbox::new();
    ready(&sb);
    let mut state = sb.state();
    state["accounts"]["compte2"] =
        serde_json::json!({"auth_failed": true, "exhausted_until": "2099-01-01T00:00:00Z"});
    std::fs::write(sb.state_file(), state.to_string()).unwrap();
    // Exhausted: refused unless the operator says its limit is lifted.
    sb.ccf(&["swap", "--to", "compte2"])
        .code(1)
        .stderr_has("--force")
        .run();
    sb.ccf(&["swap", "--to", "compte2", "--force"])
        .stdout_has("cleared its auth failure")
        .run();
    let state = sb.state();
    assert_eq!(state["active_account"], "compte2");
    assert_eq!(state["accounts"]["compte2"]["auth_failed"], false);
    assert!(state["accounts"]["compte2"]["exhausted_until"].is_null());
    sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has("→ stay on compte2")
        .run();
}

/// systemd does not start a path unit's service again while it runs: an event that lands
/// during a pass must be handled by the same run, not left for the next timer tick.
#[test]
fn a_hook_event_that_lands_during_a_pass_is_handled_by_the_same_run() {
    let sb = Sandbox::new();
    ready(&sb);
    start_claude(&sb, "ccl-1-proj", &sb.path("proj"), None);
    let event = sb.path("event.json");
    let input = serde_json::json!({
        "session_id": "6f1c", "cwd": sb.path("proj"), "hook_event_name": "StopFailure",
        "error": "rate_limit",
        "last_assistant_message": format!("You've hit your limit · resets {} (UTC)", crate::support::reset_ahead())
    });
    std::fs::write(&event, input.to_string()).unwrap();
    // The pass reads the spool between its first tmux call (the listing) and its second
    // (the capture): the event lands then.
    let wrapper = sb.bin.join("tmux-event");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nn=$(cat {count} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {count}\n\
             [ $n -eq 2 ] && {ccf} hook stop-failure < {event}\nexec tmux \"$@\"\n",
            count = sb.path("tmux-count").display(),
            ccf = env!("CARGO_BIN_EXE_ccf"),
            event = event.display()
        ),
    )
    .unwrap();
    crate::support::sandbox::set_mode(&wrapper, 0o755);
    sb.ccf(&["check-quota"])
        .env("CCF_TMUX", wrapper.to_str().unwrap())
        .stdout_has("swapped compte1 -> compte2")
        .run();
    assert_eq!(sb.state()["active_account"], "compte2");
    assert!(spool_files(&sb).is_empty(), "{:?}", spool_files(&sb));
}

fn hit_limit(sb: &Sandbox, account: &str, prompt: &str, hours: i64) {
    let reset = jiff::Timestamp::now().as_second() + hours * 3600;
    sb.set_mode(account, &format!("limit {reset}"));
    sb.tmux.type_line("ccl-1-proj", prompt);
    wait_for_banners(sb, prompt);
}

/// Waits until the bottom of the pane, after `prompt`, shows a limit banner.
fn wait_for_banners(sb: &Sandbox, prompt: &str) {
    crate::support::wait_for(
        "the limit banner",
        std::time::Duration::from_secs(10),
        || {
            let c = sb.tmux.capture("ccl-1-proj");
            let tail = &c[c.rfind(prompt)?..];
            tail.contains("hit your 5-hour limit").then_some(())
        },
    );
}

/// The cooldown stops ccf going back and forth on its own; it must never keep sessions
/// at a confirmed limit while another account is free (here: just after a manual swap).
#[test]
fn a_confirmed_limit_moves_away_at_once_even_just_after_a_swap() {
    let sb = Sandbox::new();
    ready(&sb);
    start_claude(&sb, "ccl-1-proj", &sb.path("proj"), None);
    sb.ccf(&["swap", "--to", "compte2"]).run();
    hit_limit(&sb, "compte2", "hello", 3);
    sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has("→ swap away from compte2 to compte1: usage limit on compte2")
        .run();
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte2 -> compte1")
        .run();
}

/// The dry-run and the run come from one plan: with every account out, both say the
/// sessions are parked.
#[test]
fn with_every_account_out_the_dry_run_and_the_run_both_park() {
    let sb = Sandbox::new();
    ready(&sb);
    start_claude(&sb, "ccl-1-proj", &sb.path("proj"), None);
    hit_limit(&sb, "compte1", "first", 3);
    sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has("→ swap away from compte1 to compte2")
        .run();
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .run();
    sb.tmux.wait_for_text("ccl-1-proj", "reply to: continue");
    hit_limit(&sb, "compte2", "second", 4);
    let dry = sb.ccf(&["check-quota", "--dry-run"]).run();
    let decision = dry.stdout.lines().last().unwrap().to_string();
    assert_eq!(
        decision,
        "→ no account available to swap to from compte2 (usage limit on compte2); sessions parked until a reset",
        "{}",
        dry.stdout
    );
    let run = sb
        .ccf(&["check-quota"])
        .stdout_has("no account available to swap to from compte2; sessions parked")
        .run();
    assert!(run.stderr.contains(&decision), "{}", run.stderr);
    assert!(!sb.state()["all_exhausted_since"].is_null());
    // status says why nothing happens now.
    sb.ccf(&["check-quota"]).run();
    sb.ccf(&["status"])
        .stdout_has("→ stay: every account is out (since ")
        .stdout_has("last check: ")
        .run();
}

/// The dry-run and the run come from one decision: for each kind, what `--dry-run` says
/// is what the run then records as its decision, and the run does it.
#[test]
fn every_decision_kind_reads_the_same_in_the_dry_run_and_the_run() {
    let sb = Sandbox::new();
    ready(&sb);
    let config = sb
        .default_config()
        .replace("dispatcher:", "quota: {return_margin: 0s}\ndispatcher:");
    sb.write_config(&config);
    start_claude(&sb, "ccl-1-proj", &sb.path("proj"), None);
    let both = |now: Option<&str>, said: &str| -> serde_json::Value {
        let mut dry = sb.ccf(&["check-quota", "--dry-run"]);
        let mut run = sb.ccf(&["check-quota"]);
        if let Some(t) = now {
            dry = dry.env("CCF_NOW", t);
            run = run.env("CCF_NOW", t);
        }
        let dry = dry.run();
        let decision = dry.stdout.lines().last().unwrap().to_string();
        assert!(decision.starts_with(said), "{}", dry.stdout);
        run.run();
        let state = sb.state();
        assert_eq!(
            state["quota"]["last_decision"],
            decision.as_str(),
            "{state}"
        );
        state
    };
    // Nothing seen.
    let st = both(None, "→ stay on compte1");
    assert_eq!(st["active_account"], "compte1");
    // A limit with another account free.
    hit_limit(&sb, "compte1", "first", 2);
    let st = both(
        None,
        "→ swap away from compte1 to compte2: usage limit on compte1",
    );
    assert_eq!(st["active_account"], "compte2");
    sb.tmux.wait_for_text("ccl-1-proj", "reply to: continue");
    // A limit with none free: parked, then parked it stays.
    hit_limit(&sb, "compte2", "second", 3);
    let st = both(None, "→ no account available to swap to from compte2");
    assert!(!st["all_exhausted_since"].is_null(), "{st}");
    let st = both(None, "→ stay: every account is out");
    assert_eq!(st["active_account"], "compte2");
    // compte1's reset passes: the parked sessions go back to it.
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(121)).to_string();
    let st = both(Some(&later), "→ return to compte1: its reset has passed");
    assert_eq!(st["active_account"], "compte1", "{st}");
    assert!(st["all_exhausted_since"].is_null(), "{st}");
}

/// A hook record belongs to the account its claude ran on when it was written: for a
/// claude on `~/.claude`, the link's target then, not when check-quota reads it.
#[test]
fn status_line_figures_stay_with_the_account_that_reported_them_after_a_swap() {
    let sb = Sandbox::new();
    ready(&sb);
    let config = sb.default_config().replace(
        "dispatcher:",
        "quota: {statusline_threshold: 90}\ndispatcher:",
    );
    sb.write_config(&config);
    let reset = jiff::Timestamp::now().as_second() + 3 * 3600;
    let input = serde_json::json!({
        "session_id": "6f1c", "cwd": sb.path("proj"),
        "rate_limits": {"five_hour": {"used_percentage": 95.0, "resets_at": reset}}
    });
    hook(&sb, "statusline", &input.to_string(), &[]);
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .run();
    // The same figures (trusted for ten minutes) are compte1's, not compte2's.
    sb.ccf(&["check-quota"]).stdout_lacks("swapped").run();
    let state = sb.state();
    assert_eq!(state["active_account"], "compte2");
    assert!(
        state["accounts"]["compte2"]["exhausted_until"].is_null(),
        "{state}"
    );
    assert!(state["all_exhausted_since"].is_null(), "{state}");
}

#[test]
fn a_stop_failure_recorded_before_a_flip_is_charged_to_the_account_it_came_from() {
    let sb = Sandbox::new();
    ready(&sb);
    let input = serde_json::json!({
        "session_id": "6f1c", "cwd": sb.path("proj"), "hook_event_name": "StopFailure",
        "error": "rate_limit",
        "last_assistant_message": format!("You've hit your limit · resets {} (UTC)", crate::support::reset_ahead())
    });
    hook(&sb, "stop-failure", &input.to_string(), &[]);
    // The link moves (another run's swap) before check-quota reads the record.
    sb.ccf(&["swap", "--to", "compte2"]).run();
    sb.ccf(&["check-quota"]).stdout_lacks("swapped").run();
    let state = sb.state();
    assert_eq!(state["active_account"], "compte2", "{state}");
    assert!(
        state["accounts"]["compte2"]["exhausted_until"].is_null(),
        "{state}"
    );
    assert!(
        !state["accounts"]["compte1"]["exhausted_until"].is_null(),
        "{state}"
    );
}

/// A settings.json kept in a dotfiles repository and linked in stays a link: the hooks
/// go into its target.
#[test]
fn install_hooks_writes_through_a_linked_settings_json() {
    let sb = Sandbox::new();
    ready(&sb);
    let dotfiles = sb.path("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let target = dotfiles.join("claude-settings.json");
    std::fs::write(&target, r#"{"theme": "dark"}"#).unwrap();
    let link = sb.account_home("compte1").join("settings.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    sb.ccf(&["install-hooks", "--account", "compte1"]).run();
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains("\"theme\": \"dark\""), "{text}");
    assert!(text.contains("hook session-start"), "{text}");
}

/// What a hook message says reaches stdout, the log and the state escaped: no screen
/// cleared, no log line forged.
#[test]
fn control_characters_in_a_hook_message_are_printed_escaped() {
    let sb = Sandbox::new();
    ready(&sb);
    let input = serde_json::json!({
        "session_id": "6f1c", "cwd": sb.path("proj"), "hook_event_name": "StopFailure",
        "error": "overloaded", "last_assistant_message": "API Error: 529 \u{1b}[2J\nforged: ccf swapped everything\r"
    });
    hook(&sb, "stop-failure", &input.to_string(), &[]);
    let dry = sb.ccf(&["check-quota", "--dry-run", "-vv"]).run();
    for out in [&dry.stdout, &dry.stderr] {
        assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
        assert!(!out.lines().any(|l| l.starts_with("forged")), "{out}");
    }
    assert!(dry.stdout.contains("\\u{1b}[2J\\nforged"), "{}", dry.stdout);
}

#[test]
fn a_pass_that_learns_nothing_leaves_the_state_file_alone_and_status_shows_its_time() {
    let sb = Sandbox::new();
    ready(&sb);
    start_claude(&sb, "ccl-1-proj", &sb.path("proj"), None);
    sb.ccf(&["check-quota"])
        .env("CCF_NOW", "2026-01-01T00:00:00Z")
        .run();
    let saved = std::fs::read(sb.state_file()).unwrap();
    sb.ccf(&["check-quota"])
        .env("CCF_NOW", "2026-01-01T00:01:00Z")
        .run();
    assert_eq!(
        std::fs::read(sb.state_file()).unwrap(),
        saved,
        "nothing new: state.json is not rewritten"
    );
    let status = sb
        .ccf(&["status", "--json"])
        .env("CCF_NOW", "2026-01-01T00:01:10Z")
        .run()
        .json();
    assert_eq!(status["last_check"], "2026-01-01T00:01:00Z");
    sb.ccf(&["status", "--check"])
        .env("CCF_NOW", "2026-01-01T00:01:10Z")
        .run();
    // Something learnt is saved as before.
    sb.set_mode("compte1", "500");
    sb.tmux.type_line("ccl-1-proj", "hello");
    sb.tmux.wait_for_text("ccl-1-proj", "API Error: 500");
    sb.ccf(&["check-quota"])
        .env("CCF_NOW", "2026-01-01T00:02:00Z")
        .run();
    assert_ne!(std::fs::read(sb.state_file()).unwrap(), saved);
    assert_eq!(sb.state()["quota"]["last_check"], "2026-01-01T00:02:00Z");
}
