//! `ccf task add|list|cancel|retry` through the binary: tasks queued whole in one step
//! (watched with inotify, as the path unit watches), refused with nothing written when
//! dispatch would reject them, listed across the four directories, a running one
//! cancelled in its real tmux pane with the fake claude, and a failed one retried.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::{Sandbox, wait_for};
use crate::tasks::{WAIT, q, sandbox, wait_claude_runs, wait_result};

/// The names in a queue directory (or the queue's root), sorted; none when it is missing.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Records every inotify event in a directory with the mask systemd's `PathChanged=`
/// watches, until a file named `.end` appears there.
struct Watch {
    child: Child,
    dir: PathBuf,
}

const WATCHER: &str = r#"
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
# IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
mask = 0x4 | 0x8 | 0x100 | 0x200 | 0x40 | 0x80
assert libc.inotify_add_watch(fd, sys.argv[1].encode(), mask) >= 0
names = {0x4: "attrib", 0x8: "close_write", 0x100: "create", 0x200: "delete", 0x40: "moved_from", 0x80: "moved_to"}
print("ready", flush=True)
while True:
    buf = os.read(fd, 65536)
    at = 0
    while at < len(buf):
        wd, m, cookie, n = struct.unpack_from("iIII", buf, at)
        name = buf[at + 16 : at + 16 + n].rstrip(b"\0").decode()
        at += 16 + n
        if name == ".end":
            sys.exit(0)
        kinds = [v for k, v in names.items() if m & k]
        print(" ".join(kinds) + " " + name, flush=True)
"#;

impl Watch {
    fn start(dir: &Path) -> Watch {
        use std::io::BufRead as _;
        let mut child = Command::new("python3")
            .args(["-c", WATCHER])
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        Watch {
            child,
            dir: dir.to_path_buf(),
        }
    }

    /// The events seen, one `kinds name` line each.
    fn events(self) -> Vec<String> {
        std::fs::write(self.dir.join(".end"), "").unwrap();
        let out = self.child.wait_with_output().unwrap();
        std::fs::remove_file(self.dir.join(".end")).unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }
}

#[test]
fn a_task_added_from_a_file_reaches_the_inbox_whole_in_one_event_with_its_options_and_runs() {
    let sb = sandbox();
    std::fs::create_dir_all(sb.path("src/app")).unwrap();
    std::fs::create_dir_all(q(&sb, "inbox")).unwrap();
    let file = sb.path("fix-login.md");
    std::fs::write(
        &file,
        "---\nretries: 0\npriority: 1\n---\nFix the login page.\nThen run the tests.\n",
    )
    .unwrap();
    let watch = Watch::start(&q(&sb, "inbox"));
    sb.ccf(&[
        "task",
        "add",
        "--project",
        "src/app",
        "--priority",
        "5",
        "--timeout",
        "45m",
        file.to_str().unwrap(),
    ])
    .current_dir(&sb.home)
    .stdout_has(&format!(
        "queued fix-login.md (priority 5, timeout 45m, in {}) as {}",
        sb.path("src/app").display(),
        q(&sb, "inbox/fix-login.md").display()
    ))
    .run();
    assert_eq!(
        watch.events(),
        ["moved_to fix-login.md"],
        "the path unit sees one complete file arrive"
    );
    assert_eq!(names(&q(&sb, "inbox")), ["fix-login.md"]);
    assert_eq!(
        names(&q(&sb, "")),
        ["done", "failed", "inbox", "running"],
        "no temp file is left"
    );
    assert_eq!(
        std::fs::read_to_string(q(&sb, "inbox/fix-login.md")).unwrap(),
        format!(
            "---\nretries: 0\npriority: 5\nproject: {}\ntimeout: 45m\n---\nFix the login page.\nThen run the tests.\n",
            sb.path("src/app").display()
        ),
        "the file's own keys kept, the options set, the prompt verbatim"
    );

    sb.ccf(&["dispatch"])
        .stdout_has("start fix-login.md in ccl-auto-11")
        .run();
    assert_eq!(wait_result(&sb, "fix-login")["outcome"], "success");
    let run = &sb.claude_log()[0];
    assert_eq!(run["prompt"], "Fix the login page.\nThen run the tests.\n");
    assert_eq!(run["cwd"], sb.path("src/app").display().to_string());
    let record: Value =
        serde_json::from_slice(&std::fs::read(q(&sb, "running/fix-login.run.json")).unwrap())
            .unwrap();
    assert_eq!(record["timeout_secs"], 45 * 60);
    assert_eq!(record["priority"], 5);
}

