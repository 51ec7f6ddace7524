//! What an operator sees, through the binary: usage per account in `status` and
//! `status --json`, the tmux segment (`status --tmux`, lock-free) and the Prometheus
//! textfile (`status --prometheus`), before and after a limit moves the sessions.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;

use crate::support::{Sandbox, stop_and_swap};

const NOW: &str = "2026-12-02T14:00:00Z";

fn world() -> Sandbox {
    crate::support::dedicated_on_claude(NOW)
}

/// What Claude Code hands the status-line command, three minutes before [`NOW`].
fn report_usage(sb: &Sandbox, five: f64, seven: f64) {
    let epoch = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_second();
    let input = serde_json::json!({
        "session_id": "6f1c", "cwd": sb.path("proj"),
        "rate_limits": {
            "five_hour": {"used_percentage": five, "resets_at": epoch("2026-12-02T16:13:20Z")},
            "seven_day": {"used_percentage": seven, "resets_at": epoch("2026-12-05T14:00:00Z")}
        }
    });
    sb.ccf(&["hook", "statusline"])
        .env("CCF_NOW", "2026-12-02T13:57:00Z")
        .stdin(input.to_string())
        .run();
}

#[test]
fn status_shows_each_accounts_usage_its_age_and_the_time_left() {
    let sb = world();
    report_usage(&sb, 42.0, 61.0);

    let st = sb.ccf(&["status", "--json"]).run().json();
    assert_eq!(st["version"], env!("CARGO_PKG_VERSION"));
    let a = &st["accounts"][0];
    assert_eq!(a["name"], "compte1");
    assert_eq!(a["active"], true);
    assert_eq!(a["sessions"], serde_json::json!(["ccl-1-proj"]));
    let five = &a["usage"]["five_hour"];
    assert_eq!(five["used_percent"], 42.0);
    assert_eq!(five["resets_at"], "2026-12-02T16:13:20Z");
    assert_eq!(five["resets_in_secs"], 2 * 3600 + 13 * 60 + 20);
    assert_eq!(five["at"], "2026-12-02T13:57:00Z");
    assert_eq!(five["age_secs"], 180);
    assert_eq!(five["source"], "statusline");
    assert_eq!(a["usage"]["seven_day"]["used_percent"], 61.0);
    assert!(st["accounts"][1]["usage"]["five_hour"].is_null(), "{st}");
    assert_eq!(st["swaps_total"], 0);

    sb.ccf(&["status"])
        .stdout_has("  compte1      active      ")
        .stdout_has("  1 session\n")
        .stdout_has("    5h  42% used, resets 16:13 UTC (in 2h 13m); statusline, 3m ago\n")
        .stdout_has("    7d  61% used, resets Sat 14:00 UTC (in 3d); statusline, 3m ago\n")
        .run();
    sb.ccf(&["account", "list"])
        .stdout_has("compte1  ")
        .stdout_has("active, 1 session\n")
        .stdout_has("    5h  42% used")
        .run();
    assert_eq!(
        sb.ccf(&["account", "list", "--json"]).run().json()[0]["usage"]["five_hour"]["used_percent"],
        42.0
    );
    sb.ccf(&["status", "--tmux"])
        .stdout_is("ccf compte1 42%\n")
        .run();

    // Near the 5-hour limit the segment counts down to its reset.
    report_usage(&sb, 91.0, 61.0);
    sb.ccf(&["status", "--tmux"])
        .stdout_is("ccf compte1 91% ↻2h13m\n")
        .run();
}

