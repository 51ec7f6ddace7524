//! The foundation end to end: CLI, config errors, validate, ensure-symlinks, status,
//! the state lock and corrupt state, on a sandbox with a private tmux server.

use std::fs::File;
use std::path::Path;

use crate::support::Sandbox;

const COMMANDS: &[&str] = &[
    "check-quota",
    "swap",
    "rollback",
    "ensure-symlinks",
    "validate",
    "dispatch",
    "janitor",
    "status",
    "detect",
    "hook",
    "completions",
];

#[test]
fn help_lists_every_subcommand_of_the_contract() {
    let sb = Sandbox::new();
    let out = sb.ccf(&["--help"]).run();
    for c in COMMANDS {
        assert!(
            out.stdout.contains(&format!("  {c} ")),
            "--help lacks {c}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let sb = Sandbox::new();
    sb.ccf(&["status", "--frobnicate"])
        .code(2)
        .stderr_has("--frobnicate")
        .run();
}

/// What bash offers at `words` + <TAB> with the script of `ccf completions bash`
/// sourced, ccf on PATH and the sandbox's config.
fn bash_completes(sb: &Sandbox, words: &[&str]) -> Vec<String> {
    let bin = Path::new(env!("CARGO_BIN_EXE_ccf")).parent().unwrap();
    let mut env = sb.env();
    for (k, v) in &mut env {
        if k == "PATH" {
            *v = format!("{}:{v}", bin.display());
        }
    }
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source <(ccf completions bash)\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_TYPE=9\n_clap_complete_ccf ccf '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn an_account_argument_completes_the_configured_accounts() {
    let sb = Sandbox::with_accounts(&["work", "perso", "spare"]);
    assert_eq!(
        bash_completes(&sb, &["ccf", "swap", "--to", ""]),
        ["work", "perso", "spare"]
    );
    assert_eq!(
        bash_completes(&sb, &["ccf", "account", "disable", "pe"]),
        ["perso"]
    );
    assert_eq!(
        bash_completes(&sb, &["ccf", "history", "--account", "s"]),
        ["spare"]
    );
    // Subcommands complete as before.
    assert!(bash_completes(&sb, &["ccf", "sw"]).contains(&"swap".to_string()));
    // A broken config offers nothing, and says nothing in the middle of a command line.
    sb.write_config("accounts: [");
    assert!(bash_completes(&sb, &["ccf", "swap", "--to", ""]).is_empty());
}

#[test]
fn completions_in_the_repo_are_fresh() {
    let sb = Sandbox::new();
    for (shell, file) in [("bash", "ccf.bash"), ("zsh", "_ccf"), ("fish", "ccf.fish")] {
        let out = sb.ccf(&["completions", shell]).stderr_empty().run();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("completions")
            .join(file);
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == out.stdout,
            "{} is stale: regenerate with `cargo run -q -- completions {shell} > completions/{file}`",
            path.display()
        );
    }
}

#[test]
fn an_unknown_config_key_exits_78_and_names_its_line() {
    let sb = Sandbox::new();
    sb.write_config(&format!("{}quota:\n  cooldwn: 5m\n", sb.default_config()));
    let out = sb
        .ccf(&["status"])
        .code(78)
        .stderr_has("1 problem in the configuration:")
        .stderr_has("unknown field `cooldwn`")
        .run();
    let line = sb.default_config().lines().count() + 2;
    assert!(
        out.stderr.contains(&format!("line {line} column 3")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&sb.config.display().to_string()),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bad_value_inside_a_section_is_one_problem_at_its_own_line_naming_its_full_key() {
    let sb = Sandbox::new();
    let base = sb.default_config();
    let line = base.lines().count() + 4;
    sb.write_config(&format!(
        "{base}quota:\n  capture_lines: 200\n  confirm_polls: 2\n  cooldown: 5 minutes please\n"
    ));
    sb.ccf(&["validate"])
        .code(78)
        .stderr_is(&format!(
            "error: {}: 1 problem in the configuration:\n\
             error:   line {line} column 13: quota.cooldown: invalid duration \"5 minutes please\" (expected number at 10); write e.g. 30s, 5m, 2h or 7d\n",
            sb.config.display()
        ))
        .run();
}

#[test]
fn bad_values_deeper_in_sections_are_each_reported_once_with_their_full_keys() {
    let sb = Sandbox::new();
    let pool =
        "  autonomous: {prefix: ccl-auto-, start_index: 11, min: 2, max: 10, workdir: ~/work}\n";
    let base = sb.default_config();
    assert!(base.contains(pool), "the default config changed: {base}");
    let config = format!(
        "{}notifications:\n  max_attempts: 3\n  max_age: 1h\n  timeout: soon\n",
        base.replace(
            pool,
            "  autonomous:\n    prefix: ccl-auto-\n    min: 1\n    max: lots\n"
        )
    );
    let line_of = |needle: &str| config.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (max, timeout) = (line_of("max: lots"), line_of("timeout: soon"));
    sb.write_config(&config);
    sb.ccf(&["validate"])
        .code(78)
        .stderr_is(&format!(
            "error: {}: 2 problems in the configuration:\n\
             error:   line {max} column 10: pool.autonomous.max: invalid type: string \"lots\", expected a whole number (0 or more)\n\
             error:   line {timeout} column 12: notifications.timeout: invalid duration \"soon\" (expected number at 0); write e.g. 30s, 5m, 2h or 7d\n",
            sb.config.display()
        ))
        .run();
}

#[test]
fn a_missing_config_exits_78_and_says_where_it_looked() {
    let sb = Sandbox::new();
    sb.ccf(&["status"])
        .env("CCF_CONFIG", "")
        .code(78)
        .stderr_has("no configuration found")
        .stderr_has(".config/ccf/config.yaml")
        .run();
}

#[test]
fn validate_fails_before_ensure_symlinks_and_passes_after() {
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["validate"])
        .code(3)
        .stdout_has("problem: ")
        .stdout_has(".claude-compte1/projects is missing")
        .stdout_has("fix: run ccf ensure-symlinks")
        .stderr_has("error: 13 problems found")
        .run();
    sb.ccf(&["ensure-symlinks"])
        .stdout_has("created link")
        .run();
    sb.ccf(&["validate"])
        .stdout_has("ok: ")
        .stdout_lacks("problem")
        .run();
}

#[test]
fn ensure_symlinks_builds_exactly_the_documented_layout_and_is_idempotent() {
    let sb = Sandbox::new();
    sb.ccf(&["ensure-symlinks"]).run();
    let shared = sb.path(".claude-shared");
    for account in ["compte1", "compte2"] {
        for name in ["projects", "session-env", "file-history"] {
            let link = sb.account_home(account).join(name);
            assert_eq!(
                std::fs::read_link(&link).unwrap(),
                shared.join(name),
                "{}",
                link.display()
            );
            assert!(shared.join(name).is_dir());
        }
    }
    assert_eq!(
        std::fs::read_link(sb.path(".claude")).unwrap(),
        sb.account_home("compte1")
    );
    assert_eq!(sb.state()["active_account"], "compte1");
    let second = sb.ccf(&["ensure-symlinks"]).stderr_empty().run();
    assert_eq!(second.stdout, "", "a second run must find nothing to do");
}

#[test]
fn ensure_symlinks_for_one_account_leaves_the_others_alone() {
    let sb = Sandbox::new();
    sb.ccf(&["ensure-symlinks", "--account", "compte2"]).run();
    assert!(sb.account_home("compte2").join("projects").exists());
    assert!(!sb.account_home("compte1").exists());
    sb.ccf(&["ensure-symlinks", "--account", "nope"])
        .code(1)
        .stderr_has("no account named nope")
        .run();
}

#[test]
fn a_divergent_link_makes_ensure_symlinks_fail_and_is_left_as_it_was() {
    let sb = Sandbox::new();
    let home = sb.account_home("compte2");
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::symlink("/somewhere/else", home.join("projects")).unwrap();
    std::fs::create_dir_all(home.join("file-history")).unwrap();
    std::fs::write(home.join("file-history/only-copy"), "precious").unwrap();
    sb.ccf(&["ensure-symlinks"])
        .code(1)
        .stdout_has("is a symlink to /somewhere/else")
        .stdout_has("is a real directory")
        .stdout_has("fix: ")
        .stderr_has("2 places in the shared layout need the operator")
        .run();
    assert_eq!(
        std::fs::read_link(home.join("projects")).unwrap(),
        Path::new("/somewhere/else")
    );
    assert_eq!(
        std::fs::read_to_string(home.join("file-history/only-copy")).unwrap(),
        "precious"
    );
    // The rest of the layout was still created.
    assert!(home.join("session-env").is_symlink());
}

#[test]
fn a_real_claude_directory_is_never_replaced() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path(".claude")).unwrap();
    std::fs::write(sb.path(".claude/settings.json"), "{}").unwrap();
    sb.ccf(&["ensure-symlinks"])
        .code(1)
        .stdout_has(".claude is a real directory")
        .stderr_has("error: 1 place in the shared layout needs the operator")
        .run();
    assert!(sb.path(".claude/settings.json").is_file());
}