#[test]
fn a_task_from_stdin_is_queued_as_given_and_named_by_its_prompt_unless_named() {
    let sb = sandbox();
    let prompt = "Write the docs for `ccf task`.\n---\nnot front matter\n";
    sb.ccf(&["task", "add"])
        .stdin(prompt)
        .stdout_has("queued write-the-docs-for-ccf-task.md (priority 0, timeout 2h")
        .run();
    sb.ccf(&["task", "add", "-"])
        .stdin(prompt)
        .stdout_has("queued write-the-docs-for-ccf-task-2.md")
        .run();
    sb.ccf(&["task", "add", "--name", "docs", "-"])
        .stdin(prompt)
        .stdout_has("queued docs.md")
        .run();
    assert_eq!(
        names(&q(&sb, "inbox")),
        [
            "docs.md",
            "write-the-docs-for-ccf-task-2.md",
            "write-the-docs-for-ccf-task.md"
        ]
    );
    for n in names(&q(&sb, "inbox")) {
        assert_eq!(
            std::fs::read_to_string(q(&sb, &format!("inbox/{n}"))).unwrap(),
            prompt,
            "no option given: the bytes as given"
        );
    }
    assert!(
        !names(&q(&sb, "")).iter().any(|n| n.starts_with('.')),
        "no temp file is left"
    );
    sb.ccf(&["dispatch"])
        .stdout_has("start docs.md in ccl-auto-")
        .run();
    let log = wait_claude_runs(&sb, 3);
    assert!(log.iter().all(|r| r["prompt"] == prompt), "{log:?}");
}

#[test]
fn a_task_dispatch_would_reject_is_refused_with_its_reason_and_nothing_is_written() {
    let sb = sandbox();
    let file = sb.path("t.md");
    let refused = |content: &str, args: &[&str], code: i32, why: &str| {
        std::fs::write(&file, content).unwrap();
        let mut argv = vec!["task", "add"];
        argv.extend_from_slice(args);
        argv.push(file.to_str().unwrap());
        sb.ccf(&argv).code(code).stderr_has(why).run();
        assert!(
            names(&q(&sb, "inbox")).is_empty(),
            "{why}: {:?}",
            names(&q(&sb, "inbox"))
        );
        assert!(
            !names(&q(&sb, "")).iter().any(|n| n.starts_with('.')),
            "{why}: a temp file is left"
        );
    };
    let nothing = "; nothing was queued";
    refused(
        "---\nprojet: ~/work\n---\nhi",
        &[],
        1,
        "cannot run: front matter: unknown field `projet`",
    );
    refused(
        "---\npriority: high\n---\nhi",
        &[],
        1,
        "priority: invalid type",
    );
    refused(
        "---\ntimeout: soon\n---\nhi",
        &[],
        1,
        "invalid duration \"soon\"",
    );
    refused(
        "---\n---\n  \n",
        &[],
        1,
        &format!("the prompt is empty{nothing}"),
    );
    refused(
        "---\naccount: nobody\n---\nhi",
        &[],
        1,
        "account nobody is not configured",
    );
    refused(
        "hi",
        &["--project", "/nowhere/at/all"],
        1,
        &format!("project /nowhere/at/all is not a directory{nothing}"),
    );
    refused(
        "---\nprojet: ~/work\n---\nhi",
        &["--priority", "3"],
        1,
        "unknown field `projet`",
    );
    refused(
        "hi",
        &["--priority", "high"],
        2,
        "invalid value 'high' for '--priority <N>'",
    );
    refused("hi", &["--timeout", "soon"], 2, "invalid duration \"soon\"");
    refused(
        "hi",
        &["--timeout", "0s"],
        2,
        "a task needs more than 0s to run",
    );
    refused("hi", &["--name", "../escape"], 1, "cannot name a task");
    sb.ccf(&["task", "add"])
        .stdin(vec![b'a'; (1 << 20) + 1])
        .code(1)
        .stderr_has(
            "the task on stdin is over the limit of 1048576 bytes (1 MiB); nothing was queued",
        )
        .run();
    sb.ccf(&["task", "add", "/nowhere/t.md"])
        .code(1)
        .stderr_has("failed to open /nowhere/t.md")
        .run();
    assert!(names(&q(&sb, "inbox")).is_empty());
}

