//! `ccf check-quota [--dry-run]`: one detection pass.
//!
//! Gather (the [`World`] and the [`quota::Facts`] read from it: the hook spool, the
//! status-line usage files, every managed pane's screen; with `fleet:`, the other hosts'
//! limits from one read of etcd), decide (`quota::decide`, pure), remember
//! (`quota::remember`, pure), save, publish this host's own limits to the fleet, act (the
//! failover); the run ends with the fleet heartbeat. `--dry-run` prints every
//! observation and the decision, and changes nothing (the spool is not consumed, the
//! fleet only read).

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DryRun;
use crate::context::Ctx;
use crate::failover;
use crate::notify::Event;
use crate::quota::{self, Action};
use crate::spool;
use crate::state::{self, State};
use crate::world::World;

/// How many passes one run takes at most: the first, and one more for each batch of
/// hook events that landed while the previous pass ran.
const MAX_PASSES: usize = 4;

pub fn run(ctx: &Ctx, args: &DryRun) -> Result<ExitCode> {
    let mut m = crate::mutation::begin(ctx)?;
    // What hooks write into (without the lock): no one else may write there.
    for dir in [ctx.config.spool_dir(), ctx.config.state_dir.join("usage")] {
        crate::fsutil::tighten(&dir)?;
    }
    // One read of the fleet per run, whatever the number of passes.
    let mut fleet = crate::fleet::Link::open(ctx.config.fleet.as_ref(), ctx.now);
    pass(ctx, &mut m.state, args, fleet.as_mut())?;
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    // systemd does not queue a path unit's trigger while its service runs: a hook event
    // that lands during a pass (a swap takes seconds) would wait for the timer, or for
    // ever with the timer stopped. Look at the spool again before letting the lock go.
    for _ in 1..MAX_PASSES {
        if !spool::has_events(&ctx.config.spool_dir()) {
            break;
        }
        let later = ctx.later()?;
        crate::log::info("hook events arrived during the pass; taking another");
        pass(&later, &mut m.state, args, fleet.as_mut())?;
    }
    if let Some(link) = fleet.as_mut() {
        let active = ctx.active_account(&m.state).name.clone();
        let names: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
        let before = m.state.fleet.clone();
        if let Err(e) = link.heartbeat(&mut m.state, &names, &active, ctx.now) {
            crate::log::debug(&format!(
                "fleet: failed to write this host's heartbeat: {e}"
            ));
        }
        // Whatever failed in the run — the read, a publication, the heartbeat — is
        // remembered and logged when it changes; a new heartbeat lease is kept too.
        let ignored = link.view.as_ref().map_or(&[][..], |v| &v.ignored[..]);
        for (level, line) in
            crate::fleet::remember(&mut m.state.fleet, link.problem(), ignored, ctx.now)
        {
            crate::log::emit(level, &line);
        }
        if m.state.fleet != before {
            ctx.save(&m.state)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One detection pass under the lock: gather, decide, remember, save, act.
fn pass(
    ctx: &Ctx,
    state: &mut State,
    args: &DryRun,
    fleet: Option<&mut crate::fleet::Link>,
) -> Result<()> {
    let loaded = state.clone();
    let world = World::gather(ctx, state)?;
    let mut facts = quota::gather(ctx, state, &world);
    let order: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    if let Some(link) = fleet.as_deref() {
        take_in_fleet(ctx, state, link, &order, &mut facts, args.dry_run);
    }
    // A dry run changes the state only in memory: it returns before the save.
    let relogged = quota::remember::absorb(state, &facts);
    for account in &relogged {
        crate::log::notice(&format!(
            "account {account}: credentials changed since its auth failure; usable again"
        ));
    }
    let due = failover::due_return(ctx, state, &world);
    let decision = quota::decide(
        &facts.observations,
        state,
        &world.active,
        &order,
        &ctx.config.quota,
        ctx.now,
        due,
    );
    if args.dry_run {
        for line in decision.lines() {
            println!("{line}");
        }
        if matches!(decision.action, Action::Stay)
            && let Some(owed) = failover::make_owed_moves(ctx, state, &world, true)?
        {
            for line in owed.plan {
                println!("{line}");
            }
        }
        return Ok(());
    }
    let remembered = quota::remember::remember(state, &facts, &decision, ctx.now);
    for (level, line) in &remembered.log {
        crate::log::emit(*level, line);
    }
    // Save what this poll learnt before acting on it; only then is the spool consumed.
    // A pass that learnt nothing but its own time stamps the check instead: most passes
    // are such, and the save's two fsyncs were a sixth of a pass.
    if learnt_only_the_time(&loaded, state) && facts.consumed.is_empty() {
        state::stamp_check(&ctx.config.state_dir, ctx.now)?;
    } else {
        ctx.save(state)?;
    }
    for path in &facts.consumed {
        if let Err(e) = std::fs::remove_file(path) {
            crate::log::warn(&format!(
                "failed to remove consumed spool file {}: {e}",
                path.display()
            ));
        }
    }
    record_limits(ctx, &remembered.limits);
    for account in remembered.newly_failed {
        crate::history::emit(ctx, &Event::NeedsLogin { account });
    }
    // The other hosts learn of this host's limit before its swap (seconds) begins.
    if let Some(link) = fleet {
        for (level, line) in link.publish(
            &decision,
            &relogged,
            ctx.config.quota.return_margin,
            ctx.now,
        ) {
            crate::log::emit(level, &line);
        }
    }
    let (Action::Swap(request) | Action::Return(request)) = decision.action else {
        if let Some(owed) = failover::make_owed_moves(ctx, state, &world, false)?
            && (!owed.moved.is_empty() || !owed.failed.is_empty())
        {
            println!(
                "owed moves on {}: moved {}, failed {}",
                owed.from,
                list(&owed.moved),
                list(&owed.failed)
            );
        }
        return Ok(());
    };
    let outcome = failover::swap(ctx, state, &world, &request, false)?;
    match &outcome.to {
        Some(to) => println!(
            "swapped {} -> {to} ({}): moved {}, failed {}{}",
            outcome.from,
            request.reason,
            list(&outcome.moved),
            list(&outcome.failed),
            deferred(&outcome.deferred)
        ),
        None => println!(
            "no account available to swap to from {}; sessions parked until a reset",
            outcome.from
        ),
    }
    Ok(())
}

/// Adds the fleet's limits to this pass's observations. A dry run also says whether the
/// fleet could be read (a real run remembers that at its end, with its writes).
fn take_in_fleet(
    ctx: &Ctx,
    state: &State,
    link: &crate::fleet::Link,
    order: &[String],
    facts: &mut quota::Facts,
    dry_run: bool,
) {
    if dry_run {
        match link.problem() {
            Some(p) => println!("fleet: {p}; deciding as a single host"),
            None => link
                .view
                .iter()
                .flat_map(|v| &v.ignored)
                .for_each(|l| println!("{l}")),
        }
    }
    if let Some(view) = &link.view {
        let extra = crate::fleet::merge::observations(
            view,
            state,
            &facts.observations,
            order,
            &link.cfg.host,
            ctx.now,
        );
        facts.observations.extend(extra);
    }
}

/// `, deferred ccl-2 (busy: moved once idle)`, or nothing.
fn deferred(v: &[String]) -> String {
    if v.is_empty() {
        String::new()
    } else {
        format!(", deferred {} (busy: moved once idle)", v.join(", "))
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Whether `now` differs from `loaded` by the time of the last check alone (compared in
/// place: no second copy of the state per pass).
fn learnt_only_the_time(loaded: &State, now: &mut State) -> bool {
    let checked = std::mem::replace(&mut now.quota.last_check, loaded.quota.last_check);
    let same = *now == *loaded;
    now.quota.last_check = checked;
    same
}

/// The accounts this pass newly marked out, into the history.
fn record_limits(ctx: &Ctx, limits: &[(String, jiff::Timestamp, Option<crate::detect::Scope>)]) {
    for (account, until, scope) in limits {
        crate::history::append(
            &ctx.config.state_dir,
            ctx.now,
            crate::history::What::Kept(crate::history::Kept::LimitSeen {
                account: account.clone(),
                until: *until,
                scope: *scope,
            }),
        );
    }
}