#[test]
fn after_a_limit_the_exhausted_account_shows_its_reset_and_the_sessions_moved() {
    let sb = world();
    report_usage(&sb, 42.0, 61.0);
    stop_and_swap(
        &sb,
        "rate_limit",
        "You've hit your limit · resets 4pm (UTC)",
    );

    let st = sb.ccf(&["status", "--json"]).run().json();
    let c1 = &st["accounts"][0];
    assert_eq!(c1["state"], "exhausted");
    assert_eq!(c1["exhausted_until"], "2026-12-02T16:00:00Z");
    assert_eq!(c1["exhausted_left_secs"], 2 * 3600);
    // The banner names no window: the limit counts against the 5-hour one.
    assert!(c1["exhausted_scope"].is_null(), "{c1}");
    // The limit is newer than the status line's 42%: the window is full.
    assert_eq!(c1["usage"]["five_hour"]["used_percent"], 100.0);
    assert_eq!(c1["usage"]["five_hour"]["source"], "spool");
    assert_eq!(c1["usage"]["seven_day"]["used_percent"], 61.0);
    assert_eq!(c1["sessions"], serde_json::json!([]));
    assert_eq!(st["accounts"][1]["active"], true);
    assert_eq!(
        st["accounts"][1]["sessions"],
        serde_json::json!(["ccl-1-proj"])
    );
    assert_eq!(st["swaps_total"], 1);
    sb.ccf(&["status"])
        .stdout_has("    exhausted until 16:00 UTC (in 2h)\n")
        .stdout_has("    5h 100% used, resets 16:00 UTC (in 2h); spool, now\n")
        .run();

    // The segment answers while another run holds the state lock: it takes none.
    let lock = File::create(sb.path("state/state.lock")).unwrap();
    lock.lock().unwrap();
    sb.ccf(&["status", "--tmux"])
        .stdout_is("ccf compte2\n")
        .run();
    drop(lock);

    let text = sb.ccf(&["status", "--prometheus"]).run().stdout;
    for line in [
        "ccf_swaps_total 1\n",
        "ccf_account_active{account=\"compte2\"} 1\n",
        "ccf_account_exhausted{account=\"compte1\"} 1\n",
        "ccf_account_exhausted_until_timestamp_seconds{account=\"compte1\"} 1796227200\n",
        "ccf_account_usage_ratio{account=\"compte1\",window=\"five_hour\"} 1\n",
        "ccf_account_usage_ratio{account=\"compte1\",window=\"seven_day\"} 0.61\n",
        "ccf_account_usage_age_seconds{account=\"compte1\",window=\"seven_day\"} 180\n",
        "ccf_account_sessions{account=\"compte2\"} 1\n",
        "ccf_account_sessions{account=\"compte1\"} 0\n",
        "ccf_last_check_age_seconds 0\n",
        "ccf_degraded 0\n",
        &format!("ccf_info{{version=\"{}\"}} 1\n", env!("CARGO_PKG_VERSION")),
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    for line in text.lines() {
        assert!(
            line.starts_with("# HELP ccf_") || line.starts_with("# TYPE ccf_") || sample(line),
            "not a metric line: {line:?}"
        );
    }

    // Into the collector's directory: replaced whole, readable by node_exporter.
    let dir = sb.path("textfile");
    std::fs::create_dir(&dir).unwrap();
    sb.hand_over();
    let prom = dir.join("ccf.prom");
    sb.ccf(&["status", &format!("--prometheus={}", prom.display())])
        .stdout_is("")
        .run();
    assert_eq!(std::fs::read_to_string(&prom).unwrap(), text);
    assert_eq!(
        std::fs::metadata(&prom).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["ccf.prom"]);
}

/// `name{labels} value` with a number for the value.
fn sample(line: &str) -> bool {
    let Some((name, value)) = line.rsplit_once(' ') else {
        return false;
    };
    let name = name.split('{').next().unwrap_or_default();
    name.starts_with("ccf_")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        && value.parse::<f64>().is_ok()
}

#[test]
fn the_segment_marks_what_needs_the_operator_and_stays_one_line() {
    let sb = world();
    stop_and_swap(
        &sb,
        "authentication_failed",
        "OAuth token revoked · Please run /login",
    );
    let history = std::fs::read_to_string(sb.path("state/history.jsonl")).unwrap();
    assert!(
        history.contains(r#""kind":"needs_login","account":"compte1""#),
        "{history}"
    );
    // An hour without a check-quota pass: the timer is not running.
    sb.ccf(&["status", "--tmux"])
        .env("CCF_NOW", "2026-12-02T15:00:00Z")
        .stdout_is("ccf compte2 !login:compte1 !stopped\n")
        .run();
}
