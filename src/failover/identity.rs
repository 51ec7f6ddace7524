//! Who runs where: for every managed session, its claude session id, cwd and account.
//!
//! A running Claude prints no id, so the id comes from, in order: a `SessionStart` hook
//! record of this very pane written after its claude started (it also catches `/clear`);
//! Claude Code's own `<home>/sessions/<pid>.json` for that process; the id ccf chose itself (the state registry) unless the process's own argv names
//! another; the newest transcript in `<home>/projects/<slug of cwd>/` written since the
//! pane's claude started (when sessions share a directory, the one whose last prompt is
//! on that pane's screen, else the one the process was started with); the
//! `--session-id`/`--resume` of the process's argv; and last a `--resume <uuid>` line on
//! the screen. An id found without its cwd is only taken when its transcript is under
//! that cwd's slug: `--resume` works only from the session's own directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::plan::{SessionFacts, is_session_id};
use crate::config::SessionKind;
use crate::context::Ctx;
use crate::detect::{Verdict, classify};
use crate::procfs;
use crate::spool::SessionStart;
use crate::state::{IdSource, SessionRecord, State};
use crate::tmux::{Pane, is_claude_command};
use crate::world::World;

/// Seconds of slack between a process's start (whole seconds) and what it wrote.
const SLACK_S: i64 = 5;

/// A claude process found under a pane.
#[derive(Debug, Clone)]
pub struct Claude {
    pub pid: u32,
    pub start: Option<i64>,
    /// `CLAUDE_CONFIG_DIR` from its environment.
    pub config_dir: Option<PathBuf>,
    /// The id its argv names (`--session-id` or `--resume`).
    pub argv_id: Option<String>,
    pub cwd: Option<PathBuf>,
    pub path: Option<String>,
}

/// Finds the claude under a pane: the pane's process itself, or a descendant (a shell's
/// child, or the child of ccf's relaunch script).
pub fn find_claude(pane_pid: u32) -> Option<Claude> {
    let mut queue = vec![(pane_pid, 0)];
    while let Some((pid, depth)) = queue.pop() {
        if procfs::command_name(pid).is_some_and(|c| is_claude_command(&c)) {
            let env = procfs::process_environ(pid).unwrap_or_default();
            let argv = procfs::process_argv(pid).unwrap_or_default();
            return Some(Claude {
                pid,
                start: procfs::process_start(pid),
                config_dir: env
                    .iter()
                    .find(|(k, v)| k == "CLAUDE_CONFIG_DIR" && !v.is_empty())
                    .map(|(_, v)| PathBuf::from(v)),
                path: env_path(&env),
                argv_id: argv_id(&argv),
                cwd: procfs::process_cwd(pid),
            });
        }
        if depth < 3 {
            queue.extend(procfs::children(pid).into_iter().map(|c| (c, depth + 1)));
        }
    }
    None
}

fn env_path(env: &[(String, String)]) -> Option<String> {
    env.iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
}

fn argv_id(argv: &[String]) -> Option<String> {
    argv.windows(2)
        .rev()
        .find(|w| matches!(w[0].as_str(), "--session-id" | "--resume" | "-r"))
        .map(|w| w[1].clone())
        .filter(|id| is_session_id(id))
}

