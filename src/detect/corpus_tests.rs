//! Real Claude Code messages (shared/corpus/limit-messages.md and Claude Code's issue
//! tracker) and realistic pane captures, each with the verdict ccf must give.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{Detection, Scope, Verdict, classify, lookup_zone, resolve_reset};

fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamps are valid")
}

/// Classifies a capture and checks verdict and scope.
fn check(text: &str, verdict: Verdict, scope: Option<Scope>) -> Detection {
    let got = classify(text);
    assert_eq!(
        (got.verdict, got.scope),
        (verdict, scope),
        "{text:?} -> {got:?}"
    );
    got
}

/// Resolves a detection's reset for a fixed now and default zone.
fn reset_of(got: &Detection, now: &str, default: &str) -> Timestamp {
    let spec = got.reset.as_ref().expect("the message names a reset");
    let zone = lookup_zone(default).expect("test zones exist");
    resolve_reset(spec, ts(now), &zone).expect("the reset resolves")
}

const NOW: &str = "2026-03-10T12:00:00Z";

// ---- the corpus: limit --------------------------------------------------------------

#[test]
fn corpus_limits_classify_with_their_scope_and_reset() {
    // (text, scope, now, default zone, expected reset)
    let cases: [(&str, Option<Scope>, &str, &str, &str); 9] = [
        // anthropics/claude-code#2490, 1.0.31
        (
            "Claude AI usage limit reached|1750708800",
            None,
            NOW,
            "UTC",
            "2025-06-23T20:00:00Z",
        ),
        // anthropics/claude-code#2490
        (
            "Claude usage limit reached. Your limit will reset at 3pm (America/Bogota).",
            None,
            NOW,
            "UTC",
            "2026-03-10T20:00:00Z",
        ),
        // anthropics/claude-code#12308, 2.0.51
        (
            "5-hour limit reached · resets 2pm (Pacific/Auckland) · /upgrade to Max 20x or turn on /extra-usage",
            Some(Scope::FiveHour),
            NOW,
            "UTC",
            "2026-03-11T01:00:00Z",
        ),
        // anthropics/claude-code#10333
        (
            "Opus weekly limit reached ∙ resets Oct 24",
            Some(Scope::OpusWeekly),
            NOW,
            "UTC",
            "2026-10-24T00:00:00Z",
        ),
        // anthropics/claude-code#22946, 2.1.30 (the worked example)
        (
            "You've hit your limit · resets 10pm (America/New_York)",
            None,
            "2026-01-30T20:00:00Z",
            "UTC",
            "2026-01-31T03:00:00Z",
        ),
        // anthropics/claude-code#24719, 2.1.38
        (
            "You've hit your limit · resets 4pm (Europe/Berlin)",
            None,
            NOW,
            "UTC",
            "2026-03-10T15:00:00Z",
        ),
        // terryso/claude-auto-resume#27
        (
            "You've hit your session limit · resets 8pm (America/New_York)",
            Some(Scope::FiveHour),
            NOW,
            "UTC",
            "2026-03-11T00:00:00Z",
        ),
        // anthropics/claude-code#81647, 2.1.220 (the worked example)
        (
            "You've hit your weekly limit · resets Jul 31, 2am (UTC)",
            Some(Scope::Weekly),
            "2026-07-28T10:00:00Z",
            "UTC",
            "2026-07-31T02:00:00Z",
        ),
        // anthropics/claude-code#30788
        (
            "Error: You're out of extra usage · resets 1:30am (Asia/Calcutta)",
            Some(Scope::Other),
            NOW,
            "UTC",
            "2026-03-10T20:00:00Z",
        ),
    ];
    for (text, scope, now, zone, want) in cases {
        let got = check(text, Verdict::Limit, scope);
        assert_eq!(reset_of(&got, now, zone), ts(want), "{text}");
        assert_eq!(got.matched.as_deref(), Some(text));
        assert_eq!(got.line, Some(0));
    }
}

#[test]
fn corpus_limits_without_a_reset_classify_with_their_scope() {
    // anthropics/claude-code#12487
    assert_eq!(
        check(
            "You've hit your Opus limit",
            Verdict::Limit,
            Some(Scope::OpusWeekly)
        )
        .reset,
        None
    );
    // anaclumos/tokenmaxxing
    check(
        "You've hit your monthly spend limit.",
        Verdict::Limit,
        Some(Scope::Other),
    );
}

