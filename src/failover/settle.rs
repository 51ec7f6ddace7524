//! The end of a swap: what the journal's outcome means for the state, decided by a pure
//! function ([`settle`]) and saved in one write by [`finish`], which then announces it.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use jiff::Timestamp;

use super::apply::home_of;
use super::{SwapOutcome, fault, plan};
use crate::config::SessionKind;
use crate::context::Ctx;
use crate::detect::Scope;
use crate::state::{IdSource, MoveWhy, PendingMove, PendingReturn, State, SwapJournal, SwapRecord};

/// What [`settle`] needs beyond the journal and the state.
pub struct Settling<'a> {
    /// The accounts in priority order.
    pub order: &'a [String],
    pub return_margin: Duration,
    pub now: Timestamp,
    /// The kind of a session by the config's layout, for one the state does not know.
    pub kind_of: &'a dyn Fn(&str) -> Option<SessionKind>,
    /// Each relaunched session's transcript length now (to tell a re-rendered banner
    /// from a new one later).
    pub transcript_lens: BTreeMap<String, u64>,
}

/// How a swap ended, for its announcements and its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub moved: Vec<String>,
    pub failed: Vec<String>,
    /// Busy sessions left alone, owed a move once idle.
    pub deferred: Vec<String>,
    /// It went back to the account a pending return named.
    pub returned: bool,
    /// It ended a time when every account was out.
    pub resumed: bool,
}

/// Applies a finished journal to the state: the session registry, the account left
/// behind, the active account, the pending return and the record of the swap.
pub fn settle(state: &mut State, j: &SwapJournal, s: &Settling<'_>) -> Settled {
    let mut moved = Vec::new();
    let mut failed = Vec::new();
    let mut deferred = Vec::new();
    for sess in &j.sessions {
        let ok = !sess.deferred && sess.error.is_none() && (sess.done || !sess.relaunch);
        let owed = if ok {
            moved.push(sess.name.clone());
            None
        } else if sess.deferred {
            deferred.push(sess.name.clone());
            Some((MoveWhy::Deferred, "its turn was running".to_string()))
        } else {
            failed.push(sess.name.clone());
            Some((
                MoveWhy::Failed,
                sess.error
                    .clone()
                    .unwrap_or_else(|| "not relaunched".into()),
            ))
        };
        let kind = sess
            .kind
            .or_else(|| (s.kind_of)(&sess.name))
            .unwrap_or(SessionKind::Dedicated);
        let rec = state.session_mut(&sess.name, kind);
        if sess.session_id.is_some() {
            rec.session_id.clone_from(&sess.session_id);
            rec.cwd = sess.cwd.clone().or(rec.cwd.take());
        }
        let before = rec
            .pending_move
            .take()
            .filter(|p| owed.as_ref().is_some_and(|(why, _)| *why == p.why));
        rec.pending_move = owed.map(|(why, detail)| PendingMove {
            why,
            to: j.to.clone(),
            // Owed since the first swap that could not make it.
            since: before.as_ref().map_or(s.now, |p| p.since),
            detail,
            attempts: before.as_ref().map_or(0, |p| p.attempts) + u32::from(why == MoveWhy::Failed),
        });
        if !ok {
            rec.account.clone_from(&sess.account);
            continue;
        }
        rec.account = Some(j.to.clone());
        if sess.relaunch {
            rec.launched_at = Some(s.now);
            rec.id_source = Some(IdSource::Launched);
            if let Some(len) = s.transcript_lens.get(&sess.name) {
                state.resumed_len.insert(sess.name.clone(), *len);
            }
        }
    }
    let resumed = state.all_exhausted_since.take().is_some();
    let mut returned = false;
    if j.from != j.to {
        mark_left(
            state,
            &j.from,
            j.exhausted_until,
            j.exhausted_scope,
            j.auth_failed,
        );
        if j.rollback {
            let a = state.account_mut(&j.to);
            a.exhausted_until = None;
            a.exhausted_scope = None;
        }
        state.active_account = Some(j.to.clone());
        returned = settle_return(state, j, s);
        state.swaps_total += 1;
        state.last_swap = Some(SwapRecord {
            from: j.from.clone(),
            to: j.to.clone(),
            at: s.now,
            reason: j.reason.clone(),
            trigger: j.trigger.clone(),
            manual: j.manual,
            moved: moved.clone(),
            failed: failed.clone(),
            deferred: deferred.clone(),
            rollback: j.rollback,
        });
    }
    Settled {
        moved,
        failed,
        deferred,
        returned,
        resumed,
    }
}

