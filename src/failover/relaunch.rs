//! Relaunching sessions: respawn each pane in place with `--resume <id>`, verify that
//! claude came up on the account and stayed up, type the resume prompt into a session
//! whose turn a limit had stopped, and retry with backoff. How long each wait lasts is a
//! [`Timing`], passed in, so the fault suite can make a claude that never starts fail in
//! seconds rather than in the operator's 45.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::fault;
use super::identity::find_claude;
use super::plan;
use crate::context::Ctx;

/// How long a relaunch waits, and how often it tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often a relaunch is tried before the session is reported as failed.
    pub attempts: u32,
    /// How long one attempt waits for claude to come up and stay up.
    pub verify_deadline: Duration,
    /// How long claude must stay up to count as started (a claude that cannot resume
    /// exits within moments).
    pub settle: Duration,
    /// The pause before the second attempt; it doubles for each one after.
    pub backoff: Duration,
    /// How long the resume prompt may take to show in the input box and be taken.
    pub nudge_deadline: Duration,
    /// How long a pressed Enter gets to empty the input box before it is pressed again.
    pub nudge_retry: Duration,
}

impl Timing {
    pub const STANDARD: Timing = Timing {
        attempts: 3,
        verify_deadline: Duration::from_secs(15),
        settle: Duration::from_millis(500),
        backoff: Duration::from_millis(500),
        nudge_deadline: Duration::from_secs(20),
        nudge_retry: Duration::from_millis(500),
    };

    /// The timing of this run: [`Timing::STANDARD`], with the wait of one attempt taken
    /// from `CCF_RELAUNCH_DEADLINE` (`2s`) when set — a test hook, like `CCF_NOW`.
    pub fn for_run() -> Timing {
        let deadline = std::env::var("CCF_RELAUNCH_DEADLINE")
            .ok()
            .and_then(|v| humantime::parse_duration(&v).ok());
        Timing {
            verify_deadline: deadline.unwrap_or(Timing::STANDARD.verify_deadline),
            ..Timing::STANDARD
        }
    }
}

/// Why a session could not be relaunched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelaunchError {
    /// tmux refused the respawn (the session is gone, the server died).
    #[error("{0}")]
    Respawn(String),
    /// The pane never ran the session's claude on the account for long enough; `tail`
    /// is what the pane showed last (claude's own words on why, most often).
    #[error("claude did not start or did not stay up{}", quoted(.tail))]
    NotUp { tail: String },
}

/// ` (the pane ends with: "…")`, or nothing for an empty pane.
fn quoted(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("; the pane ends with: {tail:?}")
    }
}

/// The last few non-blank lines of a pane, joined with ` | `, for an error message.
fn pane_tail(ctx: &Ctx, session: &str) -> String {
    let screen = ctx.tmux.capture(session, 0).unwrap_or_default();
    let lines: Vec<&str> = screen
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(4)..].join(" | ");
    crate::human::printable(&tail).chars().take(400).collect()
}

/// One session to (re)launch on an account.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub id: String,
    pub cwd: PathBuf,
    pub path: Option<String>,
    /// The claude it replaces, which does not count as relaunched.
    pub old_pid: Option<u32>,
    /// Type `claude.resume_prompt` once it runs: a resumed Claude Code waits for a
    /// prompt (2.1.330 re-shows the old banner and sends nothing by itself).
    pub nudge: bool,
}

impl Target {
    /// The relaunch of a journal's session: `None` without the id or cwd a `--resume`
    /// needs. `nudge`: type the resume prompt once it runs.
    pub fn of(s: &crate::state::SwapSession, nudge: bool) -> Option<Target> {
        Some(Target {
            name: s.name.clone(),
            id: s.session_id.clone()?,
            cwd: s.cwd.clone()?,
            path: s.path.clone(),
            old_pid: s.pid,
            nudge,
        })
    }
}