#[test]
fn the_worked_example_without_a_zone_uses_the_default_zone() {
    let got = check(
        "5-hour limit reached ∙ resets 12:30am",
        Verdict::Limit,
        Some(Scope::FiveHour),
    );
    assert_eq!(
        reset_of(&got, "2025-08-10T20:00:00Z", "Europe/Paris"),
        ts("2025-08-10T22:30:00Z")
    );
}

// ---- the corpus: warning, throttle, server_error, auth, billing, none ----------------

#[test]
fn corpus_warnings_are_warnings() {
    // anthropics/claude-code#7756, 1.0.117
    check(
        "Approaching Opus usage limit · /model to use best available model",
        Verdict::Warning,
        Some(Scope::OpusWeekly),
    );
    // github/spec-kit#693
    let got = check(
        "Approaching usage limit resets at 2am.",
        Verdict::Warning,
        None,
    );
    assert_eq!(reset_of(&got, NOW, "UTC"), ts("2026-03-11T02:00:00Z"));
}

#[test]
fn corpus_throttles_are_throttles() {
    for text in [
        // anthropics/claude-code#75141, 2.1.201
        r#"{"type":"error","error":{"details":null,"type":"rate_limit_error","message":"Rate limited"},"request_id":"req_…"}"#,
        // anthropics/claude-code#65902
        "API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited",
        // anthropics/claude-code#29882, 2.1.63 (Opus 1M context gating)
        "API Error: Rate limit reached",
    ] {
        check(text, Verdict::Throttle, None);
    }
}

#[test]
fn corpus_server_errors_are_server_errors() {
    for text in [
        // anthropics/claude-code#583
        r#"API Error ({"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"}}) · Retrying in 1 seconds… (attempt 1/10)"#,
        // anthropics/claude-code#583
        r#"API Error: {"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"}}"#,
        // meawoppl/agent-portal PR #1378
        "API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment. If it persists, check https://status.claude.com.",
        // anthropics/claude-code#22796, 2.1.29
        r#"⎿  API Error: 500 {"type":"error","error":{"type":"api_error","message":"Internal server error"},"request_id":"req_…"}"#,
        // design notes in public code
        "API Error: Unable to connect to API (ECONNRESET)",
    ] {
        check(text, Verdict::ServerError, None);
    }
}

#[test]
fn corpus_auth_failures_are_auth() {
    // anthropics/claude-code#44930
    check(
        r#"API Error: 401 {"type":"error","error":{"type":"authentication_error","message":"Invalid authentication credentials"},"request_id":"…"}"#,
        Verdict::Auth,
        None,
    );
    // anaclumos/tokenmaxxing notes
    check(
        "Your organization has disabled Claude subscription access for Claude Code",
        Verdict::Auth,
        None,
    );
}

#[test]
fn corpus_billing_is_billing() {
    // anthropics/claude-code#5300, 1.0.70
    check(
        r#"400 {"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}"#,
        Verdict::Billing,
        None,
    );
}

#[test]
fn corpus_none_lines_are_none() {
    for text in [
        "Resume this session with: claude --resume 8c2d4f7e-1111-4222-8333-944455556666",
        "No conversation found with session ID: 8c2d4f7e-1111-4222-8333-944455556666",
        "You've hit your context limit. Try a shorter prompt.",
        "  ⎿  src/x.rs:12: // You've hit your limit · resets 3pm (UTC)",
        "> You've hit your limit · resets 3pm (UTC)",
    ] {
        check(text, Verdict::None, None);
    }
}

// ---- real messages found in anthropics/claude-code issues ----------------------------

