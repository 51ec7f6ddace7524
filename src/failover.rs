//! Failover: the journaled swap of every managed session to another account.
//!
//! (Interface only; the failover issue fills it in.)

use anyhow::{Result, bail};
use jiff::Timestamp;

use crate::context::Ctx;
use crate::state::{State, Trigger};

/// What a caller asks of a swap.
#[derive(Debug, Clone)]
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
    pub exhausted_scope: Option<String>,
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
    /// The plan, one line per step, for `--dry-run` and logs.
    pub plan: Vec<String>,
}

/// Swaps under the caller's lock; saves the journal before each step.
pub fn swap(
    _ctx: &Ctx,
    _state: &mut State,
    _req: &SwapRequest,
    _dry_run: bool,
) -> Result<SwapOutcome> {
    bail!("swap is not implemented yet")
}

/// Finishes or rolls back an unfinished swap found in `state` (after a crash).
pub fn recover(_ctx: &Ctx, _state: &mut State) -> Result<()> {
    Ok(())
}

/// The higher-priority account whose return is due at `ctx.now`, if any.
pub fn due_return(_ctx: &Ctx, _state: &State) -> Option<String> {
    None
}
