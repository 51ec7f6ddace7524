//! The effectful half of a swap: the journal's steps carried out in order.
//!
//! Each step is saved in `state.swap` before the next one touches anything, so a run
//! killed at any instant leaves a journal that [`super::recover`] can finish or undo.
//! Notifications are queued only after the state that they announce is saved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use jiff::Timestamp;

use super::identity::{self, find_claude};
use super::plan::{self, Move, Pick, SessionFacts};
use super::{SwapOutcome, SwapRequest, fault};
use crate::context::Ctx;
use crate::notify::{self, Event};
use crate::state::{
    Degraded, Kind, PendingReturn, State, SwapJournal, SwapRecord, SwapSession, SwapStep,
};
use crate::{fsutil, links};

/// How often a relaunch is tried before the session is reported as failed.
const ATTEMPTS: u32 = 3;
/// How long one attempt waits for claude to come up and stay up.
const VERIFY_DEADLINE: Duration = Duration::from_secs(15);
/// How long claude must stay up to count as started (a claude that cannot resume exits
/// within moments).
const SETTLE: Duration = Duration::from_millis(500);
/// How long the resume prompt may take to show in the input box and be taken.
const NUDGE_DEADLINE: Duration = Duration::from_secs(10);
/// How long a pressed Enter gets to empty the input box before it is pressed again.
const NUDGE_RETRY: Duration = Duration::from_millis(500);

/// Everything [`super::swap`] can be asked to do, including what only `rollback` asks.
pub struct Options<'a> {
    pub dry_run: bool,
    /// Move only these sessions (an undo moves back what the last swap moved).
    pub only: Option<&'a [String]>,
    pub rollback: bool,
}

pub fn swap(
    ctx: &Ctx,
    state: &mut State,
    req: &SwapRequest,
    opts: &Options<'_>,
) -> Result<SwapOutcome> {
    if let Some(d) = &state.degraded {
        bail!(
            "ccf is degraded since {}: {}; no swap until that is fixed and `ccf rollback` clears it",
            d.since,
            d.reason
        );
    }
    if let Some(j) = &state.swap {
        bail!(
            "a swap {} -> {} is unfinished; run ccf rollback first",
            j.from,
            j.to
        );
    }
    let from = ctx.active_account(state).name.clone();
    let order: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let pick = plan::pick_target(&order, &from, req.to.as_deref(), |a| {
        state.is_available(a, ctx.now)
    })
    .map_err(|e| anyhow!("{e} (in {})", ctx.config.path.display()))?;
    let to = match pick {
        Pick::Account(to) => to,
        Pick::NoneAvailable if req.manual => bail!(
            "no other account is available (every other one is exhausted or needs a login); see ccf status"
        ),
        Pick::NoneAvailable => return park(ctx, state, &from, req, opts.dry_run),
    };
    let link_account = ctx
        .link_target()
        .and_then(|t| ctx.config.account_by_home(&t))
        .map_or_else(|| from.clone(), |a| a.name.clone());
    let facts = identity::gather(ctx, state, Some(&link_account))?;
    let moves: Vec<(SessionFacts, Move)> = facts
        .iter()
        .map(|f| {
            let m = match opts.only {
                Some(only) if !only.contains(&f.name) => Move::Leave,
                _ => plan::decide(f, &from, &to),
            };
            (f.clone(), m)
        })
        .collect();
    let to_home = home_of(ctx, &to)?;
    let link = ctx
        .config
        .claude_link
        .as_deref()
        .map(|l| (l, to_home.as_path()));
    let mut lines = plan::describe(&from, &to, link, &moves);
    let acts = moves.iter().any(|(_, m)| !matches!(m, Move::Leave));
    let outcome = SwapOutcome {
        from: from.clone(),
        to: Some(to.clone()),
        ..SwapOutcome::default()
    };
    if from == to && !acts {
        lines = vec![format!("already on {to}: no session needs a relaunch")];
        if !opts.dry_run && state.all_exhausted_since.take().is_some() {
            ctx.save(state)?;
            notify::emit(ctx, &Event::WorkResumed { account: to });
        }
        return Ok(SwapOutcome {
            plan: lines,
            ..outcome
        });
    }
    if opts.dry_run {
        return Ok(SwapOutcome {
            plan: lines,
            ..outcome
        });
    }
    for line in &lines {
        crate::log::info(line);
    }
    learn(ctx, state, &facts);
    state.swap = Some(journal(ctx, req, opts, &from, &to, &moves));
    ctx.save(state)?;
    if from != to {
        announce(ctx, req, &from, &to, &moves);
    }
    fault("planned");
    let mut out = run(ctx, state)?;
    out.plan = lines;
    Ok(out)
}

