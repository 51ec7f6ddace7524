//! The fleet's knowledge meeting this host's, as pure functions: the fleet's limits
//! become observations for `quota::decide` ([`observations`]), this pass's own limits
//! become records to publish ([`to_publish`]), and a write only moves knowledge forward
//! ([`forward_limit`], [`forward_auth`]).
//!
//! The rules (issue 19): another host's limit on an account counts like one seen here
//! (its reset is the shared one, so the return is shared too); this host's own word on
//! an account comes first when the two disagree; the fleet only ever adds an
//! `exhausted_until` — it never parks, refuses or runs anything on its own.

use jiff::Timestamp;

use super::record::{Auth, Heartbeat, Limit, Seen, VERSION, View};
use crate::detect::Verdict;
use crate::quota::{Decision, Observation};
use crate::state::{Source, State};

/// The fleet's limits on this host's accounts as observations (`me` is this host): one
/// per account another host saw exhausted, stale when this host's own knowledge of the
/// account comes first. `local` is what this pass observed itself.
pub fn observations(
    view: &View,
    state: &State,
    local: &[Observation],
    accounts: &[String],
    me: &str,
    now: Timestamp,
) -> Vec<Observation> {
    let mut out = Vec::new();
    for (account, l) in &view.limits {
        if !accounts.contains(account) || l.seen.host == me || l.until <= now {
            continue;
        }
        let here = local.iter().find(|o| {
            o.account == *account
                && o.stale.is_none()
                && o.source != Source::Fleet
                && o.verdict == Verdict::Limit
        });
        let marked = state.accounts.get(account).and_then(|a| a.exhausted_until);
        let own = state.accounts.get(account).is_some_and(|a| {
            a.last_signal
                .as_ref()
                .is_some_and(|s| s.source != Source::Fleet)
        });
        let why_stale = if here.is_some() {
            Some("this host's own observation of the account comes first".to_string())
        } else if marked.is_some_and(|u| u >= l.until) {
            // Taken in by an earlier pass (or known here already): not news, and the
            // state need not be written again for it.
            Some(format!(
                "already marked exhausted until {}",
                marked.map_or_else(String::new, |u| u.to_string())
            ))
        } else if own && marked.is_some_and(|u| u > now) {
            Some(format!(
                "this host's own limit on the account (until {}) comes first",
                marked.map_or_else(String::new, |u| u.to_string())
            ))
        } else {
            None
        };
        out.push(Observation {
            session: None,
            account: account.clone(),
            source: Source::Fleet,
            verdict: Verdict::Limit,
            scope: l.scope,
            resets_at: Some(l.until),
            matched: Some(format!(
                "seen on host {} ({}) at {}",
                crate::human::printable(&l.seen.host),
                l.seen
                    .source
                    .map_or_else(|| "?".to_string(), |s| s.to_string()),
                l.seen.at
            )),
            stale: why_stale,
        });
    }
    out
}

/// What this host tells the fleet after deciding: each account this pass itself found
/// exhausted (with the latest reset it marks), each that failed authentication, and each
/// whose login works again (`relogged`).
pub fn to_publish(
    d: &Decision,
    relogged: &[String],
    me: &str,
    now: Timestamp,
) -> (Vec<Limit>, Vec<Auth>) {
    let own = |o: &&Observation| o.stale.is_none() && o.source != Source::Fleet;
    let mut limits: Vec<Limit> = Vec::new();
    let mut auth: Vec<Auth> = Vec::new();
    for o in d.judged.iter().map(|j| &j.observation).filter(own) {
        let seen = Seen {
            host: me.to_string(),
            source: Some(o.source),
            at: now,
        };
        match o.verdict {
            Verdict::Limit => {
                let until = d
                    .exhausted
                    .iter()
                    .filter(|(a, ..)| *a == o.account)
                    .map(|(_, t, _)| *t)
                    .max();
                if let Some(until) = until
                    && !limits.iter().any(|l| l.account == o.account)
                {
                    limits.push(Limit {
                        version: VERSION,
                        account: o.account.clone(),
                        until,
                        scope: o.scope,
                        seen,
                    });
                }
            }
            Verdict::Auth | Verdict::Billing if !auth.iter().any(|a| a.account == o.account) => {
                auth.push(Auth {
                    version: VERSION,
                    account: o.account.clone(),
                    failed: true,
                    seen,
                });
            }
            _ => {}
        }
    }
    for account in relogged {
        if !auth.iter().any(|a| a.account == *account) {
            auth.push(Auth {
                version: VERSION,
                account: account.clone(),
                failed: false,
                seen: Seen {
                    host: me.to_string(),
                    source: None,
                    at: now,
                },
            });
        }
    }
    (limits, auth)
}

