//! What a pass writes into the state, as pure functions: [`absorb`] before the decision
//! (sessions that announced themselves, accounts logged in again), [`remember`] after it
//! (counters, marks, evidence, banners acted on, what the log already said).

use jiff::Timestamp;

use super::{Decision, Facts, Registration, Source};
use crate::detect::Verdict;
use crate::log::Level;
use crate::state::{IdSource, SessionRecord, Signal, State};

/// A session's record once a `SessionStart` of it is taken in: the hook's id, cwd and
/// account replace what was known.
pub fn registered(rec: Option<&SessionRecord>, r: &Registration) -> SessionRecord {
    let mut rec = rec.cloned().unwrap_or_else(|| SessionRecord::new(r.kind));
    rec.session_id.clone_from(&r.session_id);
    rec.id_source = Some(IdSource::Hook);
    rec.cwd.clone_from(&r.cwd);
    rec.account = Some(r.account.clone());
    rec
}

/// Takes in what the facts say before anything is decided: registrations, and accounts
/// whose credentials changed after their auth failure (usable again). Returns those.
pub fn absorb(state: &mut State, facts: &Facts) -> Vec<String> {
    for r in &facts.registrations {
        let rec = registered(state.sessions.get(&r.name), r);
        state.sessions.insert(r.name.clone(), rec);
    }
    let mut relogged = Vec::new();
    for name in &facts.relogged {
        if let Some(a) = state.accounts.get_mut(name).filter(|a| a.auth_failed) {
            a.auth_failed = false;
            relogged.push(name.clone());
        }
    }
    relogged
}

/// What [`remember`] leaves for the caller to do.
#[derive(Debug, Default, PartialEq)]
pub struct Remembered {
    /// Accounts that newly failed authentication (to notify).
    pub newly_failed: Vec<String>,
    /// Accounts newly marked out, or out until later than they were (for the history):
    /// the account, its reset and the limit's scope.
    pub limits: Vec<(String, Timestamp, Option<crate::detect::Scope>)>,
    /// The log lines of the pass with their priority: a standing verdict is logged at
    /// debug after the first time, so the journal keeps what changed.
    pub log: Vec<(Level, String)>,
}

