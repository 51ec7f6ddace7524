//! check-quota's decision, as a pure function: observations in, one action out.
//!
//! An observation is one source's word about one account (a hook event, a pane, the
//! status line). The rules (DESIGN.md §5): a limit with a reset time swaps at once; one
//! without needs `confirm_polls` consecutive polls; throttles, server errors and warnings
//! never swap; an auth failure marks the account and moves away from it; nothing swaps
//! within `cooldown` of the last swap; a higher-priority account whose return is due is
//! returned to. Stale observations (already acted on, older than the session's launch)
//! are explained and ignored.
//!
//! `gather.rs` turns what one pass read into [`Facts`]; `observe.rs` holds the pure
//! readings of single records; `remember.rs` applies facts and a decision to the state.

mod gather;
pub mod observe;
pub mod remember;

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;

use crate::config::{Quota, SessionKind};
use crate::detect::{Scope, Verdict};
use crate::failover::SwapRequest;
use crate::state::{State, Trigger};

pub use crate::state::Source;
pub use gather::gather;

#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub session: Option<String>,
    /// The account the hit counts against: the one the session runs on.
    pub account: String,
    pub source: Source,
    pub verdict: Verdict,
    pub scope: Option<Scope>,
    pub resets_at: Option<Timestamp>,
    pub matched: Option<String>,
    /// Why it does not count, when it does not.
    pub stale: Option<String>,
}

impl Observation {
    /// The key of its standing in `state.quota` (counters, last seen): the session, else
    /// the source and account.
    pub fn key(&self) -> String {
        self.session
            .clone()
            .unwrap_or_else(|| format!("{}:{}", self.source, self.account))
    }
}

/// A `SessionStart` record of a managed session: its id, cwd and account, to register.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub name: String,
    pub kind: SessionKind,
    pub session_id: Option<String>,
    pub cwd: Option<PathBuf>,
    pub account: String,
}

/// What one pass gathered; nothing in the state has changed yet.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub observations: Vec<Observation>,
    pub registrations: Vec<Registration>,
    /// Per managed pane, the fingerprint of the limit banner on its screen, or `None`
    /// when no banner is there (to forget the one acted on).
    pub fingerprints: BTreeMap<String, Option<String>>,
    /// Accounts marked as failing authentication whose credentials changed since.
    pub relogged: Vec<String>,
    /// Spool files read this pass, removed once the state is saved.
    pub consumed: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing to do.
    Stay,
    /// Move every session off the active account.
    Swap(SwapRequest),
    /// Go back to a higher-priority account whose reset has passed (or resume the parked
    /// sessions on the active one).
    Return(SwapRequest),
}

/// One observation with the line that says what it counts for.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub observation: Observation,
    pub line: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: Action,
    /// Each observation, in order, with its line.
    pub judged: Vec<Judged>,
    /// The outcome's line (`→ …`).
    pub outcome: String,
    /// Consecutive-poll counters to keep for the next run.
    pub confirm: BTreeMap<String, u32>,
    /// Accounts to mark exhausted: (account, until, scope).
    pub exhausted: Vec<(String, Timestamp, Option<Scope>)>,
    /// Accounts that failed authentication (or billing) and need the operator.
    pub auth_failed: Vec<String>,
}

impl Decision {
    /// What `--dry-run` prints: a line per observation, then the outcome.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.judged
            .iter()
            .map(|j| j.line.as_str())
            .chain(std::iter::once(self.outcome.as_str()))
    }
}

