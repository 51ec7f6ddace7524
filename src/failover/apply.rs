//! The effectful half of a swap: its start (plan, journal, announcement) and the
//! journal's steps carried out in order; `relaunch.rs` relaunches, `settle.rs` ends it,
//! `cancel.rs` undoes it.
//!
//! Each step is saved in `state.swap` before the next one touches anything, so a run
//! killed at any instant leaves a journal that [`super::recover`] can finish or undo.
//! Notifications are queued only after the state that they announce is saved.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};

use super::cancel::cancel;
use super::identity;
use super::plan::{self, Move, Pick, SessionFacts};
use super::relaunch::{Target, Timing, relaunch, resume_in_place};
use super::settle::{finish, mark_left};
use super::{SwapOutcome, SwapRequest, fault};
use crate::config::SessionKind;
use crate::context::Ctx;
use crate::notify::Event;
use crate::state::{State, SwapJournal, SwapSession, SwapStep};
use crate::world::World;
use crate::{fsutil, links};

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
    world: &World,
    req: &SwapRequest,
    opts: &Options<'_>,
) -> Result<SwapOutcome> {
    let from = world.active.clone();
    let to = match target(ctx, state, &from, req)? {
        Pick::Account(to) => to,
        Pick::NoneAvailable => return park(ctx, state, &from, req, opts.dry_run),
    };
    let facts = identity::gather(ctx, state, world);
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
    // Deferring again is no work: a same-account swap that would only defer stays a no-op.
    let acts = moves
        .iter()
        .any(|(_, m)| !matches!(m, Move::Leave | Move::Defer));
    let outcome = SwapOutcome {
        from: from.clone(),
        to: Some(to.clone()),
        ..SwapOutcome::default()
    };
    if from == to && !acts {
        let busy: Vec<&str> = moves
            .iter()
            .filter(|(_, m)| *m == Move::Defer)
            .map(|(f, _)| f.name.as_str())
            .collect();
        lines = vec![if busy.is_empty() {
            format!("already on {to}: no session needs a relaunch")
        } else {
            format!(
                "already on {to}: no session can be relaunched now ({} busy: moved once idle)",
                busy.join(", ")
            )
        }];
        if !opts.dry_run && state.all_exhausted_since.take().is_some() {
            ctx.save(state)?;
            crate::history::emit(ctx, &Event::WorkResumed { account: to });
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

/// The account the swap goes to, or that none is available (a manual swap then fails).
/// A degraded ccf or an unfinished swap refuses any swap.
fn target(ctx: &Ctx, state: &State, from: &str, req: &SwapRequest) -> Result<Pick> {
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
    let order: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let pick = plan::pick_target(&order, from, req.to.as_deref(), |a| {
        state.is_target(a, ctx.now)
    })
    .map_err(|e| anyhow!("{e} (in {})", ctx.config.path.display()))?;
    if pick == Pick::NoneAvailable && req.manual {
        bail!(
            "no other account is available (every other one is exhausted, disabled or needs a login); see ccf account list"
        );
    }
    Ok(pick)
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
                Move::Relaunch { .. } | Move::Nudge { .. } => (true, None),
                Move::Follow | Move::Defer => (false, None),
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
                in_place: matches!(m, Move::Nudge { .. }),
                deferred: *m == Move::Defer,
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
        exhausted_scope: req.exhausted_scope,
        auth_failed: req.auth_failed,
        rollback: opts.rollback,
    }
}

/// Queues the announcement of a swap (after its journal was saved).
fn announce(ctx: &Ctx, req: &SwapRequest, from: &str, to: &str, moves: &[(SessionFacts, Move)]) {
    crate::history::emit(
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
        req.exhausted_scope,
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
        crate::history::emit(ctx, &Event::AllExhausted { until });
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
            return Err(cancel(ctx, state, &format!("{why:#}")));
        }
        if cross {
            carry_credentials(ctx, &j.from, &j.to);
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

/// Lets the sessions on `~/.claude` see the flip (see
/// [`crate::claude::distinguish_credentials`]); a failure only costs that hint.
fn carry_credentials(ctx: &Ctx, from: &str, to: &str) {
    let (Ok(a), Ok(b)) = (home_of(ctx, from), home_of(ctx, to)) else {
        return;
    };
    let now = std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_nanos(u64::try_from(ctx.now.as_nanosecond()).unwrap_or(0));
    match crate::claude::distinguish_credentials(&a, &b, now) {
        Ok(true) => crate::log::info(&format!(
            "{to}'s credentials had the same mtime as {from}'s: touched, so the sessions on the link re-read them"
        )),
        Ok(false) => {}
        Err(e) => crate::log::warn(&format!(
            "could not touch {}/.credentials.json ({e}): sessions on the link may keep {from}'s token until it changes",
            b.display()
        )),
    }
}

/// Creates what is missing of the target's shared layout; a divergent place cancels.
pub fn ensure_links(ctx: &Ctx, to: &str) -> Result<()> {
    let account = ctx.config.named_account(to)?;
    let items = links::survey(&ctx.config, Some(account), account)?;
    let bad: Vec<String> = items
        .iter()
        .filter(|i| i.is_problem())
        .filter_map(|i| links::describe(i, false))
        .collect();
    if !bad.is_empty() {
        bail!("the shared layout of {to} is not right: {}", bad.join("; "));
    }
    links::apply(&items)
}

/// Moves the journal's sessions that are not done yet: the blocked ones the link carries
/// get the resume prompt in the same process (a relaunch only when it does not take),
/// the others are relaunched; each one that verifiably runs on the target is marked.
fn relaunch_journal(ctx: &Ctx, state: &mut State) -> Result<()> {
    let j = state.swap.as_ref().context("no swap journal")?;
    let home = home_of(ctx, &j.to)?;
    let timing = Timing::for_run();
    let open = |s: &&SwapSession| s.relaunch && !s.done && s.error.is_none() && !s.deferred;
    let mut results: Vec<(String, Result<(), String>)> = Vec::new();
    let mut todo: Vec<Target> = Vec::new();
    for s in j.sessions.iter().filter(open) {
        if s.in_place {
            let transcript = s
                .session_id
                .as_deref()
                .zip(s.cwd.as_deref())
                .map(|(id, cwd)| crate::claude::transcript(&home, cwd, id));
            if resume_in_place(ctx, &s.name, transcript.as_deref(), &timing) {
                results.push((s.name.clone(), Ok(())));
                continue;
            }
            crate::log::notice(&format!(
                "{}: the resume prompt did not take in place; relaunching it",
                s.name
            ));
        }
        match Target::of(s, s.blocked) {
            Some(t) => todo.push(t),
            None => results.push((
                s.name.clone(),
                Err(
                    "the resume prompt did not take, and no session id is known to relaunch it"
                        .into(),
                ),
            )),
        }
    }
    for (name, r) in relaunch(ctx, &todo, &home, &timing) {
        results.push((name, r.map_err(|e| e.to_string())));
    }
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

/// Stores the ids, cwds and accounts learned about sessions, so the next run (and
/// `status`) knows them even for sessions this swap leaves alone.
fn learn(ctx: &Ctx, state: &mut State, facts: &[SessionFacts]) {
    for f in facts.iter().filter(|f| f.session_id.is_some()) {
        let kind = f
            .kind
            .or_else(|| ctx.config.session_kind(&f.name))
            .unwrap_or(SessionKind::Dedicated);
        let rec = state.session_mut(&f.name, kind);
        if rec.session_id != f.session_id {
            rec.session_id.clone_from(&f.session_id);
            rec.id_source = f.id_source;
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
