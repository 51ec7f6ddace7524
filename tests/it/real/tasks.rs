//! Tasks with the real client: a dispatched task runs the real `claude -p` in a pool
//! session, and its result and session id are recorded; a task stopped by a usage limit
//! is held with the exact reset and goes on in its conversation after the swap.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::support::anthropic::{Mode, Window, epoch_now};
use crate::support::real::RealWorld;
use crate::support::wait_for;

fn queue(w: &RealWorld, rel: &str) -> PathBuf {
    w.sb.path("queue").join(rel)
}

fn add_task(w: &RealWorld, name: &str, text: &str) {
    std::fs::create_dir_all(queue(w, "inbox")).unwrap();
    std::fs::write(queue(w, &format!("inbox/{name}")), text).unwrap();
}

/// The result the wrapper wrote in `running/` once claude exited.
fn wait_result(w: &RealWorld, stem: &str) -> Value {
    let path = queue(w, &format!("running/{stem}.result.json"));
    wait_for(
        &format!("{}", path.display()),
        Duration::from_secs(60),
        || serde_json::from_slice(&std::fs::read(&path).ok()?).ok(),
    )
}

#[test]
fn a_dispatched_task_runs_the_real_claude_and_its_result_and_session_id_are_recorded() {
    let Some(w) = RealWorld::new() else { return };
    add_task(&w, "hello.md", "---\ntimeout: 10m\n---\nping tango\n");
    w.sb.ccf(&["dispatch"]).run();
    let result = wait_result(&w, "hello");
    let turn = w
        .api
        .wait_turn("the task's turn", Duration::from_secs(5), |r| {
            r.body.contains("ping tango")
        });
    assert_eq!(result["outcome"], "success", "{result}");
    assert_eq!(result["result"], "Stand-in reply: PING TANGO.", "{result}");
    assert_eq!(result["exit_code"], 0, "{result}");
    assert_eq!(result["account"], "compte1", "{result}");
    assert_eq!(turn.token.as_deref(), Some("tok-compte1"));
    assert_eq!(
        result["session_id"].as_str(),
        turn.session_id.as_deref(),
        "{result}"
    );
    w.sb.ccf(&["janitor"]).run();
    assert!(queue(&w, "done/hello.md").is_file());
    let done: Value =
        serde_json::from_slice(&std::fs::read(queue(&w, "done/hello.result.json")).unwrap())
            .unwrap();
    assert_eq!(done["session_id"], result["session_id"]);
}

#[test]
fn a_task_stopped_by_the_real_limit_is_held_and_resumed_on_the_next_account() {
    let Some(w) = RealWorld::new() else { return };
    let reset = epoch_now() + 3 * 3600 + 7;
    w.api.set_mode(
        &RealWorld::token("compte1"),
        Mode::UsageLimit {
            reset,
            window: Window::FiveHour,
        },
    );
    add_task(&w, "limited.md", "ping uniform\n");
    w.sb.ccf(&["dispatch"]).run();
    let result = wait_result(&w, "limited");
    assert_eq!(result["outcome"], "limit", "{result}");
    let exact = jiff::Timestamp::from_second(reset).unwrap().to_string();
    assert_eq!(result["limit"]["resets_at"], exact.as_str(), "{result}");
    assert_eq!(result["limit"]["type"], "five_hour", "{result}");
    w.sb.ccf(&["janitor"]).run();
    assert!(
        queue(&w, "running/limited.md").is_file(),
        "a limit never fails a task"
    );
    w.sb.ccf(&["check-quota", "--dry-run"])
        .stdout_has("[spool] on compte1: limit")
        .stdout_has(&format!("→ limit until {exact}"))
        .run();

    // The swap lets the held task go on, on compte2, in the same conversation.
    w.sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .run();
    w.sb.ccf(&["janitor"]).run();
    w.sb.ccf(&["dispatch"]).run();
    let path = queue(&w, "running/limited.result.json");
    let resumed: Value = wait_for("the resumed run's result", Duration::from_secs(60), || {
        let v: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        (v["outcome"] != "limit").then_some(v)
    });
    assert_eq!(resumed["outcome"], "success", "{resumed}");
    assert_eq!(resumed["account"], "compte2", "{resumed}");
    assert_eq!(resumed["session_id"], result["session_id"], "{resumed}");
    let turn = w
        .api
        .wait_turn("the task's turn on compte2", Duration::from_secs(5), |r| {
            r.token.as_deref() == Some("tok-compte2")
        });
    assert_eq!(turn.session_id.as_deref(), result["session_id"].as_str());
    assert!(
        turn.body.contains("ping uniform"),
        "the task's prompt is in the history"
    );
    w.sb.ccf(&["janitor"]).run();
    assert!(queue(&w, "done/limited.md").is_file());
}