/// The pending return after a swap: one to an account this swap reached (or passed) is
/// done; a manual swap cancels it; a limit swap away from a higher-priority account sets
/// one for after its reset. Returns whether this swap was the return.
fn settle_return(state: &mut State, j: &SwapJournal, s: &Settling<'_>) -> bool {
    let order = s.order;
    let mut returned = false;
    if let Some(p) = &state.pending_return
        && !plan::outranks(order, &p.to, &j.to)
    {
        returned = p.to == j.to;
        state.pending_return = None;
    }
    if j.manual {
        state.pending_return = None;
    } else if plan::outranks(order, &j.from, &j.to)
        && let Some(until) = j.exhausted_until
        && state
            .pending_return
            .as_ref()
            .is_none_or(|p| plan::outranks(order, &j.from, &p.to))
    {
        state.pending_return = Some(PendingReturn {
            to: j.from.clone(),
            not_before: crate::clock::add(until, s.return_margin),
        });
    }
    returned
}

/// Records why the account left behind cannot take work.
pub fn mark_left(
    state: &mut State,
    account: &str,
    until: Option<Timestamp>,
    scope: Option<Scope>,
    auth_failed: bool,
) {
    let a = state.account_mut(account);
    if until.is_some() {
        a.exhausted_until = until;
        a.exhausted_scope = scope;
    }
    if auth_failed {
        a.auth_failed = true;
    }
}

