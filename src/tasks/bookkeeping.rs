//! Pure: what dispatch's and janitor's actions write down. A task's record when it is
//! first claimed, placed in a session, held after a limit or retried after a timeout;
//! the state's record of the session a launch occupies and its removal when the task
//! leaves; the state made to agree with `running/`; a standing pool problem, alerted
//! once. The applier reads and writes the files and calls these in between.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use super::facts::Vetted;
use super::queue::Claimed;
use super::record::{TaskRecord, Wait};
use crate::config::SessionKind;
use crate::notify::Event;
use crate::state::{PoolProblem, SessionRecord, State};

/// The alert key of a standing pool problem in `State::alerts`.
pub const POOL_ALERT: &str = "pool_empty";

/// The record of an inbox task's first claim: attempt 1 under a new `session_id`, not
/// placed yet.
pub fn first_record(
    task: &str,
    vetted: &Vetted,
    queued_at: Timestamp,
    account: &str,
    session_id: String,
) -> TaskRecord {
    TaskRecord {
        task: task.to_string(),
        session_id,
        account: account.to_string(),
        pinned_account: vetted.task.meta.account.clone(),
        config_dir: None,
        cwd: vetted.cwd.clone(),
        model: vetted.task.meta.model.clone(),
        priority: vetted.task.meta.priority.unwrap_or(0),
        queued_at,
        attempt: 1,
        retries: vetted.retries,
        timeout_secs: vetted.timeout.as_secs(),
        resume: false,
        session: None,
        launched_at: None,
        wait: None,
    }
}

/// A task launched in `session` on `account` now: it no longer waits.
pub fn place(
    r: &mut TaskRecord,
    session: &str,
    account: &str,
    config_dir: Option<PathBuf>,
    now: Timestamp,
) {
    r.account = account.to_string();
    r.config_dir = config_dir;
    r.session = Some(session.to_string());
    r.launched_at = Some(now);
    r.wait = None;
}

/// A run stopped by a usage limit: the task leaves its session and resumes the same
/// conversation later, not on `account` before `until`.
pub fn hold(r: &mut TaskRecord, account: &str, until: Timestamp) {
    r.session = None;
    r.resume = true;
    r.wait = Some(Wait::limit(account, until));
}

/// A timed-out run with retries left: the next attempt starts a new conversation.
pub fn retry(r: &mut TaskRecord, session_id: String) {
    r.attempt += 1;
    r.session_id = session_id;
    r.resume = false;
    r.session = None;
    r.wait = Some(Wait::retry());
}

/// Why a task that timed out on its last attempt failed.
pub fn timeout_reason(r: &TaskRecord, after: Duration) -> String {
    format!(
        "timed out after {} (attempt {} of {})",
        crate::human::duration(after),
        r.attempt,
        r.retries + 1
    )
}

/// How the reason of a cancelled task begins (`ccf task list` tells them by it).
pub const CANCELLED: &str = "cancelled by the operator";

/// Why a task the operator cancelled failed: how long its run had gone and where, when
/// it was running.
pub fn cancel_reason(r: Option<&TaskRecord>, now: Timestamp) -> String {
    let ran = r.and_then(|r| Some((r.session.as_deref()?, r.launched_at?, r.attempt)));
    match ran {
        Some((session, at, attempt)) => format!(
            "{CANCELLED} after {} in {session} (attempt {attempt})",
            crate::human::duration(now.duration_since(at).unsigned_abs())
        ),
        None => CANCELLED.to_string(),
    }
}

/// The state's record of a pool session running `task` as `r` says, from `now`.
pub fn launched_session(task: &str, r: &TaskRecord, now: Timestamp) -> SessionRecord {
    SessionRecord {
        kind: SessionKind::Autonomous,
        account: Some(r.account.clone()),
        session_id: Some(r.session_id.clone()),
        id_source: Some(crate::state::IdSource::Launched),
        cwd: Some(r.cwd.clone()),
        launched_at: Some(now),
        task: Some(task.to_string()),
        pending_move: None,
    }
}

/// The state's record of a dedicated session ccf started claude in.
pub fn dedicated_session(
    account: &str,
    session_id: String,
    project: &Path,
    now: Timestamp,
) -> SessionRecord {
    SessionRecord {
        kind: SessionKind::Dedicated,
        account: Some(account.to_string()),
        session_id: Some(session_id),
        id_source: Some(crate::state::IdSource::Launched),
        cwd: Some(project.to_path_buf()),
        launched_at: Some(now),
        task: None,
        pending_move: None,
    }
}

/// Removes the state's record of `session` when it is the one running `task`.
pub fn forget(state: &mut State, session: Option<&str>, task: &str) {
    if let Some(s) = session
        && state
            .sessions
            .get(s)
            .is_some_and(|r| r.task.as_deref() == Some(task))
    {
        state.sessions.remove(s);
    }
}

/// Makes `state.sessions` agree with the records in `running/`: a pool session that
/// the state says runs a task no record places there is forgotten.
pub fn sync_sessions(state: &mut State, claimed: &[Claimed]) {
    let placed: BTreeSet<(&str, &str)> = claimed
        .iter()
        .filter_map(|c| {
            let r = c.record.as_ref()?.as_ref().ok()?;
            Some((r.session.as_deref()?, r.task.as_str()))
        })
        .collect();
    state.sessions.retain(|name, s| match (&s.kind, &s.task) {
        (SessionKind::Autonomous, Some(t)) => placed.contains(&(name.as_str(), t.as_str())),
        _ => true,
    });
}

/// Records a standing pool problem (or its end) for `status`; returns the alert when
/// this is a new occurrence.
pub fn pool_problem(state: &mut State, problem: Option<String>, now: Timestamp) -> Option<Event> {
    let Some(detail) = problem else {
        state.pool_problem = None;
        state.alerts.remove(POOL_ALERT);
        return None;
    };
    let since = state.pool_problem.as_ref().map_or(now, |p| p.since);
    state.pool_problem = Some(PoolProblem {
        since,
        detail: detail.clone(),
    });
    if state.alerts.contains_key(POOL_ALERT) {
        return None;
    }
    state.alerts.insert(POOL_ALERT.into(), now);
    Some(Event::PoolEmpty { detail })
}

#[cfg(test)]
mod tests;