#[test]
fn a_name_any_queue_directory_holds_is_refused_and_the_task_there_is_untouched() {
    let sb = sandbox();
    let file = sb.path("t.md");
    std::fs::write(&file, "new").unwrap();
    std::fs::create_dir_all(q(&sb, "done")).unwrap();
    std::fs::write(q(&sb, "done/t.md"), "old").unwrap();
    sb.ccf(&["task", "add", file.to_str().unwrap()])
        .code(1)
        .stderr_has(&format!(
            "a task named t.md is in done/ already ({}); choose another with --name",
            q(&sb, "done/t.md").display()
        ))
        .run();
    sb.ccf(&["task", "add", "--name", "t", "-"])
        .stdin("new")
        .code(1)
        .stderr_has("a task named t.md is in done/ already")
        .run();
    assert!(names(&q(&sb, "inbox")).is_empty());
    assert_eq!(std::fs::read_to_string(q(&sb, "done/t.md")).unwrap(), "old");
    sb.ccf(&[
        "task",
        "add",
        "--name",
        "t2",
        "--dry-run",
        file.to_str().unwrap(),
    ])
    .stdout_has("would queue t2.md (priority 0")
    .run();
    assert!(
        names(&q(&sb, "inbox")).is_empty(),
        "a dry run writes nothing"
    );
}

/// done/: a task that ran; failed/: one whose claude failed, one cancelled from the
/// inbox; running/: one that runs; inbox: one waiting and one dispatch would reject.
fn a_task_in_every_directory(sb: &Sandbox) {
    sb.ccf(&["task", "add", "--name", "ok"])
        .stdin("say ok")
        .run();
    sb.ccf(&["dispatch"]).run();
    wait_result(sb, "ok");
    sb.set_mode("compte1", "500");
    sb.ccf(&["task", "add", "--name", "broken"])
        .stdin("fail please")
        .run();
    sb.ccf(&["dispatch"])
        .stdout_has("finish ok.md (in ccl-auto-11): done")
        .run();
    wait_result(sb, "broken");
    sb.ccf(&["janitor"]).stdout_has("finish broken.md").run();
    sb.ccf(&["task", "add", "--name", "dropped"])
        .stdin("never mind")
        .run();
    sb.ccf(&["task", "cancel", "dropped"]).run();
    sb.set_mode("compte1", "sleep 600");
    sb.ccf(&["task", "add", "--name", "long"])
        .stdin("take your time")
        .run();
    sb.ccf(&["dispatch"]).stdout_has("start long.md").run();
    wait_claude_runs(sb, 3);
    sb.ccf(&["task", "add", "--name", "next", "--priority", "2"])
        .stdin("later")
        .run();
    std::fs::write(q(sb, "inbox/bad.md"), "---\nprojet: x\n---\nhi").unwrap();
}