/// Completes the swap in one save, then notifies.
pub fn finish(ctx: &Ctx, state: &mut State) -> Result<SwapOutcome> {
    let j = state.swap.take().context("no swap journal to finish")?;
    let order: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let kind_of = |name: &str| ctx.config.session_kind(name);
    let transcript_lens = j
        .sessions
        .iter()
        .filter(|s| s.relaunch && s.done && s.error.is_none())
        .filter_map(|s| {
            let home = home_of(ctx, &j.to).ok()?;
            let path =
                crate::claude::transcript(&home, s.cwd.as_deref()?, s.session_id.as_deref()?);
            let len = std::fs::metadata(path).ok()?.len();
            Some((s.name.clone(), len))
        })
        .collect();
    let settled = settle(
        state,
        &j,
        &Settling {
            order: &order,
            return_margin: ctx.config.quota.return_margin,
            now: ctx.now,
            kind_of: &kind_of,
            transcript_lens,
        },
    );
    ctx.save(state)?;
    fault("finished");
    let done = plan::Finished {
        from: &j.from,
        to: &j.to,
        reason: &j.reason,
        by_operator: j.manual || j.rollback,
        returned: settled.returned,
        resumed: settled.resumed,
    };
    for event in plan::announcements(&done, &settled.moved, &settled.failed) {
        crate::history::emit(ctx, &event);
    }
    Ok(SwapOutcome {
        from: j.from,
        to: Some(j.to),
        moved: settled.moved,
        failed: settled.failed,
        deferred: settled.deferred,
        plan: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{SwapSession, SwapStep};

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn session(name: &str, relaunch: bool, done: bool, error: Option<&str>) -> SwapSession {
        SwapSession {
            name: name.into(),
            session_id: Some("0b6e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b".into()),
            cwd: Some("/w".into()),
            relaunch,
            account: Some("a".into()),
            kind: Some(SessionKind::Dedicated),
            path: None,
            pid: None,
            blocked: false,
            in_place: false,
            deferred: false,
            done,
            error: error.map(String::from),
        }
    }

    fn journal(from: &str, to: &str, sessions: Vec<SwapSession>) -> SwapJournal {
        SwapJournal {
            from: from.into(),
            to: to.into(),
            step: SwapStep::Finishing,
            started_at: now(),
            reason: "usage limit on a".into(),
            trigger: None,
            link_before: None,
            manual: false,
            sessions,
            exhausted_until: Some(now() + Duration::from_secs(3600)),
            exhausted_scope: Some(Scope::FiveHour),
            auth_failed: false,
            rollback: false,
        }
    }

    fn settle_ab(state: &mut State, j: &SwapJournal) -> Settled {
        let order = ["a".to_string(), "b".to_string()];
        settle(
            state,
            j,
            &Settling {
                order: &order,
                return_margin: Duration::from_secs(300),
                now: now(),
                kind_of: &|_| None,
                transcript_lens: [("s1".to_string(), 42)].into(),
            },
        )
    }

    #[test]
    fn a_limit_swap_away_from_the_primary_sets_the_return_and_records_who_moved() {
        let mut state = State::new();
        let j = journal(
            "a",
            "b",
            vec![
                session("s1", true, true, None),
                session("s2", false, false, None),
                session("s3", true, false, Some("claude did not start")),
            ],
        );
        let s = settle_ab(&mut state, &j);
        assert_eq!(s.moved, ["s1", "s2"]);
        assert_eq!(s.failed, ["s3"]);
        assert!(!s.returned && !s.resumed);
        assert_eq!(state.active_account.as_deref(), Some("b"));
        let a = &state.accounts["a"];
        assert_eq!(a.exhausted_until, j.exhausted_until);
        assert_eq!(a.exhausted_scope, Some(Scope::FiveHour));
        let back = state.pending_return.as_ref().unwrap();
        assert_eq!(back.to, "a");
        assert_eq!(back.not_before, now() + Duration::from_secs(3900));
        assert_eq!(state.sessions["s1"].account.as_deref(), Some("b"));
        assert_eq!(state.sessions["s1"].id_source, Some(IdSource::Launched));
        assert_eq!(state.sessions["s1"].launched_at, Some(now()));
        assert_eq!(state.resumed_len.get("s1"), Some(&42));
        assert_eq!(
            state.sessions["s3"].account.as_deref(),
            Some("a"),
            "a failed session stays recorded where it ran"
        );
        assert_eq!(state.last_swap.as_ref().unwrap().failed, ["s3"]);
    }

    #[test]
    fn the_return_clears_the_pending_return_and_a_manual_swap_cancels_it() {
        let mut state = State::new();
        settle_ab(&mut state, &journal("a", "b", vec![]));
        let mut back = journal("b", "a", vec![]);
        back.exhausted_until = None;
        let s = settle_ab(&mut state, &back);
        assert!(s.returned);
        assert_eq!(state.pending_return, None);

        let mut state = State::new();
        settle_ab(&mut state, &journal("a", "b", vec![]));
        let mut manual = journal("b", "b", vec![]);
        manual.manual = true;
        settle_ab(&mut state, &manual);
        assert!(
            state.pending_return.is_some(),
            "a swap to the same account changes nothing"
        );
        let mut state2 = State::new();
        settle_ab(&mut state2, &journal("a", "b", vec![]));
        state2.account_mut("c");
        let mut to_c = journal("b", "c", vec![]);
        to_c.manual = true;
        to_c.exhausted_until = None;
        let s = settle_ab(&mut state2, &to_c);
        assert!(!s.returned);
        assert_eq!(state2.pending_return, None, "an operator's swap cancels it");
    }

    #[test]
    fn a_rollback_clears_the_mark_of_the_account_it_goes_back_to() {
        let mut state = State::new();
        settle_ab(&mut state, &journal("a", "b", vec![]));
        let mut undo = journal("b", "a", vec![]);
        undo.rollback = true;
        undo.manual = true;
        undo.exhausted_until = None;
        settle_ab(&mut state, &undo);
        assert_eq!(state.accounts["a"].exhausted_until, None);
        assert!(state.last_swap.as_ref().unwrap().rollback);
    }
}