/// The journal of a swap about to start.
fn journal(
    ctx: &Ctx,
    req: &SwapRequest,
    opts: &Options<'_>,
    from: &str,
    to: &str,
    moves: &[(SessionFacts, Move)],
) -> SwapJournal {
    let sessions = moves
        .iter()
        .filter_map(|(f, m)| {
            let (relaunch, error) = match m {
                Move::Relaunch { .. } => (true, None),
                Move::Follow => (false, None),
                Move::Stuck(why) => (true, Some(why.clone())),
                Move::Leave => return None,
            };
            Some(SwapSession {
                name: f.name.clone(),
                session_id: f.session_id.clone(),
                cwd: f.cwd.clone(),
                relaunch,
                done: false,
                error,
                account: f.account.clone(),
                kind: f.kind,
                path: f.path.clone(),
                pid: f.pid,
                blocked: f.blocked,
            })
        })
        .collect();
    SwapJournal {
        from: from.to_string(),
        to: to.to_string(),
        step: SwapStep::Planned,
        started_at: ctx.now,
        reason: req.reason.clone(),
        trigger: req.trigger.clone(),
        link_before: ctx.config.claude_link.as_deref().and_then(raw_link),
        manual: req.manual,
        sessions,
        exhausted_until: req.exhausted_until,
        exhausted_scope: req.exhausted_scope.clone(),
        auth_failed: req.auth_failed,
        rollback: opts.rollback,
    }
}

/// Queues the announcement of a swap (after its journal was saved).
fn announce(ctx: &Ctx, req: &SwapRequest, from: &str, to: &str, moves: &[(SessionFacts, Move)]) {
    notify::emit(
        ctx,
        &Event::SwapStarted {
            from: from.to_string(),
            to: to.to_string(),
            reason: req.reason.clone(),
            trigger: req
                .trigger
                .as_ref()
                .map(|t| format!("{} in {}", t.source, t.session.as_deref().unwrap_or("-"))),
            sessions: moves
                .iter()
                .filter(|(_, m)| !matches!(m, Move::Leave))
                .map(|(f, _)| f.name.clone())
                .collect(),
        },
    );
}

/// Every account is exhausted or needs a login: no swap. The sessions stay where they
/// are (parked) until [`super::due_return`] names the first account whose reset passed.
fn park(
    ctx: &Ctx,
    state: &mut State,
    from: &str,
    req: &SwapRequest,
    dry_run: bool,
) -> Result<SwapOutcome> {
    let plan = vec![format!(
        "every account is exhausted or needs a login: no swap; the sessions on {from} wait for the first reset"
    )];
    let outcome = SwapOutcome {
        from: from.to_string(),
        to: None,
        plan,
        ..SwapOutcome::default()
    };
    if dry_run {
        return Ok(outcome);
    }
    mark_left(
        state,
        from,
        req.exhausted_until,
        req.exhausted_scope.clone(),
        req.auth_failed,
    );
    let newly = state.all_exhausted_since.is_none();
    state.all_exhausted_since.get_or_insert(ctx.now);
    ctx.save(state)?;
    if newly {
        let until = state
            .accounts
            .values()
            .filter(|a| !a.auth_failed)
            .filter_map(|a| a.exhausted_until)
            .min();
        notify::emit(ctx, &Event::AllExhausted { until });
    }
    Ok(outcome)
}

