//! `ccf dispatch`: start queued tasks on free autonomous sessions.
//!
//! Under the state lock: settle runs that ended (their sessions become free), reject
//! task files that can never run, then place waiting tasks — those held in `running/`
//! after a limit or a timeout, and the inbox — by priority and age on free pool
//! sessions (creating them up to `max`). Tasks that find no session stay where they are.
//! When tasks wait and the pool can take none at all, that is logged as an error,
//! recorded for `status`, and notified once.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DryRun;
use crate::context::Ctx;
use crate::state::State;
use crate::tasks::apply::Applier;
use crate::tasks::facts::Facts;
use crate::tasks::plan::{self, Accounts};
use crate::tasks::triage;

pub fn run(ctx: &Ctx, args: &DryRun) -> Result<ExitCode> {
    let mut m = crate::mutation::begin(ctx)?;
    let mut ap = Applier::new(ctx, args.dry_run);
    if !args.dry_run {
        ap.queue.ensure()?;
    }
    let facts = Facts::gather(ctx, &ap.queue, true)?;
    let settled = triage::settle(&facts, ctx.now, ctx.config.quota.default_exhaustion, false);
    let mut actions = settled.actions;
    let (mut candidates, inbox_actions) = triage::inbox_candidates(&facts);
    actions.extend(inbox_actions);
    candidates.extend(settled.again);
    candidates.extend(triage::waiting_candidates(&facts, &settled.leaving));
    let slots = plan::pool_slots(
        &ctx.config,
        &facts.panes,
        &triage::tasked_sessions(&facts, &settled.leaving),
    );
    let placement = plan::place(
        candidates,
        &slots,
        facts.server_running,
        &accounts(ctx, &m.state),
        ctx.now,
    );
    actions.extend(placement.actions);
    ap.apply_all(&mut m.state, &facts, &actions);
    if args.dry_run {
        if let Some(p) = placement.problem {
            println!("would report: {p}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    ap.pool_problem(&mut m.state, placement.problem);
    ap.sync_state(&mut m.state)?;
    ctx.save(&m.state)?;
    ap.emit();
    finish(ap.failed)
}

/// The active account and the accounts that can take work now.
pub fn accounts(ctx: &Ctx, state: &State) -> Accounts {
    Accounts {
        active: ctx.active_account(state).name.clone(),
        available: ctx
            .config
            .accounts
            .iter()
            .filter(|a| state.is_available(&a.name, ctx.now))
            .map(|a| a.name.clone())
            .collect::<BTreeSet<_>>(),
    }
}

/// A run whose actions partly failed exits 1 (each failure was logged).
pub fn finish(failed: usize) -> Result<ExitCode> {
    if failed > 0 {
        anyhow::bail!(
            "{} failed (see above); the next run tries again",
            crate::human::count(failed, "action")
        );
    }
    Ok(ExitCode::SUCCESS)
}
