//! Pure: a run's [`Facts`] sorted for placement. Each claimed task gets its verdict;
//! the ones that ended become the actions that settle them; what may start this run
//! becomes a candidate (a task held after a limit or to be retried, one waiting in
//! `running/`, an inbox file that can run). Nothing here touches the disk, tmux or the
//! clock.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;

use super::facts::Facts;
use super::plan::{self, Action, Candidate, Standing};
use super::record::{TaskRecord, Wait};

/// What settling leaves for the rest of the run.
#[derive(Debug, Default, PartialEq)]
pub struct Settlement {
    /// The actions that settle claimed tasks.
    pub actions: Vec<Action>,
    /// The tasks those actions move out of their session.
    pub leaving: BTreeSet<String>,
    /// The tasks that wait in `running/` afterwards (held after a limit, or to be
    /// retried): candidates for this same run.
    pub again: Vec<Candidate>,
}

/// Settles what can be settled now: with `all`, every verdict (janitor); else only
/// finished runs (dispatch). `default_exhaustion` stands in for a limit's unknown reset.
pub fn settle(
    facts: &Facts,
    now: Timestamp,
    default_exhaustion: Duration,
    all: bool,
) -> Settlement {
    let mut s = Settlement::default();
    for (task, v) in verdicts(facts, now, default_exhaustion) {
        let Standing::Act(a) = v else { continue };
        if !all && !matches!(a, Action::Finish { .. } | Action::Hold { .. }) {
            continue;
        }
        match (&a, facts.record(&task)) {
            (Action::Hold { account, until, .. }, Some(r)) => s.again.push(candidate(
                &task,
                r,
                true,
                Some(Wait::limit(account, *until)),
            )),
            (Action::Kill { retry: true, .. }, Some(r)) => {
                s.again.push(candidate(&task, r, false, None));
            }
            _ => {}
        }
        s.leaving.insert(task);
        s.actions.push(a);
    }
    s
}

/// Judges every claimed task; tasks without a usable record go back to the inbox
/// (a dispatch died between claiming and recording it).
pub fn verdicts(
    facts: &Facts,
    now: Timestamp,
    default_exhaustion: Duration,
) -> Vec<(String, Standing)> {
    facts
        .claimed
        .iter()
        .map(|c| {
            let v = match &c.record {
                Some(Ok(r)) => plan::judge(
                    r,
                    c.result.as_ref(),
                    c.pid,
                    r.session.as_deref().and_then(|s| facts.pane(s)),
                    now,
                    default_exhaustion,
                ),
                Some(Err(e)) => Standing::Act(Action::Requeue {
                    task: c.name.clone(),
                    session: None,
                    why: e.clone(),
                }),
                None => Standing::Act(Action::Requeue {
                    task: c.name.clone(),
                    session: None,
                    why: "it has no record in running/".into(),
                }),
            };
            (c.name.clone(), v)
        })
        .collect()
}

/// What cancelling claimed `task` does (`ccf task cancel`), from the verdict janitor
/// would give it: a run still going, or past its timeout, is stopped in its session; a
/// task that waits, is held after a limit, or whose wrapper is gone only moves; a run
/// that ended on its own is janitor's to settle, and the error says so.
pub fn cancel(
    facts: &Facts,
    task: &str,
    now: Timestamp,
    default_exhaustion: Duration,
) -> Result<Action, String> {
    let standing = verdicts(facts, now, default_exhaustion)
        .into_iter()
        .find_map(|(t, v)| (t == task).then_some(v))
        .ok_or_else(|| format!("{task} is not in running/"))?;
    let session = facts.record(task).and_then(|r| r.session.clone());
    let stop = match standing {
        Standing::Running | Standing::Act(Action::Kill { .. }) => session.is_some(),
        Standing::Act(Action::Finish { reason: None, .. }) => {
            return Err(format!(
                "{task} has already ended: it succeeded, and `ccf janitor` moves it to done/"
            ));
        }
        Standing::Act(Action::Finish {
            reason: Some(r), ..
        }) => {
            return Err(format!(
                "{task} has already ended: it failed ({r}), and `ccf janitor` moves it to failed/"
            ));
        }
        _ => false,
    };
    Ok(Action::Cancel {
        task: task.to_string(),
        session,
        stop,
        claimed: true,
    })
}

/// Pool sessions that stay busy with a task once `leaving` tasks are settled.
pub fn tasked_sessions(facts: &Facts, leaving: &BTreeSet<String>) -> BTreeSet<String> {
    facts
        .claimed
        .iter()
        .filter(|c| !leaving.contains(&c.name))
        .filter_map(|c| c.record.as_ref()?.as_ref().ok()?.session.clone())
        .collect()
}

/// Tasks waiting in `running/` (after a limit or a timeout), minus `leaving`.
pub fn waiting_candidates(facts: &Facts, leaving: &BTreeSet<String>) -> Vec<Candidate> {
    facts
        .claimed
        .iter()
        .filter(|c| !leaving.contains(&c.name))
        .filter_map(|c| {
            let r = c.record.as_ref()?.as_ref().ok()?;
            r.session
                .is_none()
                .then(|| candidate(&r.task, r, r.resume, r.wait.clone()))
        })
        .collect()
}

/// Inbox tasks that can run; a name still busy in `running/` waits its turn, a file
/// that can never run is rejected.
pub fn inbox_candidates(facts: &Facts) -> (Vec<Candidate>, Vec<Action>) {
    let mut cands = Vec::new();
    let mut actions = Vec::new();
    for i in &facts.inbox {
        match &i.vetted {
            Err(reason) => actions.push(Action::Reject {
                task: i.name.clone(),
                reason: reason.clone(),
            }),
            Ok(_) if facts.claimed.iter().any(|c| c.name == i.name) => {
                actions.push(Action::Wait {
                    task: i.name.clone(),
                    why: "a task of that name is still in running/".into(),
                });
            }
            Ok(v) => cands.push(Candidate {
                task: i.name.clone(),
                priority: v.task.meta.priority.unwrap_or(0),
                queued_at: i.queued_at,
                account: v.task.meta.account.clone(),
                claimed: false,
                resume: false,
                wait: None,
            }),
        }
    }
    (cands, actions)
}

/// A claimed task as placement sees it.
fn candidate(task: &str, r: &TaskRecord, resume: bool, wait: Option<Wait>) -> Candidate {
    Candidate {
        task: task.to_string(),
        priority: r.priority,
        queued_at: r.queued_at,
        account: r.pinned_account.clone(),
        claimed: true,
        resume,
        wait,
    }
}

#[cfg(test)]
mod tests;
