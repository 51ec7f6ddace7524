//! The status line with an operator's own (issue 18, "Proactive switching for
//! everyone"): `install-hooks` chains theirs behind ccf's, the installed command records
//! the figures and prints their line, their failures and hangs never cost the line, and
//! `install-hooks --uninstall` gives their settings back.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Sandbox;

/// A settings.json with the operator's own status line and hook, written as ccf writes
/// one (two-space indentation, keys in order, a final newline), so the uninstall must
/// give it back byte for byte.
const THEIRS: &str = r#"{
  "hooks": {
    "Stop": [
      {
        "hooks": [
          {
            "command": "echo done >> ~/stops",
            "type": "command"
          }
        ]
      }
    ]
  },
  "model": "opus",
  "statusLine": {
    "command": "printf 'mine %s' \"$(grep -o '\"used_percentage\":[0-9.]*' | head -n1)\"",
    "padding": 0,
    "type": "command"
  },
  "theme": "dark"
}
"#;

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.login_all();
    let config = sb.default_config().replace(
        "dispatcher:",
        "quota: {statusline_threshold: 90}\ndispatcher:",
    );
    sb.write_config(&config);
    sb.ccf(&["ensure-symlinks"]).run();
    sb
}

fn settings(sb: &Sandbox) -> std::path::PathBuf {
    sb.account_home("compte1").join("settings.json")
}

fn status_command(sb: &Sandbox) -> String {
    let doc: Value = serde_json::from_slice(&std::fs::read(settings(sb)).unwrap()).unwrap();
    doc["statusLine"]["command"].as_str().unwrap().to_string()
}

/// Runs the installed status-line command as Claude Code does (`sh -c`, the input on
/// stdin, the account's config dir in the environment): its stdout, stderr and time.
fn draw(sb: &Sandbox, command: &str, input: &str) -> (String, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .env_clear()
        .envs(sb.env())
        .env("CLAUDE_CONFIG_DIR", sb.account_home("compte1"))
        .current_dir(sb.path("proj"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        started.elapsed(),
    )
}

fn input(used: f64) -> String {
    serde_json::json!({
        "session_id": "6f1c", "cwd": "/x",
        "rate_limits": {"five_hour": {"used_percentage": used, "resets_at": 1_900_000_000}}
    })
    .to_string()
}

/// The usage record the hook wrote for compte1's config dir.
fn recorded(sb: &Sandbox) -> Value {
    let dir = sb.path("state/usage");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().contains("claude-compte1"))
        .unwrap_or_else(|| panic!("no usage record of compte1 in {}", dir.display()));
    serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap()
}

#[test]
fn an_existing_status_line_is_chained_and_given_back_exactly() {
    let sb = sandbox();
    std::fs::write(settings(&sb), THEIRS).unwrap();
    sb.ccf(&["install-hooks", "--dry-run"])
        .stdout_has("would chain the status line: ccf records the figures, then runs printf")
        .run();
    assert_eq!(std::fs::read_to_string(settings(&sb)).unwrap(), THEIRS);
    sb.ccf(&["install-hooks"])
        .stdout_has("did chain the status line")
        .stdout_has("did add the SessionStart hook")
        .run();
    let command = status_command(&sb);
    assert!(command.contains(" hook statusline --then "), "{command}");
    // Installed twice: ccf is not chained to itself.
    sb.ccf(&["install-hooks"])
        .stdout_has("hooks already installed")
        .run();
    assert_eq!(status_command(&sb), command);

    // Their line is printed, and ccf has the figures.
    let (out, _, _) = draw(&sb, &command, &input(42.0));
    assert_eq!(out, "mine \"used_percentage\":42.0");
    let rec = recorded(&sb);
    assert_eq!(rec["five_hour_used"], 42.0, "{rec}");
    assert_eq!(rec["account"], "compte1", "{rec}");
    // And check-quota acts on them: over the threshold, the account is left.
    draw(&sb, &command, &input(95.0));
    sb.ccf(&["check-quota"])
        .stdout_has("swapped compte1 -> compte2")
        .run();

    // Everything else in the file stayed; the uninstall gives the file back as it was.
    let doc: Value = serde_json::from_slice(&std::fs::read(settings(&sb)).unwrap()).unwrap();
    assert_eq!(doc["statusLine"]["padding"], 0);
    assert_eq!(
        doc["hooks"]["Stop"][0]["hooks"][0]["command"],
        "echo done >> ~/stops"
    );
    sb.ccf(&["install-hooks", "--uninstall", "--dry-run"])
        .stdout_has("would restore the status line: printf")
        .run();
    sb.ccf(&["install-hooks", "--uninstall"])
        .stdout_has("did remove the SessionStart hook")
        .stdout_has("did restore the status line: printf")
        .run();
    assert_eq!(std::fs::read_to_string(settings(&sb)).unwrap(), THEIRS);
    sb.ccf(&["install-hooks", "--uninstall"])
        .stdout_has("no ccf hooks")
        .stdout_lacks("did")
        .run();
    assert_eq!(std::fs::read_to_string(settings(&sb)).unwrap(), THEIRS);
}

