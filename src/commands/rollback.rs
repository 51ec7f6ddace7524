//! `ccf rollback [--dry-run]`: finish or undo an interrupted swap; else clear the
//! degraded flag when things are consistent again; else undo the last swap. A second
//! run finds nothing to do.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DryRun;
use crate::context::Ctx;
use crate::lock::StateLock;

pub fn run(ctx: &Ctx, args: &DryRun) -> Result<ExitCode> {
    // Not `mutation::begin`: that would repair an interrupted swap before this command
    // could say (or, dry, merely show) what it does about it.
    let _lock = StateLock::acquire(&ctx.config.state_dir)?;
    let mut state = ctx.read_state()?;
    let out = crate::failover::rollback(ctx, &mut state, args.dry_run)?;
    for line in out.lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
