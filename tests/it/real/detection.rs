//! The real screens: a usage limit is a limit with the reset the API sent; a 500 or a 529
//! is not; `detect` and `check-quota` agree on the live panes.

use std::time::Duration;

use crate::support::anthropic::{Mode, Window, epoch_now};
use crate::support::real::{RealWorld, after, ready};
use crate::support::wait_for;

const SESSION: &str = "ccl-1-proj";

fn rfc3339(epoch: i64) -> String {
    jiff::Timestamp::from_second(epoch).unwrap().to_string()
}

/// `ccf detect --json` on what the pane shows now.
fn detect_screen(w: &RealWorld, now: i64) -> serde_json::Value {
    let screen = w.screen(SESSION);
    w.sb.ccf(&["detect", "--json", "--now", &rfc3339(now)])
        .stdin(screen)
        .run()
        .json()
}

#[test]
fn the_real_limit_screen_is_a_five_hour_limit_and_server_errors_are_not() {
    let Some(w) = RealWorld::new() else { return };
    let a = RealWorld::token("compte1");
    w.start_by_hand(SESSION, &w.sb.path("proj"));
    w.prompt(SESSION, "ping alpha");
    w.wait_screen(SESSION, "the reply", |s| {
        s.contains("Stand-in reply: PING ALPHA.")
    });

    for (mode, prompt, code) in [
        (Mode::ServerError500, "ping bravo", "500"),
        (Mode::Overloaded529, "ping charlie", "529"),
    ] {
        w.api.set_mode(&a, mode);
        w.prompt(SESSION, prompt);
        w.wait_screen(SESSION, &format!("the {code} error"), |s| {
            after(s, prompt).contains(&format!("API Error: {code}"))
        });
        let v = detect_screen(&w, epoch_now());
        assert_eq!(v["verdict"], "server_error", "{code}: {v}");
        w.sb.ccf(&["check-quota", "--dry-run"])
            .stdout_has(&format!("{SESSION} [pane] on compte1: server_error"))
            .stdout_has("→ stay on compte1")
            .run();
    }

    // Banners show the minute: a reset on a whole minute is exact on screen too.
    let reset = (epoch_now() / 60 + 130) * 60;
    w.api.set_mode(
        &a,
        Mode::UsageLimit {
            reset,
            window: Window::FiveHour,
        },
    );
    w.prompt(SESSION, "ping delta");
    let screen = w.wait_screen(SESSION, "the armed limit screen", |s| {
        after(s, "ping delta").contains("Continuing automatically at")
    });
    assert!(screen.contains("You've hit your 5-hour limit"), "{screen}");
    let v = detect_screen(&w, epoch_now());
    assert_eq!(v["verdict"], "limit", "{v}");
    assert_eq!(v["scope"], "five_hour", "{v}");
    assert_eq!(v["resets_at"], rfc3339(reset), "{v}");
    w.sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has(&format!("{SESSION} [pane] on compte1: limit — "))
        .stdout_has("You've hit your 5-hour limit · resets")
        .stdout_has(&format!("→ limit until {}", rfc3339(reset)))
        .stdout_has("→ swap away from compte1 to compte2: usage limit on compte1")
        .run();
}

#[test]
fn the_real_weekly_limit_is_weekly_and_a_throttle_is_not_a_limit() {
    let Some(w) = RealWorld::new() else { return };
    let a = RealWorld::token("compte1");
    w.start_by_hand(SESSION, &w.sb.path("proj"));
    w.api.set_mode(&a, Mode::Throttle429);
    w.prompt(SESSION, "ping echo");
    w.wait_screen(SESSION, "the throttle error", |s| {
        after(s, "ping echo").contains("API Error")
    });
    let v = detect_screen(&w, epoch_now());
    assert_eq!(v["verdict"], "throttle", "{v}");
    w.sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has(&format!("{SESSION} [pane] on compte1: throttle"))
        .stdout_has("→ stay on compte1")
        .run();

    // Four days ahead: the banner names the day.
    let reset = (epoch_now() / 3600 + 4 * 24) * 3600;
    w.api.set_mode(
        &a,
        Mode::UsageLimit {
            reset,
            window: Window::SevenDay,
        },
    );
    w.prompt(SESSION, "ping foxtrot");
    // Wait for the banner itself: the footer differs from the five-hour one.
    let screen = w.wait_screen(SESSION, "the weekly limit screen", |s| {
        after(s, "ping foxtrot").contains("You've hit your weekly limit · resets")
    });
    let v = detect_screen(&w, epoch_now());
    assert_eq!(v["verdict"], "limit", "{v}\n{screen}");
    assert_eq!(v["scope"], "weekly", "{v}\n{screen}");
    assert_eq!(v["resets_at"], rfc3339(reset), "{v}\n{screen}");
}

/// Starts a new claude in the session: a screen with no earlier event on it.
fn fresh(w: &RealWorld) {
    if !w.sb.tmux.has_session(SESSION) {
        return w.start_by_hand(SESSION, &w.sb.path("proj"));
    }
    // Killing the only session would end the tmux server: the pane gets a new shell.
    w.sb.tmux
        .ok(["respawn-pane", "-k", "-t", &format!("={SESSION}:")]);
    w.sb.tmux.wait_for_text(SESSION, "operator$");
    w.sb.tmux
        .type_line(SESSION, &w.claude.display().to_string());
    w.wait_screen(SESSION, "the input box", ready);
}

