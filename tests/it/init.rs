//! The first run (issue 18): `ccf init` writes a config from what is on the host (account
//! homes with a login, the tmux server and its sessions, claude on PATH) to the XDG path,
//! never over an existing one; `ccf config example` is the embedded example; the
//! no-config error names `ccf init`; `state_dir` defaults under `$XDG_STATE_HOME`.

use std::os::unix::fs::PermissionsExt as _;

use serde_yaml::Value;

use crate::support::Sandbox;

/// compte1 logged in, compte2 a home without a login; a tmux server with two pool
/// sessions, a dedicated one and two manual ones (the sandbox's `keepalive`, `scratch`).
fn host() -> Sandbox {
    let sb = Sandbox::new();
    sb.login("compte1");
    std::fs::create_dir_all(sb.account_home("compte2")).unwrap();
    std::fs::create_dir_all(sb.path("work")).unwrap();
    std::fs::create_dir_all(sb.path("proj")).unwrap();
    sb.tmux.new_session("ccl-auto-11", &sb.path("work"), &[]);
    sb.tmux.new_session("ccl-auto-12", &sb.path("work"), &[]);
    sb.tmux.new_session("ccl-1-proj", &sb.path("proj"), &[]);
    sb.tmux.new_session("scratch", &sb.home, &[]);
    sb
}

/// `ccf ARGS` as on a host where nothing names a config: the XDG path is where it is
/// looked for, and `$TMUX` names the server (as in a pane).
fn fresh(sb: &Sandbox, args: &[&str]) -> crate::support::Run {
    sb.ccf(args)
        .env_remove("CCF_CONFIG")
        .env("TMUX", &format!("{},4242,0", sb.tmux.socket.display()))
        .env(
            "XDG_STATE_HOME",
            &sb.path("xdg-state").display().to_string(),
        )
}

fn xdg_config(sb: &Sandbox) -> std::path::PathBuf {
    sb.path(".config/ccf/config.yaml")
}

#[test]
fn init_writes_what_it_finds_to_the_xdg_path_and_validate_loads_it() {
    let sb = host();
    fresh(&sb, &["init"])
        .stdout_has(&format!("wrote {}", xdg_config(&sb).display()))
        .stdout_has("1 account: compte1")
        .stdout_has("sessions: 2 in the pool, 1 dedicated, 2 left alone")
        .stdout_has("next: ccf ensure-symlinks")
        .stderr_has(".claude-compte2 has no login, so it is left out")
        .run();
    let path = xdg_config(&sb);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    let accounts = doc["accounts"].as_sequence().unwrap();
    assert_eq!(accounts.len(), 1, "{text}");
    assert_eq!(accounts[0]["name"], "compte1");
    assert_eq!(accounts[0]["home"], "~/.claude-compte1");
    assert!(text.contains("# ~/.claude-compte2: no login yet"), "{text}");
    assert_eq!(
        doc["tmux"]["socket_path"].as_str().unwrap(),
        sb.tmux.socket.display().to_string()
    );
    assert_eq!(
        doc["claude"]["command"].as_str().unwrap(),
        sb.bin.join("claude").display().to_string()
    );
    assert_eq!(doc["pool"]["autonomous"]["start_index"], 11);
    assert_eq!(doc["pool"]["autonomous"]["workdir"], "~/work");
    let dedicated = doc["pool"]["dedicated"].as_sequence().unwrap();
    assert_eq!(dedicated.len(), 1, "{text}");
    assert_eq!(dedicated[0]["name"], "ccl-1-proj");
    assert_eq!(dedicated[0]["project"], "~/proj");
    assert!(text.contains("left alone (list one here to have it carried): keepalive, scratch"));
    // state_dir is written out, from $XDG_STATE_HOME: the units and the hooks then agree.
    assert_eq!(doc["state_dir"], "~/xdg-state/ccf");
    // The example's other keys, and no example channel that would send anywhere.
    assert_eq!(doc["quota"]["cooldown"], "5m");
    assert!(doc["notifications"].get("webhook").is_none(), "{text}");
    assert!(text.contains("  # webhook:"), "{text}");

    // It loads: the first real-use steps run on it, and validate finds nothing wrong
    // once the account accepted the example's --dangerously-skip-permissions.
    std::fs::write(
        sb.account_home("compte1").join("settings.json"),
        r#"{"skipDangerousModePermissionPrompt": true}"#,
    )
    .unwrap();
    fresh(&sb, &["ensure-symlinks"]).run();
    let out = fresh(&sb, &["validate"]).run();
    assert!(!out.stdout.contains("configuration"), "{}", out.stdout);
    assert!(sb.path("xdg-state/ccf/state.json").exists());
    fresh(&sb, &["status", "--json"]).run();
}

#[test]
fn init_never_overwrites_a_config() {
    let sb = host();
    let path = xdg_config(&sb);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "mine\n").unwrap();
    fresh(&sb, &["init"])
        .code(1)
        .stderr_has(&format!(
            "{} exists; ccf init never overwrites a config",
            path.display()
        ))
        .run();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine\n");
    // --stdout prints what it would write and writes nothing.
    let out = fresh(&sb, &["init", "--stdout"])
        .stderr_has("has no login")
        .run();
    assert!(out.stdout.contains("  - name: compte1\n"), "{}", out.stdout);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine\n");
}

#[test]
fn init_without_a_logged_in_home_writes_nothing_and_says_how_to_log_in() {
    let sb = Sandbox::new();
    fresh(&sb, &["init"])
        .code(1)
        .stderr_has("no account home with a login")
        .stderr_has("CLAUDE_CONFIG_DIR=~/.claude-NAME claude")
        .run();
    assert!(!xdg_config(&sb).exists());
}

#[test]
fn config_example_prints_the_embedded_example_byte_for_byte() {
    let sb = Sandbox::new();
    let out = sb
        .ccf(&["config", "example"])
        .env_remove("CCF_CONFIG")
        .run();
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.yaml"))
        .unwrap();
    assert_eq!(out.stdout, file);
}

#[test]
fn without_a_config_the_error_names_ccf_init() {
    let sb = Sandbox::new();
    fresh(&sb, &["status"])
        .code(78)
        .stderr_has("no configuration found")
        .stderr_has("run `ccf init`")
        .run();
}

/// A config without `state_dir` keeps its state under `$XDG_STATE_HOME/ccf`.
#[test]
fn state_dir_defaults_under_xdg_state_home() {
    let sb = Sandbox::new();
    sb.login_all();
    let config = sb.default_config().replace("state_dir: ~/state\n", "");
    assert!(!config.contains("state_dir"), "{config}");
    sb.write_config(&config);
    sb.ccf(&["ensure-symlinks"])
        .env(
            "XDG_STATE_HOME",
            &sb.path("xdg-state").display().to_string(),
        )
        .run();
    assert!(sb.path("xdg-state/ccf/state.json").exists());
    // Without $XDG_STATE_HOME: ~/.local/state/ccf.
    sb.ccf(&["ensure-symlinks"])
        .env_remove("XDG_STATE_HOME")
        .run();
    assert!(sb.path(".local/state/ccf/state.json").exists());
}