#[test]
fn a_failing_or_hanging_status_line_still_draws_ccfs_line_fast() {
    let sb = sandbox();
    for (theirs, why) in [
        ("echo broken >&2; exit 3", "exited with exit status: 3"),
        ("sleep 60", "took longer than 2s and was killed"),
        (
            "echo half; sleep 60 &",
            "took longer than 2s and was killed",
        ),
    ] {
        let doc = serde_json::json!({"statusLine": {"type": "command", "command": theirs}});
        std::fs::write(settings(&sb), doc.to_string()).unwrap();
        let _ = std::fs::remove_dir_all(sb.path("state/usage"));
        sb.ccf(&["install-hooks", "--account", "compte1"]).run();
        let (out, err, took) = draw(&sb, &status_command(&sb), &input(93.4));
        assert_eq!(out, "ccf · 5h 93%\n", "{theirs}: {err}");
        assert!(
            err.contains(&format!(
                "ccf hook: the status line command {why}; ccf's line is shown instead"
            )),
            "{theirs}: {err}"
        );
        assert!(took < Duration::from_secs(5), "{theirs}: {took:?}");
        assert_eq!(recorded(&sb)["five_hour_used"], 93.4, "{theirs}");
    }
}

#[test]
fn ccf_own_status_line_is_removed_by_the_uninstall() {
    let sb = sandbox();
    sb.ccf(&["install-hooks", "--account", "compte1"])
        .stdout_has("did add the status line")
        .run();
    let command = status_command(&sb);
    assert!(command.ends_with(" hook statusline"), "{command}");
    let (out, _, _) = draw(&sb, &command, &input(12.0));
    assert_eq!(out, "ccf · 5h 12%\n");
    sb.ccf(&["install-hooks", "--uninstall", "--account", "compte1"])
        .stdout_has("did remove the status line")
        .run();
    let doc: Value = serde_json::from_slice(&std::fs::read(settings(&sb)).unwrap()).unwrap();
    assert_eq!(doc, serde_json::json!({}));
}

/// ccf's records cannot be written (no config): the operator's line is still drawn.
#[test]
fn the_operators_line_is_drawn_when_ccf_cannot_record() {
    let sb = sandbox();
    std::fs::write(settings(&sb), THEIRS).unwrap();
    sb.ccf(&["install-hooks", "--account", "compte1"]).run();
    std::fs::remove_file(&sb.config).unwrap();
    let (out, err, _) = draw(&sb, &status_command(&sb), &input(50.0));
    assert_eq!(out, "mine \"used_percentage\":50.0");
    assert!(err.contains("cannot read configuration"), "{err}");
}
