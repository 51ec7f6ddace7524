//! Repair and undo: finishing or rolling back a swap a killed run left in the journal,
//! clearing the degraded flag, and `ccf rollback`'s undo of the last swap.

use anyhow::{Result, bail};

use super::SwapRequest;
use super::apply::{self, Options, ensure_links, home_of};
use super::relaunch::same_dir;
use crate::context::Ctx;
use crate::state::{State, SwapJournal, SwapStep};
use crate::world::World;

/// What `rollback` did (or, with `--dry-run`, would do), one line per action.
#[derive(Debug, Clone, Default)]
pub struct RollbackOutcome {
    pub lines: Vec<String>,
    /// Whether anything was (or would be) changed.
    pub changed: bool,
}

/// Whether the interrupted swap in `j` is past the point of no return: the link already
/// points at the target (or no link is managed and the journal says it was flipped).
fn flipped(ctx: &Ctx, j: &SwapJournal) -> bool {
    if j.from == j.to {
        return true;
    }
    match &ctx.config.claude_link {
        None => j.step != SwapStep::Planned,
        Some(_) => home_of(ctx, &j.to)
            .ok()
            .zip(ctx.link_target())
            .is_some_and(|(home, t)| same_dir(&t, &home)),
    }
}

/// Finishes the swap in `state.swap` when the link already points at the target and the
/// target's shared layout is right (the sessions not yet relaunched are relaunched);
/// otherwise undoes it (the link goes back, moved sessions go back). Either way the
/// journal is gone afterwards, or ccf is degraded and says why.
pub fn recover(ctx: &Ctx, state: &mut State) -> Result<()> {
    recover_inner(ctx, state).map(|_| ())
}

/// `Ok(true)` when the swap was finished, `Ok(false)` when it was undone.
fn recover_inner(ctx: &Ctx, state: &mut State) -> Result<bool> {
    let Some(j) = state.swap.clone() else {
        return Ok(true);
    };
    crate::log::notice(&format!(
        "found an unfinished swap {} -> {} (step {}, started {}); repairing it first",
        j.from, j.to, j.step, j.started_at
    ));
    let layout = if j.from == j.to {
        Ok(())
    } else {
        ensure_links(ctx, &j.to)
    };
    if flipped(ctx, &j) && layout.is_ok() {
        if let Some(s) = state.swap.as_mut()
            && matches!(
                s.step,
                SwapStep::Planned | SwapStep::LinkFlipped | SwapStep::SymlinksEnsured
            )
        {
            s.step = SwapStep::Relaunching;
        }
        ctx.save(state)?;
        let out = apply::run(ctx, state)?;
        crate::log::notice(&format!(
            "finished the interrupted swap {} -> {}: moved {}, failed {}",
            j.from,
            j.to,
            out.moved.len(),
            out.failed.len()
        ));
        Ok(true)
    } else {
        let why = match layout {
            Err(e) if flipped(ctx, &j) => format!("{e:#}"),
            _ => format!("interrupted at step {} before the link was flipped", j.step),
        };
        let err = super::cancel::cancel(ctx, state, &why);
        if state.degraded.is_some() {
            return Err(err);
        }
        crate::log::notice(&format!("undid the interrupted swap: {err:#}"));
        Ok(false)
    }
}

/// `ccf rollback`: finish or undo an interrupted swap; else clear the degraded flag when
/// the link and the layout are consistent again; else undo the last completed swap
/// (unless that swap was itself an undo: a second run finds nothing to do).
pub fn rollback(ctx: &Ctx, state: &mut State, dry_run: bool) -> Result<RollbackOutcome> {
    if let Some(j) = state.swap.clone() {
        let finish = flipped(ctx, &j);
        if dry_run {
            return Ok(RollbackOutcome {
                lines: vec![format!(
                    "would {} the interrupted swap {} -> {} (step {})",
                    if finish { "finish" } else { "undo" },
                    j.from,
                    j.to,
                    j.step
                )],
                changed: true,
            });
        }
        let finished = recover_inner(ctx, state)?;
        return Ok(RollbackOutcome {
            lines: vec![if finished {
                format!("finished the interrupted swap {} -> {}", j.from, j.to)
            } else {
                format!(
                    "undid the interrupted swap {} -> {}: back on {}",
                    j.from, j.to, j.from
                )
            }],
            changed: true,
        });
    }
    if state.degraded.is_some() {
        return clear_degraded(ctx, state, dry_run);
    }
    undo_last(ctx, state, dry_run)
}

/// Clears the degraded flag once the link points at an account whose layout is right.
fn clear_degraded(ctx: &Ctx, state: &mut State, dry_run: bool) -> Result<RollbackOutcome> {
    if let Some(d) = state.degraded.clone() {
        let Some(account) = ctx.link_account().map(|a| a.name.clone()) else {
            bail!(
                "still degraded ({}): {} does not point at an account home; fix it, then run ccf rollback again",
                d.reason,
                ctx.config
                    .claude_link
                    .as_deref()
                    .map_or_else(|| "the link".into(), |l| l.display().to_string())
            );
        };
        let line = format!(
            "the link points at {account} and its layout is right: cleared the degraded flag"
        );
        if dry_run {
            return Ok(RollbackOutcome {
                lines: vec![format!(
                    "would check the layout of {account} and clear the degraded flag"
                )],
                changed: true,
            });
        }
        if let Err(e) = ensure_links(ctx, &account) {
            bail!("still degraded ({}): {e:#}", d.reason);
        }
        state.degraded = None;
        state.active_account = Some(account);
        ctx.save(state)?;
        return Ok(RollbackOutcome {
            lines: vec![line],
            changed: true,
        });
    }
    Ok(RollbackOutcome::default())
}

/// Undoes the last completed swap, unless it was itself an undo or is superseded.
fn undo_last(ctx: &Ctx, state: &mut State, dry_run: bool) -> Result<RollbackOutcome> {
    let world = World::gather(ctx, state)?;
    let active = world.active.clone();
    let Some(last) = state
        .last_swap
        .clone()
        .filter(|l| !l.rollback && l.to == active)
    else {
        return Ok(RollbackOutcome {
            lines: vec!["nothing to roll back: no interrupted swap, and the last swap is already undone or superseded".into()],
            changed: false,
        });
    };
    let req = SwapRequest {
        to: Some(last.from.clone()),
        reason: format!(
            "rollback of the swap {} -> {} ({})",
            last.from, last.to, last.reason
        ),
        manual: true,
        ..SwapRequest::default()
    };
    let out = apply::swap(
        ctx,
        state,
        &world,
        &req,
        &Options {
            dry_run,
            only: Some(&last.moved),
            rollback: true,
        },
    )?;
    let mut lines = out.plan;
    if !dry_run {
        lines.push(format!(
            "back on {}: moved {}{}",
            last.from,
            out.moved.join(", "),
            if out.failed.is_empty() {
                String::new()
            } else {
                format!("; failed {}", out.failed.join(", "))
            }
        ));
    }
    Ok(RollbackOutcome {
        lines,
        changed: true,
    })
}
