//! What actions write down, on records and states built by hand.

use super::*;
use crate::tasks::frontmatter::{Meta, Task};

const NOW: &str = "2026-03-01T12:00:00Z";

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn vetted() -> Vetted {
    Vetted {
        task: Task {
            meta: Meta {
                priority: Some(4),
                model: Some("opus".into()),
                account: Some("b".into()),
                ..Meta::default()
            },
            prompt: "do it".into(),
        },
        cwd: PathBuf::from("/h/p"),
        timeout: Duration::from_secs(600),
        retries: 2,
    }
}

fn first() -> TaskRecord {
    first_record(
        "t.md",
        &vetted(),
        t("2026-03-01T09:00:00Z"),
        "b",
        "sid-1".into(),
    )
}

fn session(task: Option<&str>, kind: SessionKind) -> SessionRecord {
    SessionRecord {
        kind,
        account: Some("a".into()),
        session_id: Some("sid".into()),
        id_source: Some(crate::state::IdSource::Launched),
        cwd: Some("/h/w".into()),
        launched_at: Some(t(NOW)),
        task: task.map(String::from),
        pending_move: None,
    }
}

#[test]
fn a_first_claim_takes_the_files_options_and_is_attempt_one_not_yet_placed() {
    let r = first();
    assert_eq!(
        r,
        TaskRecord {
            task: "t.md".into(),
            session_id: "sid-1".into(),
            account: "b".into(),
            pinned_account: Some("b".into()),
            config_dir: None,
            cwd: "/h/p".into(),
            model: Some("opus".into()),
            priority: 4,
            queued_at: t("2026-03-01T09:00:00Z"),
            attempt: 1,
            retries: 2,
            timeout_secs: 600,
            resume: false,
            session: None,
            launched_at: None,
            wait: None,
        }
    );
}

#[test]
fn a_placed_task_no_longer_waits_and_knows_where_when_and_on_which_account_it_runs() {
    let mut r = first();
    hold(&mut r, "a", t("2026-03-01T13:00:00Z"));
    place(&mut r, "p-11", "c", Some("/h/.c".into()), t(NOW));
    assert_eq!(r.session.as_deref(), Some("p-11"));
    assert_eq!(r.account, "c");
    assert_eq!(r.config_dir, Some(PathBuf::from("/h/.c")));
    assert_eq!(r.launched_at, Some(t(NOW)));
    assert_eq!(r.wait, None);
    assert!(r.resume, "a held task resumes wherever it is placed");
}

#[test]
fn a_held_task_keeps_its_conversation_and_a_retried_one_starts_another() {
    let mut held = first();
    place(&mut held, "p-11", "b", None, t(NOW));
    hold(&mut held, "b", t("2026-03-01T13:00:00Z"));
    assert_eq!(held.session, None);
    assert!(held.resume);
    assert_eq!(held.session_id, "sid-1");
    assert_eq!(held.attempt, 1);
    assert_eq!(held.wait, Some(Wait::limit("b", t("2026-03-01T13:00:00Z"))));

    let mut retried = held.clone();
    retry(&mut retried, "sid-2".into());
    assert_eq!(retried.session, None);
    assert!(!retried.resume);
    assert_eq!(retried.session_id, "sid-2");
    assert_eq!(retried.attempt, 2);
    assert_eq!(retried.wait, Some(Wait::retry()));
    assert_eq!(
        retried.wait.unwrap().reason,
        crate::tasks::record::WaitReason::Retry
    );
}

#[test]
fn a_final_timeout_says_how_long_and_which_attempt_of_how_many() {
    let mut r = first();
    r.attempt = 3;
    assert_eq!(
        timeout_reason(&r, Duration::from_secs(600)),
        "timed out after 10m (attempt 3 of 3)"
    );
}

