//! Hostile names and texts: session names and directories that a shell or tmux would
//! read as commands, a 100 MB hook input, captures that are not UTF-8, configuration
//! files that are not files. ccf runs nothing it was not asked to, fails cleanly, and
//! changes nothing outside its own files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ccf::config::TmuxSocket;
use ccf::tmux::{Launch, Tmux};

use crate::support::{Sandbox, wait_for};

/// Every path under `root` with its kind, size and modification time, except those
/// under `skip`: what a run must leave as it found it.
pub(crate) fn snapshot(root: &Path, skip: &[PathBuf]) -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, skip: &[PathBuf], out: &mut BTreeMap<PathBuf, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if skip.contains(&path) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let kind = if meta.is_dir() {
                "dir"
            } else if meta.is_symlink() {
                "link"
            } else {
                "file"
            };
            // A directory's own mtime moves when ccf creates its state beside it.
            let what = if meta.is_dir() {
                kind.to_string()
            } else {
                format!("{kind} {} {:?}", meta.len(), meta.modified().ok())
            };
            out.insert(path.clone(), what);
            if meta.is_dir() {
                walk(&path, skip, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, skip, &mut out);
    out
}

/// The paths that differ between two snapshots, with what each was and is.
pub(crate) fn changes(
    before: &BTreeMap<PathBuf, String>,
    after: &BTreeMap<PathBuf, String>,
) -> Vec<String> {
    let mut keys: Vec<&PathBuf> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| format!("{}: {:?} -> {:?}", k.display(), before.get(k), after.get(k)))
        .collect()
}

/// Waits until the tmux server has run a `#(…)` job of its own, so a job ccf might have
/// caused has had the same chance to run. tmux now and then drops a format job (about 1
/// in 20 here), so a new control session is made every half second until one runs.
fn drain_tmux_jobs(sb: &Sandbox) {
    let control = sb.path("control-job-ran");
    let mut polls = 0;
    wait_for("tmux's own format job", Duration::from_secs(10), || {
        if polls % 20 == 0 {
            sb.tmux.new_session(
                &format!("control-{polls}"),
                Path::new(&format!("#(touch {})", control.display())),
                &["sleep", "600"],
            );
        }
        polls += 1;
        control.exists().then_some(())
    });
    for s in sb.tmux.sessions() {
        if s.starts_with("control-") {
            sb.tmux.ok(["kill-session", "-t", &format!("={s}")]);
        }
    }
}

#[test]
fn manual_sessions_named_like_shell_commands_are_never_run() {
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    let marks: Vec<PathBuf> = (1..=4).map(|i| sb.path(&format!("pwned-{i}"))).collect();
    let names = [
        format!("x;touch {}", marks[0].display()),
        format!("$(touch {})", marks[1].display()),
        format!("`touch {}`", marks[2].display()),
        // Doubled for the harness's own tmux call: the session is named `h#(touch …)`.
        format!("h##(touch {})", marks[3].display()),
    ];
    for n in &names {
        sb.tmux.new_session(n, &sb.home, &[]);
    }
    let before = sb.tmux.sessions();
    assert_eq!(before.len(), 5, "{before:?}");
    let skip = [sb.path("state"), sb.path("control-job-ran")];
    let tree = snapshot(sb.home.parent().unwrap(), &skip);
    sb.ccf(&["status", "--json"]).run();
    sb.ccf(&["check-quota"]).run();
    sb.ccf(&["check-quota", "--dry-run"]).run();
    sb.ccf(&["validate"]).run();
    drain_tmux_jobs(&sb);
    for m in &marks {
        assert!(!m.exists(), "{} was created", m.display());
    }
    assert_eq!(sb.tmux.sessions(), before, "every session is still there");
    let after = snapshot(sb.home.parent().unwrap(), &skip);
    assert_eq!(changes(&tree, &after), Vec::<String>::new());
}