/// Decides what one check-quota run does. `due_return` is the failover's answer to
/// "is a return to a higher-priority account due now?".
pub fn decide(
    obs: &[Observation],
    state: &State,
    active: &str,
    order: &[String],
    cfg: &Quota,
    now: Timestamp,
    due_return: Option<String>,
) -> Decision {
    let mut d = Decision {
        action: Action::Stay,
        judged: Vec::new(),
        outcome: String::new(),
        confirm: BTreeMap::new(),
        exhausted: Vec::new(),
        auth_failed: Vec::new(),
    };
    let trigger = weigh(obs, state, cfg, now, &mut d);
    // A return is due by the state as loaded; an account this very pass marks out (the
    // fleet's word that its weekly limit follows the 5-hour one) is no place to go back.
    let due_return = due_return.filter(|to| {
        !d.exhausted
            .iter()
            .any(|(a, until, _)| a == to && *until > now)
            && !d.auth_failed.contains(to)
    });
    let active_out = d.exhausted.iter().any(|(a, ..)| a == active)
        || d.auth_failed.iter().any(|a| a == active)
        || !state.is_available(active, now);
    // The cooldown keeps ccf from going back and forth on its own initiative: it holds a
    // return to a higher-priority account, never a move away from a confirmed limit
    // (that would leave sessions at the wall with another account free) and never the
    // resumption of parked sessions.
    let cooling = state
        .last_swap
        .as_ref()
        // After the clock stepped back the last swap is "in the future": it must not hold
        // anything for the size of the jump.
        .filter(|s| s.at <= now)
        .map(|s| crate::clock::add(s.at, cfg.cooldown))
        .filter(|until| *until > now);
    if let (Some(until), Some(to)) = (cooling, due_return.as_deref())
        && !active_out
        && to != active
    {
        d.outcome =
            format!("→ stay on {active}: no return to {to} before the cooldown ends at {until}");
        return d;
    }
    if let Some(to) = due_return {
        // A higher-priority account is back, or the parked sessions' account reset.
        let what = if to == active {
            "resume the parked sessions on"
        } else {
            "return to"
        };
        d.outcome = format!("→ {what} {to}: its reset has passed");
        d.action = Action::Return(SwapRequest {
            to: Some(to.clone()),
            reason: format!("return to {to}: its reset has passed"),
            ..SwapRequest::default()
        });
    } else if active_out && state.all_exhausted_since.is_some() {
        d.outcome = format!(
            "→ stay: every account is out (since {}); sessions parked until the first reset",
            state
                .all_exhausted_since
                .map_or_else(String::new, |t| t.to_string())
        );
    } else if active_out {
        swap_away(&mut d, trigger, state, active, order, now);
    } else {
        d.outcome = format!("→ stay on {active}");
    }
    d
}

/// The decision to move every session off the active account, which is out: why, until
/// when, what triggered it, and where it goes (the failover picks the same way once this
/// poll's marks are saved).
fn swap_away(
    d: &mut Decision,
    trigger: Option<&Observation>,
    state: &State,
    active: &str,
    order: &[String],
    now: Timestamp,
) {
    let own = trigger.filter(|o| o.account == active);
    let until = d
        .exhausted
        .iter()
        .filter(|(a, ..)| a == active)
        .map(|(_, t, _)| *t)
        .max()
        .or_else(|| state.accounts.get(active).and_then(|a| a.exhausted_until));
    let auth = d.auth_failed.iter().any(|a| a == active)
        || state.accounts.get(active).is_some_and(|a| a.auth_failed);
    let reason = if auth {
        format!("account {active} failed authentication")
    } else {
        format!("usage limit on {active}")
    };
    // The failover picks the same way, once this poll's marks are saved.
    let available = |a: &str| {
        state.is_target(a, now)
            && !d
                .exhausted
                .iter()
                .any(|(x, until, _)| x == a && *until > now)
            && !d.auth_failed.iter().any(|x| x == a)
    };
    let pick = crate::failover::plan::pick_target(order, active, None, available);
    d.outcome = match pick {
        Ok(crate::failover::plan::Pick::Account(to)) => {
            format!("→ swap away from {active} to {to}: {reason}")
        }
        _ => format!(
            "→ no account available to swap to from {active} ({reason}); sessions parked until a reset"
        ),
    };
    d.action = Action::Swap(SwapRequest {
        to: None,
        reason,
        trigger: own.map(|o| Trigger {
            session: o.session.clone(),
            source: o.source,
            matched: o.matched.clone(),
        }),
        manual: false,
        exhausted_until: until,
        exhausted_scope: own.and_then(|o| o.scope),
        auth_failed: auth,
    });
}

