//! `ccf swap [--to ACCOUNT] [--force] [--wait[=DURATION]] [--dry-run]`: the operator's
//! swap, announced like an automatic one. Swapping to the account already active is not
//! an error: it resumes in place any session stopped at a limit, else it says there is
//! nothing to do (exit 0). An account ccf holds as exhausted is refused without `--force`
//! (the sessions would go straight into its limit). At a terminal it waits for a run that
//! holds the state lock; timers and scripts get exit 75 as ever.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::cli::SwapArgs;
use crate::context::Ctx;
use crate::failover::{self, SwapRequest};
use crate::lock::StateLock;
use crate::state::State;
use crate::world::World;

/// How long an operator's swap waits for the lock when told `--wait` alone or run at a
/// terminal: a poll or a swap of a timer's run takes seconds.
const WAIT: Duration = Duration::from_secs(60);

pub fn run(ctx: &Ctx, args: &SwapArgs) -> Result<ExitCode> {
    if let Some(to) = &args.to {
        ctx.config.named_account(to)?;
    }
    let req = SwapRequest {
        to: args.to.clone(),
        reason: "manual".into(),
        manual: true,
        ..SwapRequest::default()
    };
    let lock = take_lock(ctx, args)?;
    if args.dry_run {
        // The lock keeps the plan honest, but a dry run repairs nothing.
        let _lock = lock;
        let mut state = ctx.read_state()?;
        if let Some(j) = &state.swap {
            println!(
                "a swap {} -> {} is unfinished (step {}); any other run would first finish or undo it (see ccf rollback --dry-run)",
                j.from, j.to, j.step
            );
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(why) = refusal(ctx, &state, args) {
            println!("warning: {why}");
        }
        let world = World::gather(ctx, &state)?;
        let out = failover::swap(ctx, &mut state, &world, &req, true)?;
        for line in out.plan {
            println!("would {line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut m = crate::mutation::begin_with(ctx, lock)?;
    if let Some(why) = refusal(ctx, &m.state, args) {
        bail!("{why}");
    }
    if let Some(to) = &args.to {
        // Naming an account is the operator's word that it logs in again; --force that
        // its limit is lifted: forget what ccf held against it, or the next poll leaves.
        let a = m.state.account_mut(to);
        if a.auth_failed || a.exhausted_until.is_some_and(|u| u > ctx.now) {
            println!("{to}: cleared its auth failure / exhaustion mark (operator's choice)");
        }
        a.auth_failed = false;
        a.exhausted_until = None;
    }
    let world = World::gather(ctx, &m.state)?;
    let out = failover::swap(ctx, &mut m.state, &world, &req, false)?;
    for line in &out.plan {
        println!("{line}");
    }
    if let Some(to) = &out.to
        && *to != out.from
    {
        println!("active account: {to}");
    }
    if !out.deferred.is_empty() {
        println!(
            "deferred {}: a turn is running; check-quota moves each once it is idle (ccf status shows them)",
            out.deferred.join(", ")
        );
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

/// The state lock, waited for when the operator asked (or is at a terminal).
fn take_lock(ctx: &Ctx, args: &SwapArgs) -> Result<StateLock> {
    let wait = match args.wait {
        Some(d) => Some(d.into()),
        None if !args.no_wait && std::io::stdin().is_terminal() => Some(WAIT),
        None => None,
    };
    match wait {
        None => StateLock::acquire(&ctx.config.state_dir),
        Some(w) => StateLock::acquire_waiting(&ctx.config.state_dir, w, |path| {
            eprintln!(
                "another ccf run holds {path}; waiting for it to finish (up to {})",
                crate::human::duration(w)
            );
        }),
    }
}

/// Why a swap to `--to` is refused: a disabled account, or one ccf holds as exhausted
/// unless forced.
fn refusal(ctx: &Ctx, state: &State, args: &SwapArgs) -> Option<String> {
    let to = args.to.as_deref()?;
    let a = state.accounts.get(to)?;
    if let Some(d) = &a.disabled {
        // Not even --force: the operator took it out of rotation by name.
        return Some(format!(
            "{to} is disabled since {}{}: `ccf account enable {to}` first",
            d.since,
            d.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    let until = a.exhausted_until.filter(|u| *u > ctx.now)?;
    if args.force {
        return None;
    }
    let left = ctx.now.duration_until(until).unsigned_abs();
    let scope = a
        .exhausted_scope
        .map(|s| format!(" ({s} limit)"))
        .unwrap_or_default();
    let seen = a
        .last_signal
        .as_ref()
        .map(|s| format!(", seen by {} at {}", s.source, s.at))
        .unwrap_or_default();
    Some(format!(
        "{to} is marked exhausted until {until}{scope}, in {}{seen}: its sessions would go straight into the limit. If it is lifted, `ccf swap --to {to} --force` moves there and clears the mark",
        crate::human::duration(left)
    ))
}