#[test]
fn config_session_names_a_shell_or_tmux_would_read_are_rejected() {
    let sb = Sandbox::new();
    let config = sb.default_config().replace(
        "    - {name: ccl-1-proj, project: ~/proj}\n",
        "    - {name: 'x;touch', project: ~/proj}\n    - {name: 'a#(reboot)', project: ~/proj}\n    - {name: '$(id)', project: ~/proj}\n    - {name: 'b`id`', project: ~/proj}\n",
    );
    sb.write_config(&config.replace("prefix: ccl-auto-", "prefix: 'p;'"));
    let done = sb
        .ccf(&["validate"])
        .code(78)
        .stderr_has("5 problems in the configuration")
        .stderr_has("which tmux or a shell reads specially")
        .run();
    for name in [
        "\"x;touch\"",
        "\"a#(reboot)\"",
        "\"$(id)\"",
        "\"b`id`\"",
        "\"p;\"",
    ] {
        assert!(done.stderr.contains(name), "{name} in {}", done.stderr);
    }
    sb.ccf(&["status"])
        .code(78)
        .stderr_has("5 problems in the configuration")
        .stderr_has("which tmux or a shell reads specially")
        .run();
}

#[test]
fn tmux_gets_names_directories_and_arguments_that_look_like_commands_verbatim() {
    let sb = Sandbox::new();
    // tmux expands formats in a new session's name and in -c, and ends a command at an
    // argument ending in `;`; `cd;` makes the would-be job write into the sandbox HOME.
    let dir = sb.path("d#(cd;touch pwned-cwd)x;");
    std::fs::create_dir(&dir).unwrap();
    let name = "n#(cd;touch pwned-name)x;";
    let out = sb.path("out.txt");
    let launch = |tag: &str| Launch {
        argv: vec![
            "sh".into(),
            "-c".into(),
            format!(
                "printf '%s|%s|%s|%s|%s|%s' {tag} \"$1\" \"$2\" \"$3\" \"$PWD\" \"$FOO\" > {}; exec sleep 600",
                out.display()
            ),
            "sh".into(),
            "one;".into(),
            "two\\;".into(),
            "#(cd;touch pwned-argv)".into(),
        ],
        cwd: dir.clone(),
        env: vec![("FOO".into(), "bar;".into())],
    };
    let tmux = Tmux::with_program("tmux", &TmuxSocket::Path(sb.tmux.socket.clone()));
    let expect = |tag: &str| {
        format!(
            "{tag}|one;|two\\;|#(cd;touch pwned-argv)|{}|bar;",
            dir.display()
        )
    };
    let read = |tag: &str| {
        wait_for(&format!("{tag} output"), Duration::from_secs(10), || {
            std::fs::read_to_string(&out)
                .ok()
                .filter(|s| s.starts_with(tag))
        })
    };
    tmux.new_session(name, &launch("new")).unwrap();
    assert_eq!(read("new"), expect("new"));
    assert!(
        sb.tmux.sessions().contains(&name.to_string()),
        "{:?}",
        sb.tmux.sessions()
    );
    tmux.respawn(name, &launch("respawned")).unwrap();
    assert_eq!(read("respawned"), expect("respawned"));
    drain_tmux_jobs(&sb);
    for m in ["pwned-cwd", "pwned-name", "pwned-argv"] {
        assert!(!sb.path(m).exists(), "tmux ran the job that creates {m}");
    }
}

#[test]
fn a_100_mb_hook_input_is_dropped_fast_and_nothing_is_written() {
    let sb = Sandbox::new();
    let mut big = br#"{"session_id":"x","error":"rate_limit","last_assistant_message":""#.to_vec();
    big.resize(100 << 20, b'a');
    big.extend_from_slice(b"\"}");
    let tree = snapshot(sb.home.parent().unwrap(), &[]);
    for event in ["session-start", "stop-failure", "statusline"] {
        let started = Instant::now();
        sb.ccf(&["hook", event])
            .stdin(big.clone())
            .stderr_has("hook input is over 1048576 bytes; ignored")
            .stdout_lacks("ccf")
            .run();
        // Not a benchmark: a hang or a 100 MB parse would take far longer than this.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{event}: {:?}",
            started.elapsed()
        );
    }
    let after = snapshot(sb.home.parent().unwrap(), &[]);
    assert_eq!(changes(&tree, &after), Vec::<String>::new());
}