#[test]
fn a_launch_records_a_pool_session_running_the_task_and_a_dedicated_one_none() {
    let mut r = first();
    place(&mut r, "p-11", "b", None, t(NOW));
    let s = launched_session("t.md", &r, t(NOW));
    assert_eq!(s.kind, SessionKind::Autonomous);
    assert_eq!(
        (
            s.account.as_deref(),
            s.session_id.as_deref(),
            s.task.as_deref()
        ),
        (Some("b"), Some("sid-1"), Some("t.md"))
    );
    assert_eq!(s.cwd, Some(PathBuf::from("/h/p")));
    let d = dedicated_session("a", "sid-9".into(), Path::new("/h/d"), t(NOW));
    assert_eq!(d.kind, SessionKind::Dedicated);
    assert_eq!(d.task, None);
    assert_eq!(
        (d.account.as_deref(), d.session_id.as_deref(), d.id_source),
        (
            Some("a"),
            Some("sid-9"),
            Some(crate::state::IdSource::Launched)
        )
    );
}

#[test]
fn a_session_is_forgotten_only_while_it_runs_the_task_that_leaves() {
    let mut state = State::default();
    state.sessions.insert(
        "p-11".into(),
        session(Some("t.md"), SessionKind::Autonomous),
    );
    forget(&mut state, Some("p-11"), "other.md");
    forget(&mut state, None, "t.md");
    assert!(state.sessions.contains_key("p-11"));
    forget(&mut state, Some("p-11"), "t.md");
    assert!(state.sessions.is_empty());
}

#[test]
fn the_state_forgets_pool_sessions_no_record_places_there_and_keeps_the_rest() {
    let mut state = State::default();
    for (name, task, kind) in [
        ("p-11", Some("t.md"), SessionKind::Autonomous),
        ("p-12", Some("gone.md"), SessionKind::Autonomous),
        ("p-13", Some("t.md"), SessionKind::Autonomous),
        ("p-14", None, SessionKind::Autonomous),
        ("ded", Some("x.md"), SessionKind::Dedicated),
    ] {
        state.sessions.insert(name.into(), session(task, kind));
    }
    let mut r = first();
    place(&mut r, "p-11", "b", None, t(NOW));
    let claimed = [
        Claimed {
            name: "t.md".into(),
            record: Some(Ok(r)),
            result: None,
            pid: None,
        },
        Claimed {
            name: "torn.md".into(),
            record: Some(Err("unreadable".into())),
            result: None,
            pid: None,
        },
    ];
    sync_sessions(&mut state, &claimed);
    assert_eq!(
        state.sessions.keys().collect::<Vec<_>>(),
        ["ded", "p-11", "p-14"]
    );
}

#[test]
fn a_pool_problem_is_alerted_once_keeps_its_start_and_ends_with_its_alert() {
    let mut state = State::default();
    let first = pool_problem(&mut state, Some("no pool".into()), t(NOW));
    assert_eq!(
        first,
        Some(Event::PoolEmpty {
            detail: "no pool".into()
        })
    );
    let later = t("2026-03-01T12:05:00Z");
    assert_eq!(
        pool_problem(&mut state, Some("still none".into()), later),
        None
    );
    assert_eq!(
        state.pool_problem,
        Some(PoolProblem {
            since: t(NOW),
            detail: "still none".into()
        })
    );
    assert_eq!(state.alerts.get(POOL_ALERT), Some(&t(NOW)));
    assert_eq!(pool_problem(&mut state, None, later), None);
    assert_eq!(state.pool_problem, None);
    assert!(state.alerts.is_empty());
    assert!(
        pool_problem(&mut state, Some("again".into()), later).is_some(),
        "a new occurrence is alerted again"
    );
}

#[test]
fn a_cancelled_task_says_so_and_how_long_it_had_run_and_where() {
    assert_eq!(cancel_reason(None, t(NOW)), "cancelled by the operator");
    let mut r = first();
    assert_eq!(
        cancel_reason(Some(&r), t(NOW)),
        "cancelled by the operator",
        "never placed: it did not run"
    );
    place(&mut r, "p-11", "b", None, t("2026-03-01T11:48:00Z"));
    assert_eq!(
        cancel_reason(Some(&r), t(NOW)),
        "cancelled by the operator after 12m in p-11 (attempt 1)"
    );
}
