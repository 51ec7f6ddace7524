//! The start of every mutating run: the state lock, the state read under it, and an
//! interrupted swap finished or undone before anything else happens. It sits above the
//! context and the failover, so the context never reaches into the failover.

use anyhow::Result;

use crate::context::Ctx;
use crate::lock::StateLock;
use crate::state::State;

/// A mutating run: the lock it holds and the state it read under that lock.
pub struct Mutation {
    pub lock: StateLock,
    pub state: State,
}

/// Takes the state lock (or exits 75), reads the state under it and repairs an
/// interrupted swap. Every mutating command starts here.
pub fn begin(ctx: &Ctx) -> Result<Mutation> {
    begin_with(ctx, StateLock::acquire(&ctx.config.state_dir)?)
}

/// [`begin`] under a lock already taken (one waited for, say).
pub fn begin_with(ctx: &Ctx, lock: StateLock) -> Result<Mutation> {
    let mut state = State::load(&ctx.state_path())?;
    if state.swap.is_some() {
        // A previous run died mid-swap: finish or undo it before anything else.
        crate::failover::recover(ctx, &mut state)?;
    }
    Ok(Mutation { lock, state })
}
