//! Tasks end to end: dispatch, the run-task wrapper in a real tmux pane with the fake
//! claude, janitor, and what status shows of the queue.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Sandbox, wait_for};

pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// A sandbox whose accounts are logged in, with the shared layout and `~/.claude`.
pub(crate) fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.hold_notifications();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    sb
}

pub(crate) fn q(sb: &Sandbox, rel: &str) -> PathBuf {
    sb.path("queue").join(rel)
}

/// Drops a task the way an operator should: a dot-file first, then a rename.
fn drop_task(sb: &Sandbox, name: &str, content: &[u8]) {
    let inbox = q(sb, "inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let tmp = inbox.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, inbox.join(name)).unwrap();
}

fn read_json(path: &PathBuf) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Waits until the wrapper has written the task's result.
pub(crate) fn wait_result(sb: &Sandbox, stem: &str) -> Value {
    let path = q(sb, &format!("running/{stem}.result.json"));
    wait_for(&format!("the result of {stem}"), WAIT, || {
        std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    })
}

/// Waits until the fake claude has been started `n` times.
pub(crate) fn wait_claude_runs(sb: &Sandbox, n: usize) -> Vec<Value> {
    wait_for(&format!("{n} claude run(s)"), WAIT, || {
        let log = sb.claude_log();
        (log.len() >= n).then_some(log)
    })
}

/// The kinds of the history's lines, in order.
fn history_kinds(sb: &Sandbox) -> Vec<String> {
    std::fs::read_to_string(sb.path("state/history.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn record(sb: &Sandbox, stem: &str) -> Value {
    read_json(&q(sb, &format!("running/{stem}.run.json")))
}

fn arg_after(entry: &Value, flag: &str) -> Option<String> {
    let argv: Vec<&str> = entry["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    argv.iter()
        .position(|a| *a == flag)
        .map(|i| argv[i + 1].to_string())
}

fn later(hours: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours);
    t.to_string()
}

#[test]
fn a_task_runs_once_in_its_project_on_the_active_account_in_a_pool_session_with_its_prompt_verbatim()
 {
    let sb = sandbox();
    std::fs::create_dir_all(sb.path("src/app")).unwrap();
    let prompt = "Fix the login page.\nThen run the tests.\n";
    drop_task(
        &sb,
        "fix-login.md",
        format!("---\nproject: ~/src/app\npriority: 3\n---\n{prompt}").as_bytes(),
    );
    let out = sb
        .ccf(&["dispatch"])
        .stdout_has("start fix-login.md in ccl-auto-11 (new session) on compte1")
        .run();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let rec = record(&sb, "fix-login");
    let result = wait_result(&sb, "fix-login");
    assert_eq!(result["outcome"], "success", "{result}");
    assert_eq!(result["result"], format!("reply to: {prompt}"));
    assert_eq!(result["session_id"], rec["session_id"]);
    let state = sb.state();
    assert_eq!(state["sessions"]["ccl-auto-11"]["task"], "fix-login.md");
    assert_eq!(
        state["sessions"]["ccl-auto-11"]["session_id"],
        rec["session_id"]
    );

    sb.ccf(&["janitor"])
        .stdout_has("finish fix-login.md (in ccl-auto-11): done")
        .run();
    assert!(q(&sb, "done/fix-login.md").exists());
    let done = read_json(&q(&sb, "done/fix-login.result.json"));
    assert_eq!(done["outcome"], "success");
    assert_eq!(history_kinds(&sb), ["task_done"]);
    assert!(sb.state()["sessions"].get("ccl-auto-11").is_none());
    // The pane stays, at a shell: free for the next task.
    wait_for("a shell in ccl-auto-11", WAIT, || {
        (sb.tmux.pane_command("ccl-auto-11") == "bash").then_some(())
    });

    let log = sb.claude_log();
    assert_eq!(log.len(), 1, "claude ran once: {log:?}");
    let run = &log[0];
    assert_eq!(run["prompt"], prompt);
    assert_eq!(run["cwd"], sb.path("src/app").display().to_string());
    assert_eq!(
        run["config_dir"],
        sb.path(".claude").display().to_string(),
        "the active account via ~/.claude, so the task follows a swap"
    );
    assert!(run["env"].get("CLAUDE_CONFIG_DIR").is_none());
    assert_eq!(
        arg_after(run, "--session-id").as_deref(),
        rec["session_id"].as_str()
    );
    assert_eq!(
        arg_after(run, "--output-format").as_deref(),
        Some("stream-json")
    );
    assert!(run["argv"].as_array().unwrap().iter().any(|a| a == "-p"));

    // Idempotent: nothing is left to do.
    sb.ccf(&["dispatch"]).stdout_lacks("start").run();
    sb.ccf(&["janitor"]).stdout_lacks("finish").run();
    assert_eq!(sb.claude_log().len(), 1);
}

#[test]
fn two_dispatch_runs_at_once_start_a_task_once() {
    let sb = sandbox();
    for i in 0..3 {
        drop_task(&sb, &format!("t{i}.md"), format!("task {i}").as_bytes());
    }
    let env = sb.env();
    let runs: Vec<std::process::Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    std::process::Command::new(env!("CARGO_BIN_EXE_ccf"))
                        .arg("dispatch")
                        .env_clear()
                        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                        .output()
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &runs {
        let code = r.status.code().unwrap();
        assert!(
            code == 0 || code == 75,
            "exit {code}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    // Whichever ran second (or a third, now) finds nothing left to start.
    sb.ccf(&["dispatch"]).stdout_lacks("start").run();
    for i in 0..3 {
        wait_for(&format!("t{i} to end"), WAIT, || {
            (q(&sb, &format!("running/t{i}.result.json")).exists()
                || q(&sb, &format!("done/t{i}.md")).exists())
            .then_some(())
        });
    }
    sb.ccf(&["janitor"]).run();
    assert_eq!(std::fs::read_dir(q(&sb, "done")).unwrap().count(), 6);
    let log = wait_claude_runs(&sb, 3);
    let mut prompts: Vec<&str> = log.iter().map(|e| e["prompt"].as_str().unwrap()).collect();
    prompts.sort_unstable();
    assert_eq!(
        prompts,
        ["task 0", "task 1", "task 2"],
        "each task started once"
    );
}

#[test]
fn a_hostile_prompt_and_name_reach_claude_byte_for_byte_and_execute_nothing() {
    let sb = sandbox();
    let prompt = "--help\n$(touch ~/pwned-subst) `touch ~/pwned-tick`; touch ~/pwned-semi\n\
                  'single' \"double\" \\ Enter C-c \r\n-- ; \u{7}end";
    let name = "-odd $(touch ~x) ; name.md";
    drop_task(&sb, name, prompt.as_bytes());
    sb.ccf(&["dispatch"]).run();
    wait_result(&sb, "-odd $(touch ~x) ; name");
    let log = sb.claude_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["prompt"], prompt, "the prompt arrives verbatim");
    assert!(
        !log[0]["argv"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("touch")),
        "the prompt is never on a command line"
    );
    sb.ccf(&["janitor"]).run();
    assert!(q(&sb, &format!("done/{name}")).exists());
    for f in ["pwned-subst", "pwned-tick", "pwned-semi", "x"] {
        assert!(
            !sb.path(f).exists(),
            "{f} was created: a shell read the task"
        );
    }
    assert!(!sb.path("work/x").exists() && !sb.path("work/pwned-semi").exists());
}

#[test]
fn malformed_tasks_land_in_failed_with_a_reason_and_never_reach_claude() {
    let sb = sandbox();
    let cases: &[(&str, Vec<u8>, &str)] = &[
        (
            "unknown-key.md",
            b"---\nprojet: ~/work\n---\nhi".to_vec(),
            "unknown field `projet`",
        ),
        (
            "bad-yaml.md",
            b"---\npriority: [\n---\nhi".to_vec(),
            "front matter",
        ),
        (
            "no-project.md",
            b"---\nproject: ~/nowhere\n---\nhi".to_vec(),
            "is not a directory",
        ),
        ("not-utf8.md", b"\xff\xfe\x00hi".to_vec(), "not UTF-8"),
        ("huge.md", vec![b'a'; (1 << 20) + 1], "1 MiB"),
        (
            "bad-account.md",
            b"---\naccount: nobody\n---\nhi".to_vec(),
            "account nobody is not configured",
        ),
    ];
    for (name, bytes, _) in cases {
        drop_task(&sb, name, bytes);
    }
    drop_task(&sb, "good.md", b"fine");
    sb.ccf(&["dispatch"]).stderr_has("can never run").run();
    for (name, _, why) in cases {
        assert!(
            q(&sb, &format!("failed/{name}")).exists(),
            "{name} not in failed/"
        );
        let stem = name.strip_suffix(".md").unwrap();
        let reason = std::fs::read_to_string(q(&sb, &format!("failed/{stem}.reason"))).unwrap();
        assert!(reason.contains(why), "{name}: {reason}");
    }
    wait_result(&sb, "good");
    let log = sb.claude_log();
    assert_eq!(log.len(), 1, "only the good task ran: {log:?}");
    assert_eq!(log[0]["prompt"], "fine");
    let outbox = sb.outbox().len();
    assert_eq!(outbox, cases.len(), "one task_failed notification each");
}

#[test]
fn a_timed_out_task_is_killed_and_failed() {
    let sb = sandbox();
    sb.set_mode("compte1", "sleep 600");
    drop_task(&sb, "slow.md", b"---\ntimeout: 1h\n---\ntake your time");
    sb.ccf(&["dispatch"]).run();
    let pid = wait_claude_runs(&sb, 1)[0]["pid"].as_u64().unwrap();
    // The wrapper has started when its pid is recorded.
    wait_for("the wrapper's pid", WAIT, || {
        q(&sb, "running/slow.pid").exists().then_some(())
    });
    sb.ccf(&["janitor"]).stdout_lacks("kill").run();
    sb.ccf(&["janitor"])
        .env("CCF_NOW", &later(2))
        .stdout_has("kill slow.md in ccl-auto-11: timed out after 1h; fail it")
        .run();
    assert!(q(&sb, "failed/slow.md").exists());
    let reason = std::fs::read_to_string(q(&sb, "failed/slow.reason")).unwrap();
    assert!(reason.contains("timed out after 1h"), "{reason}");
    wait_for("the killed claude to exit", WAIT, || {
        (!PathBuf::from(format!("/proc/{pid}")).exists()).then_some(())
    });
    wait_for("a shell in ccl-auto-11", WAIT, || {
        (sb.tmux.pane_command("ccl-auto-11") == "bash").then_some(())
    });
    let events: Vec<Value> = sb.outbox();
    assert!(
        events
            .iter()
            .any(|e| e["event"]["kind"] == "task_timed_out"),
        "{events:?}"
    );
    assert!(history_kinds(&sb).contains(&"task_timed_out".to_string()));
}

#[test]
fn a_timed_out_task_with_retries_left_starts_again_with_a_new_session_id() {
    let sb = sandbox();
    sb.set_mode("compte1", "sleep 600");
    drop_task(&sb, "flaky.md", b"---\ntimeout: 1h\nretries: 1\n---\ntry");
    sb.ccf(&["dispatch"]).run();
    let first = wait_claude_runs(&sb, 1)[0].clone();
    wait_for("the wrapper's pid", WAIT, || {
        q(&sb, "running/flaky.pid").exists().then_some(())
    });
    sb.ccf(&["janitor"])
        .env("CCF_NOW", &later(2))
        .stdout_has("retry it")
        .stdout_has("start flaky.md in ccl-auto-")
        .run();
    let second = wait_claude_runs(&sb, 2)[1].clone();
    assert_ne!(
        arg_after(&first, "--session-id"),
        arg_after(&second, "--session-id")
    );
    assert_eq!(record(&sb, "flaky")["attempt"], 2);
}

#[test]
fn a_task_whose_session_was_killed_is_requeued() {
    let sb = sandbox();
    sb.set_mode("compte1", "sleep 600");
    drop_task(&sb, "lost.md", b"do something long");
    sb.ccf(&["dispatch"]).run();
    wait_claude_runs(&sb, 1);
    sb.tmux.ok(["kill-session", "-t", "=ccl-auto-11"]);
    sb.ccf(&["janitor"])
        .stdout_has("requeue lost.md (in ccl-auto-11): its tmux session ccl-auto-11 is gone")
        .run();
    assert!(q(&sb, "inbox/lost.md").exists());
    assert!(!q(&sb, "running/lost.md").exists() && !q(&sb, "running/lost.run.json").exists());
    assert!(sb.state()["sessions"].get("ccl-auto-11").is_none());
    // And the next dispatch starts it again.
    sb.ccf(&["dispatch"]).stdout_has("start lost.md").run();
    wait_claude_runs(&sb, 2);
}

#[test]
fn the_dedicated_and_manual_sessions_never_receive_a_task() {
    let sb = sandbox();
    // A one-session pool, occupied by the operator's own program.
    let cfg = sb
        .default_config()
        .replace("max: 10", "max: 1")
        .replace("min: 2", "min: 1");
    sb.write_config(&cfg);
    sb.hold_notifications();
    sb.tmux
        .new_session("ccl-auto-11", &sb.home, &["sleep", "600"]);
    sb.tmux.new_session("ccl-1-proj", &sb.path("proj"), &[]);
    drop_task(&sb, "t.md", b"hello");
    sb.ccf(&["dispatch"])
        .stderr_has(
            "1 task waits and every pool session (ccl-auto-11 … ccl-auto-11) runs something other than a ccf task",
        )
        .run();
    assert!(q(&sb, "inbox/t.md").exists(), "the task waits in the inbox");
    assert!(sb.claude_log().is_empty());
    assert_eq!(sb.tmux.pane_command("ccl-1-proj"), "bash");
    assert_eq!(sb.tmux.pane_command("ccl-auto-11"), "sleep");
    assert_eq!(sb.tmux.pane_command("keepalive"), "bash");
    let status = sb.ccf(&["status", "--json"]).run().json();
    assert!(
        status["queue"]["problem"]
            .as_str()
            .unwrap()
            .contains("something other than a ccf task"),
        "{status}"
    );
    // Alerted once, not on every run.
    sb.ccf(&["dispatch"]).stderr_has("the queue is stuck").run();
    let alerts: Vec<Value> = sb
        .outbox()
        .into_iter()
        .filter(|e| e["event"]["kind"] == "pool_empty")
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
}

#[test]
fn without_a_tmux_server_dispatch_says_so_and_the_task_waits() {
    let sb = sandbox();
    sb.tmux.ok(["kill-server"]);
    drop_task(&sb, "t.md", b"hello");
    sb.ccf(&["dispatch"])
        .stderr_has("no tmux server is running")
        .run();
    assert!(q(&sb, "inbox/t.md").exists());
    let status = sb.ccf(&["status", "--json"]).run().json();
    assert!(
        status["queue"]["problem"]
            .as_str()
            .unwrap()
            .contains("no tmux server")
    );
    let human = sb.ccf(&["status"]).run().stdout;
    assert!(human.contains("no tmux server"), "{human}");
}

#[test]
fn janitor_refills_the_pool_to_min_recreates_the_dedicated_session_and_reports_strays() {
    let sb = sandbox();
    sb.tmux.new_session("ccl-auto-5", &sb.home, &[]);
    sb.ccf(&["janitor", "--dry-run"])
        .stdout_has("would create pool session ccl-auto-11")
        .run();
    assert!(
        !sb.tmux.has_session("ccl-auto-11"),
        "a dry run changes nothing"
    );
    sb.ccf(&["janitor"])
        .stdout_has("create pool session ccl-auto-11")
        .stdout_has("create pool session ccl-auto-12")
        .stdout_has("create dedicated session ccl-1-proj in")
        .stderr_has("ccl-auto-5 has the pool prefix but lies outside [11, 21)")
        .run();
    for s in ["ccl-auto-11", "ccl-auto-12"] {
        assert_eq!(
            sb.tmux.pane(s, "#{pane_current_path}"),
            sb.path("work").display().to_string()
        );
    }
    assert!(!sb.tmux.has_session("ccl-auto-13"));
    assert_eq!(
        sb.tmux.pane("ccl-1-proj", "#{pane_current_path}"),
        sb.path("proj").display().to_string()
    );
    assert_eq!(
        sb.tmux.pane_command("ccl-1-proj"),
        "bash",
        "no claude without autostart"
    );
    assert!(sb.tmux.has_session("ccl-auto-5"), "a stray is left alone");
    sb.ccf(&["janitor"])
        .stdout_lacks("create")
        .stderr_has("ccl-auto-5 has the pool prefix but lies outside [11, 21)")
        .run();
    assert!(sb.claude_log().is_empty());
}

#[test]
fn a_dedicated_session_with_autostart_comes_back_running_claude() {
    let sb = sandbox();
    let cfg = sb.default_config().replace(
        "{name: ccl-1-proj, project: ~/proj}",
        "{name: ccl-1-proj, project: ~/proj, autostart: true}",
    );
    sb.write_config(&cfg);
    sb.ccf(&["janitor"])
        .stdout_has("create dedicated session ccl-1-proj")
        .run();
    let run = wait_claude_runs(&sb, 1)[0].clone();
    assert_eq!(run["cwd"], sb.path("proj").display().to_string());
    let id = arg_after(&run, "--session-id").unwrap();
    assert_eq!(
        sb.state()["sessions"]["ccl-1-proj"]["session_id"],
        id.as_str()
    );
    assert_eq!(sb.state()["sessions"]["ccl-1-proj"]["kind"], "dedicated");
}

#[test]
fn a_task_stopped_by_a_usage_limit_is_held_then_resumed_with_its_id_on_the_next_account() {
    let sb = sandbox();
    let reset = jiff::Timestamp::now().as_second() + 3 * 3600;
    sb.set_mode("compte1", &format!("limit {reset}"));
    drop_task(&sb, "big.md", b"a big job");
    sb.ccf(&["dispatch"]).run();
    let result = wait_result(&sb, "big");
    assert_eq!(result["outcome"], "limit", "{result}");
    assert_eq!(result["limit"]["type"], "five_hour");
    let id = record(&sb, "big")["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    // check-quota hears of it through the spool.
    let spool: Vec<Value> = std::fs::read_dir(sb.path("state/spool"))
        .unwrap()
        .map(|e| read_json(&e.unwrap().path()))
        .collect();
    assert_eq!(spool.len(), 1);
    assert_eq!(spool[0]["event"], "stop_failure");
    assert_eq!(spool[0]["error"], "rate_limit");
    assert_eq!(spool[0]["resets_at"], reset);
    assert_eq!(spool[0]["session_id"], id.as_str());

    sb.ccf(&["janitor"])
        .stdout_has("hold big.md (in ccl-auto-11): usage limit on compte1")
        .stdout_lacks("resume big.md in")
        .run();
    assert!(q(&sb, "running/big.md").exists(), "not failed");
    assert!(!q(&sb, "failed/big.md").exists());
    sb.ccf(&["janitor"]).stdout_lacks("resume big.md in").run();
    sb.ccf(&["dispatch"]).stdout_lacks("resume big.md in").run();
    assert_eq!(sb.claude_log().len(), 1);

    // A failover moves to compte2 (done here by hand: the link and the state).
    let link = sb.path(".claude");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(sb.account_home("compte2"), &link).unwrap();
    let mut state = sb.state();
    state["active_account"] = "compte2".into();
    std::fs::write(sb.state_file(), state.to_string()).unwrap();

    sb.ccf(&["janitor"])
        .stdout_has("resume big.md in ccl-auto-11 on compte2")
        .run();
    let result = wait_result(&sb, "big");
    assert_eq!(result["outcome"], "success", "{result}");
    assert_eq!(result["resumed"], true);
    let log = sb.claude_log();
    assert_eq!(log.len(), 2);
    assert_eq!(arg_after(&log[1], "--resume").as_deref(), Some(id.as_str()));
    assert!(log[1]["env"].get("CLAUDE_CONFIG_DIR").is_none());
    assert_eq!(
        log[1]["cwd"], log[0]["cwd"],
        "resumed from the same directory"
    );
    sb.ccf(&["janitor"])
        .stdout_has("finish big.md (in ccl-auto-11): done")
        .run();
    assert!(q(&sb, "done/big.md").exists());
}

#[test]
fn a_limited_task_resumes_on_the_same_account_once_its_reset_has_passed() {
    let sb = sandbox();
    let reset = jiff::Timestamp::now().as_second() + 3600;
    sb.set_mode("compte1", &format!("limit {reset}"));
    drop_task(&sb, "t.md", b"job");
    sb.ccf(&["dispatch"]).run();
    wait_result(&sb, "t");
    sb.ccf(&["janitor"]).stdout_has("hold t.md").run();
    sb.set_mode("compte1", "normal");
    sb.ccf(&["janitor"])
        .env("CCF_NOW", &later(2))
        .stdout_has("resume t.md in ccl-auto-11 on compte1")
        .run();
    assert_eq!(wait_result(&sb, "t")["outcome"], "success");
}

#[test]
fn run_task_on_a_task_that_does_not_exist_says_so_once() {
    let sb = sandbox();
    std::fs::create_dir_all(q(&sb, "running")).unwrap();
    sb.ccf(&["run-task", "nope.md"])
        .code(1)
        .stderr_is(&format!(
            "error: task nope.md has no record {}\n",
            q(&sb, "running/nope.run.json").display()
        ))
        .run();
    sb.ccf(&["run-task", "../x"])
        .code(1)
        .stderr_is("error: \"../x\" is not a task file name in running/ (like fix-login.md)\n")
        .run();
}

#[test]
fn status_says_how_long_the_oldest_task_has_waited_in_days_and_hours() {
    let sb = Sandbox::new();
    drop_task(&sb, "w.md", b"later");
    let queued: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    std::fs::File::options()
        .write(true)
        .open(q(&sb, "inbox/w.md"))
        .unwrap()
        .set_modified(std::time::SystemTime::from(queued))
        .unwrap();
    sb.ccf(&["status"])
        .env("CCF_NOW", "2026-01-04T10:00:00Z")
        .stdout_has("  oldest waiting: w.md for 3d 10h\n")
        .run();
}

#[test]
fn status_shows_the_queue_and_janitor_prunes_old_finished_tasks() {
    let sb = sandbox();
    sb.set_mode("compte1", "sleep 600");
    drop_task(&sb, "run.md", b"long");
    sb.ccf(&["dispatch"]).run();
    wait_claude_runs(&sb, 1);
    drop_task(&sb, "zwait.md", b"---\naccount: compte2\n---\nlater");
    std::fs::create_dir_all(q(&sb, "done")).unwrap();
    std::fs::write(q(&sb, "done/old.md"), "x").unwrap();
    std::fs::write(q(&sb, "done/old.result.json"), "{}").unwrap();
    let status = sb.ccf(&["status", "--json"]).run().json();
    let queue = &status["queue"];
    assert_eq!(queue["running"][0]["task"], "run.md", "{status}");
    assert_eq!(queue["running"][0]["session"], "ccl-auto-11");
    assert_eq!(queue["oldest_waiting"]["task"], "zwait.md");
    assert_eq!(status["tasks"]["inbox"], 1);
    let human = sb.ccf(&["status"]).run().stdout;
    assert!(
        human.contains("run.md") && human.contains("ccl-auto-11"),
        "{human}"
    );
    assert!(human.contains("oldest waiting: zwait.md"), "{human}");

    sb.ccf(&["janitor", "--dry-run"])
        .env("CCF_NOW", &later(24 * 8))
        .stdout_has("would prune")
        .run();
    assert!(q(&sb, "done/old.md").exists());
    sb.ccf(&["janitor"])
        .env("CCF_NOW", &later(24 * 8))
        .stdout_has(&format!("prune {}", q(&sb, "done/old.md").display()))
        .run();
    assert!(!q(&sb, "done/old.md").exists() && !q(&sb, "done/old.result.json").exists());
}

/// A symlink in the queue is never followed (its target's content would become a
/// prompt, finishing would touch the target), and a FIFO is never opened (dispatch would
/// hang under the lock): both are rejected into failed/ with the reason.
#[test]
fn a_symlink_or_a_fifo_in_the_inbox_is_rejected_without_being_followed() {
    let sb = sandbox();
    let outside = sb.path("outside.txt");
    std::fs::write(&outside, "---\nproject: ~/work\n---\nread my secrets\n").unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&outside)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let inbox = q(&sb, "inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::os::unix::fs::symlink(&outside, inbox.join("link.md")).unwrap();
    let fifo = inbox.join("pipe.md");
    crate::support::mkfifo(&fifo);
    sb.ccf(&["dispatch"])
        .stdout_has("reject link.md")
        .stdout_has("reject pipe.md")
        .stderr_has("warning: task link.md can never run: it is a symbolic link")
        .stderr_has("warning: task pipe.md can never run: it is not a regular file")
        .run();
    assert!(sb.claude_log().is_empty(), "{:?}", sb.claude_log());
    let moved = q(&sb, "failed/link.md");
    assert!(moved.symlink_metadata().unwrap().file_type().is_symlink());
    let reason = std::fs::read_to_string(q(&sb, "failed/link.reason")).unwrap();
    assert!(reason.contains("symbolic link"), "{reason}");
    let reason = std::fs::read_to_string(q(&sb, "failed/pipe.reason")).unwrap();
    assert!(reason.contains("not a regular file"), "{reason}");
    assert_eq!(
        std::fs::metadata(&outside).unwrap().modified().unwrap(),
        old
    );
    assert!(
        std::fs::read_to_string(&outside)
            .unwrap()
            .contains("read my secrets")
    );
}

/// Settling a task is crash-safe: a janitor killed at any step of moving a finished
/// task to done/ leaves nothing the next janitor cannot finish — the task is done once,
/// with its result, never timed out or run again, and no orphan is left.
#[test]
fn a_janitor_killed_at_any_step_of_settling_a_task_leaves_it_done_once() {
    let sb = sandbox();
    for (i, point) in ["settle-reason", "settle-result", "settle-task"]
        .iter()
        .enumerate()
    {
        let name = format!("t{i}.md");
        drop_task(&sb, &name, b"---\nproject: ~/work\n---\nsay hi\n");
        sb.ccf(&["dispatch"]).run();
        let stem = format!("t{i}");
        let result = wait_result(&sb, &stem);
        assert_eq!(result["outcome"], "success");
        let runs = sb.claude_log().len();
        sb.ccf(&["janitor"]).env("CCF_FAULT", point).code(-1).run();
        sb.ccf(&["janitor"]).run();
        sb.ccf(&["janitor"]).run();
        let done: Vec<String> = std::fs::read_dir(q(&sb, "done"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&stem))
            .collect();
        let mut done = done;
        done.sort();
        assert_eq!(
            done,
            [format!("{stem}.md"), format!("{stem}.result.json")],
            "after a kill at {point}"
        );
        let settled = read_json(&q(&sb, &format!("done/{stem}.result.json")));
        assert_eq!(settled["outcome"], "success", "{point}");
        let left: Vec<String> = std::fs::read_dir(q(&sb, "running"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&stem))
            .collect();
        assert!(left.is_empty(), "{point}: {left:?}");
        assert_eq!(sb.claude_log().len(), runs, "{point}: ran again");
    }
}
