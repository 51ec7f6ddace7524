//! `ccf status --prometheus`: the status as metrics in Prometheus' text exposition
//! format, for `node_exporter`'s textfile collector (a `*.prom` file in its
//! `--collector.textfile.directory`, replaced atomically so it never reads half a file).
//!
//! Pure: the gathered [`Status`] in, the text out. Names follow Prometheus' conventions:
//! `ccf_` prefix, base units (seconds, ratios), `_total` for the one counter.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::accounts::WindowView;
use super::{AccountView, Status};

/// One metric family: its help line, type and samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A gauge with one sample per account and known window.
    fn per_window(
        &mut self,
        name: &str,
        help: &str,
        accounts: &[AccountView],
        value: impl Fn(&WindowView) -> Option<f64>,
    ) {
        self.head(name, "gauge", help);
        for acc in accounts {
            for (window, w) in windows(acc) {
                if let Some(v) = w.and_then(&value) {
                    self.sample(name, &[("account", &acc.name), ("window", window)], v);
                }
            }
        }
    }

    /// A gauge with one sample per account.
    fn per_account(
        &mut self,
        name: &str,
        help: &str,
        accounts: &[AccountView],
        value: impl Fn(&AccountView) -> Option<f64>,
    ) {
        self.head(name, "gauge", help);
        for a in accounts {
            if let Some(v) = value(a) {
                self.sample(name, &[("account", &a.name)], v);
            }
        }
    }
}

/// An account's windows by their label.
fn windows(acc: &AccountView) -> [(&'static str, Option<&WindowView>); 2] {
    [
        ("five_hour", acc.usage.five_hour.as_ref()),
        ("seven_day", acc.usage.seven_day.as_ref()),
    ]
}

/// A label value as the format wants it: backslash, quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "counts and epoch seconds are far below 2^53"
)]
fn secs(t: Timestamp) -> f64 {
    t.as_second() as f64
}

/// The whole exposition.
pub fn render(s: &Status, now: Timestamp) -> String {
    let mut out = String::new();
    let mut f = Family { out: &mut out };
    f.head("ccf_info", "gauge", "ccf's version (always 1).");
    f.sample("ccf_info", &[("version", s.version)], 1.0);
    accounts(&mut f, &s.accounts);
    usage(&mut f, &s.accounts);
    host(&mut f, s, now);
    out
}

/// What each account can do, and the sessions on it.
#[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
fn accounts(f: &mut Family<'_>, a: &[AccountView]) {
    f.per_account(
        "ccf_account_active",
        "1 for the account new work starts on.",
        a,
        |a| Some(flag(a.active)),
    );
    f.per_account(
        "ccf_account_exhausted",
        "1 while ccf holds the account as out of quota.",
        a,
        |a| Some(flag(a.exhausted_until.is_some())),
    );
    f.per_account(
        "ccf_account_exhausted_until_timestamp_seconds",
        "When the account's limit resets, while it is exhausted.",
        a,
        |a| a.exhausted_until.map(secs),
    );
    f.per_account(
        "ccf_account_auth_failed",
        "1 when the account's login failed and needs /login.",
        a,
        |a| Some(flag(a.auth_failed)),
    );
    f.per_account(
        "ccf_account_disabled",
        "1 when the account is out of rotation (ccf account disable).",
        a,
        |a| Some(flag(a.disabled)),
    );
    f.per_account(
        "ccf_account_sessions",
        "Managed sessions whose claude runs on the account.",
        a,
        |a| Some(a.sessions.len() as f64),
    );
    f.head(
        "ccf_account_owed_moves",
        "gauge",
        "Sessions a swap still owes a move onto the account, by why.",
    );
    for acc in a {
        for (why, n) in [
            ("deferred", acc.deferred.len()),
            ("failed", acc.relaunch_failed.len()),
        ] {
            f.sample(
                "ccf_account_owed_moves",
                &[("account", &acc.name), ("why", why)],
                n as f64,
            );
        }
    }
}

/// Each account's 5-hour and 7-day windows, where known.
#[expect(clippy::cast_precision_loss, reason = "ages are far below 2^53")]
fn usage(f: &mut Family<'_>, a: &[AccountView]) {
    f.per_window(
        "ccf_account_usage_ratio",
        "The window's share used (0-1), as last known.",
        a,
        |w| Some(w.used_percent / 100.0),
    );
    f.per_window(
        "ccf_account_usage_resets_timestamp_seconds",
        "When the window resets, where known.",
        a,
        |w| w.resets_at.map(secs),
    );
    f.per_window(
        "ccf_account_usage_age_seconds",
        "How old the window's figure is.",
        a,
        |w| Some(w.age_secs as f64),
    );
}

/// The host's ccf as a whole: swaps, the last check, health, the queue.
#[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
fn host(f: &mut Family<'_>, s: &Status, now: Timestamp) {
    f.head(
        "ccf_swaps_total",
        "counter",
        "Swaps finished (the link moved).",
    );
    f.sample("ccf_swaps_total", &[], s.swaps_total as f64);
    f.head(
        "ccf_last_check_timestamp_seconds",
        "gauge",
        "When check-quota last finished a pass.",
    );
    f.head(
        "ccf_last_check_age_seconds",
        "gauge",
        "Seconds since check-quota last finished a pass.",
    );
    if let Some(t) = s.last_check {
        f.sample("ccf_last_check_timestamp_seconds", &[], secs(t));
        f.sample(
            "ccf_last_check_age_seconds",
            &[],
            (now.as_second() - t.as_second()) as f64,
        );
    }
    f.head(
        "ccf_degraded",
        "gauge",
        "1 when ccf is degraded (needs ccf rollback).",
    );
    f.sample("ccf_degraded", &[], flag(s.degraded));
    f.head(
        "ccf_swap_in_progress",
        "gauge",
        "1 while a swap is unfinished.",
    );
    f.sample(
        "ccf_swap_in_progress",
        &[],
        flag(s.swap_in_progress.is_some()),
    );
    f.head(
        "ccf_parked",
        "gauge",
        "1 while every account is out and sessions are parked.",
    );
    f.sample("ccf_parked", &[], flag(s.all_exhausted_since.is_some()));
    f.head(
        "ccf_tmux_server_up",
        "gauge",
        "1 when the tmux server answers.",
    );
    f.sample("ccf_tmux_server_up", &[], flag(s.tmux_server));
    f.head("ccf_tasks", "gauge", "Task files by queue directory.");
    for (q, n) in &s.tasks {
        f.sample("ccf_tasks", &[("queue", q)], *n as f64);
    }
    f.head(
        "ccf_problems",
        "gauge",
        "What `ccf status --check` counts as a problem.",
    );
    f.sample("ccf_problems", &[], s.problems.len() as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_value_is_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }

    #[test]
    fn a_sample_has_its_labels_in_braces_and_none_without() {
        let mut out = String::new();
        let mut f = Family { out: &mut out };
        f.sample("m", &[], 1.0);
        f.sample("m", &[("account", "a"), ("window", "five_hour")], 0.42);
        assert_eq!(out, "m 1\nm{account=\"a\",window=\"five_hour\"} 0.42\n");
    }
}