/// Whether `new` may replace `old` (what the key holds now, if anything well-formed):
/// only a later reset, or any reset once the old one has passed.
pub fn forward_limit(old: Option<&Limit>, new: &Limit, now: Timestamp) -> bool {
    old.is_none_or(|o| o.until <= now || new.until > o.until)
}

/// Whether `new` may replace `old`: only a newer word about the account's login.
pub fn forward_auth(old: Option<&Auth>, new: &Auth) -> bool {
    old.is_none_or(|o| new.seen.at > o.seen.at && o.failed != new.failed)
}

/// This host's heartbeat at `now`.
pub fn heartbeat(
    state: &State,
    me: &str,
    accounts: &[String],
    active: &str,
    now: Timestamp,
) -> Heartbeat {
    let mut sessions = std::collections::BTreeMap::new();
    for rec in state.sessions.values() {
        if let Some(a) = &rec.account {
            *sessions.entry(a.clone()).or_insert(0) += 1;
        }
    }
    Heartbeat {
        version: VERSION,
        host: me.to_string(),
        at: now,
        active: Some(active.to_string()),
        sessions,
        ccf: env!("CARGO_PKG_VERSION").to_string(),
        accounts: accounts.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Quota;
    use crate::detect::Scope;
    use crate::quota::decide;
    use crate::state::Signal;

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn accounts() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn view_with_limit(account: &str, host: &str, until: Timestamp) -> View {
        let mut v = View::default();
        v.limits.insert(
            account.into(),
            Limit {
                version: VERSION,
                account: account.into(),
                until,
                scope: Some(Scope::FiveHour),
                seen: Seen {
                    host: host.into(),
                    source: Some(Source::Pane),
                    at: now(),
                },
            },
        );
        v
    }

    fn pane_limit(account: &str, until: Timestamp) -> Observation {
        Observation {
            session: Some("ccl-1".into()),
            account: account.into(),
            source: Source::Pane,
            verdict: Verdict::Limit,
            scope: Some(Scope::FiveHour),
            resets_at: Some(until),
            matched: Some("banner".into()),
            stale: None,
        }
    }

    #[test]
    fn another_hosts_limit_on_the_active_account_moves_this_host_away_until_the_shared_reset() {
        let reset = now() + Duration::from_secs(3600);
        let state = State::new();
        let obs = observations(
            &view_with_limit("a", "h1", reset),
            &state,
            &[],
            &accounts(),
            "h2",
            now(),
        );
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].source, Source::Fleet);
        let d = decide(
            &obs,
            &state,
            "a",
            &accounts(),
            &Quota::for_tests(),
            now(),
            None,
        );
        assert!(
            matches!(&d.action, crate::quota::Action::Swap(r) if r.exhausted_until == Some(reset)),
            "{:?}",
            d.action
        );
        assert_eq!(d.outcome, "→ swap away from a to b: usage limit on a");
        // What the fleet taught is not published back as this host's own.
        assert_eq!(to_publish(&d, &[], "h2", now()), (vec![], vec![]));
    }

    #[test]
    fn a_limit_elsewhere_on_the_other_account_is_skipped_as_a_target() {
        let reset = now() + Duration::from_secs(3600);
        let mut obs = observations(
            &view_with_limit("b", "h1", reset),
            &State::new(),
            &[],
            &accounts(),
            "h2",
            now(),
        );
        obs.push(pane_limit("a", reset));
        let d = decide(
            &obs,
            &State::new(),
            "a",
            &accounts(),
            &Quota::for_tests(),
            now(),
            None,
        );
        assert!(
            d.outcome.starts_with("→ no account available"),
            "{}",
            d.outcome
        );
    }

    #[test]
    fn this_hosts_own_word_comes_first_and_its_own_records_are_not_read_back() {
        let fleet_reset = now() + Duration::from_secs(7200);
        let own_reset = now() + Duration::from_secs(600);
        let view = view_with_limit("a", "h1", fleet_reset);
        let here = [pane_limit("a", own_reset)];
        let obs = observations(&view, &State::new(), &here, &accounts(), "h2", now());
        assert!(obs[0].stale.as_deref().unwrap().contains("own observation"));

        let mut state = State::new();
        state.account_mut("a").exhausted_until = Some(own_reset);
        state.account_mut("a").last_signal = Some(Signal {
            at: now(),
            source: Source::Pane,
            verdict: Verdict::Limit,
            session: None,
            matched: None,
        });
        let obs = observations(&view, &state, &[], &accounts(), "h2", now());
        assert!(
            obs[0].stale.as_deref().unwrap().contains("own limit"),
            "{obs:?}"
        );

        assert!(observations(&view, &State::new(), &[], &accounts(), "h1", now()).is_empty());

        // Once taken in, the same limit is no news on the next pass.
        let mut state = State::new();
        state.account_mut("a").exhausted_until = Some(fleet_reset);
        let obs = observations(&view, &state, &[], &accounts(), "h2", now());
        assert!(
            obs[0]
                .stale
                .as_deref()
                .unwrap()
                .starts_with("already marked"),
            "{obs:?}"
        );
    }

    #[test]
    fn accounts_this_host_does_not_have_and_passed_resets_give_nothing() {
        let past = now() - Duration::from_secs(1);
        assert!(
            observations(
                &view_with_limit("a", "h1", past),
                &State::new(),
                &[],
                &accounts(),
                "h2",
                now()
            )
            .is_empty()
        );
        let soon = now() + Duration::from_secs(60);
        assert!(
            observations(
                &view_with_limit("z", "h1", soon),
                &State::new(),
                &[],
                &accounts(),
                "h2",
                now()
            )
            .is_empty()
        );
    }

    #[test]
    fn a_local_limit_is_published_with_the_reset_it_marks() {
        let reset = now() + Duration::from_secs(600);
        let d = decide(
            &[pane_limit("a", reset)],
            &State::new(),
            "a",
            &accounts(),
            &Quota::for_tests(),
            now(),
            None,
        );
        let (limits, auth) = to_publish(&d, &[], "h1", now());
        assert!(auth.is_empty());
        assert_eq!(limits.len(), 1);
        assert_eq!((limits[0].account.as_str(), limits[0].until), ("a", reset));
        assert_eq!(limits[0].seen.host, "h1");
    }

    #[test]
    fn an_auth_failure_and_a_login_that_works_again_are_published_as_this_hosts() {
        let mut o = pane_limit("a", now());
        o.verdict = Verdict::Auth;
        o.resets_at = None;
        let d = decide(
            &[o],
            &State::new(),
            "a",
            &accounts(),
            &Quota::for_tests(),
            now(),
            None,
        );
        let (limits, auth) = to_publish(&d, &["b".to_string()], "h1", now());
        assert!(limits.is_empty());
        let got: Vec<(&str, bool, Option<Source>)> = auth
            .iter()
            .map(|a| (a.account.as_str(), a.failed, a.seen.source))
            .collect();
        assert_eq!(got, [("a", true, Some(Source::Pane)), ("b", false, None)]);
    }

    #[test]
    fn writes_only_move_knowledge_forward() {
        let at = |s: u64| now() + Duration::from_secs(s);
        let l = |until| Limit {
            version: VERSION,
            account: "a".into(),
            until,
            scope: None,
            seen: Seen {
                host: "h".into(),
                source: Some(Source::Pane),
                at: now(),
            },
        };
        assert!(forward_limit(None, &l(at(10)), now()));
        assert!(forward_limit(Some(&l(at(10))), &l(at(20)), now()));
        assert!(!forward_limit(Some(&l(at(20))), &l(at(10)), now()));
        assert!(!forward_limit(Some(&l(at(20))), &l(at(20)), now()));
        // A reset that has passed is history: any new one replaces it.
        assert!(forward_limit(
            Some(&l(now() - Duration::from_secs(5))),
            &l(at(1)),
            now()
        ));

        let a = |failed, secs| Auth {
            version: VERSION,
            account: "a".into(),
            failed,
            seen: Seen {
                host: "h".into(),
                source: Some(Source::Pane),
                at: at(secs),
            },
        };
        assert!(forward_auth(None, &a(true, 0)));
        assert!(forward_auth(Some(&a(true, 0)), &a(false, 5)));
        assert!(!forward_auth(Some(&a(false, 5)), &a(true, 1)));
        assert!(
            !forward_auth(Some(&a(true, 0)), &a(true, 5)),
            "no news, no write"
        );
    }
}
