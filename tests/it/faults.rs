//! The fault suite: `ccf swap` killed (SIGKILL) between any two of its tmux calls, the tmux
//! server or a session killed mid-swap, a `state_dir` that cannot be written (immutable or
//! full), two swaps at once, 50 concurrent runs, a clock that jumps back, and `claude`
//! gone during a swap. After each, a normal run must leave the invariants of the
//! failover: the link points at an account home, `status` and the link agree, each
//! managed session runs on exactly one account with its own session id.
//!
//! A run is stopped at an exact place with a gate: a tmux wrapper (`CCF_TMUX`) that
//! counts ccf's tmux calls and holds the Nth one (before or after it ran) until the test
//! kills ccf. No sleeps: the test waits for the gate to report.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ccf::failover;

use crate::support::{Sandbox, wait_for};

const SESSIONS: [(&str, &str, &str); 2] = [
    ("ccl-1-proj", "proj", "11111111-2222-4333-8444-555555555555"),
    (
        "ccl-auto-11",
        "work",
        "66666666-7777-4888-9999-000000000000",
    ),
];

/// Two accounts, the layout built, and two managed sessions pinned to compte1 by
/// `CLAUDE_CONFIG_DIR`, each with a known id and one exchange in its transcript.
fn world() -> Sandbox {
    let sb = Sandbox::new();
    // A relaunch that cannot succeed (no server, no session, no claude) fails after each
    // attempt's wait: 2 s here instead of the operator's 15 s, the same three attempts.
    sb.set_env("CCF_RELAUNCH_DEADLINE", "2s");
    sb.hold_notifications();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    for (name, dir, id) in SESSIONS {
        let home = format!("CLAUDE_CONFIG_DIR={}", sb.account_home("compte1").display());
        sb.tmux.new_session(
            name,
            &sb.path(dir),
            &["env", &home, "claude", "--session-id", id],
        );
    }
    for (name, _, _) in SESSIONS {
        sb.tmux.wait_for_text(name, "Welcome to fake Claude Code");
        sb.tmux.type_line(name, "hi");
        sb.tmux.wait_for_text(name, "reply to: hi");
    }
    sb
}

/// The claude a pane runs, once it runs one again: its session id and config dir.
fn claude_in(sb: &Sandbox, name: &str) -> (Option<String>, Option<PathBuf>) {
    wait_for(
        &format!("claude in {name}"),
        Duration::from_secs(15),
        || {
            (sb.tmux.pane_command(name) == "claude")
                .then(|| failover::find_claude(sb.tmux.pane_pid(name)))
                .flatten()
                .map(|c| (c.argv_id, c.config_dir))
        },
    )
}

/// Pins every session that follows the link to the link's account again, so the next
/// swap has to relaunch them: ccf relaunches onto `~/.claude`, and a swap then only
/// carries them, which would leave the relaunch steps out of the faults.
fn pin_all(sb: &Sandbox) {
    let link = std::fs::read_link(sb.path(".claude")).unwrap();
    for (name, dir, id) in SESSIONS {
        if claude_in(sb, name).1.is_some() {
            continue;
        }
        let home = format!("CLAUDE_CONFIG_DIR={}", link.display());
        let cwd = sb.path(dir);
        sb.tmux.ok([
            "respawn-pane",
            "-k",
            "-t",
            &format!("={name}:"),
            "-c",
            cwd.to_str().unwrap(),
            "env",
            &home,
            "claude",
            "--resume",
            id,
        ]);
        sb.tmux.wait_for_text(name, "Welcome to fake Claude Code");
        assert!(claude_in(sb, name).1.is_some(), "{name} pinned again");
    }
}