#[test]
fn a_held_lock_makes_a_mutating_command_exit_75_at_once() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("state")).unwrap();
    let lock = File::create(sb.path("state/state.lock")).unwrap();
    lock.lock().unwrap();
    let started = std::time::Instant::now();
    sb.ccf(&["ensure-symlinks"])
        .code(75)
        .stderr_has("another ccf run holds")
        .run();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "it must not wait for the lock"
    );
    // Readers take no lock.
    sb.ccf(&["status"]).run();
}

#[test]
fn a_corrupt_state_makes_a_mutating_command_fail_without_touching_it() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("state")).unwrap();
    std::fs::write(sb.state_file(), "{\"version\": 1, \"active_acc").unwrap();
    sb.ccf(&["ensure-symlinks"])
        .code(1)
        .stderr_has("state.json is corrupt")
        .stderr_has("mv ")
        .run();
    assert_eq!(
        std::fs::read_to_string(sb.state_file()).unwrap(),
        "{\"version\": 1, \"active_acc"
    );
    sb.ccf(&["validate"])
        .code(3)
        .stdout_has("is corrupt")
        .stderr_has("problems found")
        .run();
}

#[test]
fn status_json_has_the_documented_fields() {
    let sb = Sandbox::new();
    sb.ccf(&["ensure-symlinks"]).run();
    sb.tmux.new_session("ccl-1-proj", &sb.path("proj"), &[]);
    sb.tmux.new_session("ccl-0", &sb.home, &[]);
    let v = sb.ccf(&["status", "--json"]).run().json();
    for key in [
        "active_account",
        "link_target",
        "accounts",
        "sessions",
        "swap_in_progress",
        "degraded",
        "last_swap",
        "pending_return",
        "tasks",
    ] {
        assert!(v.get(key).is_some(), "status --json lacks {key}: {v}");
    }
    assert_eq!(v["active_account"], "compte1");
    assert_eq!(v["accounts"][0]["state"], "active");
    assert_eq!(v["accounts"][1]["state"], "available");
    let names: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["ccl-1-proj"],
        "manual sessions are not listed; dedicated ones are"
    );
    assert_eq!(v["sessions"][0]["kind"], "dedicated");
    assert_eq!(v["sessions"][0]["running"], true);
    sb.ccf(&["status", "--check"]).run();
}

