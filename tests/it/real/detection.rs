//! The real screens: a usage limit is a limit with the reset the API sent; a 500 or a 529
//! is not; `detect` and `check-quota` agree on the live panes.

use crate::support::anthropic::{Mode, Window, epoch_now};
use crate::support::real::{RealWorld, after};

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