#[test]
fn the_list_shows_every_directory_for_people_and_as_json() {
    let sb = sandbox();
    a_task_in_every_directory(&sb);
    let list = sb.ccf(&["task", "list", "--json"]).run().json();
    let by_name = |n: &str| -> &Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == n)
            .unwrap_or_else(|| panic!("{n} not listed: {list:#}"))
    };
    let order: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "next.md",
            "bad.md",
            "long.md",
            "ok.md",
            "broken.md",
            "dropped.md"
        ],
        "{list:#}"
    );
    assert_eq!(by_name("next.md")["queue"], "inbox");
    assert_eq!(by_name("next.md")["state"], "queued");
    assert_eq!(by_name("next.md")["priority"], 2);
    assert!(by_name("next.md")["age_secs"].is_i64());
    assert!(
        by_name("bad.md")["summary"]
            .as_str()
            .unwrap()
            .contains("unknown field `projet`")
    );
    let long = by_name("long.md");
    assert_eq!(long["queue"], "running");
    assert_eq!(long["state"], "running");
    assert!(long["session"].as_str().unwrap().starts_with("ccl-auto-"));
    assert_eq!(long["account"], "compte1");
    assert_eq!(long["attempt"], 1);
    assert!(long["age_secs"].is_i64() && long["since"].is_string());
    let ok = by_name("ok.md");
    assert_eq!(
        (&ok["queue"], &ok["state"]),
        (&"done".into(), &"done".into())
    );
    assert_eq!(ok["summary"], "reply to: say ok");
    assert!(ok["session_id"].is_string());
    let broken = by_name("broken.md");
    assert_eq!(broken["state"], "failed");
    assert!(
        broken["summary"]
            .as_str()
            .unwrap()
            .starts_with("claude exited")
    );
    let dropped = by_name("dropped.md");
    assert_eq!(
        (&dropped["queue"], &dropped["state"]),
        (&"failed".into(), &"cancelled".into())
    );
    assert_eq!(dropped["summary"], "cancelled by the operator");

    let human = sb.ccf(&["task", "list"]).run().stdout;
    for want in [
        "inbox (2)\n  next.md                  priority 2, queued ",
        "  bad.md                   queued ",
        "; dispatch will reject it: front matter: unknown field `projet`",
        "running (1)\n  long.md                  in ccl-auto-",
        " on compte1 for ",
        "done (1)\n  ok.md                    ",
        " ago: reply to: say ok\n",
        "failed (2)\n  broken.md                ",
        " ago: claude exited",
        "  dropped.md               ",
        " ago: cancelled by the operator\n",
    ] {
        assert!(human.contains(want), "{want:?} not in:\n{human}");
    }
}