#[test]
fn status_check_exits_3_when_degraded() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("state")).unwrap();
    std::fs::write(sb.state_file(), r#"{"version":1,"degraded":{"since":"2026-01-01T00:00:00Z","reason":"link rollback failed"}}"#).unwrap();
    sb.ccf(&["status", "--check"])
        .code(3)
        .stdout_has("DEGRADED: link rollback failed")
        .stderr_has("error: ccf is degraded: link rollback failed")
        .run();
}

#[test]
fn an_unfinished_swap_names_its_step_the_same_way_in_every_command() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("state")).unwrap();
    std::fs::write(
        sb.state_file(),
        r#"{"version":1,"active_account":"compte1","swap":{"from":"compte1","to":"compte2","step":"link_flipped","started_at":"2026-01-01T00:00:00Z","reason":"manual","sessions":[]}}"#,
    )
    .unwrap();
    sb.ccf(&["status"])
        .stdout_has("swap in progress: compte1 -> compte2 at step link-flipped (")
        .run();
    sb.ccf(&["swap", "--dry-run"])
        .stdout_has("a swap compte1 -> compte2 is unfinished (step link-flipped);")
        .run();
    sb.ccf(&["validate"])
        .code(3)
        .stdout_has("a swap from compte1 to compte2 is unfinished (step link-flipped)\n")
        .stderr_has("problems found")
        .run();
    sb.ccf(&["rollback", "--dry-run"])
        .stdout_has("the interrupted swap compte1 -> compte2 (step link-flipped)\n")
        .run();
    sb.ccf(&["ensure-symlinks"])
        .stderr_has("found an unfinished swap compte1 -> compte2 (step link-flipped, started")
        .run();
}