/// Relaunches `targets` on the account at `home`: respawn each pane in place, clear
/// its history, then wait until each runs claude on `home` with its id and stays up.
/// Failures are retried with backoff, a line per attempt; a session already running
/// there is left alone. With `claude_link`, which the swap has pointed at `home`, the
/// new claude runs on the link (no `CLAUDE_CONFIG_DIR`), so the next swap carries it.
pub fn relaunch(
    ctx: &Ctx,
    targets: &[Target],
    home: &Path,
    timing: &Timing,
) -> Vec<(String, Result<(), RelaunchError>)> {
    let c = &ctx.config.claude;
    let env: Vec<(String, String)> = c.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let pin = ctx.config.claude_link.is_none().then_some(home);
    let mut results: Vec<(String, Result<(), RelaunchError>)> = Vec::new();
    let mut pending: Vec<&Target> = targets
        .iter()
        .filter(|t| {
            let already = runs_on(ctx, t, home);
            if already {
                results.push((t.name.clone(), Ok(())));
            }
            !already
        })
        .collect();
    let mut errors: BTreeMap<String, RelaunchError> = BTreeMap::new();
    for attempt in 0..timing.attempts {
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            std::thread::sleep(timing.backoff * 2u32.pow(attempt - 1));
        }
        for t in &pending {
            crate::log::notice(&format!(
                "relaunching {} (attempt {}/{}) …",
                t.name,
                attempt + 1,
                timing.attempts
            ));
            let launch = plan::launch(
                &c.command,
                &c.args,
                &env,
                t.path.as_deref(),
                pin,
                &t.id,
                &t.cwd,
            );
            if let Err(e) = ctx.tmux.respawn(&t.name, &launch) {
                errors.insert(t.name.clone(), RelaunchError::Respawn(format!("{e:#}")));
                continue;
            }
            fault("respawned");
            if let Err(e) = ctx.tmux.clear_history(&t.name) {
                crate::log::warn(&format!("{e:#}"));
            }
        }
        let ok = verify(ctx, &pending, home, timing);
        pending.retain(|t| {
            if ok.contains(&t.name) {
                if let Some(prompt) = resume_prompt(ctx).filter(|_| t.nudge) {
                    let _ = nudge(ctx, &t.name, prompt, timing);
                }
                results.push((t.name.clone(), Ok(())));
                false
            } else {
                errors.insert(
                    t.name.clone(),
                    RelaunchError::NotUp {
                        tail: pane_tail(ctx, &t.name),
                    },
                );
                true
            }
        });
    }
    for t in pending {
        let why = errors.remove(&t.name).unwrap_or(RelaunchError::NotUp {
            tail: String::new(),
        });
        crate::log::warn(&format!(
            "failed to relaunch {} with --resume {}: {why}",
            t.name, t.id
        ));
        results.push((t.name.clone(), Err(why)));
    }
    results
}

/// The resume prompt, unless the config turned it off.
fn resume_prompt(ctx: &Ctx) -> Option<&str> {
    ctx.config
        .claude
        .resume_prompt
        .as_deref()
        .filter(|p| !p.is_empty())
}

