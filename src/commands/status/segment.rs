//! `ccf status --tmux`: one short line for tmux's `status-right`
//! (`#(ccf status --tmux)`), redrawn every `status-interval` seconds. It reads only the
//! state and the usage files: no lock, no tmux, no /proc, no user manager, so it costs a
//! few milliseconds however many sessions run.
//!
//! `ccf compte1 42%` (the 5-hour window) · near a limit `ccf compte1 91% ↻1h02m` or
//! `ccf compte1 12% 7d:95% ↻3d05h` · parked
//! `ccf PARKED ↻2h13m` · and a `!word` for each thing that needs the operator.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;

use crate::state::{MoveWhy, State};
use crate::usage::AccountUsage;

/// From this much of a window used, the segment counts down to its reset.
pub const NEAR_PERCENT: f64 = 80.0;

/// How long check-quota may go without a pass before the segment says `!stopped`.
const STOPPED_SECS: i64 = 90;

/// What the segment is drawn from, gathered by the caller.
pub struct Facts<'a> {
    pub state: &'a State,
    pub active: &'a str,
    pub usage: &'a BTreeMap<String, AccountUsage>,
    pub last_check: Option<Timestamp>,
    pub now: Timestamp,
}

/// Pure: the line, without a newline.
pub fn line(f: &Facts<'_>) -> String {
    let mut o = String::from("ccf ");
    if f.state.all_exhausted_since.is_some() {
        o.push_str("PARKED");
        let first_reset = f
            .state
            .accounts
            .values()
            .filter_map(|a| a.exhausted_until)
            .filter(|u| *u > f.now)
            .min();
        if let Some(r) = first_reset {
            let _ = write!(o, " ↻{}", countdown(r, f.now));
        }
    } else {
        o.push_str(f.active);
        let usage = f.usage.get(f.active);
        let five = usage.and_then(|u| u.five_hour.as_ref());
        let seven = usage.and_then(|u| u.seven_day.as_ref());
        if let Some(w) = five {
            let _ = write!(o, " {:.0}%", w.used_percent);
        }
        // The weekly window only when it is the one about to stop the account.
        if let Some(w) = seven.filter(|w| w.used_percent >= NEAR_PERCENT) {
            let _ = write!(o, " 7d:{:.0}%", w.used_percent);
        }
        let near = [five, seven]
            .into_iter()
            .flatten()
            .filter(|w| w.used_percent >= NEAR_PERCENT)
            .filter_map(|w| w.resets_at.filter(|r| *r > f.now))
            .max();
        if let Some(r) = near {
            let _ = write!(o, " ↻{}", countdown(r, f.now));
        }
    }
    for mark in marks(f) {
        let _ = write!(o, " !{mark}");
    }
    o
}

/// What needs the operator, one short word each.
fn marks(f: &Facts<'_>) -> Vec<String> {
    let st = f.state;
    let mut m = Vec::new();
    if st.degraded.is_some() {
        m.push("degraded".to_string());
    }
    let logins: Vec<&str> = st
        .accounts
        .iter()
        .filter(|(_, a)| a.auth_failed)
        .map(|(n, _)| n.as_str())
        .collect();
    if !logins.is_empty() {
        m.push(format!("login:{}", logins.join(",")));
    }
    let failed = st
        .sessions
        .values()
        .filter(|s| {
            s.pending_move
                .as_ref()
                .is_some_and(|p| p.why == MoveWhy::Failed)
        })
        .count();
    if failed > 0 {
        m.push(format!("relaunch:{failed}"));
    }
    if f.last_check
        .is_some_and(|t| f.now.as_second() - t.as_second() > STOPPED_SECS)
    {
        m.push("stopped".to_string());
    }
    m
}

/// `2h13m`, `45m`, `<1m`: compact, for a status bar.
fn countdown(to: Timestamp, now: Timestamp) -> String {
    let mins = (to.as_second() - now.as_second()).max(0) / 60;
    match (mins / 60, mins % 60) {
        (0, 0) => "<1m".to_string(),
        (0, m) => format!("{m}m"),
        (h, m) if h < 24 => format!("{h}h{m:02}m"),
        (h, _) => format!("{}d{:02}h", h / 24, h % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Degraded, PendingMove, SessionRecord, Source};
    use crate::usage::Window;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn usage(percent: f64, resets: &str) -> BTreeMap<String, AccountUsage> {
        let w = Window {
            used_percent: percent,
            resets_at: Some(t(resets)),
            at: t("2026-12-02T13:58:00Z"),
            source: Source::Statusline,
        };
        BTreeMap::from([(
            "a".to_string(),
            AccountUsage {
                five_hour: Some(w),
                seven_day: None,
            },
        )])
    }

    fn draw(state: &State, usage: &BTreeMap<String, AccountUsage>) -> String {
        line(&Facts {
            state,
            active: "a",
            usage,
            last_check: Some(t("2026-12-02T13:59:40Z")),
            now: t("2026-12-02T14:00:00Z"),
        })
    }

    #[test]
    fn the_segment_shows_the_active_account_and_its_usage() {
        let st = State::new();
        assert_eq!(draw(&st, &usage(42.0, "2026-12-02T16:00:00Z")), "ccf a 42%");
        assert_eq!(draw(&st, &BTreeMap::new()), "ccf a");
    }

    #[test]
    fn near_the_limit_it_counts_down_to_the_reset() {
        let st = State::new();
        assert_eq!(
            draw(&st, &usage(91.0, "2026-12-02T15:02:30Z")),
            "ccf a 91% ↻1h02m"
        );
    }

    #[test]
    fn parked_it_counts_down_to_the_first_reset() {
        let mut st = State::new();
        st.all_exhausted_since = Some(t("2026-12-02T13:00:00Z"));
        st.account_mut("a").exhausted_until = Some(t("2026-12-02T16:13:00Z"));
        st.account_mut("b").exhausted_until = Some(t("2026-12-03T16:13:00Z"));
        assert_eq!(
            draw(&st, &usage(100.0, "2026-12-02T16:13:00Z")),
            "ccf PARKED ↻2h13m"
        );
    }

    #[test]
    fn what_needs_the_operator_is_marked() {
        let mut st = State::new();
        st.degraded = Some(Degraded {
            since: t("2026-12-02T13:00:00Z"),
            reason: "x".into(),
        });
        st.account_mut("b").auth_failed = true;
        let mut rec = SessionRecord::new(crate::config::SessionKind::Dedicated);
        rec.pending_move = Some(PendingMove {
            why: MoveWhy::Failed,
            to: "a".into(),
            since: t("2026-12-02T13:00:00Z"),
            detail: String::new(),
            attempts: 1,
        });
        st.sessions.insert("s".into(), rec);
        let mut f = Facts {
            state: &st,
            active: "a",
            usage: &BTreeMap::new(),
            last_check: Some(t("2026-12-02T13:50:00Z")),
            now: t("2026-12-02T14:00:00Z"),
        };
        assert_eq!(line(&f), "ccf a !degraded !login:b !relaunch:1 !stopped");
        f.last_check = None;
        assert_eq!(line(&f), "ccf a !degraded !login:b !relaunch:1");
    }

    #[test]
    fn a_countdown_is_compact() {
        let now = t("2026-12-02T14:00:00Z");
        let at = |s: i64| countdown(Timestamp::from_second(now.as_second() + s).unwrap(), now);
        assert_eq!(at(30), "<1m");
        assert_eq!(at(45 * 60), "45m");
        assert_eq!(at(2 * 3600 + 13 * 60), "2h13m");
        assert_eq!(at(3 * 86_400 + 5 * 3600), "3d05h");
    }
}
