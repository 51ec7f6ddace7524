//! The planning rules, on facts built by hand.

use std::path::Path;

use super::*;
use crate::tasks::record::Limit;

fn config(extra: &str) -> Config {
    let text = format!(
        "accounts:\n  - {{name: a, home: ~/.a}}\n  - {{name: b, home: ~/.b}}\npool:\n  autonomous: {{prefix: p-, start_index: 11, min: 2, max: 3, workdir: ~/w}}\n  dedicated:\n    - {{name: ded, project: ~/d}}\n{extra}"
    );
    crate::config::parse(Path::new("/c.yaml"), &text, Path::new("/h")).unwrap()
}

fn pane(session: &str, command: &str, pid: u32) -> Pane {
    Pane {
        session: session.into(),
        pane_id: "%1".into(),
        pid,
        command: command.into(),
        cwd: "/h/w".into(),
        dead: false,
    }
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn cand(task: &str, priority: i64, queued: &str) -> Candidate {
    Candidate {
        task: task.into(),
        priority,
        queued_at: t(queued),
        account: None,
        claimed: false,
        resume: false,
        wait: None,
    }
}

fn accounts(available: &[&str]) -> Accounts {
    Accounts {
        active: "a".into(),
        available: available.iter().map(|s| (*s).to_string()).collect(),
    }
}

const NOW: &str = "2026-03-01T12:00:00Z";

fn launched(actions: &[Action]) -> Vec<(String, String, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Launch {
                task,
                session,
                create,
                ..
            } => Some((task.clone(), session.clone(), *create)),
            _ => None,
        })
        .collect()
}

#[test]
fn slots_are_the_configured_range_only_and_never_the_dedicated_or_manual_sessions() {
    let c = config("");
    let panes = [
        pane("p-11", "bash", 1),
        pane("p-12", "claude", 2),
        pane("ded", "bash", 3),
        pane("p-5", "bash", 4),
        pane("manual", "bash", 5),
    ];
    let slots = pool_slots(&c, &panes, &BTreeSet::new());
    assert_eq!(
        slots,
        vec![
            ("p-11".to_string(), Slot::Free),
            ("p-12".to_string(), Slot::Occupied),
            ("p-13".to_string(), Slot::Absent),
        ]
    );
    let tasked: BTreeSet<String> = ["p-11".to_string()].into();
    assert_eq!(pool_slots(&c, &panes, &tasked)[0].1, Slot::Task);
}

#[test]
fn tasks_start_by_priority_then_age_in_free_sessions_before_new_ones() {
    let c = config("");
    let panes = [pane("p-12", "-bash", 1)];
    let slots = pool_slots(&c, &panes, &BTreeSet::new());
    let cands = vec![
        cand("old-low.md", 0, "2026-01-01T00:00:00Z"),
        cand("new-high.md", 5, "2026-02-01T00:00:00Z"),
        cand("new-low.md", 0, "2026-02-01T00:00:00Z"),
    ];
    let p = place(cands, &slots, true, &accounts(&["a", "b"]), t(NOW));
    assert_eq!(
        launched(&p.actions),
        vec![
            ("new-high.md".into(), "p-12".into(), false),
            ("old-low.md".into(), "p-11".into(), true),
            ("new-low.md".into(), "p-13".into(), true),
        ]
    );
    assert_eq!(p.problem, None);
}

#[test]
fn tasks_that_find_no_session_wait_and_a_busy_pool_is_no_problem() {
    let c = config("");
    let tasked: BTreeSet<String> = ["p-11".to_string(), "p-12".to_string()].into();
    let panes = [
        pane("p-11", "ccf", 1),
        pane("p-12", "ccf", 2),
        pane("p-13", "vim", 3),
    ];
    let slots = pool_slots(&c, &panes, &tasked);
    let p = place(
        vec![cand("x.md", 0, NOW)],
        &slots,
        true,
        &accounts(&["a"]),
        t(NOW),
    );
    assert_eq!(
        p.actions,
        vec![Action::Wait {
            task: "x.md".into(),
            why: "no free pool session".into()
        }]
    );
    assert_eq!(p.problem, None);
}