/// Answers compte1 with `mode`, types `prompt` and waits until `shown` is on screen after
/// it; returns that screen and `ccf detect`'s verdict on it.
fn drive(w: &RealWorld, mode: Mode, prompt: &str, shown: &str) -> (String, serde_json::Value) {
    w.api.set_mode(&RealWorld::token("compte1"), mode);
    w.prompt(SESSION, prompt);
    let screen = w.wait_screen(SESSION, shown, |s| after(s, prompt).contains(shown));
    let v = detect_screen(w, epoch_now());
    (screen, v)
}

/// The API-error row compte1's transcript holds for the turn of `prompt` (waited for: the
/// client writes it after the screen shows the error).
fn error_row(w: &RealWorld, prompt: &str) -> serde_json::Value {
    let projects = w.sb.account_home("compte1").join("projects");
    wait_for(
        &format!("the transcript's API-error row after {prompt:?}"),
        Duration::from_secs(20),
        || {
            // Per transcript file: rows of two files strung together would let the row
            // after this prompt be another file's older error while this one's is not
            // written yet (seen under load).
            for dir in std::fs::read_dir(&projects).ok()?.filter_map(Result::ok) {
                for f in std::fs::read_dir(dir.path()).ok()?.filter_map(Result::ok) {
                    let text = std::fs::read_to_string(f.path()).unwrap_or_default();
                    let rows: Vec<serde_json::Value> = text
                        .lines()
                        .filter_map(|l| serde_json::from_str(l).ok())
                        .collect();
                    let Some(asked) = rows.iter().rposition(|r| {
                        r["type"] == "user" && r["message"]["content"].to_string().contains(prompt)
                    }) else {
                        continue;
                    };
                    if let Some(row) = rows[asked..]
                        .iter()
                        .find(|r| r["isApiErrorMessage"] == true)
                    {
                        return Some(row.clone());
                    }
                }
            }
            None
        },
    )
}

/// `ccf detect --json` on the text of a transcript row.
fn detect_row(w: &RealWorld, row: &serde_json::Value) -> serde_json::Value {
    let content = &row["message"]["content"];
    let text = content.as_str().map_or_else(
        || {
            content
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        },
        str::to_string,
    );
    w.sb.ccf(&["detect", "--json", "--now", &rfc3339(epoch_now())])
        .stdin(text)
        .run()
        .json()
}

/// One error kind: the screen's verdict, the transcript row's, and check-quota's line.
fn assert_kind(w: &RealWorld, prompt: &str, screen: &str, v: &serde_json::Value, verdict: &str) {
    assert_eq!(v["verdict"], verdict, "{prompt}: {v}\n{screen}");
    let row = error_row(w, prompt);
    let r = detect_row(w, &row);
    assert_eq!(r["verdict"], verdict, "{prompt}: the row {row}\n→ {r}");
    w.sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has(&format!("{SESSION} [pane] on compte1: {verdict}"))
        .run();
}

#[test]
fn the_real_auth_and_billing_errors_are_auth_and_billing() {
    let Some(w) = RealWorld::new() else { return };
    for (mode, prompt, shown, verdict) in [
        (
            Mode::InvalidToken401,
            "ping golf",
            "Please run /login",
            "auth",
        ),
        (
            Mode::ExpiredToken401,
            "ping hotel",
            "Please run /login",
            "auth",
        ),
        (
            Mode::OrgDisabled403,
            "ping india",
            "Please run /login",
            "auth",
        ),
        (
            Mode::CreditBalance400,
            "ping juliett",
            "Credit balance too low",
            "billing",
        ),
    ] {
        fresh(&w);
        let (screen, v) = drive(&w, mode, prompt, shown);
        assert_kind(&w, prompt, &screen, &v, verdict);
    }
}

#[test]
fn the_real_503_and_broken_streams_are_server_errors() {
    let Some(w) = RealWorld::new() else { return };
    w.start_by_hand(SESSION, &w.sb.path("proj"));
    for (mode, prompt, shown) in [
        (Mode::Unavailable503, "ping kilo", "API Error: 503"),
        (Mode::ErrorMidStream, "ping lima", "API Error"),
        (Mode::BrokenStream, "ping mike", "API Error"),
    ] {
        let (screen, v) = drive(&w, mode, prompt, shown);
        assert_kind(&w, prompt, &screen, &v, "server_error");
        w.sb.ccf(&["check-quota", "--dry-run"])
            .stdout_has("→ stay on compte1")
            .run();
    }
}

