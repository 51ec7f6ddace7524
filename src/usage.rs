//! What ccf knows of each account's usage: the 5-hour and 7-day figures its status-line
//! hook recorded (`state_dir/usage/`), overlaid with the limits it has seen (a banner, a
//! hook's `StopFailure`, a task stream's `rate_limit_event`: each leaves the account
//! exhausted until its reset). Read by `status` and its `--tmux` and `--prometheus` forms.
//!
//! [`read`] is the one reader of the usage files; [`merge`] is pure.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::Config;
use crate::detect::Scope;
use crate::spool::{self, Record, Statusline};
use crate::state::{Source, State};

/// One quota window of one account, as last known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Percent used (0–100); a limit seen without figures counts as 100.
    pub used_percent: f64,
    pub resets_at: Option<Timestamp>,
    /// When the figure was recorded.
    pub at: Timestamp,
    /// `statusline` for the status line's figures; the limit's source otherwise.
    pub source: Source,
}

/// An account's two windows; either may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountUsage {
    pub five_hour: Option<Window>,
    pub seven_day: Option<Window>,
}

/// Every account's usage: the records in `state_dir/usage/` merged with the state.
/// The account a record belongs to was resolved when it was written; an older record
/// without it is charged to the home it names, else to `link_account`.
pub fn read(
    config: &Config,
    state: &State,
    link_account: Option<&str>,
    now: Timestamp,
) -> BTreeMap<String, AccountUsage> {
    let records: Vec<(String, Statusline)> = spool::read_all(&config.state_dir.join("usage"))
        .into_iter()
        .filter_map(|(_, r)| match r {
            Ok(Record::Statusline(s)) => {
                let account = s.origin.named_account(config).or(link_account)?;
                Some((account.to_string(), s))
            }
            _ => None,
        })
        .collect();
    merge(config, &records, state, now)
}

/// Per configured account: the newest status-line figures, then the state's limit in
/// force (exhausted until a reset still ahead) over the window it names when it is
/// newer than the figures or says more (the status line cannot show 100% once claude
/// stops answering).
pub fn merge(
    config: &Config,
    records: &[(String, Statusline)],
    state: &State,
    now: Timestamp,
) -> BTreeMap<String, AccountUsage> {
    let mut out = BTreeMap::new();
    for account in &config.accounts {
        let mut usage = AccountUsage::default();
        let newest = records
            .iter()
            .filter(|(a, _)| *a == account.name)
            .filter_map(|(_, s)| Some((s.origin.at?, s)))
            .max_by_key(|(at, _)| *at);
        if let Some((at, s)) = newest {
            let window = |used: Option<f64>, resets: Option<i64>| {
                Some(Window {
                    used_percent: used?.clamp(0.0, 100.0),
                    resets_at: resets.and_then(|r| Timestamp::from_second(r).ok()),
                    at,
                    source: Source::Statusline,
                })
            };
            usage.five_hour = window(s.five_hour_used, s.five_hour_resets_at);
            usage.seven_day = window(s.seven_day_used, s.seven_day_resets_at);
        }
        if let Some(s) = state.accounts.get(&account.name)
            && let Some(until) = s.exhausted_until.filter(|u| *u > now)
        {
            let limit = Window {
                used_percent: 100.0,
                resets_at: Some(until),
                at: s.last_signal.as_ref().map_or(now, |g| g.at),
                source: s.last_signal.as_ref().map_or(Source::Pane, |g| g.source),
            };
            let slot = match s.exhausted_scope {
                Some(Scope::Weekly | Scope::OpusWeekly) => &mut usage.seven_day,
                _ => &mut usage.five_hour,
            };
            if slot
                .as_ref()
                .is_none_or(|w| w.at <= limit.at || w.used_percent < 100.0)
            {
                *slot = Some(limit);
            }
        }
        out.insert(account.name.clone(), usage);
    }
    out
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "the figures are copied or clamped, never computed"
)]
mod tests {
    use super::*;
    use crate::spool::Origin;
    use crate::state::AccountState;

    fn config() -> Config {
        let text = "accounts:\n  - {name: a, home: ~/.a}\n  - {name: b, home: ~/.b}\n";
        crate::config::parse(
            std::path::Path::new("/c.yaml"),
            text,
            std::path::Path::new("/h"),
        )
        .unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn record(account: &str, at: &str, five: f64, seven: f64) -> (String, Statusline) {
        (
            account.to_string(),
            Statusline {
                origin: Origin {
                    at: Some(ts(at)),
                    ..Origin::default()
                },
                five_hour_used: Some(five),
                five_hour_resets_at: Some(ts("2026-12-02T16:00:00Z").as_second()),
                seven_day_used: Some(seven),
                seven_day_resets_at: None,
            },
        )
    }

    #[test]
    fn the_newest_status_line_figures_of_each_account_are_kept() {
        let now = ts("2026-12-02T14:00:00Z");
        let records = [
            record("a", "2026-12-02T13:50:00Z", 40.0, 10.0),
            record("a", "2026-12-02T13:55:00Z", 42.0, 11.0),
            record("a", "2026-12-02T13:40:00Z", 30.0, 9.0),
        ];
        let u = merge(&config(), &records, &State::new(), now);
        let five = u["a"].five_hour.as_ref().unwrap();
        assert_eq!(five.used_percent, 42.0);
        assert_eq!(five.at, ts("2026-12-02T13:55:00Z"));
        assert_eq!(five.resets_at, Some(ts("2026-12-02T16:00:00Z")));
        assert_eq!(u["a"].seven_day.as_ref().unwrap().used_percent, 11.0);
        assert_eq!(u["b"], AccountUsage::default());
    }

    #[test]
    fn a_limit_in_force_fills_the_window_it_names() {
        let now = ts("2026-12-02T14:00:00Z");
        let mut st = State::new();
        st.accounts.insert(
            "a".into(),
            AccountState {
                exhausted_until: Some(ts("2026-12-05T09:00:00Z")),
                exhausted_scope: Some(Scope::Weekly),
                ..AccountState::default()
            },
        );
        let records = [record("a", "2026-12-02T13:55:00Z", 42.0, 97.0)];
        let u = merge(&config(), &records, &st, now);
        assert_eq!(u["a"].five_hour.as_ref().unwrap().used_percent, 42.0);
        let seven = u["a"].seven_day.as_ref().unwrap();
        assert_eq!(seven.used_percent, 100.0);
        assert_eq!(seven.resets_at, Some(ts("2026-12-05T09:00:00Z")));
    }

    #[test]
    fn a_past_reset_is_no_longer_a_limit() {
        let now = ts("2026-12-02T14:00:00Z");
        let mut st = State::new();
        st.account_mut("b").exhausted_until = Some(ts("2026-12-02T13:00:00Z"));
        let u = merge(&config(), &[], &st, now);
        assert_eq!(u["b"], AccountUsage::default());
    }

    #[test]
    fn a_figure_out_of_range_is_clamped() {
        let now = ts("2026-12-02T14:00:00Z");
        let records = [record("a", "2026-12-02T13:55:00Z", 250.0, -3.0)];
        let u = merge(&config(), &records, &State::new(), now);
        assert_eq!(u["a"].five_hour.as_ref().unwrap().used_percent, 100.0);
        assert_eq!(u["a"].seven_day.as_ref().unwrap().used_percent, 0.0);
    }
}
