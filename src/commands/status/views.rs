//! The `--json` shapes of the swap journal, the last swap and the pending return. They
//! are views, not the state's own types: the journal may change between versions, the
//! document only grows (add, never rename). Today each view has the fields the state
//! type had when the document first showed it.

use std::path::PathBuf;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::SessionKind;
use crate::detect::Scope;
use crate::state::{
    MoveWhy, PendingMove, PendingReturn, Source, SwapJournal, SwapRecord, SwapSession, SwapStep,
    Trigger,
};

#[derive(Debug, Serialize)]
pub struct SwapView {
    pub from: String,
    pub to: String,
    /// `planned`, `link_flipped`, `symlinks_ensured`, `relaunching` or `finishing`.
    pub step: SwapStep,
    pub started_at: Timestamp,
    pub reason: String,
    pub trigger: Option<TriggerView>,
    pub link_before: Option<PathBuf>,
    pub manual: bool,
    pub sessions: Vec<SwapSessionView>,
    pub exhausted_until: Option<Timestamp>,
    pub exhausted_scope: Option<Scope>,
    pub auth_failed: bool,
    pub rollback: bool,
}

#[expect(
    clippy::struct_excessive_bools,
    reason = "the journal's flags as the document shows them"
)]
#[derive(Debug, Serialize)]
pub struct SwapSessionView {
    pub name: String,
    pub session_id: Option<String>,
    pub cwd: Option<PathBuf>,
    pub relaunch: bool,
    pub account: Option<String>,
    pub kind: Option<SessionKind>,
    pub path: Option<String>,
    pub pid: Option<u32>,
    pub blocked: bool,
    pub in_place: bool,
    pub deferred: bool,
    pub done: bool,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TriggerView {
    pub session: Option<String>,
    pub source: Source,
    pub matched: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LastSwapView {
    pub from: String,
    pub to: String,
    pub at: Timestamp,
    pub reason: String,
    pub trigger: Option<TriggerView>,
    pub manual: bool,
    pub moved: Vec<String>,
    pub failed: Vec<String>,
    pub deferred: Vec<String>,
    pub rollback: bool,
}

#[derive(Debug, Serialize)]
pub struct PendingReturnView {
    pub to: String,
    pub not_before: Timestamp,
}

impl From<&Trigger> for TriggerView {
    fn from(t: &Trigger) -> Self {
        TriggerView {
            session: t.session.clone(),
            source: t.source,
            matched: t.matched.clone(),
        }
    }
}

impl From<&SwapSession> for SwapSessionView {
    fn from(s: &SwapSession) -> Self {
        SwapSessionView {
            name: s.name.clone(),
            session_id: s.session_id.clone(),
            cwd: s.cwd.clone(),
            relaunch: s.relaunch,
            account: s.account.clone(),
            kind: s.kind,
            path: s.path.clone(),
            pid: s.pid,
            blocked: s.blocked,
            in_place: s.in_place,
            deferred: s.deferred,
            done: s.done,
            error: s.error.clone(),
        }
    }
}

impl From<&SwapJournal> for SwapView {
    fn from(j: &SwapJournal) -> Self {
        SwapView {
            from: j.from.clone(),
            to: j.to.clone(),
            step: j.step,
            started_at: j.started_at,
            reason: j.reason.clone(),
            trigger: j.trigger.as_ref().map(Into::into),
            link_before: j.link_before.clone(),
            manual: j.manual,
            sessions: j.sessions.iter().map(Into::into).collect(),
            exhausted_until: j.exhausted_until,
            exhausted_scope: j.exhausted_scope,
            auth_failed: j.auth_failed,
            rollback: j.rollback,
        }
    }
}

impl From<&SwapRecord> for LastSwapView {
    fn from(r: &SwapRecord) -> Self {
        LastSwapView {
            from: r.from.clone(),
            to: r.to.clone(),
            at: r.at,
            reason: r.reason.clone(),
            trigger: r.trigger.as_ref().map(Into::into),
            manual: r.manual,
            moved: r.moved.clone(),
            failed: r.failed.clone(),
            deferred: r.deferred.clone(),
            rollback: r.rollback,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PendingMoveView {
    pub why: MoveWhy,
    pub to: String,
    pub since: Timestamp,
    pub detail: String,
}

impl From<&PendingMove> for PendingMoveView {
    fn from(p: &PendingMove) -> Self {
        PendingMoveView {
            why: p.why,
            to: p.to.clone(),
            since: p.since,
            detail: p.detail.clone(),
        }
    }
}

impl From<&PendingReturn> for PendingReturnView {
    fn from(p: &PendingReturn) -> Self {
        PendingReturnView {
            to: p.to.clone(),
            not_before: p.not_before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &serde_json::Value) -> Vec<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    /// The document's fields are a contract: this list changes only by growing.
    #[test]
    fn the_journal_view_keeps_the_documented_fields_whatever_the_journal_holds() {
        let j = SwapJournal {
            from: "a".into(),
            to: "b".into(),
            step: SwapStep::LinkFlipped,
            started_at: Timestamp::UNIX_EPOCH,
            reason: "r".into(),
            trigger: None,
            link_before: None,
            manual: false,
            sessions: vec![SwapSession {
                name: "s".into(),
                session_id: None,
                cwd: None,
                relaunch: true,
                account: None,
                kind: None,
                path: None,
                pid: None,
                blocked: false,
                in_place: false,
                deferred: false,
                done: false,
                error: None,
            }],
            exhausted_until: None,
            exhausted_scope: None,
            auth_failed: false,
            rollback: false,
        };
        let v = serde_json::to_value(SwapView::from(&j)).unwrap();
        assert_eq!(v["step"], "link_flipped", "as the state file spells it");
        assert_eq!(
            keys(&v),
            [
                "auth_failed",
                "exhausted_scope",
                "exhausted_until",
                "from",
                "link_before",
                "manual",
                "reason",
                "rollback",
                "sessions",
                "started_at",
                "step",
                "to",
                "trigger"
            ]
        );
        assert_eq!(
            keys(&v["sessions"][0]),
            [
                "account",
                "blocked",
                "cwd",
                "deferred",
                "done",
                "error",
                "in_place",
                "kind",
                "name",
                "path",
                "pid",
                "relaunch",
                "session_id"
            ]
        );
    }
}
