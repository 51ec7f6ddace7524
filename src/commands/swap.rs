//! `ccf swap [--to ACCOUNT] [--dry-run]`: the operator's swap, announced like an
//! automatic one. Swapping to the account already active is not an error: it resumes in
//! place any session stopped at a limit, else it says there is nothing to do (exit 0).

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::SwapArgs;
use crate::context::Ctx;
use crate::failover::{self, SwapRequest};
use crate::lock::StateLock;

pub fn run(ctx: &Ctx, args: &SwapArgs) -> Result<ExitCode> {
    if let Some(to) = &args.to {
        ctx.config.named_account(to)?;
    }
    let req = SwapRequest {
        to: args.to.clone(),
        reason: "manual".into(),
        trigger: None,
        manual: true,
        exhausted_until: None,
        exhausted_scope: None,
        auth_failed: false,
    };
    if args.dry_run {
        // The lock keeps the plan honest, but a dry run repairs nothing.
        let _lock = StateLock::acquire(&ctx.config.state_dir)?;
        let mut state = ctx.read_state()?;
        if let Some(j) = &state.swap {
            println!(
                "a swap {} -> {} is unfinished (step {}); any other run would first finish or undo it (see ccf rollback --dry-run)",
                j.from, j.to, j.step
            );
            return Ok(ExitCode::SUCCESS);
        }
        let out = failover::swap(ctx, &mut state, &req, true)?;
        for line in out.plan {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut m = ctx.begin_mutation()?;
    if let Some(to) = &args.to {
        // Naming an account is the operator's word that it works again (logged in anew,
        // limit lifted): forget what ccf held against it, or the next poll would leave.
        let a = m.state.account_mut(to);
        if a.auth_failed || a.exhausted_until.is_some_and(|u| u > ctx.now) {
            println!("{to}: cleared its auth failure / exhaustion mark (operator's choice)");
        }
        a.auth_failed = false;
        a.exhausted_until = None;
    }
    let out = failover::swap(ctx, &mut m.state, &req, false)?;
    for line in &out.plan {
        println!("{line}");
    }
    if let Some(to) = &out.to
        && *to != out.from
    {
        println!("active account: {to}");
    }
    if !out.failed.is_empty() {
        let active = out.to.as_deref().unwrap_or(&out.from);
        anyhow::bail!(
            "could not relaunch {} (they keep their ids; fix the cause, then `ccf swap --to {active}` relaunches them in place)",
            out.failed.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
