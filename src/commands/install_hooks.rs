//! `ccf install-hooks [--account NAME] [--dry-run]`: add ccf's hooks to each account's
//! `settings.json`, merging with what is there.
//!
//! `SessionStart` tells ccf every session's id (no scraping); `StopFailure` reports a
//! usage limit the moment a turn ends on one; `UserPromptSubmit` and `Stop` tell it when a
//! turn runs, so a swap never relaunches a claude in the middle of one. An existing ccf entry with another binary
//! or config path is updated in place; everything else in the file is kept as it is.
//! The status line is only installed when `quota.statusline_threshold` is set and the
//! account has no status line of its own.

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
        match plan(
            &path,
            &exe,
            &ctx.config.path,
            ctx.config.quota.statusline_threshold.is_some(),
        ) {
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
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The merged settings and what changed, or `None` when nothing needs to.
fn plan(
    path: &Path,
    exe: &Path,
    config: &Path,
    statusline: bool,
) -> Result<Option<(Value, Vec<String>)>> {
    let mut doc: Value = match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => json!({}),
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON; fix it first", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(e).with_context(|| format!("failed to read {}", path.display())),
    };
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
        let want = hook_command(exe, config, "statusline");
        match root
            .get("statusLine")
            .and_then(|s| s.get("command"))
            .and_then(Value::as_str)
        {
            None => {
                changes.push(format!("add the status line: {want}"));
                root.insert(
                    "statusLine".into(),
                    json!({"type": "command", "command": want}),
                );
            }
            Some(cmd) if is_ccf_hook(cmd, "statusline") && cmd != want => {
                changes.push(format!("update the status line to {want}"));
                root.insert(
                    "statusLine".into(),
                    json!({"type": "command", "command": want}),
                );
            }
            Some(cmd) if !is_ccf_hook(cmd, "statusline") => {
                crate::log::notice(&format!(
                    "{}: keeps its own status line; add `ccf hook statusline` to it for usage figures",
                    path.display()
                ));
            }
            Some(_) => {}
        }
    }
    Ok((!changes.is_empty()).then_some((doc, changes)))
}

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
}