#[test]
fn without_a_tmux_server_waiting_tasks_are_a_problem_worth_an_alert() {
    let c = config("");
    let slots = pool_slots(&c, &[], &BTreeSet::new());
    let p = place(
        vec![cand("x.md", 0, NOW)],
        &slots,
        false,
        &accounts(&["a"]),
        t(NOW),
    );
    assert!(launched(&p.actions).is_empty());
    assert!(p.problem.unwrap().contains("no tmux server"));
    let none = place(vec![], &slots, false, &accounts(&["a"]), t(NOW));
    assert_eq!(none.problem, None, "an empty queue is no problem");
    let occupied = [
        pane("p-11", "vim", 1),
        pane("p-12", "claude", 2),
        pane("p-13", "top", 3),
    ];
    let slots = pool_slots(&c, &occupied, &BTreeSet::new());
    let p = place(
        vec![cand("x.md", 0, NOW)],
        &slots,
        true,
        &accounts(&["a"]),
        t(NOW),
    );
    assert!(
        p.problem
            .unwrap()
            .contains("something other than a ccf task")
    );
}

#[test]
fn a_task_waits_for_its_account_and_a_limited_task_for_another_account_or_the_reset() {
    let c = config("");
    let slots = pool_slots(&c, &[], &BTreeSet::new());
    let mut pinned = cand("pinned.md", 0, NOW);
    pinned.account = Some("b".into());
    let mut limited = cand("limited.md", 0, NOW);
    limited.claimed = true;
    limited.resume = true;
    limited.wait = Some(Wait {
        reason: crate::tasks::record::WaitReason::Limit,
        account: Some("a".into()),
        until: Some(t("2026-03-01T13:00:00Z")),
    });
    let p = place(
        vec![pinned.clone(), limited.clone()],
        &slots,
        true,
        &accounts(&["a"]),
        t(NOW),
    );
    assert!(launched(&p.actions).is_empty(), "{:?}", p.actions);
    // After the reset, on the same account.
    let later = place(
        vec![limited.clone()],
        &slots,
        true,
        &accounts(&["a"]),
        t("2026-03-01T13:00:01Z"),
    );
    assert!(matches!(
        &later.actions[0],
        Action::Launch {
            resume: true,
            claimed: true,
            ..
        }
    ));
    // Before it, once another account is active.
    let other = Accounts {
        active: "b".into(),
        available: ["a".to_string(), "b".to_string()].into(),
    };
    let moved = place(vec![limited], &slots, true, &other, t(NOW));
    assert!(matches!(&moved.actions[0], Action::Launch { account, .. } if account == "b"));
}

fn record(session: Option<&str>) -> TaskRecord {
    TaskRecord {
        task: "t.md".into(),
        session_id: "sid".into(),
        account: "a".into(),
        pinned_account: None,
        config_dir: None,
        cwd: "/h/w".into(),
        model: None,
        priority: 0,
        queued_at: t(NOW),
        attempt: 1,
        retries: 1,
        timeout_secs: 3600,
        resume: false,
        session: session.map(String::from),
        launched_at: Some(t(NOW)),
        wait: None,
    }
}

fn result(outcome: Outcome) -> TaskResult {
    TaskResult {
        task: "t.md".into(),
        outcome,
        session_id: "sid".into(),
        account: "a".into(),
        attempt: 1,
        resumed: false,
        started_at: t(NOW),
        finished_at: t(NOW),
        duration_ms: 5,
        exit_code: Some(i32::from(outcome != Outcome::Success)),
        signal: None,
        subtype: None,
        is_error: outcome != Outcome::Success,
        result: Some("text".into()),
        limit: (outcome == Outcome::Limit).then(|| Limit {
            resets_at: Some(t("2026-03-01T15:00:00Z")),
            kind: Some("five_hour".into()),
        }),
        error: None,
        stderr_tail: vec![],
    }
}

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn the_wrappers_result_decides_done_failed_or_held() {
    let r = record(Some("p-11"));
    let p = pane("p-11", "bash", 7);
    let judged = |res: TaskResult| judge(&r, Some(&Ok(res)), Some(7), Some(&p), t(NOW), DAY);
    assert!(matches!(
        judged(result(Outcome::Success)),
        Standing::Act(Action::Finish { reason: None, .. })
    ));
    assert!(matches!(
        judged(result(Outcome::Failed)),
        Standing::Act(Action::Finish { reason: Some(r), .. }) if r == "claude exited 1: text"
    ));
    assert_eq!(
        judged(result(Outcome::Limit)),
        Standing::Act(Action::Hold {
            task: "t.md".into(),
            session: Some("p-11".into()),
            account: "a".into(),
            until: t("2026-03-01T15:00:00Z"),
        })
    );
    let mut stale = result(Outcome::Success);
    stale.attempt = 0;
    assert_eq!(
        judged(stale),
        Standing::Running,
        "an earlier attempt's result is ignored"
    );
}

