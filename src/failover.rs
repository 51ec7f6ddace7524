//! Failover: the journaled swap of every managed session to another account, its
//! recovery after a crash, and the return to a higher-priority account.
//!
//! The public surface (check-quota, `swap`, `rollback` and `mutation::begin` call it):
//! - [`swap`]: under the caller's lock, with the state it loaded; saves the journal
//!   before each step (DESIGN.md §6). `to: None` picks the highest-priority available
//!   account; when none is available (and the swap is not manual) nothing moves, the
//!   account is marked, `all_exhausted_since` is set and the outcome has `to: None`.
//!   `to: Some(active)` resumes in place the sessions that stopped at a limit.
//! - [`recover`]: finishes an interrupted swap when the link already points at the
//!   target and its shared layout is right, else undoes it.
//! - [`due_return`]: the account check-quota should swap to now, if any.
//!
//! `plan.rs` decides (pure), `identity.rs` finds session ids and accounts, `apply.rs`
//! starts the swap and runs the journal's steps, `relaunch.rs` relaunches and verifies
//! (with an injected [`Timing`]), `settle.rs` decides (pure) and saves the end,
//! `cancel.rs` undoes a swap that cannot go on, `recover.rs` repairs after a crash.

mod apply;
mod cancel;
mod identity;
pub mod plan;
mod recover;
mod relaunch;
mod settle;

use anyhow::Result;
use jiff::Timestamp;

use crate::context::Ctx;
use crate::state::{State, Trigger};
use crate::world::World;

pub use identity::find_claude;
pub use recover::{RollbackOutcome, recover, rollback};
pub use relaunch::Timing;

/// What a caller asks of a swap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwapRequest {
    /// Target account; `None` = the highest-priority available one.
    pub to: Option<String>,
    /// Why (shown in status and notifications): "usage limit on compte1", "manual", …
    pub reason: String,
    pub trigger: Option<Trigger>,
    /// An operator's `swap --to`: cancels any pending return.
    pub manual: bool,
    /// Until when the account left behind counts as exhausted (`None`: not exhausted,
    /// e.g. a manual swap or a return).
    pub exhausted_until: Option<Timestamp>,
    pub exhausted_scope: Option<crate::detect::Scope>,
    /// Whether the account left behind failed authentication.
    pub auth_failed: bool,
}

/// What a swap did.
#[derive(Debug, Clone, Default)]
pub struct SwapOutcome {
    pub from: String,
    pub to: Option<String>,
    pub moved: Vec<String>,
    pub failed: Vec<String>,
    /// Busy sessions left alone: owed a move once idle (see `state::PendingMove`).
    pub deferred: Vec<String>,
    /// The plan, one line per step, for `--dry-run` and logs.
    pub plan: Vec<String>,
}

/// Swaps under the caller's lock, in the world the caller gathered after taking it;
/// saves the journal before each step.
pub fn swap(
    ctx: &Ctx,
    state: &mut State,
    world: &World,
    req: &SwapRequest,
    dry_run: bool,
) -> Result<SwapOutcome> {
    apply::swap(
        ctx,
        state,
        world,
        req,
        &apply::Options {
            dry_run,
            only: None,
            rollback: false,
        },
    )
}

/// The account whose return (or, while every account was exhausted, whose resumption)
/// is due at `ctx.now`, if any. It may be the active account: then a swap to it
/// relaunches the sessions that stopped at the limit, in place.
pub fn due_return(ctx: &Ctx, state: &State, world: &World) -> Option<String> {
    if state.swap.is_some() || state.degraded.is_some() {
        return None;
    }
    let order: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let active = &world.active;
    let margin = crate::clock::signed(ctx.config.quota.return_margin);
    plan::due_return(
        &order,
        active,
        state.all_exhausted_since.is_some(),
        state.pending_return.as_ref().map(|p| p.not_before),
        |a| match state.accounts.get(a) {
            None => None,
            // Disabled is as unavailable as a failed login: never returned to.
            Some(s) if s.auth_failed || s.disabled.is_some() => Some(None),
            Some(s) => s.exhausted_until.map(Some),
        },
        margin,
        ctx.now,
    )
}

/// How many swaps in a row check-quota lets fail to relaunch a session before it leaves
/// the retry to the operator (`ccf swap --to <active>`, which always tries): each try
/// costs a run its relaunch attempts, and a claude that cannot start rarely starts later.
pub const AUTO_RETRIES: u32 = 3;

/// check-quota's catch-up, when it decided to stay: makes the moves the state owes on
/// the active account — deferred sessions once idle or blocked, failed relaunches while
/// they have retries left — as a same-account swap of just those sessions. A session
/// that no longer exists is owed nothing. `None` when there is nothing to try.
pub fn make_owed_moves(
    ctx: &Ctx,
    state: &mut State,
    world: &World,
    dry_run: bool,
) -> Result<Option<SwapOutcome>> {
    if state.swap.is_some() || state.degraded.is_some() || state.all_exhausted_since.is_some() {
        return Ok(None);
    }
    let mut names = Vec::new();
    let mut dropped = false;
    for (name, rec) in &mut state.sessions {
        let Some(p) = &rec.pending_move else {
            continue;
        };
        if world.pane(name).is_none() {
            if !dry_run {
                crate::log::notice(&format!(
                    "{name} is gone: its owed move to {} is dropped",
                    p.to
                ));
                rec.pending_move = None;
                dropped = true;
            }
        } else if p.why == crate::state::MoveWhy::Deferred || p.attempts < AUTO_RETRIES {
            names.push(name.clone());
        }
    }
    if dropped {
        ctx.save(state)?;
    }
    if names.is_empty() {
        return Ok(None);
    }
    let req = SwapRequest {
        to: Some(world.active.clone()),
        reason: "moves owed since an earlier swap".into(),
        ..SwapRequest::default()
    };
    let out = apply::swap(
        ctx,
        state,
        world,
        &req,
        &apply::Options {
            dry_run,
            only: Some(&names),
            rollback: false,
        },
    )?;
    Ok(Some(out))
}

/// A fault point of a swap (see [`crate::fault`]).
fn fault(point: &str) {
    crate::fault::point(point);
}
