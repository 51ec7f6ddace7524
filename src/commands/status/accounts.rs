//! Each configured account as `status` and `account list` show it: what it can do now,
//! its usage, and the sessions on it. One view for both, so they cannot drift.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::Config;
use crate::detect::Scope;
use crate::state::{MoveWhy, Source, State};
use crate::usage::{AccountUsage, Window};

use super::SessionView;

#[derive(Debug, Serialize)]
pub struct AccountView {
    pub name: String,
    pub home: PathBuf,
    /// `active`, `available`, `exhausted` or `auth_failed`.
    pub state: &'static str,
    /// Whether it is the account new work starts on.
    pub active: bool,
    pub exhausted_until: Option<Timestamp>,
    /// Which quota's limit exhausted it.
    pub exhausted_scope: Option<Scope>,
    /// Seconds until `exhausted_until`.
    pub exhausted_left_secs: Option<i64>,
    /// Its login failed: it needs `/login` (then `ccf validate`).
    pub auth_failed: bool,
    /// Taken out of rotation by `ccf account disable`: never a target.
    pub disabled: bool,
    pub disabled_since: Option<Timestamp>,
    pub disabled_reason: Option<String>,
    pub usage: UsageView,
    /// The managed sessions whose claude runs on it now.
    pub sessions: Vec<String>,
    /// Sessions a swap still owes a move onto it: busy when the swap ran.
    pub deferred: Vec<String>,
    /// Sessions a swap still owes a move onto it: their relaunch failed.
    pub relaunch_failed: Vec<String>,
}

/// The 5-hour and 7-day windows, each `null` when nothing is known of it.
#[derive(Debug, Serialize)]
pub struct UsageView {
    pub five_hour: Option<WindowView>,
    pub seven_day: Option<WindowView>,
}

#[derive(Debug, Serialize)]
pub struct WindowView {
    /// Percent used, 0–100 (100 for a limit seen without figures).
    pub used_percent: f64,
    pub resets_at: Option<Timestamp>,
    pub resets_in_secs: Option<i64>,
    /// When the figure was recorded, and how long ago.
    pub at: Timestamp,
    pub age_secs: i64,
    /// `statusline`, or where the limit was seen (`pane`, `spool`).
    pub source: Source,
}

impl WindowView {
    fn new(w: &Window, now: Timestamp) -> WindowView {
        WindowView {
            used_percent: w.used_percent,
            resets_at: w.resets_at,
            resets_in_secs: w.resets_at.map(|r| r.as_second() - now.as_second()),
            at: w.at,
            age_secs: now.as_second() - w.at.as_second(),
            source: w.source,
        }
    }
}

/// Pure: the config, the state, the usage read and the sessions gathered in; one view
/// per configured account out, in the config's order.
pub fn views(
    config: &Config,
    st: &State,
    active: &str,
    usage: &BTreeMap<String, AccountUsage>,
    sessions: &[SessionView],
    now: Timestamp,
) -> Vec<AccountView> {
    config
        .accounts
        .iter()
        .map(|a| {
            let s = st.accounts.get(&a.name);
            let until = s.and_then(|s| s.exhausted_until).filter(|u| *u > now);
            let auth_failed = s.is_some_and(|s| s.auth_failed);
            let state = if auth_failed {
                "auth_failed"
            } else if until.is_some() {
                "exhausted"
            } else if a.name == active {
                "active"
            } else {
                "available"
            };
            let disabled = s.and_then(|s| s.disabled.as_ref());
            let u = usage.get(&a.name);
            let owed = |why: MoveWhy| {
                sessions
                    .iter()
                    .filter(|x| {
                        x.pending_move
                            .as_ref()
                            .is_some_and(|p| p.to == a.name && p.why == why)
                    })
                    .map(|x| x.name.clone())
                    .collect()
            };
            AccountView {
                name: a.name.clone(),
                home: a.home.clone(),
                state,
                active: a.name == active,
                exhausted_until: until,
                exhausted_scope: until.and(s.and_then(|s| s.exhausted_scope)),
                exhausted_left_secs: until.map(|u| u.as_second() - now.as_second()),
                auth_failed,
                disabled: disabled.is_some(),
                disabled_since: disabled.map(|d| d.since),
                disabled_reason: disabled.and_then(|d| d.reason.clone()),
                usage: UsageView {
                    five_hour: u
                        .and_then(|u| u.five_hour.as_ref())
                        .map(|w| WindowView::new(w, now)),
                    seven_day: u
                        .and_then(|u| u.seven_day.as_ref())
                        .map(|w| WindowView::new(w, now)),
                },
                sessions: sessions
                    .iter()
                    .filter(|x| x.running && x.account.as_deref() == Some(a.name.as_str()))
                    .map(|x| x.name.clone())
                    .collect(),
                deferred: owed(MoveWhy::Deferred),
                relaunch_failed: owed(MoveWhy::Failed),
            }
        })
        .collect()
}