/// Carries the journal in `state.swap` from its step to the end.
pub fn run(ctx: &Ctx, state: &mut State) -> Result<SwapOutcome> {
    let j = state.swap.clone().context("no swap journal to run")?;
    let cross = j.from != j.to;
    if j.step == SwapStep::Planned {
        if cross && let Some(link) = &ctx.config.claude_link {
            let home = home_of(ctx, &j.to)?;
            if let Err(e) = fsutil::replace_symlink(link, &home) {
                return Err(cancel(ctx, state, &format!("{e:#}")));
            }
            fault("link-flipped-unsaved");
        }
        set_step(ctx, state, SwapStep::LinkFlipped)?;
        fault("link-flipped");
    }
    if step(state) == SwapStep::LinkFlipped {
        if cross && let Err(why) = ensure_links(ctx, &j.to) {
            return Err(cancel(ctx, state, &why));
        }
        set_step(ctx, state, SwapStep::SymlinksEnsured)?;
        fault("symlinks-ensured");
    }
    if step(state) == SwapStep::SymlinksEnsured {
        set_step(ctx, state, SwapStep::Relaunching)?;
        fault("relaunching");
    }
    if step(state) == SwapStep::Relaunching {
        relaunch_journal(ctx, state)?;
        set_step(ctx, state, SwapStep::Finishing)?;
        fault("relaunched");
    }
    finish(ctx, state)
}

fn step(state: &State) -> SwapStep {
    state.swap.as_ref().map_or(SwapStep::Finishing, |j| j.step)
}

fn set_step(ctx: &Ctx, state: &mut State, step: SwapStep) -> Result<()> {
    if let Some(j) = state.swap.as_mut() {
        j.step = step;
    }
    ctx.save(state)
}

/// Creates what is missing of the target's shared layout; a divergent place cancels.
pub fn ensure_links(ctx: &Ctx, to: &str) -> Result<(), String> {
    let account = ctx
        .config
        .account(to)
        .ok_or_else(|| format!("no account named {to}"))?;
    let items = links::survey(&ctx.config, Some(account), account).map_err(|e| format!("{e:#}"))?;
    let bad: Vec<String> = items
        .iter()
        .filter(|i| i.is_problem())
        .filter_map(|i| links::describe(i, false))
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "the shared layout of {to} is not right: {}",
            bad.join("; ")
        ));
    }
    links::apply(&items).map_err(|e| format!("{e:#}"))
}

/// Relaunches the journal's sessions that are not done yet, marking each one that
/// verifiably runs on the target.
fn relaunch_journal(ctx: &Ctx, state: &mut State) -> Result<()> {
    let j = state.swap.as_ref().context("no swap journal")?;
    let home = home_of(ctx, &j.to)?;
    let todo: Vec<Target> = j
        .sessions
        .iter()
        .filter(|s| s.relaunch && !s.done && s.error.is_none())
        .filter_map(|s| {
            Some(Target {
                name: s.name.clone(),
                id: s.session_id.clone()?,
                cwd: s.cwd.clone()?,
                path: s.path.clone(),
                old_pid: s.pid,
                nudge: s.blocked,
            })
        })
        .collect();
    let results = relaunch(ctx, &todo, &home);
    if let Some(j) = state.swap.as_mut() {
        for (name, r) in results {
            if let Some(s) = j.sessions.iter_mut().find(|s| s.name == name) {
                match r {
                    Ok(()) => s.done = true,
                    Err(e) => s.error = Some(e),
                }
            }
        }
    }
    ctx.save(state)
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

/// Relaunches `targets` on the account at `home`: respawn each pane in place, clear
/// its history, then wait until each runs claude on `home` with its id and stays up.
/// Failures are retried with backoff; a session already running there is left alone.
pub fn relaunch(ctx: &Ctx, targets: &[Target], home: &Path) -> Vec<(String, Result<(), String>)> {
    let c = &ctx.config.claude;
    let env: Vec<(String, String)> = c.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut results: Vec<(String, Result<(), String>)> = Vec::new();
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
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    for attempt in 0..ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500) * 2u32.pow(attempt - 1));
        }
        for t in &pending {
            let launch = plan::launch(
                &c.command,
                &c.args,
                &env,
                t.path.as_deref(),
                home,
                &t.id,
                &t.cwd,
            );
            if let Err(e) = ctx.tmux.respawn(&t.name, &launch) {
                errors.insert(t.name.clone(), format!("{e:#}"));
                continue;
            }
            fault("respawned");
            if let Err(e) = ctx.tmux.clear_history(&t.name) {
                crate::log::warn(&format!("{e:#}"));
            }
        }
        let ok = verify(ctx, &pending, home);
        pending.retain(|t| {
            if ok.contains(&t.name) {
                nudge(ctx, t);
                results.push((t.name.clone(), Ok(())));
                false
            } else {
                errors
                    .entry(t.name.clone())
                    .or_insert_with(|| "claude did not start or did not stay up".into());
                true
            }
        });
    }
    for t in pending {
        let why = errors
            .remove(&t.name)
            .unwrap_or_else(|| "claude did not start".into());
        crate::log::warn(&format!(
            "failed to relaunch {} with --resume {}: {why}",
            t.name, t.id
        ));
        results.push((t.name.clone(), Err(why)));
    }
    results
}