/// Weighs each observation into `d` (lines, counters, accounts to mark); returns the
/// first that counts as a hit, to name as the trigger.
fn weigh<'o>(
    obs: &'o [Observation],
    state: &State,
    cfg: &Quota,
    now: Timestamp,
    d: &mut Decision,
) -> Option<&'o Observation> {
    let mut trigger: Option<&Observation> = None;
    for o in obs {
        let line = judge(o, state, cfg, now, d, &mut trigger);
        d.judged.push(Judged {
            observation: o.clone(),
            line,
        });
    }
    trigger
}

/// Weighs one observation into `d`; returns its line.
fn judge<'o>(
    o: &'o Observation,
    state: &State,
    cfg: &Quota,
    now: Timestamp,
    d: &mut Decision,
    trigger: &mut Option<&'o Observation>,
) -> String {
    let who = o.session.as_deref().unwrap_or("-");
    let said = format!(
        "{who} [{}] on {}: {}{}",
        o.source,
        o.account,
        verdict_name(o.verdict),
        // What the pane or a hook said: escaped, it reaches stdout, the log and the state.
        o.matched
            .as_ref()
            .map(|m| format!(" — {}", crate::human::printable(m)))
            .unwrap_or_default()
    );
    if let Some(why) = &o.stale {
        return format!("{said} → ignored: {why}");
    }
    let key = o
        .session
        .clone()
        .unwrap_or_else(|| format!("account:{}", o.account));
    match o.verdict {
        Verdict::Limit => match o.resets_at {
            Some(t) if t <= now => format!("{said} → ignored: its reset ({t}) has passed"),
            Some(t) => {
                d.exhausted.push((o.account.clone(), t, o.scope));
                trigger.get_or_insert(o);
                format!("{said} → limit until {t}")
            }
            None => {
                let n = state.quota.confirm.get(&key).copied().unwrap_or(0) + 1;
                d.confirm.insert(key, n);
                if n >= cfg.confirm_polls {
                    let until = crate::clock::add(now, cfg.default_exhaustion);
                    d.exhausted.push((o.account.clone(), until, o.scope));
                    trigger.get_or_insert(o);
                    format!(
                        "{said} → limit confirmed ({n}/{} polls, no reset time: until {until})",
                        cfg.confirm_polls
                    )
                } else {
                    format!(
                        "{said} → limit without a reset time: poll {n}/{}, not yet confirmed",
                        cfg.confirm_polls
                    )
                }
            }
        },
        Verdict::Auth | Verdict::Billing => {
            if !d.auth_failed.contains(&o.account) {
                d.auth_failed.push(o.account.clone());
            }
            trigger.get_or_insert(o);
            format!(
                "{said} → account {} needs the operator (log in / billing)",
                o.account
            )
        }
        v => format!("{said} → no swap: {}", explain(v, false, cfg.confirm_polls)),
    }
}

pub fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Limit => "limit",
        Verdict::Warning => "warning",
        Verdict::Throttle => "throttle",
        Verdict::ServerError => "server_error",
        Verdict::Auth => "auth",
        Verdict::Billing => "billing",
        Verdict::None => "none",
    }
}