/// The `accounts:` block of `status`: one line per account, its detail under it.
pub fn render(o: &mut String, accounts: &[AccountView], now: Timestamp, zone: &jiff::tz::TimeZone) {
    use std::fmt::Write as _;
    let _ = writeln!(o, "accounts:");
    for a in accounts {
        let disabled = match (a.disabled, &a.disabled_reason) {
            (false, _) => String::new(),
            (true, None) => "  disabled".to_string(),
            (true, Some(r)) => format!("  disabled: {r}"),
        };
        let sessions = match a.sessions.len() {
            0 => String::new(),
            n => format!("  {}", crate::human::count(n, "session")),
        };
        let _ = writeln!(
            o,
            "  {:<12} {:<11} {}{sessions}{disabled}",
            a.name,
            a.state,
            a.home.display()
        );
        render_detail(o, a, now, zone);
    }
}

/// The lines under an account's first line: why it is out, its windows, the sessions a
/// swap still owes it.
pub fn render_detail(o: &mut String, a: &AccountView, now: Timestamp, zone: &jiff::tz::TimeZone) {
    use std::fmt::Write as _;
    let at = |t: Timestamp| crate::human::instant(t, now, zone);
    let rel = |t: Timestamp| crate::human::relative(t, now);
    if let Some(until) = a.exhausted_until {
        let scope = a
            .exhausted_scope
            .map(|s| format!(", {s} limit"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "    exhausted until {} ({}{scope})",
            at(until),
            rel(until)
        );
    }
    if a.auth_failed {
        let _ = writeln!(
            o,
            "    needs a login: run claude with CLAUDE_CONFIG_DIR={} and /login, then ccf validate",
            a.home.display()
        );
    }
    for (label, w) in [("5h", &a.usage.five_hour), ("7d", &a.usage.seven_day)] {
        let Some(w) = w else { continue };
        let resets = w
            .resets_at
            .map(|r| format!(", resets {} ({})", at(r), rel(r)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "    {label} {:>3.0}% used{resets}; {}, {}",
            w.used_percent,
            w.source,
            rel(w.at)
        );
    }
    if !a.deferred.is_empty() {
        let _ = writeln!(
            o,
            "    owed a move, busy when the swap ran: {}",
            a.deferred.join(", ")
        );
    }
    if !a.relaunch_failed.is_empty() {
        let _ = writeln!(
            o,
            "    owed a move, relaunch failed: {}",
            a.relaunch_failed.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SessionKind;
    use crate::state::PendingMove;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn session(
        name: &str,
        account: &str,
        running: bool,
        owed: Option<(MoveWhy, &str)>,
    ) -> SessionView {
        SessionView {
            name: name.into(),
            kind: SessionKind::Dedicated,
            account: Some(account.into()),
            session_id: None,
            cwd: None,
            task: None,
            running,
            command: running.then(|| "claude".to_string()),
            pinned: None,
            pending_move: owed.map(|(why, to)| {
                (&PendingMove {
                    why,
                    to: to.into(),
                    since: t("2026-12-02T13:00:00Z"),
                    detail: String::new(),
                    attempts: 1,
                })
                    .into()
            }),
        }
    }

    #[test]
    fn each_account_lists_the_sessions_on_it_and_the_moves_owed_to_it() {
        let text = "accounts:\n  - {name: a, home: ~/.a}\n  - {name: b, home: ~/.b}\n";
        let config = crate::config::parse(
            std::path::Path::new("/c.yaml"),
            text,
            std::path::Path::new("/h"),
        )
        .unwrap();
        let mut st = State::new();
        st.account_mut("a").exhausted_until = Some(t("2026-12-02T16:00:00Z"));
        let sessions = [
            session("busy", "a", true, Some((MoveWhy::Deferred, "b"))),
            session("broken", "a", false, Some((MoveWhy::Failed, "b"))),
            session("moved", "b", true, None),
        ];
        let now = t("2026-12-02T14:00:00Z");
        let v = views(&config, &st, "b", &BTreeMap::new(), &sessions, now);
        assert_eq!((v[0].state, v[0].active), ("exhausted", false));
        assert_eq!(v[0].exhausted_left_secs, Some(7200));
        // A session that is not running is on no account.
        assert_eq!(v[0].sessions, ["busy"]);
        assert!(v[0].deferred.is_empty() && v[0].relaunch_failed.is_empty());
        assert_eq!((v[1].state, v[1].active), ("active", true));
        assert_eq!(v[1].sessions, ["moved"]);
        assert_eq!(v[1].deferred, ["busy"]);
        assert_eq!(v[1].relaunch_failed, ["broken"]);
    }
}
