//! Cancelling a swap that cannot go on: the link goes back where it was, sessions
//! already relaunched go back to the old account, the journal is cleared. When the link
//! cannot be put back, ccf is degraded.

use anyhow::anyhow;

use super::apply::home_of;
use super::relaunch::{Target, Timing, relaunch, runs_on, same_dir};
use crate::context::Ctx;
use crate::fsutil;
use crate::notify::Event;
use crate::state::{Degraded, State, SwapJournal};

/// Cancels the swap in the journal. Returns the error the swap ends with.
pub fn cancel(ctx: &Ctx, state: &mut State, why: &str) -> anyhow::Error {
    let Some(j) = state.swap.clone() else {
        return anyhow!("{why}");
    };
    let degraded = put_link_back(ctx, &j, why);
    move_back(ctx, &j);
    state.swap = None;
    if let Some(reason) = &degraded {
        state.degraded = Some(Degraded {
            since: ctx.now,
            reason: reason.clone(),
        });
        // Status and the link must agree: the link decides what is active now.
        if let Some(a) = ctx.link_account() {
            state.active_account = Some(a.name.clone());
        }
    }
    let saved = ctx.save(state);
    crate::history::emit(
        ctx,
        &Event::SwapFailed {
            from: j.from.clone(),
            to: j.to.clone(),
            error: why.to_string(),
            failed: Vec::new(),
        },
    );
    let mut err = match degraded {
        Some(reason) => {
            crate::history::emit(
                ctx,
                &Event::Degraded {
                    reason: reason.clone(),
                },
            );
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

/// Points the link back at where the journal found it; the reason ccf is degraded when
/// that fails.
fn put_link_back(ctx: &Ctx, j: &SwapJournal, why: &str) -> Option<String> {
    let (Some(link), Some(before)) = (&ctx.config.claude_link, &j.link_before) else {
        return None;
    };
    let here = ctx.link_target();
    let back = crate::context::absolute_from(link, before);
    if here.as_deref().is_some_and(|h| same_dir(h, &back)) {
        return None;
    }
    let e = fsutil::replace_symlink(link, before).err()?;
    Some(format!(
        "the swap {} -> {} failed ({why}) and {} could not be pointed back at {}: {e:#}",
        j.from,
        j.to,
        link.display(),
        before.display()
    ))
}

/// Sessions that already run on the target go back, with their ids. With `claude_link`
/// there is nothing to do: ccf relaunched them on the link, which now points back.
fn move_back(ctx: &Ctx, j: &SwapJournal) {
    if j.from == j.to || ctx.config.claude_link.is_some() {
        return;
    }
    let (Ok(from_home), Ok(to_home)) = (home_of(ctx, &j.from), home_of(ctx, &j.to)) else {
        return;
    };
    let back: Vec<Target> = j
        .sessions
        .iter()
        .filter(|s| s.relaunch && !s.in_place)
        // Undoing a swap puts sessions back as they were; no prompt.
        .filter_map(|s| Target::of(s, false))
        .filter(|t| runs_on(ctx, t, &to_home))
        .collect();
    for (name, r) in relaunch(ctx, &back, &from_home, &Timing::for_run()) {
        if let Err(e) = r {
            crate::log::warn(&format!("failed to move {name} back to {}: {e}", j.from));
        }
    }
}