#[test]
fn status_check_says_how_stale_the_last_check_quota_pass_is_as_durations_are_written() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("state")).unwrap();
    std::fs::write(
        sb.state_file(),
        r#"{"version":1,"quota":{"last_check":"2026-01-01T00:00:00Z"}}"#,
    )
    .unwrap();
    sb.ccf(&["status", "--check"])
        .env("CCF_NOW", "2026-01-01T00:05:00Z")
        .code(3)
        .stdout_has("the last check-quota pass was at 2026-01-01T00:00:00Z, over 1m 30s ago:")
        .stderr_has("error: the last check-quota pass was at 2026-01-01T00:00:00Z, over 1m 30s ago")
        .run();
}

#[test]
fn validate_counts_in_the_singular_for_one_and_the_plural_for_more() {
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    sb.ccf(&["install-hooks", "--account", "compte1"]).run();
    sb.ccf(&["validate"])
        .stdout_has(&format!(
            "ok: {} is valid (2 accounts, 1 warning)\n",
            sb.config.display()
        ))
        .run();
    sb.tmux.tmux(["kill-server"]);
    sb.ccf(&["validate"])
        .code(3)
        .stderr_is("error: 1 problem found\n")
        .run();
    std::fs::remove_dir(sb.path(".claude-shared/projects")).unwrap();
    let out = sb
        .ccf(&["validate"])
        .code(3)
        .stderr_is("error: 2 problems found\n")
        .run();
    assert_eq!(out.stdout.matches("problem: ").count(), 2, "{}", out.stdout);
}

#[test]
fn validate_reports_every_problem_at_once() {
    let sb = Sandbox::new();
    sb.ccf(&["ensure-symlinks"]).run();
    sb.tmux.tmux(["kill-server"]);
    let out = sb
        .ccf(&["validate"])
        .env("ANTHROPIC_API_KEY", "sk-x")
        .env("PATH", "/usr/bin:/bin")
        .code(3)
        .stdout_has("no tmux server answers")
        .stdout_has("claude command \"claude\" is not on PATH")
        .stdout_has("ANTHROPIC_API_KEY is set in ccf's environment")
        .stderr_has("problems found")
        .run();
    assert!(
        out.stdout.matches("problem: ").count() >= 3,
        "{}",
        out.stdout
    );
}

#[test]
fn validate_names_the_tmux_socket_no_server_answers_on_as_its_path() {
    let sb = Sandbox::new();
    sb.tmux.tmux(["kill-server"]);
    sb.ccf(&["validate"])
        .code(3)
        .stdout_has(&format!(
            "problem: no tmux server answers on {}\n",
            sb.tmux.socket.display()
        ))
        .stderr_has("problems found")
        .run();
}

#[test]
fn validate_reports_an_untrusted_project_and_unfinished_onboarding() {
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    std::fs::write(
        sb.account_home("compte2").join(".claude.json"),
        r#"{"hasCompletedOnboarding": false, "projects": {}}"#,
    )
    .unwrap();
    sb.ccf(&["validate"])
        .code(3)
        .stdout_has("account compte2 has not completed Claude Code's onboarding")
        .stdout_has(&format!(
            "account compte2 does not trust {}",
            sb.path("proj").display()
        ))
        .stderr_has("error: 3 problems found")
        .run();
}

