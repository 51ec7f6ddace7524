//! `ccf hook session-start|stop-failure|prompt-submit|stop|statusline`: Claude Code's hook
//! entry points.
//!
//! Claude Code waits for a hook, so this costs a few milliseconds: no lock, no tmux, no
//! network — read stdin, write one file, exit. It never fails Claude Code: every problem
//! (no config, bad JSON, a full disk) is logged on stderr and the exit code stays 0.
//! `SessionStart`'s stdout would be added to Claude's context, so nothing is printed there.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cli::{HookArgs, HookEvent};
use crate::spool::{self, Origin, Record, SessionStart, StopFailure};

/// Hook input larger than this is not Claude Code's: it is dropped unread.
const MAX_INPUT: u64 = 1 << 20;

pub fn run(config: Option<&Path>, args: &HookArgs) -> ExitCode {
    let raw = match read_input() {
        Ok(raw) => raw,
        Err(e) => {
            crate::log::warn(&format!("ccf hook: {e:#}"));
            return ExitCode::SUCCESS;
        }
    };
    if args.event == HookEvent::Statusline {
        statusline(config, &raw, args.then.as_deref());
    } else if let Err(e) = handle(config, args.event, &raw) {
        crate::log::warn(&format!("ccf hook: {e:#}"));
    }
    ExitCode::SUCCESS
}

/// The hook's input, bounded.
fn read_input() -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut raw)
        .context("failed to read the hook input")?;
    if raw.len() as u64 > MAX_INPUT {
        bail!("hook input is over {MAX_INPUT} bytes; ignored");
    }
    Ok(raw)
}

/// What every record is written with: the config, the clock, who the hook ran for.
fn context(
    config: Option<&Path>,
    input: &Value,
) -> Result<(crate::config::Config, Origin, jiff::Timestamp)> {
    let home = PathBuf::from(std::env::var_os("HOME").context("$HOME is not set")?);
    let env = |k: &str| std::env::var(k).ok();
    let path = crate::config::locate(config, &env)?;
    let config = crate::config::load(&path, &home)?;
    let now = crate::clock::now()?;
    let claude_config_dir = env("CLAUDE_CONFIG_DIR")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    let account = spool::account_now(&config, claude_config_dir.as_deref());
    let origin = Origin {
        at: Some(now),
        session_id: str_field(input, "session_id"),
        transcript_path: str_field(input, "transcript_path").map(PathBuf::from),
        cwd: str_field(input, "cwd").map(PathBuf::from),
        tmux_pane: env("TMUX_PANE").filter(|p| !p.is_empty()),
        claude_config_dir,
        account,
    };
    Ok((config, origin, now))
}

fn handle(config: Option<&Path>, event: HookEvent, raw: &[u8]) -> Result<()> {
    let input: Value = serde_json::from_slice(raw).context("hook input is not JSON")?;
    let (config, origin, now) = context(config, &input)?;
    match event {
        HookEvent::SessionStart => {
            let record = Record::SessionStart(SessionStart {
                origin,
                source: str_field(&input, "source"),
            });
            spool::write(&config.spool_dir(), &record, now)?;
        }
        HookEvent::PromptSubmit | HookEvent::Stop => {
            turn(
                &config,
                origin.session_id.as_deref(),
                event == HookEvent::PromptSubmit,
                now,
            )?;
        }
        HookEvent::StopFailure => {
            // The turn ends too; that record is a hint (the pane says as much), so it
            // never costs the spool record, which comes first.
            let id = origin.session_id.clone();
            // Claude Code runs this hook before it writes the failed turn to the
            // transcript, so the exact reset is read when check-quota consumes the record.
            let record = StopFailure {
                origin,
                error: str_field(&input, "error"),
                agent_id: str_field(&input, "agent_id"),
                last_assistant_message: str_field(&input, "last_assistant_message"),
                ..StopFailure::default()
            };
            spool::write(&config.spool_dir(), &Record::StopFailure(record), now)?;
            if let Some(id) = id.filter(|id| crate::claude::is_session_id(id))
                && let Err(e) = turn(&config, Some(&id), false, now)
            {
                crate::log::info(&format!("ccf hook: {e:#}"));
            }
        }
        // Drawn by `statusline`, which needs no config to print a line.
        HookEvent::Statusline => {}
    }
    Ok(())
}