/// Why check-quota would or would not swap on a verdict (for `detect` and logs).
pub fn explain(v: Verdict, has_reset: bool, confirm_polls: u32) -> String {
    match v {
        Verdict::Limit if has_reset => "would swap at once: a usage limit with a reset time".into(),
        Verdict::Limit => format!(
            "would swap after {confirm_polls} consecutive polls see it (quota.confirm_polls): a usage limit without a reset time"
        ),
        Verdict::Warning => "would not swap: a warning that a limit is near".into(),
        Verdict::Throttle => "would not swap: a 429 that is not the account's usage limit".into(),
        Verdict::ServerError => "would not swap: a server error or overload (transient)".into(),
        Verdict::Auth => "would mark the account as needing a login and move away from it".into(),
        Verdict::Billing => {
            "would mark the account as needing billing attention and move away from it".into()
        }
        Verdict::None => "would not swap: nothing about the account's quota".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn cfg() -> Quota {
        Quota::for_tests()
    }

    /// `decide` with the accounts `a` then `b`.
    fn decide_ab(
        obs: &[Observation],
        state: &State,
        active: &str,
        cfg: &Quota,
        now: Timestamp,
        due_return: Option<String>,
    ) -> Decision {
        decide(
            obs,
            state,
            active,
            &["a".into(), "b".into()],
            cfg,
            now,
            due_return,
        )
    }

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn obs(verdict: Verdict, resets_at: Option<Timestamp>) -> Observation {
        Observation {
            session: Some("ccl-1-proj".into()),
            account: "a".into(),
            source: Source::Pane,
            verdict,
            scope: None,
            resets_at,
            matched: Some("banner".into()),
            stale: None,
        }
    }

    #[test]
    fn a_limit_with_a_reset_swaps_at_once() {
        let reset = now() + Duration::from_secs(600);
        let d = decide_ab(
            &[obs(Verdict::Limit, Some(reset))],
            &State::new(),
            "a",
            &cfg(),
            now(),
            None,
        );
        assert!(
            matches!(d.action, Action::Swap(SwapRequest { to: None, exhausted_until: Some(t), .. }) if t == reset),
            "{:?}",
            d.action
        );
    }

    #[test]
    fn a_limit_without_a_reset_needs_two_consecutive_polls() {
        let mut state = State::new();
        let first = decide_ab(
            &[obs(Verdict::Limit, None)],
            &state,
            "a",
            &cfg(),
            now(),
            None,
        );
        assert_eq!(first.action, Action::Stay);
        state.quota.confirm = first.confirm;
        let second = decide_ab(
            &[obs(Verdict::Limit, None)],
            &state,
            "a",
            &cfg(),
            now(),
            None,
        );
        assert!(matches!(second.action, Action::Swap(_)));
    }

    #[test]
    fn a_poll_without_the_limit_resets_the_count() {
        let mut state = State::new();
        state.quota.confirm = decide_ab(
            &[obs(Verdict::Limit, None)],
            &state,
            "a",
            &cfg(),
            now(),
            None,
        )
        .confirm;
        let between = decide_ab(
            &[obs(Verdict::ServerError, None)],
            &state,
            "a",
            &cfg(),
            now(),
            None,
        );
        assert!(between.confirm.is_empty());
    }

    #[test]
    fn server_errors_throttles_and_warnings_never_swap() {
        for v in [
            Verdict::ServerError,
            Verdict::Throttle,
            Verdict::Warning,
            Verdict::None,
        ] {
            let mut state = State::new();
            for _ in 0..5 {
                let d = decide_ab(&[obs(v, None)], &state, "a", &cfg(), now(), None);
                assert_eq!(d.action, Action::Stay, "{v:?}");
                state.quota.confirm = d.confirm;
            }
        }
    }

    fn swapped_a_minute_ago() -> State {
        let mut state = State::new();
        state.last_swap = Some(crate::state::SwapRecord {
            from: "b".into(),
            to: "a".into(),
            at: now() - Duration::from_secs(60),
            reason: "x".into(),
            trigger: None,
            manual: true,
            moved: vec![],
            failed: vec![],
            deferred: vec![],
            rollback: false,
        });
        state
    }

    #[test]
    fn durations_of_thousands_of_years_and_a_swap_in_the_future_neither_panic_nor_hold() {
        let mut huge = cfg();
        huge.cooldown = Duration::from_secs(u64::MAX / 4);
        huge.default_exhaustion = Duration::from_secs(u64::MAX / 4);
        huge.confirm_polls = 1;
        let state = swapped_a_minute_ago();
        let d = decide_ab(
            &[obs(Verdict::Limit, None)],
            &state,
            "a",
            &huge,
            now(),
            None,
        );
        assert!(matches!(d.action, Action::Swap(_)), "{:?}", d.action);
        let d = decide_ab(&[], &state, "b", &huge, now(), Some("a".into()));
        assert_eq!(d.action, Action::Stay);
        // The clock went back a day: the last swap is "tomorrow", and holds nothing.
        let mut future = swapped_a_minute_ago();
        future.last_swap.as_mut().unwrap().at = now() + Duration::from_secs(86_400);
        let in_ten = now() + Duration::from_secs(600);
        let d = decide_ab(&[], &future, "b", &cfg(), in_ten, Some("a".into()));
        assert!(matches!(d.action, Action::Return(_)), "{}", d.outcome);
    }

    #[test]
    fn a_confirmed_limit_moves_away_even_within_the_cooldown_when_another_account_is_free() {
        let reset = now() + Duration::from_secs(600);
        let state = swapped_a_minute_ago();
        let d = decide_ab(
            &[obs(Verdict::Limit, Some(reset))],
            &state,
            "a",
            &cfg(),
            now(),
            None,
        );
        assert!(matches!(d.action, Action::Swap(_)), "{:?}", d.action);
        assert_eq!(d.exhausted.len(), 1);
        assert_eq!(d.outcome, "→ swap away from a to b: usage limit on a");
    }

    #[test]
    fn the_cooldown_holds_a_return_back() {
        let state = swapped_a_minute_ago();
        let d = decide_ab(&[], &state, "b", &cfg(), now(), Some("a".into()));
        assert_eq!(d.action, Action::Stay);
        assert!(
            d.outcome
                .starts_with("→ stay on b: no return to a before the cooldown ends at"),
            "{}",
            d.outcome
        );
    }

    #[test]
    fn with_no_account_free_the_decision_says_the_sessions_are_parked() {
        let reset = now() + Duration::from_secs(600);
        let mut state = State::new();
        state.account_mut("b").exhausted_until = Some(reset);
        let d = decide_ab(
            &[obs(Verdict::Limit, Some(reset))],
            &state,
            "a",
            &cfg(),
            now(),
            None,
        );
        assert!(matches!(d.action, Action::Swap(_)), "{:?}", d.action);
        assert_eq!(
            d.outcome,
            "→ no account available to swap to from a (usage limit on a); sessions parked until a reset"
        );
    }

    #[test]
    fn a_stale_banner_and_a_passed_reset_are_ignored() {
        let mut stale = obs(Verdict::Limit, Some(now() + Duration::from_secs(60)));
        stale.stale = Some("already acted on".into());
        let passed = obs(Verdict::Limit, Some(now() - Duration::from_secs(60)));
        let d = decide_ab(&[stale, passed], &State::new(), "a", &cfg(), now(), None);
        assert_eq!(d.action, Action::Stay);
    }

    #[test]
    fn a_hit_on_another_account_does_not_move_the_active_one() {
        let mut o = obs(Verdict::Limit, Some(now() + Duration::from_secs(600)));
        o.account = "b".into();
        let d = decide_ab(&[o], &State::new(), "a", &cfg(), now(), None);
        assert_eq!(d.action, Action::Stay);
        assert_eq!(d.exhausted[0].0, "b");
    }

    #[test]
    fn no_return_is_made_to_an_account_this_pass_marks_exhausted() {
        let mut o = obs(Verdict::Limit, Some(now() + Duration::from_secs(3600)));
        o.session = None;
        o.source = Source::Fleet;
        let d = decide_ab(&[o], &State::new(), "b", &cfg(), now(), Some("a".into()));
        assert_eq!(d.action, Action::Stay, "{}", d.outcome);
        assert_eq!(d.exhausted[0].0, "a");
    }

    #[test]
    fn auth_moves_away_and_a_due_return_returns() {
        let d = decide_ab(
            &[obs(Verdict::Auth, None)],
            &State::new(),
            "a",
            &cfg(),
            now(),
            None,
        );
        assert!(matches!(
            d.action,
            Action::Swap(SwapRequest {
                auth_failed: true,
                ..
            })
        ));
        let r = decide_ab(&[], &State::new(), "b", &cfg(), now(), Some("a".into()));
        assert!(
            matches!(&r.action, Action::Return(SwapRequest { to: Some(a), .. }) if a == "a"),
            "{:?}",
            r.action
        );
    }
}