/// Every managed session the state or tmux knows, with what is known about it, in the
/// world the run gathered (its panes and their captures). Ids come from the strong
/// sources first, for every session; the weak ones then fill the gaps, never handing out
/// an id another session already has.
pub fn gather(ctx: &Ctx, state: &State, world: &World) -> Vec<SessionFacts> {
    let mut names: BTreeMap<String, Option<SessionKind>> = state
        .sessions
        .iter()
        .map(|(n, r)| (n.clone(), Some(r.kind)))
        .collect();
    for p in &world.panes {
        if let Some(k) = ctx.config.session_kind(&p.session) {
            names.insert(p.session.clone(), Some(k));
        }
    }
    let starts = crate::spool::session_starts(&ctx.config.spool_dir());
    let mut out = Vec::new();
    let mut claudes = BTreeMap::new();
    for (name, kind) in names {
        let pane = world.pane(&name);
        let claude = pane.filter(|p| !p.dead).and_then(|p| find_claude(p.pid));
        let mut f = observed(ctx, state, world, &name, kind, claude.as_ref());
        strong_id(
            ctx,
            state.sessions.get(&name),
            pane,
            claude.as_ref(),
            &starts,
            &mut f,
        );
        // Whatever its source (a hand-edited state, an old record), an id that is not a
        // UUID never reaches a relaunch's argv.
        if f.session_id.as_deref().is_some_and(|id| !is_session_id(id)) {
            f.session_id = None;
            f.id_source = None;
        }
        if let Some(c) = claude {
            claudes.insert(name, c);
        }
        out.push(f);
    }
    let mut claimed: BTreeSet<String> = out.iter().filter_map(|f| f.session_id.clone()).collect();
    for f in out
        .iter_mut()
        .filter(|f| f.session_id.is_none() && f.exists)
    {
        weak_id(ctx, world, claudes.get(&f.name), &mut claimed, f);
    }
    for f in out.iter_mut().filter(|f| f.blocked) {
        f.blocked = !resumed_history(ctx, state, f);
    }
    for f in out.iter_mut().filter(|f| f.claude) {
        f.busy = busy(ctx, state, world, f, claudes.get(&f.name));
    }
    out
}

/// Whether `f`'s turn is running: its task runs, or the hooks say a turn is open (when
/// they spoke about this claude), else the pane's footer says so.
fn busy(ctx: &Ctx, state: &State, world: &World, f: &SessionFacts, c: Option<&Claude>) -> bool {
    let rec = state.sessions.get(&f.name);
    if rec.is_some_and(|r| r.task.is_some()) {
        return true;
    }
    let hooks = f
        .session_id
        .as_deref()
        .and_then(|id| crate::turns::read(&ctx.config.state_dir, id));
    let screen = world.captures.get(&f.name).map_or("", String::as_str);
    crate::turns::running(
        hooks,
        c.and_then(|c| c.start),
        crate::detect::turn_running(screen),
    )
}

/// What the pane and its claude show of a session: whether it exists and runs claude,
/// the account it runs on, whether it is pinned or blocked at a limit screen.
fn observed(
    ctx: &Ctx,
    state: &State,
    world: &World,
    name: &str,
    kind: Option<SessionKind>,
    claude: Option<&Claude>,
) -> SessionFacts {
    let pane = world.pane(name);
    let capture = world.captures.get(name).map_or("", String::as_str);
    let mut f = SessionFacts {
        name: name.to_string(),
        kind,
        exists: pane.is_some(),
        claude: claude.is_some(),
        pid: claude.map(|c| c.pid),
        at_shell: pane.is_some_and(Pane::at_shell),
        path: claude.map_or_else(
            || {
                pane.and_then(|p| procfs::process_environ(p.pid))
                    .and_then(|e| env_path(&e))
            },
            |c| c.path.clone(),
        ),
        owed: state
            .sessions
            .get(name)
            .is_some_and(|r| r.pending_move.is_some()),
        ..SessionFacts::default()
    };
    match claude {
        Some(c) => {
            f.pinned = c.config_dir.is_some();
            f.account = match &c.config_dir {
                Some(d) => ctx.config.account_by_home(d).map(|a| a.name.clone()),
                None => Some(world.unpinned_account().to_string()),
            };
            f.blocked = matches!(
                classify(capture).verdict,
                Verdict::Limit | Verdict::Auth | Verdict::Billing
            );
        }
        None => f.account = state.sessions.get(name).and_then(|r| r.account.clone()),
    }
    f
}

