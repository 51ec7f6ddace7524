//! `ccf install-hooks [--account NAME] [--dry-run] [--uninstall]`: add ccf's hooks to each
//! account's `settings.json`, merging with what is there, or take them out again.
//!
//! `SessionStart` tells ccf every session's id (no scraping); `StopFailure` reports a
//! usage limit the moment a turn ends on one; `UserPromptSubmit` and `Stop` tell it when a
//! turn runs, so a swap never relaunches a claude in the middle of one. An existing ccf entry with another binary
//! or config path is updated in place; everything else in the file is kept as it is.
//! The status line is installed when `quota.statusline_threshold` is set. An account with
//! a status line of its own keeps it, chained: `ccf hook statusline --then '<theirs>'`
//! records the figures, then runs their command and prints its line. `--uninstall` puts
//! their command back where it was and removes everything else ccf added.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cli::InstallHooksArgs;
use crate::context::Ctx;

/// The hook events ccf installs, with the `ccf hook` argument each runs.
const HOOKS: [(&str, &str); 4] = [
    ("SessionStart", "session-start"),
    ("StopFailure", "stop-failure"),
    ("UserPromptSubmit", "prompt-submit"),
    ("Stop", "stop"),
];

pub fn run(ctx: &Ctx, args: &InstallHooksArgs) -> Result<ExitCode> {
    let exe = std::env::current_exe().context("failed to find the path of the running ccf")?;
    let accounts: Vec<_> = ctx
        .config
        .accounts
        .iter()
        .filter(|a| args.account.as_ref().is_none_or(|n| *n == a.name))
        .collect();
    if accounts.is_empty() {
        bail!(
            "no account named {}",
            args.account.as_deref().unwrap_or("?")
        );
    }
    let mut failed = 0;
    for account in accounts {
        let path = account.home.join("settings.json");
        let planned = if args.uninstall {
            read(&path).and_then(|doc| uninstall(&path, doc))
        } else {
            plan(
                &path,
                &exe,
                &ctx.config.path,
                ctx.config.quota.statusline_threshold.is_some(),
            )
        };
        match planned {
            Ok(None) if args.uninstall => println!("{}: no ccf hooks", path.display()),
            Ok(None) => println!("{}: hooks already installed", path.display()),
            Ok(Some((doc, changes))) => {
                let verb = if args.dry_run { "would" } else { "did" };
                for c in &changes {
                    println!("{}: {verb} {c}", path.display());
                }
                if !args.dry_run {
                    crate::fsutil::create_private_dir(&account.home)?;
                    let mut text = serde_json::to_string_pretty(&doc)?;
                    text.push('\n');
                    // A settings.json that is a link (dotfiles) is written through: the
                    // link stays, its target gets the hooks.
                    let target = match std::fs::symlink_metadata(&path) {
                        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&path)
                            .with_context(|| format!("{} is a link to nowhere", path.display()))?,
                        _ => path.clone(),
                    };
                    crate::fsutil::write_atomic(&target, text.as_bytes(), 0o600)?;
                }
            }
            Err(e) => {
                crate::log::error(&format!("{e:#}"));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!(
            "{} could not be updated (see above) and {} left unchanged",
            crate::human::count(failed, "settings file"),
            if failed == 1 { "was" } else { "were" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The command line a hook runs (through Claude Code's shell, hence the quoting).
pub fn hook_command(exe: &Path, config: &Path, event: &str) -> String {
    format!(
        "{} --config {} hook {event}",
        quote(&exe.to_string_lossy()),
        quote(&config.to_string_lossy())
    )
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// ccf's status line, running `then` (the operator's own command) after it records.
pub fn statusline_command(exe: &Path, config: &Path, then: Option<&str>) -> String {
    let mine = hook_command(exe, config, "statusline");
    match then {
        None => mine,
        Some(theirs) => format!("{mine} --then {}", quote(theirs)),
    }
}

/// Whose a status-line command is.
#[derive(Debug, PartialEq, Eq)]
enum StatusLine {
    /// ccf's alone.
    Ccf,
    /// ccf's, running the operator's command after it.
    Chained(String),
    /// Anything else.
    Theirs,
}

fn parse_statusline(cmd: &str) -> StatusLine {
    chained(cmd).map_or(StatusLine::Theirs, |then| {
        then.map_or(StatusLine::Ccf, StatusLine::Chained)
    })
}

#[expect(
    clippy::option_option,
    reason = "`?` on each word; parse_statusline names the cases"
)]
fn chained(cmd: &str) -> Option<Option<String>> {
    let words = shlex::split(cmd)?;
    let program = Path::new(words.first()?).file_name()?.to_string_lossy();
    if !program.contains("ccf") {
        return None;
    }
    let at = words
        .windows(2)
        .position(|w| w[0] == "hook" && w[1] == "statusline")?;
    match &words[at + 2..] {
        [] => Some(None),
        [flag, theirs] if flag == "--then" => Some(Some(theirs.clone())),
        _ => None,
    }
}

/// The settings file as JSON; a missing or empty file is an empty object.
fn read(path: &Path) -> Result<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(json!({})),
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON; fix it first", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(e).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// The merged settings and what changed, or `None` when nothing needs to.
fn plan(
    path: &Path,
    exe: &Path,
    config: &Path,
    statusline: bool,
) -> Result<Option<(Value, Vec<String>)>> {
    let mut doc = read(path)?;
    let Some(root) = doc.as_object_mut() else {
        bail!("{} is not a JSON object", path.display());
    };
    let mut changes = Vec::new();
    let hooks = root.entry("hooks").or_insert_with(|| json!({}));
    let Some(hooks) = hooks.as_object_mut() else {
        bail!("{}: \"hooks\" is not an object", path.display());
    };
    for (event, arg) in HOOKS {
        let want = hook_command(exe, config, arg);
        let groups = hooks.entry(event).or_insert_with(|| json!([]));
        let Some(groups) = groups.as_array_mut() else {
            bail!("{}: hooks.{event} is not a list", path.display());
        };
        let mut found = false;
        for group in groups.iter_mut() {
            for h in group
                .get_mut("hooks")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                let Some(cmd) = h.get("command").and_then(Value::as_str) else {
                    continue;
                };
                if is_ccf_hook(cmd, arg) {
                    found = true;
                    if cmd != want {
                        changes.push(format!("update the {event} hook to {want}"));
                        h["command"] = json!(want);
                    }
                }
            }
        }
        if !found {
            changes.push(format!("add the {event} hook: {want}"));
            groups.push(json!({"hooks": [{"type": "command", "command": want}]}));
        }
    }
    if statusline {
        let line = root.entry("statusLine").or_insert_with(|| json!({}));
        let Some(line) = line.as_object_mut() else {
            bail!("{}: \"statusLine\" is not an object", path.display());
        };
        let now = line.get("command").and_then(Value::as_str);
        let want = match now.map(|cmd| (cmd, parse_statusline(cmd))) {
            None => {
                let want = statusline_command(exe, config, None);
                changes.push(format!("add the status line: {want}"));
                want
            }
            Some((cmd, StatusLine::Ccf)) => {
                let want = statusline_command(exe, config, None);
                if cmd != want {
                    changes.push(format!("update the status line to {want}"));
                }
                want
            }
            Some((cmd, StatusLine::Chained(theirs))) => {
                let want = statusline_command(exe, config, Some(&theirs));
                if cmd != want {
                    changes.push(format!("update the status line to {want}"));
                }
                want
            }
            Some((theirs, StatusLine::Theirs)) => {
                changes.push(format!(
                    "chain the status line: ccf records the figures, then runs {theirs}"
                ));
                statusline_command(exe, config, Some(theirs))
            }
        };
        line.entry("type").or_insert_with(|| json!("command"));
        line.insert("command".into(), json!(want));
    }
    Ok((!changes.is_empty()).then_some((doc, changes)))
}

/// The settings without ccf's hooks, the operator's status line back in its place, and
/// what changed; `None` when there is no ccf hook in them.
fn uninstall(path: &Path, mut doc: Value) -> Result<Option<(Value, Vec<String>)>> {
    let Some(root) = doc.as_object_mut() else {
        bail!("{} is not a JSON object", path.display());
    };
    let mut changes = Vec::new();
    if let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) {
        for (event, arg) in HOOKS {
            let Some(groups) = hooks.get_mut(event).and_then(Value::as_array_mut) else {
                continue;
            };
            let before = groups.len();
            let mut removed = 0;
            groups.retain_mut(|group| {
                let Some(list) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
                    return true;
                };
                let had = list.len();
                list.retain(|h| {
                    !h.get("command")
                        .and_then(Value::as_str)
                        .is_some_and(|c| is_ccf_hook(c, arg))
                });
                removed += had - list.len();
                // A group emptied by ccf goes; one that was empty stays.
                !(list.is_empty() && had > 0)
            });
            if removed > 0 {
                changes.push(format!("remove the {event} hook"));
                if groups.is_empty() && before > 0 {
                    hooks.remove(event);
                }
            }
        }
        if hooks.is_empty() && !changes.is_empty() {
            root.remove("hooks");
        }
    }
    let chained = root
        .get("statusLine")
        .and_then(|s| s.get("command"))
        .and_then(Value::as_str)
        .map_or(StatusLine::Theirs, parse_statusline);
    match chained {
        StatusLine::Chained(theirs) => {
            changes.push(format!("restore the status line: {theirs}"));
            root["statusLine"]["command"] = json!(theirs);
        }
        StatusLine::Ccf => {
            changes.push("remove the status line".to_string());
            root.remove("statusLine");
        }
        StatusLine::Theirs => {}
    }
    Ok((!changes.is_empty()).then_some((doc, changes)))
}

/// Whether `cmd` is ccf's hook for `arg` (not the status line: [`parse_statusline`]).
fn is_ccf_hook(cmd: &str, arg: &str) -> bool {
    cmd.contains("ccf") && cmd.trim_end().ends_with(&format!("hook {arg}"))
}

/// The hook events an account's settings lack (for `validate`).
pub fn missing_hooks(home: &Path) -> Vec<&'static str> {
    let doc: Value = std::fs::read_to_string(home.join("settings.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    HOOKS
        .iter()
        .filter(|(event, arg)| {
            !doc.get("hooks")
                .and_then(|h| h.get(*event))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|g| g.get("hooks").and_then(Value::as_array))
                .flatten()
                .filter_map(|h| h.get("command").and_then(Value::as_str))
                .any(|c| is_ccf_hook(c, arg))
        })
        .map(|(event, _)| *event)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_other_hooks_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(
            &path,
            r#"{"model":"opus","hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"echo mine"}]}]}}"#,
        )
        .unwrap();
        let (doc, changes) = plan(&path, Path::new("/bin/ccf"), Path::new("/c y.yaml"), false)
            .unwrap()
            .unwrap();
        assert_eq!(changes.len(), 4, "one per hook event");
        assert_eq!(doc["model"], "opus");
        assert_eq!(
            doc["hooks"]["SessionStart"][0]["hooks"][0]["command"],
            "echo mine"
        );
        assert_eq!(
            doc["hooks"]["SessionStart"][1]["hooks"][0]["command"],
            "/bin/ccf --config '/c y.yaml' hook session-start"
        );
        std::fs::write(&path, doc.to_string()).unwrap();
        assert!(
            plan(&path, Path::new("/bin/ccf"), Path::new("/c y.yaml"), false)
                .unwrap()
                .is_none()
        );
        assert!(missing_hooks(dir.path()).is_empty());
        let (moved, changes) = plan(&path, Path::new("/new/ccf"), Path::new("/c y.yaml"), false)
            .unwrap()
            .unwrap();
        assert!(changes[0].starts_with("update the SessionStart hook"));
        assert_eq!(moved["hooks"]["SessionStart"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_settings_file_that_does_not_parse_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{oops").unwrap();
        assert!(plan(&path, Path::new("/bin/ccf"), Path::new("/c.yaml"), false).is_err());
        assert_eq!(
            missing_hooks(dir.path()),
            vec!["SessionStart", "StopFailure", "UserPromptSubmit", "Stop"]
        );
    }

    #[test]
    fn the_chained_status_line_gives_back_the_operators_command() {
        let exe = Path::new("/opt/my tools/ccf");
        let config = Path::new("/c.yaml");
        for theirs in [
            "~/bin/line.sh",
            "printf '%s' \"$(jq -r .model.id)\" | tr a-z A-Z",
            "echo 'it'\\''s'; echo --then",
            "",
        ] {
            let cmd = statusline_command(exe, config, Some(theirs));
            assert_eq!(
                parse_statusline(&cmd),
                StatusLine::Chained(theirs.to_string()),
                "{cmd}"
            );
        }
        let mine = statusline_command(exe, config, None);
        assert_eq!(parse_statusline(&mine), StatusLine::Ccf);
        for foreign in [
            "~/bin/line.sh",
            "ccusage statusline",
            "/bin/ccf hook statusline | tee /tmp/x",
            "'unbalanced",
        ] {
            assert_eq!(parse_statusline(foreign), StatusLine::Theirs, "{foreign}");
        }
    }

    #[test]
    fn an_uninstall_keeps_what_ccf_did_not_add() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(
            &path,
            r#"{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"echo mine"}]}],"PreToolUse":[]},"statusLine":{"type":"command","command":"theirs"}}"#,
        )
        .unwrap();
        let original = read(&path).unwrap();
        let (doc, _) = plan(&path, Path::new("/bin/ccf"), Path::new("/c.yaml"), true)
            .unwrap()
            .unwrap();
        let (back, changes) = uninstall(&path, doc).unwrap().unwrap();
        assert_eq!(back, original, "{changes:?}");
        assert!(uninstall(&path, back).unwrap().is_none());
    }
}