/// A limit kind: the verdict, scope and exact reset on screen; the row's reset and claim
/// (a spend limit sends none).
/// `on_screen`: whether the screen names the reset (a spend limit's banner does not; only
/// its transcript row has it).
fn assert_limit(
    w: &RealWorld,
    prompt: &str,
    reset: i64,
    scope: &str,
    claim: Option<&str>,
    on_screen: bool,
) {
    let screen = w.screen(SESSION);
    let v = detect_screen(w, epoch_now());
    assert_eq!(v["verdict"], "limit", "{prompt}: {v}\n{screen}");
    assert_eq!(v["scope"], scope, "{prompt}: {v}\n{screen}");
    let shown = if on_screen {
        rfc3339(reset).into()
    } else {
        serde_json::Value::Null
    };
    assert_eq!(v["resets_at"], shown, "{prompt}: {v}\n{screen}");
    let row = error_row(w, prompt);
    assert_eq!(row["quotaLimits"]["resetsAt"], reset, "{prompt}: {row}");
    let claim = claim.map_or(serde_json::Value::Null, Into::into);
    assert_eq!(
        row["quotaLimits"]["rateLimitType"], claim,
        "{prompt}: {row}"
    );
    assert_eq!(detect_row(w, &row)["verdict"], "limit", "{prompt}: {row}");
    w.sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has(&format!("{SESSION} [pane] on compte1: limit — "))
        .stdout_has(if on_screen {
            "→ swap away from compte1 to compte2: usage limit on compte1"
        } else {
            "without a reset time"
        })
        .run();
}

#[test]
fn the_real_per_model_weekly_limits_are_opus_weekly() {
    let Some(w) = RealWorld::new() else { return };
    // Three days ahead: the banner names the day.
    let reset = (epoch_now() / 3600 + 3 * 24) * 3600;
    for (window, prompt, shown, claim) in [
        (
            Window::SevenDayOpus,
            "ping november",
            "Opus limit",
            "seven_day_opus",
        ),
        (
            Window::SevenDaySonnet,
            "ping oscar",
            "Sonnet limit",
            "seven_day_sonnet",
        ),
    ] {
        fresh(&w);
        drive(&w, Mode::UsageLimit { reset, window }, prompt, shown);
        assert_limit(&w, prompt, reset, "opus_weekly", Some(claim), true);
    }
}

#[test]
fn the_real_out_of_credits_and_spend_limits_are_limits() {
    let Some(w) = RealWorld::new() else { return };
    let reset = (epoch_now() / 60 + 170) * 60;
    w.start_by_hand(SESSION, &w.sb.path("proj"));
    drive(
        &w,
        Mode::OutOfCredits { reset },
        "ping papa",
        "out of usage credits",
    );
    assert_limit(&w, "ping papa", reset, "other", Some("overage"), true);

    let reset = (epoch_now() / 3600 + 5 * 24) * 3600;
    fresh(&w);
    drive(&w, Mode::SpendLimit { reset }, "ping quebec", "spend limit");
    assert_limit(&w, "ping quebec", reset, "other", None, false);
}

#[test]
fn a_real_sub_agent_at_the_limit_is_the_accounts_limit() {
    let Some(w) = RealWorld::new() else { return };
    // Auto mode asks a server-side check before a sub-agent starts; the stand-in has none.
    std::fs::write(
        w.sb.account_home("compte1").join("settings.json"),
        r#"{"permissions": {"defaultMode": "acceptEdits", "allow": ["Agent"]}}"#,
    )
    .unwrap();
    let reset = (epoch_now() / 60 + 150) * 60;
    w.start_by_hand(SESSION, &w.sb.path("proj"));
    let (screen, _) = drive(
        &w,
        Mode::SubAgentLimit {
            reset,
            window: Window::FiveHour,
        },
        "ping romeo",
        "Agent terminated early due to an API error",
    );
    // The screen as it was before the main agent's own turn: down to the failure and its
    // wrapped lines.
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| l.contains("Agent terminated early"))
        .unwrap();
    let end = (at + 1..lines.len())
        .find(|&i| {
            // A wrapped line is indented and has no gutter of its own.
            let t = lines[i].trim_start();
            !lines[i].starts_with("  ") || t.is_empty() || t.starts_with(['⎿', '●', '✻', '⚠'])
        })
        .unwrap_or(lines.len());
    let cut = lines[..end].join("\n");
    let v =
        w.sb.ccf(&["detect", "--json", "--now", &rfc3339(epoch_now())])
            .stdin(cut.clone())
            .run()
            .json();
    assert_eq!(v["verdict"], "limit", "{v}\n{cut}");
    assert_eq!(v["scope"], "five_hour", "{v}\n{cut}");
    assert_eq!(v["resets_at"], rfc3339(reset), "{v}\n{cut}");
    assert!(
        v["matched"].as_str().unwrap().contains("Agent"),
        "{v}\n{cut}"
    );
    // And the whole screen as it stays: the main agent's own turn after the failure
    // stops at the same limit.
    let full = w.wait_screen(SESSION, "the main agent's turn", |s| {
        ready(s) && s.matches("hit your").count() >= 2
    });
    let v =
        w.sb.ccf(&["detect", "--json", "--now", &rfc3339(epoch_now())])
            .stdin(full.clone())
            .run()
            .json();
    assert_eq!(v["verdict"], "limit", "{v}\n{full}");
    assert_eq!(v["resets_at"], rfc3339(reset), "{v}\n{full}");
}