/// The id from the strong sources: a hook record of this pane, Claude Code's own record
/// of this process, then ccf's own registry (unless the process's argv names another).
fn strong_id(
    ctx: &Ctx,
    rec: Option<&SessionRecord>,
    pane: Option<&Pane>,
    claude: Option<&Claude>,
    starts: &[SessionStart],
    f: &mut SessionFacts,
) {
    if let (Some(p), Some(c)) = (pane, claude)
        && let Some(h) = hook_for(starts, p, c)
    {
        f.session_id.clone_from(&h.origin.session_id);
        f.cwd = h.origin.cwd.clone().or_else(|| c.cwd.clone());
        f.id_source = Some(IdSource::Hook);
    } else if let Some(c) = claude
        && let Some((id, cwd)) = own_record(ctx, c.pid)
    {
        f.session_id = Some(id);
        f.cwd = cwd.or_else(|| c.cwd.clone());
        f.id_source = Some(IdSource::Claude);
    } else if let Some(r) = rec
        && let Some(id) = &r.session_id
        && claude.is_none_or(|c| c.argv_id.as_ref().is_none_or(|a| a == id))
    {
        f.session_id = Some(id.clone());
        f.cwd = r.cwd.clone().or_else(|| claude.and_then(|c| c.cwd.clone()));
        f.id_source = r.id_source.or(Some(IdSource::Launched));
    }
}

/// The id from the weak sources, for a session the strong ones left without: the
/// transcript its claude writes, its argv's id, a `--resume` line on its screen. Each
/// must have a transcript under the cwd's project directory, and be unclaimed.
fn weak_id(
    ctx: &Ctx,
    world: &World,
    claude: Option<&Claude>,
    claimed: &mut BTreeSet<String>,
    f: &mut SessionFacts,
) {
    let pane = world.pane(&f.name);
    let capture = world.captures.get(&f.name).map_or("", String::as_str);
    let cwd = claude
        .and_then(|c| c.cwd.clone())
        .or_else(|| pane.map(|p| p.cwd.clone()));
    let home = f
        .account
        .as_deref()
        .and_then(|a| ctx.config.account(a))
        .map(|a| a.home.clone());
    let (Some(cwd), Some(home)) = (cwd, home) else {
        return;
    };
    let dir = crate::claude::projects_dir(&home, &cwd);
    let found = claude
        .and_then(|c| {
            from_transcripts(&dir, c, capture, claimed)
                .map(|id| (id, IdSource::Transcript))
                .or_else(|| {
                    c.argv_id
                        .clone()
                        .filter(|id| has_transcript(&dir, id))
                        .map(|id| (id, IdSource::Argv))
                })
        })
        .or_else(|| {
            scraped_id(capture)
                .filter(|id| !claimed.contains(id) && has_transcript(&dir, id))
                .map(|id| (id, IdSource::Pane))
        });
    if let Some((id, source)) = found {
        claimed.insert(id.clone());
        f.session_id = Some(id);
        f.id_source = Some(source);
        f.cwd = Some(cwd);
    }
}

/// Claude Code's own record of a running process, `<home>/sessions/<pid>.json`
/// (`sessionId`, `cwd`), written at startup and removed on exit (seen with 2.1.330): the
/// id of a session started by hand, even before its first prompt.
fn own_record(ctx: &Ctx, pid: u32) -> Option<(String, Option<PathBuf>)> {
    ctx.config.accounts.iter().find_map(|a| {
        let text = std::fs::read_to_string(crate::claude::process_record(&a.home, pid)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        if v.get("pid")
            .and_then(serde_json::Value::as_u64)
            .is_some_and(|p| p != u64::from(pid))
        {
            return None;
        }
        // A file left behind by a killed claude whose pid was reused is older than this
        // process: its `startedAt` (ms) must not predate the process's start.
        let started = v
            .get("startedAt")
            .and_then(serde_json::Value::as_i64)
            .map(|ms| ms / 1000);
        if let (Some(started), Some(start)) = (started, procfs::process_start(pid))
            && started + SLACK_S < start
        {
            return None;
        }
        let id = v
            .get("sessionId")?
            .as_str()
            .filter(|id| is_session_id(id))?
            .to_string();
        let cwd = v
            .get("cwd")
            .and_then(serde_json::Value::as_str)
            .map(PathBuf::from);
        Some((id, cwd))
    })
}

/// Whether the session is the one ccf resumed and its transcript has not grown since:
/// then a banner on its screen is the re-rendered history, not a new limit.
fn resumed_history(ctx: &Ctx, state: &State, f: &SessionFacts) -> bool {
    let Some(rec) = state.sessions.get(&f.name) else {
        return false;
    };
    let (Some(len), Some(id), Some(cwd), Some(account)) = (
        state.resumed_len.get(&f.name),
        &f.session_id,
        &f.cwd,
        &f.account,
    ) else {
        return false;
    };
    if rec.session_id.as_ref() != Some(id) {
        return false;
    }
    let Some(home) = ctx.config.account(account).map(|a| &a.home) else {
        return false;
    };
    std::fs::metadata(crate::claude::transcript(home, cwd, id)).is_ok_and(|m| m.len() == *len)
}

/// The newest `SessionStart` record of this pane written since its claude started.
fn hook_for<'a>(starts: &'a [SessionStart], pane: &Pane, c: &Claude) -> Option<&'a SessionStart> {
    starts
        .iter()
        .rev()
        .filter(|s| s.origin.session_id.as_deref().is_some_and(is_session_id))
        .filter(|s| s.origin.tmux_pane.as_deref() == Some(pane.pane_id.as_str()))
        .find(|s| match (s.origin.at, c.start) {
            (Some(at), Some(start)) => at.as_second() + SLACK_S >= start,
            _ => true,
        })
}

