//! Sorting a run's facts, on facts built by hand.

use std::path::PathBuf;

use super::*;
use crate::tasks::facts::{Inbox, Vetted};
use crate::tasks::frontmatter::{Meta, Task};
use crate::tasks::queue::Claimed;
use crate::tasks::record::{Outcome, TaskResult};
use crate::tmux::Pane;

const NOW: &str = "2026-03-01T12:00:00Z";
const DAY: Duration = Duration::from_secs(86_400);

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn pane(session: &str, pid: u32) -> Pane {
    Pane {
        session: session.into(),
        pane_id: "%1".into(),
        pid,
        command: "ccf".into(),
        cwd: "/h/w".into(),
        dead: false,
    }
}

/// The record of `task`, placed in `session` (or waiting), launched a minute ago.
fn record(task: &str, session: Option<&str>) -> TaskRecord {
    TaskRecord {
        task: task.into(),
        session_id: format!("sid-{task}"),
        account: "a".into(),
        pinned_account: Some("b".into()),
        config_dir: None,
        cwd: "/h/w".into(),
        model: None,
        priority: 3,
        queued_at: t("2026-03-01T10:00:00Z"),
        attempt: 1,
        retries: 1,
        timeout_secs: 3600,
        resume: false,
        session: session.map(String::from),
        launched_at: Some(t("2026-03-01T11:59:00Z")),
        wait: None,
    }
}

fn result(r: &TaskRecord, outcome: Outcome) -> TaskResult {
    TaskResult {
        task: r.task.clone(),
        outcome,
        session_id: r.session_id.clone(),
        account: r.account.clone(),
        attempt: r.attempt,
        resumed: false,
        started_at: t(NOW),
        finished_at: t(NOW),
        duration_ms: 5,
        exit_code: Some(0),
        signal: None,
        subtype: None,
        is_error: false,
        result: Some("text".into()),
        limit: None,
        error: None,
        stderr_tail: vec![],
    }
}

fn claimed(r: TaskRecord, result: Option<TaskResult>, pid: u32) -> Claimed {
    Claimed {
        name: r.task.clone(),
        record: Some(Ok(r)),
        result: result.map(Ok),
        pid: Some(pid),
    }
}

fn inbox(name: &str, vetted: Result<u32, &str>) -> Inbox {
    Inbox {
        name: name.into(),
        queued_at: t("2026-03-01T09:00:00Z"),
        vetted: vetted
            .map(|priority| Vetted {
                task: Task {
                    meta: Meta {
                        priority: Some(i64::from(priority)),
                        account: Some("a".into()),
                        ..Meta::default()
                    },
                    prompt: "do it".into(),
                },
                cwd: PathBuf::from("/h/w"),
                timeout: DAY,
                retries: 0,
            })
            .map_err(String::from),
    }
}

/// A finished run in p-11, a limited one in p-12, a timed-out one in p-13 (retries
/// left), a running one in p-14, one waiting in `running/`, and two without a usable
/// record.
fn facts() -> Facts {
    let done = record("done.md", Some("p-11"));
    let limited = record("limited.md", Some("p-12"));
    let mut late = record("late.md", Some("p-13"));
    late.launched_at = Some(t("2026-03-01T10:00:00Z"));
    let mut waiting = record("waiting.md", None);
    waiting.resume = true;
    waiting.wait = Some(Wait::limit("a", t("2026-03-01T13:00:00Z")));
    Facts {
        panes: (11..=14).map(|i| pane(&format!("p-{i}"), i)).collect(),
        server_running: true,
        inbox: vec![],
        claimed: vec![
            claimed(done.clone(), Some(result(&done, Outcome::Success)), 11),
            claimed(limited.clone(), Some(result(&limited, Outcome::Limit)), 12),
            claimed(late, None, 13),
            claimed(record("running.md", Some("p-14")), None, 14),
            claimed(waiting, None, 0),
            Claimed {
                name: "lost.md".into(),
                record: None,
                result: None,
                pid: None,
            },
            Claimed {
                name: "torn.md".into(),
                record: Some(Err("its record is unreadable: eof".into())),
                result: None,
                pid: None,
            },
        ],
    }
}

fn heads(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| a.to_string().split(':').next().unwrap().to_string())
        .collect()
}

#[test]
fn dispatch_settles_only_runs_that_ended_and_janitor_every_verdict() {
    let f = facts();
    let dispatch = settle(&f, t(NOW), DAY, false);
    assert_eq!(
        heads(&dispatch.actions),
        ["finish done.md (in p-11)", "hold limited.md (in p-12)"]
    );
    let janitor = settle(&f, t(NOW), DAY, true);
    assert_eq!(
        heads(&janitor.actions),
        [
            "finish done.md (in p-11)",
            "hold limited.md (in p-12)",
            "kill late.md in p-13",
            "requeue lost.md",
            "requeue torn.md",
        ]
    );
    assert_eq!(
        janitor.leaving,
        ["done.md", "late.md", "limited.md", "lost.md", "torn.md"]
            .map(String::from)
            .into()
    );
}