/// With `--dangerously-skip-permissions` in `claude.args`, Claude Code 2.1.330 stops a
/// session at its Bypass Permissions warning (default answer: "No, exit") unless the
/// account's `settings.json` records the consent. A relaunch onto such an account
/// would stop there: the real client showed it, run as an ordinary user.
#[test]
fn validate_reports_an_account_that_has_not_accepted_bypass_permissions() {
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    let config = sb
        .default_config()
        .replace("  args: []\n", "  args: [--dangerously-skip-permissions]\n");
    sb.write_config(&config);
    std::fs::write(
        sb.account_home("compte1").join("settings.json"),
        r#"{"skipDangerousModePermissionPrompt": true}"#,
    )
    .unwrap();
    let out = sb
        .ccf(&["validate"])
        .code(3)
        .stdout_has("account compte2 has not accepted Claude Code's Bypass Permissions mode")
        .stdout_has("\"skipDangerousModePermissionPrompt\": true")
        .stderr_has("error: 1 problem found")
        .run();
    assert!(
        !out.stdout.contains("account compte1 has not accepted"),
        "{}",
        out.stdout
    );
    std::fs::write(
        sb.account_home("compte2").join("settings.json"),
        r#"{"skipDangerousModePermissionPrompt": true, "hooks": {}}"#,
    )
    .unwrap();
    sb.ccf(&["validate"])
        .stdout_lacks("Bypass Permissions")
        .run();
}

/// Panes inherit the tmux server's global environment: a token there (or an
/// `ANTHROPIC_AUTH_TOKEN` anywhere) overrides every account's login just the same.
#[test]
fn validate_finds_an_overriding_token_in_the_tmux_server_and_the_auth_token_too() {
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    sb.tmux.ok([
        "set-environment",
        "-g",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "sk-ant-oat-x",
    ]);
    sb.ccf(&["validate"])
        .env("ANTHROPIC_AUTH_TOKEN", "t")
        .code(3)
        .stdout_has("CLAUDE_CODE_OAUTH_TOKEN is set in the tmux server's global environment")
        .stdout_has("ANTHROPIC_AUTH_TOKEN is set in ccf's environment")
        .stdout_has("tmux set-environment -g -u CLAUDE_CODE_OAUTH_TOKEN")
        .stderr_has("error: 2 problems found")
        .run();
}

/// Each condition `status --check` exits 3 for is named on its own line (a failed unit,
/// a stale check and degraded have their own tests).
#[test]
fn status_check_names_every_account_out_unrelaunched_sessions_and_no_tmux_server() {
    let sb = Sandbox::new();
    sb.login_all();
    sb.ccf(&["ensure-symlinks"]).run();
    sb.ccf(&["status", "--check"])
        .stdout_has("problems: none")
        .run();
    let mut st = sb.state();
    st["accounts"] = serde_json::json!({
        "compte1": {"exhausted_until": "2099-01-01T00:00:00Z"},
        "compte2": {"auth_failed": true}
    });
    st["last_swap"] = serde_json::json!({
        "from": "compte1", "to": "compte2", "at": "2026-01-01T00:00:00Z",
        "reason": "usage limit", "failed": ["ccl-1-proj"]
    });
    std::fs::write(sb.state_file(), st.to_string()).unwrap();
    sb.ccf(&["status", "--check"])
        .code(3)
        .stdout_has("every account is exhausted or needs a login: sessions are parked")
        .stdout_has("the last swap could not relaunch ccl-1-proj")
        .stderr_is("error: every account is exhausted or needs a login: sessions are parked; the last swap could not relaunch ccl-1-proj (fix the cause, then `ccf swap --to compte1`)\n")
        .run();
    sb.tmux.tmux(["kill-server"]);
    sb.ccf(&["status", "--check"])
        .code(3)
        .stdout_has("no tmux server answers")
        .stderr_has("error: no tmux server answers (systemctl --user start ccf-tmux.service); every account is exhausted")
        .run();
}