#[test]
fn a_running_task_is_left_a_timed_out_one_killed_and_a_vanished_one_requeued() {
    let r = record(Some("p-11"));
    let wrapper = pane("p-11", "ccf", 7);
    let later = t("2026-03-01T12:10:00Z");
    assert_eq!(
        judge(&r, None, Some(7), Some(&wrapper), later, DAY),
        Standing::Running
    );
    let past = t("2026-03-01T13:00:00Z");
    assert!(matches!(
        judge(&r, None, Some(7), Some(&wrapper), past, DAY),
        Standing::Act(Action::Kill { retry: true, .. })
    ));
    let mut last = r.clone();
    last.attempt = 2;
    assert!(matches!(
        judge(&last, None, Some(7), Some(&wrapper), past, DAY),
        Standing::Act(Action::Kill { retry: false, .. })
    ));
    assert!(matches!(
        judge(&r, None, Some(7), None, later, DAY),
        Standing::Act(Action::Requeue { why, .. }) if why.contains("is gone")
    ));
    let respawned = pane("p-11", "claude", 99);
    assert!(matches!(
        judge(&r, None, Some(7), Some(&respawned), later, DAY),
        Standing::Act(Action::Requeue { why, .. }) if why.contains("no longer runs")
    ));
    // Just launched: the wrapper may not have written its pid yet.
    assert_eq!(
        judge(&r, None, None, Some(&respawned), t(NOW), DAY),
        Standing::Running
    );
    assert_eq!(
        judge(&record(None), None, None, None, t(NOW), DAY),
        Standing::Waiting
    );
}

#[test]
fn upkeep_fills_the_pool_to_min_recreates_dedicated_sessions_and_reports_strays() {
    let c = config("");
    let panes = [
        pane("p-12", "bash", 1),
        pane("p-5", "bash", 2),
        pane("p-14", "bash", 3),
    ];
    assert_eq!(
        upkeep(&c, &panes, true),
        vec![
            Action::CreatePool {
                session: "p-11".into()
            },
            Action::CreateDedicated {
                session: "ded".into(),
                project: "/h/d".into(),
                autostart: false
            },
            Action::Stray {
                session: "p-5".into()
            },
            Action::Stray {
                session: "p-14".into()
            },
        ]
    );
    let full = [
        pane("p-11", "bash", 1),
        pane("p-13", "bash", 2),
        pane("ded", "claude", 3),
    ];
    assert!(upkeep(&c, &full, true).is_empty(), "idempotent once at min");
    assert!(
        upkeep(&c, &[], false).is_empty(),
        "nothing is created without a server"
    );
}

#[test]
fn a_dedicated_session_starts_claude_without_its_parents_variables_and_with_a_new_id() {
    let c = config("claude:\n  command: /opt/claude\n  args: [--x]\n  env: {IS_SANDBOX: \"1\"}\n");
    let pinned = dedicated_launch(&c, Some(Path::new("/h/.b")), "sid", Path::new("/h/d"));
    assert_eq!(
        pinned.argv,
        [
            "env",
            "-u",
            "CLAUDECODE",
            "-u",
            "CLAUDE_CODE_ENTRYPOINT",
            "-u",
            "CLAUDE_CODE_SESSION_ID",
            "-u",
            "CLAUDE_CODE_SSE_PORT",
            "-u",
            "CLAUDE_CONFIG_DIR",
            "CLAUDE_CONFIG_DIR=/h/.b",
            "/opt/claude",
            "--x",
            "--session-id",
            "sid",
        ]
    );
    assert_eq!(pinned.cwd, Path::new("/h/d"));
    assert_eq!(pinned.env, [("IS_SANDBOX".to_string(), "1".to_string())]);
    // On the active account with the link managed: claude follows ~/.claude.
    let following = dedicated_launch(&c, None, "sid", Path::new("/h/d"));
    assert!(
        !following
            .argv
            .iter()
            .any(|a| a.starts_with("CLAUDE_CONFIG_DIR="))
    );
    assert_eq!(following.argv.len(), pinned.argv.len() - 1);
}