/// Types the resume prompt into a relaunched session whose turn a limit had stopped.
fn nudge(ctx: &Ctx, t: &Target) {
    let Some(prompt) = ctx
        .config
        .claude
        .resume_prompt
        .as_deref()
        .filter(|p| t.nudge && !p.is_empty())
    else {
        return;
    };
    // Claude Code 2.1.330 often takes an Enter that arrives right behind a paste as part
    // of it: the text stays in the input box, unsent, and the operator's next words are
    // appended to it (seen in about one relaunch in two). So Enter is pressed only once
    // the box shows the text, and again while the box still holds it.
    if let Err(e) = ctx.tmux.send_text(&t.name, prompt, false) {
        crate::log::warn(&format!("{e:#}"));
        return;
    }
    let deadline = Instant::now() + NUDGE_DEADLINE;
    let mut last_enter: Option<Instant> = None;
    loop {
        let held = ctx
            .tmux
            .capture(&t.name, 0)
            .ok()
            .and_then(|screen| input_box(&screen).map(|b| b.contains(prompt)));
        let now = Instant::now();
        match held {
            // Submitted: the box no longer holds it.
            Some(false) if last_enter.is_some() => return,
            Some(true) if last_enter.is_none_or(|at| now - at >= NUDGE_RETRY) => {
                if let Err(e) = ctx.tmux.press_enter(&t.name) {
                    crate::log::warn(&format!("{e:#}"));
                    return;
                }
                last_enter = Some(now);
            }
            _ => {}
        }
        if now >= deadline {
            if last_enter.is_none() {
                // A screen this version does not draw: press Enter once, as before.
                let _ = ctx.tmux.press_enter(&t.name);
            }
            crate::log::warn(&format!(
                "{}: the resume prompt may not have been sent; check the session",
                t.name
            ));
            return;
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
/// `t`'s id.
fn runs_on(ctx: &Ctx, t: &Target, home: &Path) -> bool {
    ctx.tmux.pane(&t.name).ok().flatten().is_some_and(|p| {
        !p.dead
            && find_claude(p.pid).is_some_and(|c| {
                Some(c.pid) != t.old_pid
                    && c.argv_id.as_deref() == Some(t.id.as_str())
                    && c.config_dir.as_deref().is_some_and(|d| same_dir(d, home))
            })
    })
}

/// Polls until each target runs claude on `home` in two looks at least [`SETTLE`] apart,
/// or the deadline passes; returns the names that did.
fn verify(ctx: &Ctx, targets: &[&Target], home: &Path) -> Vec<String> {
    let deadline = Instant::now() + VERIFY_DEADLINE;
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
                if seen.elapsed() >= SETTLE {
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

#[expect(
    clippy::too_many_lines,
    reason = "one cohesive update that must land in a single save"
)]
/// Completes the swap in one save: the account left behind, the active account, the
/// session registry, the record of the swap, the pending return; then notifies.
pub fn finish(ctx: &Ctx, state: &mut State) -> Result<SwapOutcome> {
    let j = state.swap.take().context("no swap journal to finish")?;
    let order: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let cross = j.from != j.to;
    let mut moved = Vec::new();
    let mut failed = Vec::new();
    for s in &j.sessions {
        let ok = s.error.is_none() && (s.done || !s.relaunch);
        if ok {
            moved.push(s.name.clone());
        } else {
            failed.push(s.name.clone());
        }
        let kind = s
            .kind
            .or_else(|| ctx.config.session_kind(&s.name).map(Into::into))
            .unwrap_or(Kind::Dedicated);
        let rec = state.session_mut(&s.name, kind);
        if s.session_id.is_some() {
            rec.session_id.clone_from(&s.session_id);
            rec.cwd = s.cwd.clone().or(rec.cwd.take());
        }
        if ok {
            rec.account = Some(j.to.clone());
            if s.relaunch {
                rec.launched_at = Some(ctx.now);
                rec.id_source = Some("launched".into());
                if let Some(len) = transcript_len(ctx, &j.to, s) {
                    state.resumed_len.insert(s.name.clone(), len);
                }
            }
        } else {
            rec.account.clone_from(&s.account);
        }
    }
    let resumed = state.all_exhausted_since.take().is_some();
    let mut returned = false;
    if cross {
        mark_left(
            state,
            &j.from,
            j.exhausted_until,
            j.exhausted_scope.clone(),
            j.auth_failed,
        );
        if j.rollback {
            let a = state.account_mut(&j.to);
            a.exhausted_until = None;
            a.exhausted_scope = None;
        }
        state.active_account = Some(j.to.clone());
        if let Some(p) = &state.pending_return
            && !plan::outranks(&order, &p.to, &j.to)
        {
            returned = p.to == j.to;
            state.pending_return = None;
        }
        if j.manual {
            state.pending_return = None;
        } else if plan::outranks(&order, &j.from, &j.to)
            && let Some(until) = j.exhausted_until
            && state
                .pending_return
                .as_ref()
                .is_none_or(|p| plan::outranks(&order, &j.from, &p.to))
        {
            state.pending_return = Some(PendingReturn {
                to: j.from.clone(),
                not_before: crate::clock::add(until, ctx.config.quota.return_margin),
            });
        }
        state.last_swap = Some(SwapRecord {
            from: j.from.clone(),
            to: j.to.clone(),
            at: ctx.now,
            reason: j.reason.clone(),
            trigger: j.trigger.clone(),
            manual: j.manual,
            moved: moved.clone(),
            failed: failed.clone(),
            rollback: j.rollback,
        });
    }
    ctx.save(state)?;
    fault("finished");
    let done = plan::Finished {
        from: &j.from,
        to: &j.to,
        reason: &j.reason,
        by_operator: j.manual || j.rollback,
        returned,
        resumed,
    };
    for event in plan::announcements(&done, &moved, &failed) {
        notify::emit(ctx, &event);
    }
    Ok(SwapOutcome {
        from: j.from,
        to: Some(j.to),
        moved,
        failed,
        plan: Vec::new(),
    })
}

/// Cancels the swap in the journal: the link goes back where it was, sessions already
/// relaunched go back to the old account, the journal is cleared. When the link cannot
/// be put back, ccf is degraded. Returns the error the swap ends with.
pub fn cancel(ctx: &Ctx, state: &mut State, why: &str) -> anyhow::Error {
    let Some(j) = state.swap.clone() else {
        return anyhow!("{why}");
    };
    let mut degraded = None;
    if let (Some(link), Some(before)) = (&ctx.config.claude_link, &j.link_before) {
        let here = ctx.link_target();
        let back = crate::context::absolute_from(link, before);
        if here.as_deref().is_none_or(|h| !same_dir(h, &back))
            && let Err(e) = fsutil::replace_symlink(link, before)
        {
            degraded = Some(format!(
                "the swap {} -> {} failed ({why}) and {} could not be pointed back at {}: {e:#}",
                j.from,
                j.to,
                link.display(),
                before.display()
            ));
        }
    }
    // Sessions that already run on the target go back, with their ids.
    if j.from != j.to
        && let Ok(from_home) = home_of(ctx, &j.from)
        && let Ok(to_home) = home_of(ctx, &j.to)
    {
        let back: Vec<Target> = j
            .sessions
            .iter()
            .filter(|s| s.relaunch)
            .filter_map(|s| {
                Some(Target {
                    name: s.name.clone(),
                    id: s.session_id.clone()?,
                    cwd: s.cwd.clone()?,
                    path: s.path.clone(),
                    old_pid: s.pid,
                    // Undoing a swap puts sessions back as they were; no prompt.
                    nudge: false,
                })
            })
            .filter(|t| runs_on(ctx, t, &to_home))
            .collect();
        for (name, r) in relaunch(ctx, &back, &from_home) {
            if let Err(e) = r {
                crate::log::warn(&format!("failed to move {name} back to {}: {e}", j.from));
            }
        }
    }
    state.swap = None;
    if let Some(reason) = &degraded {
        state.degraded = Some(Degraded {
            since: ctx.now,
            reason: reason.clone(),
        });
        // Status and the link must agree: the link decides what is active now.
        if let Some(a) = ctx
            .link_target()
            .and_then(|t| ctx.config.account_by_home(&t))
        {
            state.active_account = Some(a.name.clone());
        }
    }
    let saved = ctx.save(state);
    notify::emit(
        ctx,
        &Event::SwapFailed {
            from: j.from.clone(),
            to: j.to.clone(),
            error: why.to_string(),
            failed: Vec::new(),
        },
    );
    if let Some(reason) = &degraded {
        notify::emit(
            ctx,
            &Event::Degraded {
                reason: reason.clone(),
            },
        );
    }
    let mut err = match &degraded {
        Some(reason) => {
            anyhow!("{reason}; ccf is degraded until this is fixed and ccf rollback runs")
        }
        None => anyhow!(
            "swap {} -> {} cancelled: {why}; {} is where it was and no session moved",
            j.from,
            j.to,
            ctx.config
                .claude_link
                .as_deref()
                .map_or_else(|| "the link".into(), |l| l.display().to_string())
        ),
    };
    if let Err(e) = saved {
        err = err.context(format!("{e:#}"));
    }
    err
}

/// The length of a session's transcript on `account`, if it exists.
fn transcript_len(ctx: &Ctx, account: &str, s: &SwapSession) -> Option<u64> {
    let home = home_of(ctx, account).ok()?;
    let path = crate::claude::transcript(&home, s.cwd.as_deref()?, s.session_id.as_deref()?);
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Records why the account left behind cannot take work.
fn mark_left(
    state: &mut State,
    account: &str,
    until: Option<Timestamp>,
    scope: Option<String>,
    auth_failed: bool,
) {
    let a = state.account_mut(account);
    if until.is_some() {
        a.exhausted_until = until;
        a.exhausted_scope = scope;
    }
    if auth_failed {
        a.auth_failed = true;
    }
}

/// Stores the ids, cwds and accounts learned about sessions, so the next run (and
/// `status`) knows them even for sessions this swap leaves alone.
fn learn(ctx: &Ctx, state: &mut State, facts: &[SessionFacts]) {
    for f in facts.iter().filter(|f| f.session_id.is_some()) {
        let kind = f
            .kind
            .or_else(|| ctx.config.session_kind(&f.name).map(Into::into))
            .unwrap_or(Kind::Dedicated);
        let rec = state.session_mut(&f.name, kind);
        if rec.session_id != f.session_id {
            rec.session_id.clone_from(&f.session_id);
            rec.id_source.clone_from(&f.id_source);
            rec.launched_at = None;
        }
        if f.cwd.is_some() {
            rec.cwd.clone_from(&f.cwd);
        }
        if f.account.is_some() {
            rec.account.clone_from(&f.account);
        }
    }
}

pub fn home_of(ctx: &Ctx, account: &str) -> Result<PathBuf> {
    ctx.config
        .account(account)
        .map(|a| a.home.clone())
        .ok_or_else(|| {
            anyhow!(
                "no account named {account} in {}",
                ctx.config.path.display()
            )
        })
}

/// The link's target as written (to put it back exactly).
fn raw_link(link: &Path) -> Option<PathBuf> {
    match fsutil::entry(link) {
        Ok(fsutil::Entry::Symlink(t)) => Some(t),
        _ => None,
    }
}

pub fn same_dir(a: &Path, b: &Path) -> bool {
    a == b
        || match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}