#[test]
fn a_running_task_cancelled_is_stopped_ends_in_failed_as_cancelled_and_its_session_runs_the_next() {
    let sb = sandbox();
    sb.set_mode("compte1", "sleep 600");
    sb.ccf(&["task", "add", "--name", "slow"])
        .stdin("take your time")
        .run();
    sb.ccf(&["dispatch"])
        .stdout_has("start slow.md in ccl-auto-11")
        .run();
    let pid = wait_claude_runs(&sb, 1)[0]["pid"].as_u64().unwrap();
    wait_for("the wrapper's pid", WAIT, || {
        q(&sb, "running/slow.pid").exists().then_some(())
    });
    assert_eq!(sb.state()["sessions"]["ccl-auto-11"]["task"], "slow.md");

    sb.ccf(&["task", "cancel", "slow", "--dry-run"])
        .stdout_has("would cancel slow.md in ccl-auto-11: stop its claude, put the pane back to a shell, fail it as cancelled")
        .run();
    assert!(
        q(&sb, "running/slow.md").exists(),
        "a dry run changes nothing"
    );
    assert!(PathBuf::from(format!("/proc/{pid}")).exists());

    // A copy dropped by hand waits behind the busy name: the running one is cancelled
    // first.
    std::fs::write(q(&sb, "inbox/slow.md"), "a second copy").unwrap();
    sb.ccf(&["task", "cancel", "slow.md"])
        .stdout_has("cancel slow.md in ccl-auto-11: stop its claude")
        .stdout_has("slow.md: in failed/ as cancelled; `ccf task retry slow` queues it again")
        .run();
    assert_eq!(names(&q(&sb, "failed")), ["slow.md", "slow.reason"]);
    assert!(q(&sb, "inbox/slow.md").exists());
    let reason = std::fs::read_to_string(q(&sb, "failed/slow.reason")).unwrap();
    assert!(
        reason.starts_with("cancelled by the operator after ")
            && reason.contains(" in ccl-auto-11 (attempt 1)"),
        "{reason}"
    );
    // No notification (the operator asked), but the history keeps it, with the reason.
    let history = std::fs::read_to_string(sb.path("state/history.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert_eq!(line["kind"], "task_cancelled", "{history}");
    assert_eq!(line["task"], "slow.md");
    assert_eq!(line["reason"], reason.trim_end());
    wait_for("the cancelled claude to exit", WAIT, || {
        (!PathBuf::from(format!("/proc/{pid}")).exists()).then_some(())
    });
    wait_for("a shell in ccl-auto-11", WAIT, || {
        (sb.tmux.pane_command("ccl-auto-11") == "bash").then_some(())
    });
    assert!(sb.state()["sessions"].get("ccl-auto-11").is_none());
    sb.ccf(&["task", "cancel", "slow"])
        .stdout_has("cancel slow.md in the inbox")
        .run();
    assert_eq!(
        names(&q(&sb, "failed")),
        ["slow.md", "slow.reason", "slow~2.md", "slow~2.reason"]
    );
    // Nothing for janitor to settle, and nothing left in running/ once it swept.
    sb.ccf(&["janitor"]).stdout_lacks("slow.md").run();
    assert!(
        names(&q(&sb, "running")).is_empty(),
        "{:?}",
        names(&q(&sb, "running"))
    );
    assert!(
        !sb.outbox().iter().any(|e| e["event"]["task"] == "slow.md"),
        "the operator who cancelled it is not told of it"
    );

    // The session is free: the next task starts there.
    sb.set_mode("compte1", "normal");
    sb.ccf(&["task", "add", "--name", "next"])
        .stdin("next one")
        .run();
    sb.ccf(&["dispatch"])
        .stdout_has("start next.md in ccl-auto-11")
        .run();
    assert_eq!(wait_result(&sb, "next")["outcome"], "success");

    let list = sb.ccf(&["task", "list", "--json"]).run().json();
    let slow = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "slow.md")
        .unwrap();
    assert_eq!(slow["state"], "cancelled");
}

#[test]
fn cancel_and_retry_move_a_task_between_inbox_failed_and_back_or_say_why_not() {
    let sb = sandbox();
    sb.ccf(&["task", "add", "--name", "later"])
        .stdin("do it later")
        .run();
    sb.ccf(&["task", "cancel", "later", "--dry-run"])
        .stdout_has("would cancel later.md in the inbox: fail it as cancelled")
        .run();
    assert!(q(&sb, "inbox/later.md").exists());
    sb.ccf(&["task", "cancel", "later"])
        .stdout_has("cancel later.md in the inbox: fail it as cancelled")
        .run();
    assert_eq!(names(&q(&sb, "failed")), ["later.md", "later.reason"]);
    assert!(names(&q(&sb, "inbox")).is_empty());
    sb.ccf(&["task", "cancel", "later"])
        .code(1)
        .stderr_has("later.md is in failed/ already; `ccf task retry later` queues it again")
        .run();

    sb.ccf(&["task", "retry", "later", "--dry-run"])
        .stdout_has("would retry later.md")
        .run();
    assert!(q(&sb, "failed/later.md").exists());
    let watch = Watch::start(&q(&sb, "inbox"));
    sb.ccf(&["task", "retry", "later.md"])
        .env("CCF_NOW", "2030-01-01T00:00:00Z")
        .stdout_has(&format!(
            "retry later.md: back in {}; dispatch starts it",
            q(&sb, "inbox/later.md").display()
        ))
        .run();
    assert_eq!(watch.events(), ["moved_to later.md"], "one event");
    assert_eq!(
        std::fs::read_to_string(q(&sb, "inbox/later.md")).unwrap(),
        "do it later"
    );
    assert!(
        names(&q(&sb, "failed")).is_empty(),
        "its reason went with it"
    );
    let list = sb.ccf(&["task", "list", "--json"]).run().json();
    assert_eq!(
        list[0]["since"], "2030-01-01T00:00:00Z",
        "queued again as of now"
    );

    sb.ccf(&["task", "retry", "later"])
        .code(1)
        .stderr_has("later.md is in inbox/: it waits for dispatch already")
        .run();
    sb.ccf(&["task", "retry", "nope"])
        .code(1)
        .stderr_has(&format!(
            "no task named nope.md in {} (inbox/, running/, done/ or failed/); `ccf task list` shows them",
            sb.path("queue").display()
        ))
        .run();
    sb.ccf(&["task", "cancel", "nope"])
        .code(1)
        .stderr_has("no task named nope.md in")
        .run();
    sb.ccf(&["task", "cancel", "../x"])
        .code(1)
        .stderr_has("\"../x\" is not a task name")
        .run();

    // It runs, and is done: neither to cancel nor to retry.
    sb.ccf(&["dispatch"]).stdout_has("start later.md").run();
    wait_result(&sb, "later");
    sb.ccf(&["task", "cancel", "later"])
        .code(1)
        .stderr_has("later.md has already ended: it succeeded, and `ccf janitor` moves it to done/")
        .run();
    sb.ccf(&["janitor"]).run();
    sb.ccf(&["task", "cancel", "later"])
        .code(1)
        .stderr_has("later.md is in done/: it has finished, nothing to cancel")
        .run();
    sb.ccf(&["task", "retry", "later"])
        .code(1)
        .stderr_has("later.md is in done/: it succeeded, and only a task in failed/ can be retried")
        .run();

    // A failed task that would fail again at once stays in failed/.
    std::fs::write(q(&sb, "inbox/nodir.md"), "---\nproject: ~/gone\n---\nhi").unwrap();
    sb.ccf(&["dispatch"])
        .stderr_has("task nodir.md can never run")
        .run();
    sb.ccf(&["task", "retry", "nodir"])
        .code(1)
        .stderr_has(&format!(
            "nodir.md would fail again at once: project {} is not a directory; fix {} first",
            sb.path("gone").display(),
            q(&sb, "failed/nodir.md").display()
        ))
        .run();
    assert!(q(&sb, "failed/nodir.md").exists() && q(&sb, "failed/nodir.reason").exists());
    std::fs::create_dir_all(sb.path("gone")).unwrap();
    sb.ccf(&["task", "retry", "nodir"]).run();
    assert!(q(&sb, "inbox/nodir.md").exists());
}

#[test]
fn while_another_run_holds_the_lock_add_still_queues_and_cancel_and_retry_exit_75() {
    let sb = sandbox();
    sb.ccf(&["task", "add", "--name", "a"]).stdin("one").run();
    let lock = std::fs::File::create(sb.path("state/state.lock")).unwrap();
    lock.lock().unwrap();
    sb.ccf(&["task", "add", "--name", "b"])
        .stdin("two")
        .stdout_has("queued b.md")
        .run();
    for action in ["cancel", "retry"] {
        sb.ccf(&["task", action, "a"])
            .code(75)
            .stderr_has("another ccf run holds")
            .run();
    }
    assert_eq!(names(&q(&sb, "inbox")), ["a.md", "b.md"]);
    sb.ccf(&["task", "list"]).stdout_has("inbox (2)").run();
}