fn has_transcript(dir: &Path, id: &str) -> bool {
    dir.join(format!("{id}.jsonl")).is_file()
}

/// The transcript in `dir` that this claude writes: among the unclaimed ones modified
/// since it started, the only one; else those whose last prompt is on the screen; else
/// the one its argv names; else the newest.
fn from_transcripts(
    dir: &Path,
    c: &Claude,
    capture: &str,
    claimed: &BTreeSet<String>,
) -> Option<String> {
    let since = c.start.map_or(0, |s| s - SLACK_S);
    let mut cands: Vec<(i64, String, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let id = path
                .file_name()?
                .to_str()?
                .strip_suffix(".jsonl")?
                .to_string();
            let mtime = e.metadata().ok()?.modified().ok()?;
            let secs =
                i64::try_from(mtime.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()?;
            (is_session_id(&id) && !claimed.contains(&id) && secs >= since)
                .then_some((secs, id, path))
        })
        .collect();
    cands.sort();
    if cands.len() <= 1 {
        return cands.pop().map(|(_, id, _)| id);
    }
    let on_screen: Vec<&(i64, String, PathBuf)> = cands
        .iter()
        .filter(|(_, _, p)| last_prompt(p).is_some_and(|q| capture.contains(&q)))
        .collect();
    let pool: Vec<&(i64, String, PathBuf)> = if on_screen.is_empty() {
        cands.iter().collect()
    } else {
        on_screen
    };
    if let Some(a) = &c.argv_id
        && pool.iter().any(|(_, id, _)| id == a)
    {
        return Some(a.clone());
    }
    pool.last().map(|(_, id, _)| id.clone())
}

/// The first line (at most 60 characters) of the last prompt the user typed, from the
/// tail of a transcript.
fn last_prompt(path: &Path) -> Option<String> {
    let text = crate::fsutil::read_tail(path, crate::fsutil::TRANSCRIPT_TAIL)?;
    text.lines().rev().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        if v.get("type")?.as_str()? != "user" {
            return None;
        }
        let content = v.get("message")?.get("content")?;
        let s = match content {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .find_map(|i| (i.get("type")?.as_str()? == "text").then(|| i.get("text")?.as_str()))
                .flatten()?
                .to_string(),
            _ => return None,
        };
        let first: String = s.lines().next()?.trim().chars().take(60).collect();
        (first.chars().count() >= 3).then_some(first)
    })
}

/// The last `--resume <uuid>` on the screen (Claude prints it when it exits).
fn scraped_id(capture: &str) -> Option<String> {
    capture
        .lines()
        .rev()
        .find_map(|l| {
            let (_, rest) = l.split_once("--resume ")?;
            rest.split_whitespace().next().map(String::from)
        })
        .filter(|id| is_session_id(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_argv_and_from_the_exit_hint() {
        let id = "0b6e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
        let argv: Vec<String> = ["claude", "--resume", id, "--x"].map(String::from).to_vec();
        assert_eq!(argv_id(&argv).as_deref(), Some(id));
        let screen = format!("bye\nResume this session with:\nclaude --resume {id}\n$ ");
        assert_eq!(scraped_id(&screen).as_deref(), Some(id));
        assert_eq!(scraped_id("claude --resume $(rm -rf ~)"), None);
    }
}
