//! `ccf janitor`: keep the queue and the pool clean.
//!
//! Under the state lock: move finished tasks to `done/` or `failed/` (a run that ended
//! on a usage limit is held, not failed); kill tasks past their timeout and retry or
//! fail them; requeue tasks whose wrapper is gone without a result; restart held tasks
//! once an account can take them; recreate missing pool sessions up to `min` and missing
//! dedicated sessions; report pool-prefixed sessions outside the range; prune finished
//! tasks older than `keep_finished`, and the hooks' turn files quiet for a day. Inbox tasks are dispatch's.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DryRun;
use crate::context::Ctx;
use crate::tasks::apply::Applier;
use crate::tasks::facts::Facts;
use crate::tasks::plan::{self, Action, Slot};
use crate::tasks::triage;

pub fn run(ctx: &Ctx, args: &DryRun) -> Result<ExitCode> {
    let mut m = crate::mutation::begin(ctx)?;
    let mut ap = Applier::new(ctx, args.dry_run);
    if !args.dry_run {
        ap.queue.ensure()?;
        // What a janitor killed mid-settle left behind: its task is already settled.
        for stem in ap.queue.sweep()? {
            crate::log::notice(&format!(
                "removed the leftovers of {stem}.md in running/ (a settle was interrupted; the task is settled)"
            ));
        }
    }
    let facts = Facts::gather(ctx, &ap.queue, false)?;
    if !facts.server_running {
        crate::log::error(
            "no tmux server is running: janitor cannot keep the pool at min nor recreate dedicated sessions; start it (e.g. systemctl --user start ccf-tmux)",
        );
    }
    let settled = triage::settle(&facts, ctx.now, ctx.config.quota.default_exhaustion, true);
    let (mut actions, mut candidates) = (settled.actions, settled.again);
    let upkeep = plan::upkeep(&ctx.config, &facts.panes, facts.server_running);
    let mut slots = plan::pool_slots(
        &ctx.config,
        &facts.panes,
        &triage::tasked_sessions(&facts, &settled.leaving),
    );
    // Sessions created below come up at a shell: free, and not to be created twice.
    for a in &upkeep {
        if let Action::CreatePool { session } = a
            && let Some(s) = slots.iter_mut().find(|(n, _)| n == session)
        {
            s.1 = Slot::Free;
        }
    }
    actions.extend(upkeep);
    candidates.extend(triage::waiting_candidates(&facts, &settled.leaving));
    let placement = plan::place(
        candidates,
        &slots,
        facts.server_running,
        &super::dispatch::accounts(ctx, &m.state),
        ctx.now,
    );
    actions.extend(placement.actions);
    let cutoff = crate::clock::sub(ctx.now, ctx.config.keep_finished);
    actions.extend(
        ap.queue
            .prunable(cutoff)
            .into_iter()
            .map(|path| Action::Prune { path }),
    );
    ap.apply_all(&mut m.state, &facts, &actions);
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    ap.sync_state(&mut m.state)?;
    ctx.save(&m.state)?;
    // The hooks' turn files of sessions long quiet (a day covers any turn).
    crate::turns::prune(
        &ctx.config.state_dir,
        crate::clock::sub(ctx.now, std::time::Duration::from_secs(86_400)),
    );
    ap.emit();
    super::dispatch::finish(ap.failed)
}