#[test]
fn real_limit_banners_from_the_issue_tracker_are_limits() {
    let cases: [(&str, Option<Scope>, &str); 9] = [
        // anthropics/claude-code#61452, 2.1.147
        (
            "You've hit your session limit · resets 7:30pm (Asia/Nicosia)",
            Some(Scope::FiveHour),
            "2026-03-10T17:30:00Z",
        ),
        // anthropics/claude-code#24511, 2.1.37 (legacy zone name)
        (
            "  ⎿  You've hit your limit · resets 3:30am (Asia/Calcutta)",
            None,
            "2026-03-10T22:00:00Z",
        ),
        // anthropics/claude-code#6119, 1.0.84
        (
            "Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).",
            None,
            "2026-03-10T16:00:00Z",
        ),
        // anthropics/claude-code#55876, 2.1.114 ("May 5 at 9pm")
        (
            "You've hit your limit · resets May 5 at 9pm (America/New_York)",
            None,
            "2026-05-06T01:00:00Z",
        ),
        // anthropics/claude-code#80903, 2.1.218
        (
            "You've hit your weekly limit · resets Jul 27 at 4:30am (Asia/Calcutta)",
            Some(Scope::Weekly),
            "2026-07-26T23:00:00Z",
        ),
        // anthropics/claude-code#12789, 2.0.55
        (
            "  ⎿  Weekly limit reached · resets 10am (Asia/Seoul) · /upgrade to Max or turn on /extra-usage",
            Some(Scope::Weekly),
            "2026-03-11T01:00:00Z",
        ),
        // anthropics/claude-code#65802, 2.1.163
        (
            "You've hit your weekly limit · resets Jun 7, 4pm (Europe/Rome)",
            Some(Scope::Weekly),
            "2026-06-07T14:00:00Z",
        ),
        // anthropics/claude-code#4375, 1.0.59
        (
            "Claude AI usage limit reached|1753441200",
            None,
            "2025-07-25T11:00:00Z",
        ),
        // anthropics/claude-code#52575, 2.1.117
        (
            "You've hit your limit · resets 4:50am (Europe/Rome)",
            None,
            "2026-03-11T03:50:00Z",
        ),
    ];
    for (text, scope, want) in cases {
        let got = check(text, Verdict::Limit, scope);
        assert_eq!(reset_of(&got, NOW, "UTC"), ts(want), "{text}");
    }
}

#[test]
fn an_old_weekly_banner_with_the_2025_separator_and_no_zone_is_a_weekly_limit() {
    // anthropics/claude-code#11346
    let got = check(
        "Weekly limit reached ∙ resets Nov 13 at 9am",
        Verdict::Limit,
        Some(Scope::Weekly),
    );
    assert_eq!(
        reset_of(&got, NOW, "Europe/Paris"),
        ts("2026-11-13T08:00:00Z")
    );
}

#[test]
fn real_errors_from_the_issue_tracker_classify() {
    let cases = [
        // anthropics/claude-code#4410 and #3558
        (
            r#"  ⎿  API Error (529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}) · Retrying in 1 seconds… (attempt 2/10)"#,
            Verdict::ServerError,
        ),
        // anthropics/claude-code#4699
        (
            "API Error (Request timed out.) · Retrying in 1 seconds… (attempt 2/10)",
            Verdict::ServerError,
        ),
        // anthropics/claude-code#3919
        ("  ⎿  API Error (502 <html>", Verdict::ServerError),
        // anthropics/claude-code#2728
        ("  ⎿  API Error: Request timed out.", Verdict::ServerError),
        // anthropics/claude-code#69023
        (
            "API Error: Request rejected (429) · Rate limited. Please try again later.",
            Verdict::Throttle,
        ),
        // anthropics/claude-code#69520 (long-context gating)
        (
            "API Error: Request rejected (429) · Usage credits are required for long context requests.",
            Verdict::Throttle,
        ),
        // anthropics/claude-code#17123 and #33811
        (
            r#"API Error: 401 {"type":"error","error":{"type":"authentication_error","message":"OAuth token has expired. Please obtain a new token or refresh your existing token."},"request_id":"req_011CWwqkfTQzty2cH3EQcTZ1"} · Please run /login"#,
            Verdict::Auth,
        ),
        // anthropics/claude-code#34522, 2.1.76
        (
            "Credit balance too low · Add funds: https://console.anthropic.com/settings/billing",
            Verdict::Billing,
        ),
        // anthropics/claude-code#61645 (safeguards refusal)
        (
            "  ⎿  API Error: Claude Code is unable to respond to this request, which appears to violate our Usage Policy (https://www.anthropic.com/legal/aup).",
            Verdict::None,
        ),
    ];
    for (text, verdict) in cases {
        check(text, verdict, None);
    }
}