#[test]
fn a_held_run_comes_back_as_a_resume_that_waits_out_its_limit_and_a_retry_as_a_fresh_start() {
    let janitor = settle(&facts(), t(NOW), DAY, true);
    let held = &janitor.again[0];
    assert_eq!(held.task, "limited.md");
    assert!(held.claimed && held.resume);
    assert_eq!(held.account.as_deref(), Some("b"), "the pinned account");
    assert_eq!(
        (held.priority, held.queued_at),
        (3, t("2026-03-01T10:00:00Z"))
    );
    // Without a reset in the result, the default exhaustion from now.
    assert_eq!(held.wait, Some(Wait::limit("a", t("2026-03-02T12:00:00Z"))));
    let retried = &janitor.again[1];
    assert_eq!(retried.task, "late.md");
    assert!(retried.claimed && !retried.resume && retried.wait.is_none());
    assert_eq!(janitor.again.len(), 2);
}

#[test]
fn a_claimed_task_without_a_usable_record_goes_back_to_the_inbox_saying_why() {
    let v = verdicts(&facts(), t(NOW), DAY);
    let why = |task: &str| match &v.iter().find(|(n, _)| n == task).unwrap().1 {
        Standing::Act(Action::Requeue {
            session: None, why, ..
        }) => why.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(why("lost.md"), "it has no record in running/");
    assert_eq!(why("torn.md"), "its record is unreadable: eof");
    let running = v.iter().find(|(n, _)| n == "running.md").unwrap();
    assert_eq!(running.1, Standing::Running);
    let waiting = v.iter().find(|(n, _)| n == "waiting.md").unwrap();
    assert_eq!(waiting.1, Standing::Waiting);
}

#[test]
fn sessions_stay_tasked_until_their_task_leaves_and_only_unplaced_records_wait() {
    let f = facts();
    let leaving: BTreeSet<String> = ["done.md".to_string()].into();
    assert_eq!(
        tasked_sessions(&f, &leaving),
        ["p-12", "p-13", "p-14"].map(String::from).into()
    );
    let waiting = waiting_candidates(&f, &leaving);
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].task, "waiting.md");
    assert!(
        waiting[0].claimed && waiting[0].resume,
        "its record says resume"
    );
    assert_eq!(
        waiting[0].wait,
        Some(Wait::limit("a", t("2026-03-01T13:00:00Z")))
    );
    let all_leaving: BTreeSet<String> = ["waiting.md".to_string()].into();
    assert!(waiting_candidates(&f, &all_leaving).is_empty());
}

#[test]
fn inbox_files_are_rejected_kept_waiting_behind_a_busy_name_or_offered_with_their_options() {
    let mut f = facts();
    f.inbox = vec![
        inbox("bad.md", Err("it has no prompt")),
        inbox("done.md", Ok(0)),
        inbox("new.md", Ok(7)),
    ];
    let (cands, actions) = inbox_candidates(&f);
    assert_eq!(
        actions,
        [
            Action::Reject {
                task: "bad.md".into(),
                reason: "it has no prompt".into()
            },
            Action::Wait {
                task: "done.md".into(),
                why: "a task of that name is still in running/".into()
            },
        ]
    );
    assert_eq!(
        cands,
        [Candidate {
            task: "new.md".into(),
            priority: 7,
            queued_at: t("2026-03-01T09:00:00Z"),
            account: Some("a".into()),
            claimed: false,
            resume: false,
            wait: None,
        }]
    );
}

#[test]
fn a_cancel_stops_only_a_run_that_goes_on_and_leaves_an_ended_one_to_janitor() {
    let f = facts();
    let cancel = |task: &str| super::cancel(&f, task, t(NOW), DAY);
    let stopped = |task: &str, session: Option<&str>, stop: bool| Action::Cancel {
        task: task.into(),
        session: session.map(String::from),
        stop,
        claimed: true,
    };
    assert_eq!(
        cancel("running.md"),
        Ok(stopped("running.md", Some("p-14"), true))
    );
    assert_eq!(
        cancel("late.md"),
        Ok(stopped("late.md", Some("p-13"), true)),
        "past its timeout, not yet killed: stopped like a timed-out one"
    );
    assert_eq!(
        cancel("limited.md"),
        Ok(stopped("limited.md", Some("p-12"), false)),
        "held after a limit: its claude has exited"
    );
    assert_eq!(cancel("waiting.md"), Ok(stopped("waiting.md", None, false)));
    assert_eq!(cancel("lost.md"), Ok(stopped("lost.md", None, false)));
    assert!(
        cancel("done.md")
            .unwrap_err()
            .contains("has already ended: it succeeded, and `ccf janitor` moves it to done/")
    );
    assert_eq!(cancel("nope.md"), Err("nope.md is not in running/".into()));
}

#[test]
fn a_cancel_never_stops_a_pane_that_no_longer_runs_the_task() {
    let mut f = facts();
    // p-14 was respawned under the task by someone else (another pid, past the grace).
    f.panes
        .iter_mut()
        .find(|p| p.session == "p-14")
        .unwrap()
        .pid = 99;
    let a = super::cancel(&f, "running.md", t(NOW), DAY).unwrap();
    assert!(matches!(a, Action::Cancel { stop: false, .. }), "{a:?}");
}