/// The invariants of the failover, after whatever happened (`what` names it).
fn assert_consistent(sb: &Sandbox, what: &str) {
    assert!(
        sb.state_file().exists(),
        "{what}: no state file; state_dir holds {:?}",
        std::fs::read_dir(sb.path("state"))
            .map(|d| d.map(|e| e.unwrap().file_name()).collect::<Vec<_>>())
    );
    let st = sb.state();
    assert!(st["swap"].is_null(), "{what}: a journal is left: {st:#}");
    let active = st["active_account"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no active account: {st:#}"))
        .to_string();
    let link = std::fs::read_link(sb.path(".claude")).expect("~/.claude is a symlink");
    assert_eq!(link, sb.account_home(&active), "{what}: link and state");
    let status = sb.ccf(&["status", "--json"]).run().json();
    assert_eq!(status["active_account"], active.as_str(), "{what}: status");
    assert_eq!(
        status["link_target"],
        link.display().to_string(),
        "{what}: status"
    );
    let homes: Vec<PathBuf> = sb.accounts.iter().map(|a| sb.account_home(a)).collect();
    for (name, _, id) in SESSIONS {
        let (argv_id, config_dir) = claude_in(sb, name);
        assert_eq!(argv_id.as_deref(), Some(id), "{what}: {name} lost its id");
        let dir = config_dir.unwrap_or_else(|| link.clone());
        assert!(
            homes.contains(&dir),
            "{what}: {name} runs on {}",
            dir.display()
        );
        let recorded = &st["sessions"][name]["account"];
        if let Some(acc) = recorded.as_str() {
            assert_eq!(
                dir,
                sb.account_home(acc),
                "{what}: {name} runs elsewhere than the state says"
            );
        }
    }
}

/// A tmux wrapper that counts ccf's tmux calls; with `CCF_GATE_AT=N` it holds call N,
/// `before` it runs or `after` (its output written, its exit withheld), and reports its
/// pid in `held`.
struct Gate {
    dir: PathBuf,
    wrapper: PathBuf,
}

impl Gate {
    fn new(sb: &Sandbox) -> Gate {
        let dir = sb.path("gate");
        std::fs::create_dir_all(&dir).unwrap();
        let wrapper = sb.bin.join("tmux-gate");
        let d = dir.display();
        std::fs::write(
            &wrapper,
            format!(
                r#"#!/bin/bash
exec 9>>{d}/lock
flock 9
n=$(( $(cat {d}/count 2>/dev/null || echo 0) + 1 ))
echo $n > {d}/count
echo "$n $*" >> {d}/log
flock -u 9
exec 9>&-
if [ "$n" = "${{CCF_GATE_AT:-0}}" ]; then
  if [ "$CCF_GATE_MODE" = after ]; then tmux "$@"; fi
  echo $$ > {d}/held
  exec sleep 600
fi
exec tmux "$@"
"#
            ),
        )
        .unwrap();
        crate::support::sandbox::set_mode(&wrapper, 0o755);
        Gate { dir, wrapper }
    }

    fn reset(&self) {
        for f in ["count", "log", "held"] {
            let _ = std::fs::remove_file(self.dir.join(f));
        }
    }

    fn calls(&self) -> usize {
        std::fs::read_to_string(self.dir.join("count")).map_or(0, |s| s.trim().parse().unwrap())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Starts `ccf args` through the gate, held at call `at` (0: never).
    fn spawn(&self, sb: &Sandbox, args: &[&str], at: usize, mode: &str) -> Child {
        self.reset();
        spawn(
            sb,
            args,
            &[
                ("CCF_TMUX", self.wrapper.to_str().unwrap()),
                ("CCF_GATE_AT", &at.to_string()),
                ("CCF_GATE_MODE", mode),
            ],
        )
    }

    /// Waits until ccf is held at the gate (true) or has exited (false).
    fn wait_held(&self, child: &mut Child) -> bool {
        wait_for(
            "ccf held at the gate or done",
            Duration::from_secs(60),
            || {
                if self.dir.join("held").exists() {
                    Some(true)
                } else {
                    child.try_wait().unwrap().map(|_| false)
                }
            },
        )
    }

    /// Ends the held tmux call (ccf's child), once ccf is dead.
    fn release(&self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("held")) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
    }
}

fn spawn(sb: &Sandbox, args: &[&str], extra: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ccf"))
        .args(args)
        .env_clear()
        .envs(sb.env())
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn sigkill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The tmux calls of one whole swap, counted (the next swap goes back).
fn calls_of_a_swap(sb: &Sandbox, gate: &Gate) -> usize {
    let child = gate.spawn(sb, &["swap"], 0, "before");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "a plain swap through the gate fails: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    gate.calls()
}

#[test]
fn a_swap_sigkilled_between_any_two_tmux_calls_is_repaired_by_the_next_run() {
    let sb = world();
    let gate = Gate::new(&sb);
    let total = calls_of_a_swap(&sb, &gate);
    assert!(total >= 6, "a swap makes a few tmux calls: {}", gate.log());
    assert_consistent(&sb, "a whole swap");
    let mut points = 0;
    for at in 1..=total {
        for mode in ["before", "after"] {
            let what = format!("SIGKILL {mode} tmux call {at} of {total}");
            pin_all(&sb);
            let mut child = gate.spawn(&sb, &["swap"], at, mode);
            if gate.wait_held(&mut child) {
                points += 1;
                sigkill(&mut child);
                gate.release();
            }
            // The next normal run repairs: rollback, or a timer's check-quota.
            let repair = if at % 2 == 0 {
                "rollback"
            } else {
                "check-quota"
            };
            sb.ccf(&[repair]).run();
            assert_consistent(&sb, &what);
        }
    }
    assert!(points >= total, "only {points} kill points were reached");
    eprintln!(
        "{points} kill points over {total} tmux calls:\n{}",
        gate.log()
    );
}

#[test]
fn the_tmux_server_dying_mid_swap_loses_no_session_id() {
    let sb = world();
    let gate = Gate::new(&sb);
    // Hold the swap at its first respawn, then kill the server under it.
    let total = calls_of_a_swap(&sb, &gate);
    let first_respawn = gate
        .log()
        .lines()
        .find(|l| l.contains("respawn-pane"))
        .and_then(|l| l.split(' ').next()?.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no respawn in {total} calls: {}", gate.log()));
    pin_all(&sb);
    let before = sb.state();
    let mut child = gate.spawn(&sb, &["swap"], first_respawn, "before");
    assert!(gate.wait_held(&mut child));
    sb.tmux.ok(["kill-server"]);
    gate.release();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tmux") && !stderr.contains("panicked"),
        "{stderr}"
    );
    // A new server (the operator's, or ccf-tmux.service) and a normal run.
    sb.tmux.ok(["new-session", "-d", "-s", "keepalive"]);
    sb.ccf(&["check-quota"]).run();
    let st = sb.state();
    assert!(st["swap"].is_null(), "{st:#}");
    let active = st["active_account"].as_str().unwrap();
    assert_eq!(
        std::fs::read_link(sb.path(".claude")).unwrap(),
        sb.account_home(active)
    );
    for (name, _, id) in SESSIONS {
        let known = [&before, &st]
            .iter()
            .any(|s| s["sessions"][name]["session_id"] == id);
        assert!(known, "{name}: id {id} lost: {st:#}");
        assert_eq!(st["sessions"][name]["session_id"], id, "{name}: {st:#}");
    }
}

#[test]
fn a_session_killed_by_hand_mid_swap_does_not_stop_the_others() {
    let sb = world();
    let gate = Gate::new(&sb);
    calls_of_a_swap(&sb, &gate);
    let first_respawn = gate
        .log()
        .lines()
        .find(|l| l.contains("respawn-pane"))
        .and_then(|l| l.split(' ').next()?.parse::<usize>().ok())
        .unwrap();
    // Back to compte1, then again with ccl-auto-11 killed while ccf is held.
    sb.ccf(&["swap", "--to", "compte1"]).run();
    assert_consistent(&sb, "swapped back");
    pin_all(&sb);
    let mut child = gate.spawn(&sb, &["swap", "--to", "compte2"], first_respawn, "before");
    assert!(gate.wait_held(&mut child));
    sb.tmux.ok(["kill-session", "-t", "=ccl-auto-11"]);
    let held = std::fs::read_to_string(gate.dir.join("held")).unwrap();
    // Let the held call go on: kill only the sleep, the call itself is lost.
    let _ = Command::new("kill").args(["-9", held.trim()]).status();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    sb.ccf(&["check-quota"]).run();
    let st = sb.state();
    assert!(st["swap"].is_null(), "{st:#}");
    assert_eq!(
        std::fs::read_link(sb.path(".claude")).unwrap(),
        sb.account_home(st["active_account"].as_str().unwrap())
    );
    let (proj_id, _) = claude_in(&sb, "ccl-1-proj");
    assert_eq!(proj_id.as_deref(), Some(SESSIONS[0].2));
    assert_eq!(
        st["sessions"]["ccl-auto-11"]["session_id"], SESSIONS[1].2,
        "the killed session's id is kept for its resume: {st:#}"
    );
}

#[test]
fn two_swaps_at_once_one_runs_and_the_other_exits_75() {
    let sb = world();
    let gate = Gate::new(&sb);
    let mut first = gate.spawn(&sb, &["swap"], 1, "before");
    assert!(gate.wait_held(&mut first));
    sb.ccf(&["swap"])
        .code(75)
        .stderr_has("another ccf run holds")
        .run();
    sb.ccf(&["check-quota"])
        .code(75)
        .stderr_has("another ccf run holds")
        .run();
    gate.release();
    // The held call was lost: the first swap fails cleanly or goes on; either way the
    // next run leaves a consistent world.
    let out = first.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sb.ccf(&["check-quota"]).run();
    assert_consistent(&sb, "after two swaps at once");
}

/// Runs `cmd` (a shell line); false when it fails or is missing.
fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Undoes a chattr or a mount when the test ends, however it ends.
struct Undo(String);

impl Drop for Undo {
    fn drop(&mut self) {
        sh(&self.0);
    }
}

/// What a run that cannot write its state must leave: the old state, byte for byte, no
/// temp file beside it, the link and every pane as they were.
fn assert_untouched(sb: &Sandbox, state: &[u8], pids: &[u32]) {
    assert_eq!(std::fs::read(sb.state_file()).unwrap(), state);
    let strays: Vec<String> = std::fs::read_dir(sb.path("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.contains("tmp"))
        .collect();
    assert!(strays.is_empty(), "partial files: {strays:?}");
    assert_eq!(
        std::fs::read_link(sb.path(".claude")).unwrap(),
        sb.account_home("compte1")
    );
    for ((name, _, _), pid) in SESSIONS.iter().zip(pids) {
        assert_eq!(sb.tmux.pane_pid(name), *pid, "{name} was touched");
    }
}

#[test]
fn an_immutable_state_dir_fails_with_its_path_and_changes_nothing() {
    let sb = world();
    sb.ccf(&["check-quota"]).run();
    let dir = sb.path("state");
    // Root ignores permission bits; the immutable attribute stops root too.
    if !sh(&format!("chattr +i {}", dir.display())) {
        eprintln!("skipped: chattr +i is not available on this file system");
        return;
    }
    let _undo = Undo(format!("chattr -i {}", dir.display()));
    let state = std::fs::read(sb.state_file()).unwrap();
    let pids: Vec<u32> = SESSIONS.iter().map(|s| sb.tmux.pane_pid(s.0)).collect();
    for args in [&["check-quota"][..], &["swap"], &["dispatch"], &["janitor"]] {
        let done = sb
            .ccf(args)
            .code(1)
            .stderr_has(&dir.display().to_string())
            .stderr_has("Operation not permitted")
            .run();
        assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
        assert_untouched(&sb, &state, &pids);
    }
    // A hook never fails Claude Code, and writes nothing.
    sb.ccf(&["hook", "stop-failure"])
        .stdin(r#"{"session_id":"x","error":"overloaded"}"#)
        .stderr_has("Operation not permitted")
        .run();
    assert_untouched(&sb, &state, &pids);
}

#[test]
fn a_full_disk_under_state_dir_fails_cleanly_and_keeps_the_old_state() {
    let sb = world();
    let dir = sb.path("state");
    std::fs::create_dir_all(&dir).unwrap();
    if !sh(&format!(
        "mount -t tmpfs -o size=256k,mode=0700 ccf-full {}",
        dir.display()
    )) {
        eprintln!("skipped: cannot mount a small tmpfs here");
        return;
    }
    let _undo = Undo(format!("umount -l {}", dir.display()));
    sb.ccf(&["check-quota"]).run();
    // Fill what is left, to the last block.
    let filler = dir.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 512 << 10]);
    let state = std::fs::read(sb.state_file()).unwrap();
    let pids: Vec<u32> = SESSIONS.iter().map(|s| sb.tmux.pane_pid(s.0)).collect();
    let strays = |sb: &Sandbox| {
        std::fs::read_dir(sb.path("state"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "filler")
            .collect::<std::collections::BTreeSet<_>>()
    };
    let mut files = strays(&sb);
    // A pass that learns nothing writes no state (only the check stamp's mtime, an
    // inode and no block): it succeeds and loses nothing.
    sb.ccf(&["check-quota"]).run();
    assert_untouched(&sb, &state, &pids);
    files.insert("last-check".to_string());
    assert_eq!(strays(&sb), files);
    let done = sb
        .ccf(&["swap"])
        .code(1)
        .stderr_has("No space left on device")
        .stderr_has(&sb.state_file().display().to_string())
        .run();
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
    assert_untouched(&sb, &state, &pids);
    assert_eq!(strays(&sb), files);
    sb.ccf(&["hook", "stop-failure"])
        .stdin(r#"{"session_id":"x","error":"overloaded"}"#)
        .stderr_has("No space left on device")
        .run();
    let spool: Vec<_> = std::fs::read_dir(dir.join("spool"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(spool.is_empty(), "a partial spool file: {spool:?}");
}

#[test]
fn fifty_concurrent_runs_keep_the_state_parsable_and_consume_every_hook_event_once() {
    let sb = world();
    sb.ccf(&["check-quota"]).run();
    let inbox = sb.path("queue/inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    for i in 0..5 {
        std::fs::write(inbox.join(format!("task-{i}.md")), format!("say {i}\n")).unwrap();
    }
    let mut children: Vec<(String, Child)> = Vec::new();
    for i in 0..50 {
        let (what, args): (String, &[&str]) = match i % 5 {
            0 | 1 => (format!("evt-{i:02}-end"), &["hook", "stop-failure"]),
            2 | 3 => ("check-quota".into(), &["check-quota"]),
            _ => ("dispatch".into(), &["dispatch"]),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_ccf"))
            .args(args)
            .env_clear()
            .envs(sb.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let input = if what.starts_with("evt-") {
            format!(
                r#"{{"session_id":"s{i}","error":"overloaded","last_assistant_message":"API Error: 529 overloaded {what}"}}"#
            )
        } else {
            String::new()
        };
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, input.as_bytes()).unwrap();
        drop(stdin);
        children.push((what, child));
    }
    // While they run, every read of the state parses.
    let mut reads = 0;
    while children
        .iter_mut()
        .any(|(_, c)| c.try_wait().unwrap().is_none())
    {
        let bytes = std::fs::read(sb.state_file()).unwrap();
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .unwrap_or_else(|e| panic!("state does not parse mid-run ({e})"));
        reads += 1;
        std::thread::yield_now();
    }
    let mut logs = String::new();
    let mut written = Vec::new();
    for (what, child) in children {
        let out = child.wait_with_output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(code == 0 || code == 75, "{what} exited {code}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        if what.starts_with("evt-") {
            written.push(what);
        } else if what == "check-quota" {
            logs.push_str(&stderr);
        }
    }
    // A last poll takes what the busy ones left.
    let last = sb.ccf(&["check-quota"]).run();
    logs.push_str(&last.stderr);
    let left: Vec<_> = std::fs::read_dir(sb.path("state/spool"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "spool not consumed: {left:?}");
    for tag in &written {
        assert_eq!(
            logs.matches(tag.as_str()).count(),
            1,
            "{tag} observed {} times ({reads} state reads):\n{logs}",
            logs.matches(tag.as_str()).count()
        );
    }
    assert_consistent(&sb, "after 50 concurrent runs");
}

#[test]
fn a_clock_that_jumps_back_before_the_last_swap_causes_no_swap_storm() {
    let sb = world();
    let t = "2026-06-01T12:00:00Z";
    sb.ccf(&["swap"]).env("CCF_NOW", t).run();
    assert_eq!(sb.state()["active_account"], "compte2");
    // compte2 now shows a limit in both sessions.
    sb.set_mode("compte2", "limit");
    for (name, _, _) in SESSIONS {
        sb.tmux.type_line(name, "more");
        sb.tmux.wait_for_text(name, "You've hit your 5-hour limit");
    }
    let mut swaps = std::collections::BTreeSet::new();
    for back in [
        "2026-06-01T11:59:00Z",
        "2026-05-31T12:00:00Z",
        "1999-12-31T23:59:59Z",
    ] {
        for _ in 0..2 {
            let done = sb.ccf(&["check-quota"]).env("CCF_NOW", back).run();
            assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
            swaps.insert(sb.state()["last_swap"].to_string());
        }
    }
    assert!(swaps.len() <= 2, "a swap storm: {swaps:#?}");
    assert_consistent(&sb, "after the clock went back");
}

#[test]
fn claude_missing_from_path_during_a_swap_fails_clearly_and_keeps_every_id() {
    let sb = world();
    let claude = sb.bin.join("claude");
    let away = sb.bin.join("claude.away");
    std::fs::rename(&claude, &away).unwrap();
    sb.ccf(&["swap"])
        .code(1)
        .stderr_has("warning: failed to relaunch ccl-1-proj with --resume")
        .stderr_has("warning: failed to relaunch ccl-auto-11 with --resume")
        .stderr_has("error: could not relaunch ccl-1-proj, ccl-auto-11 (they keep their ids")
        .run();
    let st = sb.state();
    let active = st["active_account"].as_str().unwrap().to_string();
    assert_eq!(
        std::fs::read_link(sb.path(".claude")).unwrap(),
        sb.account_home(&active)
    );
    for (name, _, id) in SESSIONS {
        assert_eq!(st["sessions"][name]["session_id"], id, "{name}: {st:#}");
    }
    // Claude is back. `rollback` goes back to compte1 but leaves the two sessions at
    // their shell (they are recorded on compte1, not on the account it leaves); a swap
    // to the active account resumes them, each with its id.
    std::fs::rename(&away, &claude).unwrap();
    sb.ccf(&["rollback"]).run();
    let active = sb.state()["active_account"].as_str().unwrap().to_string();
    sb.ccf(&["swap", "--to", &active])
        .stdout_has("relaunch the sessions that stopped")
        .run();
    assert_consistent(&sb, "after claude came back");
}