#[test]
fn a_capture_that_is_not_utf8_is_classified_from_its_readable_lines() {
    let sb = Sandbox::new();
    let mut capture = b"garbage \xff\xfe\xc3\x28 line\n\xe2\x80 cut mid-character\n".to_vec();
    capture.extend_from_slice("⎿  You've hit your limit · resets 3pm (UTC)\n".as_bytes());
    capture.extend_from_slice(b"\x1b[31m\xff\x1b[0m\n");
    let file = sb.path("capture.bin");
    std::fs::write(&file, &capture).unwrap();
    let args = [
        "detect",
        "--json",
        "--tz",
        "UTC",
        "--now",
        "2026-03-10T12:00:00Z",
    ];
    let from_stdin = sb.ccf(&args).stdin(capture.clone()).run().json();
    let mut with_file = args.to_vec();
    with_file.insert(1, file.to_str().unwrap());
    let from_file = sb.ccf(&with_file).run().json();
    assert_eq!(from_stdin, from_file);
    assert_eq!(from_file["verdict"], "limit", "{from_file}");
    assert_eq!(
        from_file["resets_at"], "2026-03-10T15:00:00Z",
        "{from_file}"
    );
}

#[test]
fn a_config_that_is_a_directory_a_symlink_loop_or_binary_exits_78_with_its_path() {
    let sb = Sandbox::new();
    let dir = sb.path("dir.yaml");
    std::fs::create_dir(&dir).unwrap();
    let looped = sb.path("loop.yaml");
    std::os::unix::fs::symlink(sb.path("loop2.yaml"), &looped).unwrap();
    std::os::unix::fs::symlink(&looped, sb.path("loop2.yaml")).unwrap();
    let binary = sb.path("binary.yaml");
    std::fs::write(&binary, b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00\x00garbage").unwrap();
    let nul = sb.path("nul.yaml");
    std::fs::write(&nul, b"accounts:\x00\x01\n").unwrap();
    let cases = [
        (&dir, "it is not a regular file"),
        (&looped, "Too many levels of symbolic links"),
        (&binary, "is not UTF-8 (invalid byte at offset 8)"),
        (&nul, "control characters are not allowed"),
    ];
    for (path, why) in cases {
        for cmd in ["status", "check-quota", "validate"] {
            let done = sb
                .ccf(&["--config", path.to_str().unwrap(), cmd])
                .code(78)
                .stderr_has(&path.display().to_string())
                .stderr_has(why)
                .run();
            assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
            assert!(done.stdout.is_empty(), "{}", done.stdout);
        }
    }
    assert!(!sb.path("state").exists(), "no state was created");
}

#[test]
fn a_task_whose_project_and_prompt_look_like_commands_runs_verbatim_and_runs_nothing_else() {
    let sb = Sandbox::new();
    sb.hold_notifications();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    // tmux would run `#(…)` in a -c directory and end its command at a trailing `;`.
    let project = sb.path("p#(cd;touch pwned-project)x;");
    std::fs::create_dir(&project).unwrap();
    let prompt = "C-c Enter Escape \u{3}\u{1b}[A\u{7f} ; \\; #(cd;touch pwned-prompt) $(cd;touch pwned-subst)\n-- -n\t;";
    let task = format!("---\nproject: '{}'\n---\n{prompt}", project.display());
    let inbox = sb.path("queue/inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join(".t.tmp"), &task).unwrap();
    std::fs::rename(inbox.join(".t.tmp"), inbox.join("hostile.md")).unwrap();
    sb.ccf(&["dispatch"]).run();
    let result = sb.path("queue/running/hostile.result.json");
    wait_for("the task's result", Duration::from_secs(20), || {
        result.exists().then_some(())
    });
    let log = sb.claude_log();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["prompt"], prompt, "the prompt arrives byte for byte");
    assert_eq!(log[0]["cwd"], project.display().to_string());
    drain_tmux_jobs(&sb);
    for f in ["pwned-project", "pwned-prompt", "pwned-subst"] {
        assert!(!sb.path(f).exists(), "{f} was created");
        assert!(!project.join(f).exists(), "{f} was created in the project");
    }
}

#[test]
fn a_hook_whose_transcript_is_a_device_or_a_fifo_returns_at_once() {
    let sb = Sandbox::new();
    let fifo = sb.path("transcript.jsonl");
    crate::support::mkfifo(&fifo);
    // Found by the hook fuzzing: /dev/zero was read to the end, until memory ran out.
    for path in ["/dev/zero", fifo.to_str().unwrap(), "/proc/self/mem", "/"] {
        let input =
            serde_json::json!({"session_id": "s", "error": "rate_limit", "transcript_path": path});
        let started = Instant::now();
        sb.ccf(&["hook", "stop-failure"])
            .stdin(input.to_string())
            .run();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path}: {:?}",
            started.elapsed()
        );
    }
}