/// Types the resume prompt into a blocked session that the link has carried to the
/// target (same process, no restart: a claude on `~/.claude` reads its credentials for
/// each request), and checks it took: the input box let it go, then the transcript grew
/// or the pane left the limit screen within the verify deadline. Without a resume prompt
/// there is nothing to type: the session is on the account, for the operator to go on.
pub fn resume_in_place(ctx: &Ctx, name: &str, transcript: Option<&Path>, timing: &Timing) -> bool {
    let Some(prompt) = resume_prompt(ctx) else {
        return true;
    };
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    let before = transcript.and_then(len);
    crate::log::notice(&format!("typing the resume prompt into {name} …"));
    if !nudge(ctx, name, prompt, timing) {
        return false;
    }
    let deadline = Instant::now() + timing.verify_deadline;
    loop {
        let grew = transcript
            .and_then(len)
            .is_some_and(|now| before.is_none_or(|b| now > b));
        let left = ctx
            .tmux
            .capture(name, 0)
            .is_ok_and(|screen| !crate::detect::classify(&screen).verdict.stops_work());
        if grew || left {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Types `prompt` into a session whose turn a limit had stopped; whether the input box
/// took it.
fn nudge(ctx: &Ctx, name: &str, prompt: &str, timing: &Timing) -> bool {
    // Claude Code 2.1.330 often takes an Enter that arrives right behind a paste as part
    // of it: the text stays in the input box, unsent, and the operator's next words are
    // appended to it (seen in about one relaunch in two). So Enter is pressed only once
    // the box shows the text, and again while the box still holds it.
    if let Err(e) = ctx.tmux.send_text(name, prompt, false) {
        crate::log::warn(&format!("{e:#}"));
        return false;
    }
    let deadline = Instant::now() + timing.nudge_deadline;
    let mut last_enter: Option<Instant> = None;
    loop {
        let held = ctx
            .tmux
            .capture(name, 0)
            .ok()
            .and_then(|screen| input_box(&screen).map(|b| b.contains(prompt)));
        let now = Instant::now();
        match held {
            // Submitted: the box no longer holds it.
            Some(false) if last_enter.is_some() => return true,
            Some(true) if last_enter.is_none_or(|at| now - at >= timing.nudge_retry) => {
                if let Err(e) = ctx.tmux.press_enter(name) {
                    crate::log::warn(&format!("{e:#}"));
                    return false;
                }
                last_enter = Some(now);
            }
            _ => {}
        }
        if now >= deadline {
            if last_enter.is_none() {
                // A screen this version does not draw: press Enter once, as before.
                let _ = ctx.tmux.press_enter(name);
            }
            crate::log::warn(&format!(
                "{name}: the resume prompt may not have been sent; check the session"
            ));
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The text of Claude Code's input box: the last line that starts with its `❯` prompt
/// (the earlier ones are prompts in the history).
fn input_box(screen: &str) -> Option<&str> {
    screen.lines().rev().find_map(|l| l.strip_prefix('❯'))
}

/// Whether the pane of `t` runs a new claude (not the one it replaces) on `home` with
/// `t`'s id: pinned to `home`, or on `claude_link` while the link points at `home`.
pub fn runs_on(ctx: &Ctx, t: &Target, home: &Path) -> bool {
    ctx.tmux.pane(&t.name).ok().flatten().is_some_and(|p| {
        !p.dead
            && find_claude(p.pid).is_some_and(|c| {
                Some(c.pid) != t.old_pid
                    && c.argv_id.as_deref() == Some(t.id.as_str())
                    && on_home(ctx, c.config_dir.as_deref(), home)
            })
    })
}

/// Whether a claude with this `CLAUDE_CONFIG_DIR` (or none) talks to the account at `home`.
fn on_home(ctx: &Ctx, config_dir: Option<&Path>, home: &Path) -> bool {
    match config_dir {
        Some(d) => same_dir(d, home),
        None => ctx.link_target().is_some_and(|l| same_dir(&l, home)),
    }
}

/// Polls until each target runs claude on `home` in two looks at least `settle` apart,
/// or the deadline passes; returns the names that did.
fn verify(ctx: &Ctx, targets: &[&Target], home: &Path, timing: &Timing) -> Vec<String> {
    let deadline = Instant::now() + timing.verify_deadline;
    let mut first_seen: BTreeMap<String, Instant> = BTreeMap::new();
    let mut ok = Vec::new();
    loop {
        for t in targets {
            if ok.contains(&t.name) {
                continue;
            }
            if runs_on(ctx, t, home) {
                let seen = *first_seen
                    .entry(t.name.clone())
                    .or_insert_with(Instant::now);
                if seen.elapsed() >= timing.settle {
                    ok.push(t.name.clone());
                }
            } else {
                first_seen.remove(&t.name);
            }
        }
        if ok.len() == targets.len() || Instant::now() >= deadline {
            return ok;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn same_dir(a: &Path, b: &Path) -> bool {
    a == b
        || match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}