// ---- realistic captures ----------------------------------------------------------------

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[38;2;255;107;128m";

fn prompt_box() -> String {
    format!(
        "{DIM}────────────────────────────────────────{RESET}\n\
         ❯ \n\
         {DIM}────────────────────────────────────────{RESET}\n\
         {DIM}  ⏵⏵ bypass permissions on (shift+tab to cycle){RESET}\n"
    )
}

#[test]
fn an_old_500_above_a_new_banner_is_a_limit() {
    let pane = format!(
        "> fix the failing test\n\
         \n\
         {RED}  ⎿  API Error: 500 {{\"type\":\"error\",\"error\":{{\"type\":\"api_error\",\"message\":\"Internal server error\"}}}}{RESET}\n\
         \n\
         > try again\n\
         \n\
         {RED}  ⎿  You've hit your limit · resets 10pm (America/New_York){RESET}\n\
         \n{}",
        prompt_box()
    );
    let got = check(&pane, Verdict::Limit, None);
    assert_eq!(got.line, Some(6));
    assert_eq!(
        got.matched.as_deref(),
        Some("⎿  You've hit your limit · resets 10pm (America/New_York)")
    );
}

#[test]
fn a_new_500_below_an_old_banner_is_a_server_error() {
    let pane = format!(
        "{RED}  ⎿  You've hit your limit · resets 10pm (America/New_York){RESET}\n\
         \n\
         > try again\n\
         \n\
         {RED}  ⎿  API Error: 500 {{\"type\":\"error\",\"error\":{{\"type\":\"api_error\",\"message\":\"rate limit store unavailable\"}}}}{RESET}\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::ServerError, None);
}

#[test]
fn a_banner_followed_by_a_reply_is_over() {
    let pane = format!(
        "{RED}  ⎿  You've hit your limit · resets 10pm (America/New_York){RESET}\n\
         \n\
         > hello\n\
         \n\
         ● Hello! What would you like to work on?\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::None, None);
}

#[test]
fn the_2_1_330_limit_screen_is_a_five_hour_limit_resetting_at_4_16_utc() {
    let pane = format!(
        "● Bash(cargo test)\n\
         \x20 ⎿  test result: ok. 12 passed; 0 failed\n\
         \n\
         {RED}  ⎿  You've hit your 5-hour limit · resets 4:16am (UTC){RESET}\n\
         \n\
         ● Usage limit reached · set to continue automatically at 4:16am\n\
         \n{}\
         \x20 ⚠ Usage limit reached · limit resets 4:16am\n\
         \x20 Continuing automatically at 4:16am · Esc to cancel\n",
        prompt_box()
    );
    let got = check(&pane, Verdict::Limit, Some(Scope::FiveHour));
    assert_eq!(got.line, Some(3));
    assert_eq!(
        reset_of(&got, "2026-03-10T01:00:00Z", "America/New_York"),
        ts("2026-03-10T04:16:00Z")
    );
}

#[test]
fn a_resumed_session_showing_its_old_banner_then_a_reply_is_not_a_limit() {
    let pane = format!(
        " ▐▛███▜▌   Claude Code v2.1.330\n\
         \n\
         > keep going\n\
         \x20 ⎿  You've hit your session limit · resets 3pm (Europe/Paris)\n\
         \x20    /login to switch to an API usage-billed account.\n\
         \n\
         > continue\n\
         \n\
         ● Picking up where we left off: the parser tests now pass.\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::None, None);
}

#[test]
fn a_resumed_session_whose_old_banner_has_no_reply_yet_is_still_a_limit() {
    // The reply is what ends an event: the login hint under the banner is not one.
    let pane = format!(
        "\x20 ⎿  You've hit your session limit · resets 3pm (Europe/Paris)\n\
         \x20    /login to switch to an API usage-billed account.\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::Limit, Some(Scope::FiveHour));
}

#[test]
fn a_grep_hit_quoting_a_banner_is_not_a_limit() {
    let pane = format!(
        "● Search(pattern: \"hit your limit\", path: \"src\")\n\
         \x20 ⎿  Found 2 files\n\
         \x20    src/detect/corpus.rs:41: You've hit your limit · resets 3pm (UTC)\n\
         \n\
         ● Bash(grep -rn \"limit reached\" docs)\n\
         \x20 ⎿  docs/limits.md:3:5-hour limit reached ∙ resets 2pm\n\
         \x20    You've hit your weekly limit · resets Jul 31, 2am (UTC)\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::None, None);
}

#[test]
fn a_prompt_quoting_a_banner_is_not_a_limit() {
    let pane = format!(
        "❯ why does the pane say \"You've hit your limit · resets 3pm\"? and this:\n\
         \x20 You've hit your weekly limit · resets Jul 31, 2am (UTC)\n\
         \n\
         ● It is a banner Claude Code prints when the account is out.\n\
         \n\
         {DIM}────────────────────────────────────────{RESET}\n\
         ❯ You've hit your limit · resets 3pm (UTC)\n\
         {DIM}────────────────────────────────────────{RESET}\n"
    );
    check(&pane, Verdict::None, None);
}

#[test]
fn diff_lines_quoting_a_banner_are_not_a_limit() {
    let pane = format!(
        "● Update(src/detect/corpus_tests.rs)\n\
         \x20 ⎿  Updated src/detect/corpus_tests.rs with 2 additions\n\
         \x20      40 +  You've hit your limit · resets 3pm (UTC)\n\
         \x20      41 -  5-hour limit reached ∙ resets 2pm\n\
         + You've hit your session limit · resets 8pm (America/New_York)\n\
         - Claude AI usage limit reached|1750708800\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::None, None);
}

#[test]
fn a_teammate_reporting_its_own_limit_is_a_limit() {
    let pane = format!(
        "● Teammate @reviewer failed: You've hit your session limit · resets 11pm (UTC)\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::Limit, Some(Scope::FiveHour));
}

#[test]
fn status_lines_and_an_empty_prompt_box_do_not_end_an_event() {
    let pane = format!(
        "{RED}  ⎿  API Error (529 {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}) · Retrying in 14 seconds… (attempt 3/10){RESET}\n\
         \n\
         ✻ Baked for 2m 4s\n\
         ✻ Thinking… · retrying in 14s\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::ServerError, None);
}

#[test]
fn an_assistant_reply_quoting_a_banner_in_its_prose_is_not_a_limit() {
    let pane = format!(
        "● The message you saw reads:\n\
         \n\
         \x20 You've hit your limit · resets 3pm (UTC)\n\
         \n\
         \x20 It means the 5-hour window is spent.\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::None, None);
}

#[test]
fn an_old_banner_above_a_new_one_gives_the_new_reset() {
    let pane = format!(
        "\x20 ⎿  You've hit your session limit · resets 3pm (UTC)\n\
         > continue\n\
         \x20 ⎿  You've hit your weekly limit · resets Jul 31, 2am (UTC)\n\
         \n{}",
        prompt_box()
    );
    let got = check(&pane, Verdict::Limit, Some(Scope::Weekly));
    assert_eq!(got.line, Some(2));
    assert_eq!(
        reset_of(&got, "2026-07-28T10:00:00Z", "UTC"),
        ts("2026-07-31T02:00:00Z")
    );
}

#[test]
fn an_empty_capture_is_none() {
    assert_eq!(classify(""), classify("\n\n"));
    check("", Verdict::None, None);
}

#[test]
fn verdicts_and_scopes_serialise_in_snake_case() {
    let got = serde_json::to_string(&(Verdict::ServerError, Scope::OpusWeekly, Scope::FiveHour))
        .expect("serialises");
    assert_eq!(got, r#"["server_error","opus_weekly","five_hour"]"#);
    let zone = TimeZone::UTC;
    assert!(resolve_reset(&super::ResetSpec::Epoch(0), ts(NOW), &zone).is_ok());
}

// ---- kinds misread before issue 17 (real wordings from Claude Code's issue tracker) ----

#[test]
fn a_sub_agent_terminated_by_the_accounts_limit_is_a_limit() {
    // anthropics/claude-code#89263, 2.1.241: the result line under an Agent/Task call.
    let pane = format!(
        "● Task(Audit the parser)\n\
         \x20 ⎿  Agent terminated early due to an API error: You've hit your session limit · resets 12am\n\
         \n{}",
        prompt_box()
    );
    let got = check(&pane, Verdict::Limit, Some(Scope::FiveHour));
    assert_eq!(
        reset_of(&got, "2026-08-24T20:00:00Z", "UTC"),
        ts("2026-08-25T00:00:00Z")
    );
    // The same words as a grep hit under a Bash call stay a quotation.
    let pane = format!(
        "● Bash(grep -rn terminated logs)\n\
         \x20 ⎿  logs/a.txt:3: Agent terminated early due to an API error: You've hit your session limit\n\
         \n{}",
        prompt_box()
    );
    check(&pane, Verdict::None, None);
}

#[test]
fn the_agent_panel_below_the_input_box_is_not_the_conversation_moving_on() {
    // The real 2.1.330 screen once a background sub-agent failed at the limit and the main
    // agent's own turn stopped there too: under the input box, the footer lists the agents
    // (`● main`) — a bullet that is chrome, not a reply after the banner.
    let rule = "─".repeat(60);
    let pane = format!(
        "❯ ping romeo\n\n● Agent(Stand-in subtask)\n  ⎿  Backgrounded agent (↓ to manage · ctrl+o to expand)\n\n\
         ● Agent \"Stand-in subtask\" failed: Agent terminated early due to an API error: You've hit your 5-hour limit · resets 10:31am (UTC) (error type rate_limit, HTTP 429,\n\
         \x20 model sent to the API: claude-opus-5-5)\n\
         \x20 ⎿  You've hit your 5-hour limit · resets 10:31am (UTC)\n\n\
         ● Usage limit reached · set to continue automatically at 10:31am\n\n\
         {rule}\n❯ \n{rule}\n\
         \x20 ⚠ Usage limit reached · limit resets 10:31am\n\
         \x20 ⏵⏵ accept edits on (shift+tab to cycle) · ← for agents · ↓ to manage\n\n\
         \x20 ● main\n\
         \x20 ◯ general-purpose  Stand-in subtask        failed · 0s\n"
    );
    check(&pane, Verdict::Limit, Some(Scope::FiveHour));
    // A reply in the conversation after the banner still ends it (the footer's own
    // limit notice gone, as once the account works again).
    let moved_on = pane
        .replace(
            "● Usage limit reached · set to continue automatically at 10:31am",
            "● Done: the parser is fixed.",
        )
        .replace("  ⚠ Usage limit reached · limit resets 10:31am\n", "");
    check(&moved_on, Verdict::None, None);
    // A bullet at the margin after an input box is the conversation again (the fuzz
    // suite's case: an old box edge, a banner, then a reply).
    check(
        "> \n│ \nYou've hit your limit\n● Here is the summary of the change you asked for.",
        Verdict::None,
        None,
    );
    let rule = "─".repeat(20);
    check(
        &format!("❯ \n{rule}\nYou've hit your limit\n● Here is the summary."),
        Verdict::None,
        None,
    );
}

#[test]
fn an_automatic_model_fallback_is_a_warning_not_a_limit() {
    // anthropics/claude-code#1330 (2025: Opus used up, continuing with Sonnet) and the
    // 2.1.330 catalogue's `Fable limit reached · continuing on … uses usage credits`.
    for text in [
        "Claude Opus 4 limit reached, now using Sonnet 4",
        "⎿  Opus limit reached · now using Sonnet 5",
        "Fable limit reached · continuing on Opus 5 uses usage credits",
        "You're now using extra usage · Your session limit resets 4:16am (UTC)",
    ] {
        let got = classify(text);
        assert_eq!(got.verdict, Verdict::Warning, "{text}: {got:?}");
    }
    // A model's own limit without a fallback still stops the work (nityeshaga/claude-home-base#63).
    check(
        "You've reached your Fable limit. Switch to another model, or manage usage credits at claude.ai/settings/usage, to continue.",
        Verdict::Limit,
        Some(Scope::OpusWeekly),
    );
}

#[test]
fn a_zone_wrapped_onto_the_next_line_is_the_resets_zone() {
    // anthropics/claude-code#19472 style banner, cut by a narrow pane before its zone.
    let pane = format!(
        "\x20 ⎿  You've hit your limit · resets 11pm\n\
         \x20    (America/Anchorage)\n\
         \n{}",
        prompt_box()
    );
    let got = check(&pane, Verdict::Limit, None);
    assert_eq!(
        reset_of(&got, "2026-01-20T12:00:00Z", "Europe/Paris"),
        ts("2026-01-21T08:00:00Z")
    );
}

#[test]
fn a_weekday_reset_resolves_to_the_next_such_day() {
    // 2026-01-07 is a Wednesday; Mon 12:00am in New York is 05:00Z on Jan 12.
    let got = check(
        "You've hit your weekly limit · resets Mon 12:00am (America/New_York)",
        Verdict::Limit,
        Some(Scope::Weekly),
    );
    assert_eq!(
        reset_of(&got, "2026-01-07T14:12:00Z", "UTC"),
        ts("2026-01-12T05:00:00Z")
    );
    // DST: the Monday after the spring change is UTC-4.
    assert_eq!(
        reset_of(&got, "2026-03-05T12:00:00Z", "UTC"),
        ts("2026-03-09T04:00:00Z")
    );
}

#[test]
fn a_date_time_with_an_explicit_zone_is_exact() {
    // Gateways answer `spend limit reached · resets <date>` (2.1.330's own example payload).
    let got = check(
        "You've hit your monthly spend limit · resets 2026-08-09 00:00 UTC",
        Verdict::Limit,
        Some(Scope::Other),
    );
    assert_eq!(
        reset_of(&got, NOW, "Europe/Paris"),
        ts("2026-08-09T00:00:00Z")
    );
    let got = check(
        "You've hit your limit · resets 2026-11-01 01:30 (America/New_York)",
        Verdict::Limit,
        None,
    );
    assert_eq!(reset_of(&got, NOW, "UTC"), ts("2026-11-01T05:30:00Z"));
}

#[test]
fn a_stream_json_rate_limit_event_in_a_pane_is_read_exactly() {
    // DESIGN.md §7: `claude -p --output-format stream-json` at a limit.
    let rejected = r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1788303000,"rateLimitType":"seven_day","overageStatus":"rejected"},"uuid":"1f0c","session_id":"8c2d"}"#;
    let got = check(rejected, Verdict::Limit, Some(Scope::Weekly));
    assert_eq!(reset_of(&got, NOW, "UTC"), ts("2026-09-01T22:50:00Z"));
    let allowed = r#"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed","resetsAt":1788303000,"rateLimitType":"five_hour"}}"#;
    check(allowed, Verdict::None, None);
    let warned = r#"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":1788303000,"rateLimitType":"five_hour","utilization":0.91}}"#;
    check(warned, Verdict::Warning, Some(Scope::FiveHour));
}

#[test]
fn the_auth_forms_of_2026_are_auth() {
    for text in [
        // anthropics/claude-code#72457, #68985, 2.1.185
        "API Error: 400 This organization has been disabled.",
        // anthropics/claude-code#19028, 2.1.11
        r#"API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"This organization has been disabled."},"request_id":"req_011CXF1SZ3S3oXChsdxhoUwV"}"#,
        // the pinned client's own wordings (tests/fixtures/catalogue-2.1.330.txt)
        "Login expired · Please run /login",
        "Your ANTHROPIC_API_KEY belongs to a disabled organization · Update or unset the environment variable",
        "Your apiKeyHelper script is failing · This usually means you need to re-authenticate with your provider · Run /status to see the script's error output",
        "Failed to authenticate: OAuth session expired and could not be refreshed",
    ] {
        check(text, Verdict::Auth, None);
    }
}

#[test]
fn the_server_errors_of_2026_are_server_errors() {
    for text in [
        "⎿  API Error: Server error mid-response. The response above may be incomplete.",
        "API Error: Connection lost before a response was produced. Try again.",
        "API Error: Repeated 529 Overloaded errors. The API is at capacity — this is usually temporary. Try again in a moment.",
        // the 2.1.330 retry lines, as tests/fixtures/real-2.1.330 shows them
        "✻ 500 Internal server error · retrying in 14s · attempt 6/10",
        "✻ 529 Overloaded · retrying in 2s · attempt 1/10",
        "Authentication error · This may be a temporary network issue, please try again",
    ] {
        check(text, Verdict::ServerError, None);
    }
    // anthropics/claude-code#69520: the 1M-context gate is a throttle.
    check(
        "API Error: Usage credits required for 1M context · run /usage-credits",
        Verdict::Throttle,
        None,
    );
}