/// Applies a decision to the state.
pub fn remember(state: &mut State, facts: &Facts, d: &Decision, now: Timestamp) -> Remembered {
    let mut out = Remembered::default();
    let mut seen = std::collections::BTreeMap::new();
    for j in &d.judged {
        let o = &j.observation;
        let key = o.key();
        let news = state.quota.last_seen.get(&key) != Some(&j.line);
        let level = if o.verdict == Verdict::None || o.stale.is_some() || !news {
            Level::Debug
        } else {
            Level::Notice
        };
        out.log.push((level, j.line.clone()));
        // Standing verdicts (a banner that stays, another host's limit) are remembered
        // so they are logged once.
        if matches!(o.source, Source::Pane | Source::Fleet) {
            seen.insert(key, j.line.clone());
        }
    }
    let level = if matches!(d.action, super::Action::Stay) {
        Level::Info
    } else {
        Level::Notice
    };
    out.log.push((level, d.outcome.clone()));
    state.quota.last_seen = seen;
    state.quota.confirm = d.confirm.clone();
    state.quota.last_check = Some(now);
    state.quota.last_decision = Some(d.outcome.clone());
    for (account, until, scope) in &d.exhausted {
        let a = state.account_mut(account);
        if a.exhausted_until.is_none_or(|u| u < *until) {
            a.exhausted_until = Some(*until);
            a.exhausted_scope = *scope;
            out.limits.push((account.clone(), *until, *scope));
        }
    }
    for account in &d.auth_failed {
        let a = state.account_mut(account);
        if !a.auth_failed {
            out.newly_failed.push(account.clone());
        }
        a.auth_failed = true;
        a.auth_failures += 1;
    }
    for j in d
        .judged
        .iter()
        .filter(|j| j.observation.stale.is_none() && j.observation.verdict != Verdict::None)
    {
        let o = &j.observation;
        state.account_mut(&o.account).last_signal = Some(Signal {
            at: now,
            source: o.source,
            verdict: o.verdict,
            session: o.session.clone(),
            matched: o.matched.clone(),
        });
    }
    // A banner becomes history once it has counted (its account marked out); one still
    // waiting for confirmation must be seen again on the next poll.
    let counted = |session: &str| {
        d.judged.iter().any(|j| {
            let o = &j.observation;
            o.session.as_deref() == Some(session)
                && o.verdict == Verdict::Limit
                && d.exhausted.iter().any(|(a, ..)| *a == o.account)
        })
    };
    for (session, fp) in &facts.fingerprints {
        match fp {
            Some(fp) if counted(session) => {
                state.quota.acted.insert(session.clone(), fp.clone());
            }
            Some(_) => {}
            None => {
                state.quota.acted.remove(session);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{Quota, SessionKind};
    use crate::detect::Scope;
    use crate::quota::{Observation, decide};

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn cfg() -> Quota {
        Quota::for_tests()
    }

    fn banner(account: &str, verdict: Verdict, reset: Option<Timestamp>) -> Observation {
        Observation {
            session: Some("ccl-1".into()),
            account: account.into(),
            source: Source::Pane,
            verdict,
            scope: Some(Scope::FiveHour),
            resets_at: reset,
            matched: Some("You've hit your limit".into()),
            stale: None,
        }
    }

    fn pass(state: &mut State, obs: Vec<Observation>, fp: Option<&str>) -> Remembered {
        let facts = Facts {
            observations: obs,
            fingerprints: [("ccl-1".to_string(), fp.map(String::from))].into(),
            ..Facts::default()
        };
        let order = ["a".to_string(), "b".to_string()];
        let d = decide(&facts.observations, state, "a", &order, &cfg(), now(), None);
        remember(state, &facts, &d, now())
    }

    #[test]
    fn a_counted_limit_marks_the_account_keeps_the_evidence_and_the_banner_as_acted_on() {
        let mut state = State::new();
        let reset = now() + Duration::from_secs(3600);
        let r = pass(
            &mut state,
            vec![banner("a", Verdict::Limit, Some(reset))],
            Some("fp"),
        );
        let a = &state.accounts["a"];
        assert_eq!(a.exhausted_until, Some(reset));
        assert_eq!(a.exhausted_scope, Some(Scope::FiveHour));
        let signal = a.last_signal.as_ref().unwrap();
        assert_eq!(
            (signal.source, signal.verdict),
            (Source::Pane, Verdict::Limit)
        );
        assert_eq!(
            state.quota.acted.get("ccl-1").map(String::as_str),
            Some("fp")
        );
        assert_eq!(state.quota.last_check, Some(now()));
        assert!(
            state
                .quota
                .last_decision
                .as_deref()
                .unwrap()
                .starts_with("→ swap away")
        );
        assert_eq!(r.log.first().map(|l| l.0), Some(Level::Notice));
        // The same banner next poll is no news: logged at debug.
        let again = pass(
            &mut state,
            vec![banner("a", Verdict::Limit, Some(reset))],
            Some("fp"),
        );
        assert_eq!(again.log.first().map(|l| l.0), Some(Level::Debug));
    }

    #[test]
    fn an_unconfirmed_limit_is_not_acted_on_and_a_clear_screen_forgets_the_banner() {
        let mut state = State::new();
        pass(
            &mut state,
            vec![banner("a", Verdict::Limit, None)],
            Some("fp"),
        );
        assert!(state.quota.acted.is_empty(), "waiting for confirmation");
        assert_eq!(state.quota.confirm.get("ccl-1"), Some(&1));
        state.quota.acted.insert("ccl-1".into(), "old".into());
        pass(&mut state, vec![banner("a", Verdict::None, None)], None);
        assert!(state.quota.acted.is_empty());
        assert!(state.quota.confirm.is_empty());
    }

    #[test]
    fn an_auth_failure_is_news_once_and_a_later_reset_never_shortens_the_mark() {
        let mut state = State::new();
        let first = pass(&mut state, vec![banner("b", Verdict::Auth, None)], None);
        assert_eq!(first.newly_failed, vec!["b".to_string()]);
        let second = pass(&mut state, vec![banner("b", Verdict::Auth, None)], None);
        assert!(second.newly_failed.is_empty());
        assert_eq!(state.accounts["b"].auth_failures, 2);
        let late = now() + Duration::from_secs(7200);
        state.account_mut("b").exhausted_until = Some(late);
        let soon = now() + Duration::from_secs(60);
        pass(
            &mut state,
            vec![banner("b", Verdict::Limit, Some(soon))],
            None,
        );
        assert_eq!(state.accounts["b"].exhausted_until, Some(late));
    }

    #[test]
    fn absorb_registers_sessions_and_clears_only_failed_accounts_that_logged_in_again() {
        let mut state = State::new();
        state.account_mut("a").auth_failed = true;
        let facts = Facts {
            registrations: vec![Registration {
                name: "ccl-1".into(),
                kind: SessionKind::Dedicated,
                session_id: Some("0b6e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b".into()),
                cwd: Some("/w".into()),
                account: "a".into(),
            }],
            relogged: vec!["a".into(), "b".into()],
            ..Facts::default()
        };
        assert_eq!(absorb(&mut state, &facts), vec!["a".to_string()]);
        assert!(!state.accounts["a"].auth_failed);
        let rec = &state.sessions["ccl-1"];
        assert_eq!(rec.id_source, Some(IdSource::Hook));
        assert_eq!(rec.account.as_deref(), Some("a"));
    }
}