/// Records that the session's turn opened or closed (a file overwritten, not a spool
/// record: a prompt must not wake check-quota).
fn turn(
    config: &crate::config::Config,
    session_id: Option<&str>,
    open: bool,
    at: jiff::Timestamp,
) -> Result<()> {
    let id = session_id.context("the hook input has no session_id")?;
    crate::turns::record(&config.state_dir, id, crate::turns::Turn { open, at })
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Draws the status line: records the rate-limit figures for this config dir
/// (overwritten, not spooled: the status line is redrawn often and must not wake
/// check-quota each time), then prints the operator's own line (`--then`, run with the
/// same input) or, without one or when it fails, ccf's short line. Nothing ccf or the
/// operator's command does wrong leaves Claude Code without a line.
fn statusline(config: Option<&Path>, raw: &[u8], then: Option<&str>) {
    let input = match serde_json::from_slice::<Value>(raw) {
        Ok(v) => Some(v),
        Err(e) => {
            crate::log::warn(&format!("ccf hook: hook input is not JSON: {e}"));
            None
        }
    };
    let figures = input.as_ref().map(figures).unwrap_or_default();
    if let Some(input) = &input
        && (figures.five_hour_used.is_some() || figures.seven_day_used.is_some())
        && let Err(e) = record_usage(config, input, figures.clone())
    {
        crate::log::warn(&format!("ccf hook: {e:#}"));
    }
    let mine = || {
        let mut line = String::from("ccf");
        if let Some(u) = figures.five_hour_used {
            let _ = write!(line, " · 5h {u:.0}%");
        }
        if let Some(u) = figures.seven_day_used {
            let _ = write!(line, " · 7d {u:.0}%");
        }
        line.push('\n');
        line.into_bytes()
    };
    let out = match then {
        None if input.is_none() => return,
        None => mine(),
        Some(command) => {
            match crate::statusline_chain::run(command, raw, crate::statusline_chain::TIMEOUT) {
                Ok(out) => out,
                Err(e) => {
                    crate::log::warn(&format!(
                        "ccf hook: the status line command {e}; ccf's line is shown instead"
                    ));
                    mine()
                }
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&out).and_then(|()| stdout.flush());
}

/// The status line input's rate-limit figures (no origin yet).
fn figures(input: &Value) -> spool::Statusline {
    let limits = input.get("rate_limits");
    let pick = |window: &str, field: &str| {
        limits
            .and_then(|l| l.get(window))
            .and_then(|w| w.get(field))
            .cloned()
    };
    let used = |w: &str| pick(w, "used_percentage").and_then(|v| v.as_f64());
    let resets = |w: &str| {
        pick(w, "resets_at").and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_f64().and_then(|f| format!("{f:.0}").parse().ok()))
        })
    };
    spool::Statusline {
        five_hour_used: used("five_hour"),
        five_hour_resets_at: resets("five_hour"),
        seven_day_used: used("seven_day"),
        seven_day_resets_at: resets("seven_day"),
        origin: Origin::default(),
    }
}

/// Writes `state_dir/usage/<config dir>.json`.
fn record_usage(config: Option<&Path>, input: &Value, mut record: spool::Statusline) -> Result<()> {
    let (config, origin, _) = context(config, input)?;
    record.origin = origin;
    let dir = config.state_dir.join("usage");
    crate::fsutil::ensure_private_dir(&dir)?;
    let key = record.origin.claude_config_dir.as_ref().map_or_else(
        || "default".to_string(),
        |p| {
            p.display()
                .to_string()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        },
    );
    let bytes = serde_json::to_vec(&Record::Statusline(record))?;
    crate::fsutil::write_atomic(&dir.join(format!("{key}.json")), &bytes, 0o600)
}