/// A directory others can write is tightened (and said so) before ccf uses it; validate
/// reports one; a spool record another user owns is ignored, not acted on.
#[test]
fn loose_directories_are_tightened_and_foreign_spool_records_ignored() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    let spool = sb.path("state/spool");
    std::fs::create_dir_all(&spool).unwrap();
    for d in [sb.path("state"), spool.clone()] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    sb.ccf(&["validate"])
        .code(3)
        .stdout_has(&format!(
            "{} is writable by other users (mode 777)",
            spool.display()
        ))
        .stderr_has("error: 2 problems found")
        .run();
    // A forged limit, written by someone else.
    let forged = spool.join("00000000000000000001-stop_failure-x.json");
    std::fs::write(
        &forged,
        r#"{"event":"stop_failure","error":"rate_limit","last_assistant_message":"You've hit your limit · resets 12am (UTC)"}"#,
    )
    .unwrap();
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    if root {
        std::os::unix::fs::chown(&forged, Some(65534), Some(65534)).unwrap();
    }
    // Only root can give the record away; as another user the chown is skipped.
    let out = sb
        .ccf(&["check-quota"])
        .stderr_has("tightened")
        .stderr_may_have("it is not owned by you")
        .run();
    for d in [sb.path("state"), spool.clone()] {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    if root {
        assert!(!out.stdout.contains("swapped"), "{}", out.stdout);
        assert!(out.stderr.contains("not owned by"), "{}", out.stderr);
        assert_eq!(sb.state()["active_account"], "compte1");
    }
}

/// Runs ccf in `sb` with `args`, failing the test if it has not ended in 10 s (a FIFO
/// opened for reading blocks for ever); returns its exit code and stderr.
fn bounded(sb: &Sandbox, args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ccf"))
        .args(args)
        .env_clear()
        .envs(sb.env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("ccf {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Nothing ccf reads may hang it or cost its size in memory: a FIFO in the spool or at
/// state.json, /dev/zero as the config or as a capture.
#[test]
fn fifos_and_endless_files_are_refused_not_read() {
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    let spool = sb.path("state/spool");
    std::fs::create_dir_all(&spool).unwrap();
    crate::support::mkfifo(&spool.join("00000000000000000001-stop_failure-x.json"));
    let (code, err) = bounded(&sb, &["check-quota"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    std::fs::remove_file(sb.state_file()).unwrap();
    crate::support::mkfifo(&sb.state_file());
    let (code, err) = bounded(&sb, &["check-quota"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    let (code, err) = bounded(&sb, &["--config", "/dev/zero", "status"]);
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    let (code, err) = bounded(&sb, &["detect", "/dev/zero"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

/// The other directories ccf reads its own records from: a symlink or a FIFO in the
/// outbox or the usage directory is ignored (with a warning), never followed or opened,
/// and a loose queue is tightened by the next dispatch.
#[test]
fn links_fifos_and_loose_modes_in_the_outbox_usage_and_queue_are_handled() {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::new();
    sb.login_all();
    sb.hold_notifications();
    sb.ccf(&["ensure-symlinks"]).run();
    let outbox = sb.path("state/outbox");
    let usage = sb.path("state/usage");
    for d in [&outbox, &usage] {
        std::fs::create_dir_all(d).unwrap();
    }
    let secret = sb.path("secret.json");
    std::fs::write(
        &secret,
        r#"{"created_at":"2026-01-01T00:00:00Z","attempts":0,"event":{"kind":"test"}}"#,
    )
    .unwrap();
    std::os::unix::fs::symlink(&secret, outbox.join("0000000000001-000000-x.json")).unwrap();
    crate::support::mkfifo(&usage.join("default.json"));
    let config = format!(
        "{}notifications:\n  webhook: {{url: \"{}\"}}\n",
        sb.default_config().replace(
            "dispatcher:",
            "quota: {statusline_threshold: 90}\ndispatcher:"
        ),
        crate::support::http::dead_url()
    );
    sb.write_config(&config);
    let (code, err) = bounded(&sb, &["check-quota"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("ignoring queued notification"), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    assert!(secret.exists() && outbox.join("0000000000001-000000-x.json").exists());
    let inbox = sb.path("queue/inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::set_permissions(&inbox, std::fs::Permissions::from_mode(0o777)).unwrap();
    // The link is still in the outbox: this run's delivery passes it by again.
    sb.ccf(&["dispatch"])
        .stderr_has("tightened")
        .stderr_has("ignoring queued notification")
        .run();
    let mode = std::fs::metadata(&inbox).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}
