//! `ccf task cancel NAME [--dry-run]`: a task ends in `failed/` as cancelled.
//!
//! Under the state lock, through janitor's own path: the claimed task is judged as
//! janitor would judge it (`triage::cancel`), a running one has its pane put back to a
//! shell as after a timeout (the pool session is free for the next task), and the task
//! is settled into `failed/` with a reason that says it was cancelled. A task in the
//! inbox moves to `failed/` the same way, untouched.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};

use crate::context::Ctx;
use crate::tasks::apply::Applier;
use crate::tasks::facts::Facts;
use crate::tasks::plan::Action;
use crate::tasks::queue::{self, DONE, FAILED, INBOX, RUNNING};
use crate::tasks::triage;

pub fn run(ctx: &Ctx, name: &str, dry_run: bool) -> Result<ExitCode> {
    let mut m = crate::mutation::begin(ctx)?;
    let mut ap = Applier::new(ctx, dry_run);
    let stem = queue::stem(name);
    // A name in both running/ and the inbox (a copy dropped by hand waits behind a busy
    // name): the one that runs is the one to stop; a second cancel takes the other.
    let here = |d: &str| std::fs::symlink_metadata(ap.queue.task_path(d, name)).is_ok();
    let found = if here(RUNNING) {
        Some(RUNNING)
    } else {
        ap.queue.locate(name)
    };
    let (action, facts) = match found {
        // Nothing runs it: no need to ask tmux.
        Some(INBOX) => (
            Action::Cancel {
                task: name.to_string(),
                session: None,
                stop: false,
                claimed: false,
            },
            Facts {
                panes: Vec::new(),
                server_running: false,
                inbox: Vec::new(),
                claimed: Vec::new(),
            },
        ),
        Some(RUNNING) => {
            let facts = Facts::gather(ctx, &ap.queue, false)?;
            let action = triage::cancel(&facts, name, ctx.now, ctx.config.quota.default_exhaustion)
                .map_err(|e| anyhow!("{e}"))?;
            (action, facts)
        }
        Some(DONE) => {
            return Err(anyhow!(
                "{name} is in done/: it has finished, nothing to cancel"
            ));
        }
        Some(FAILED) => {
            return Err(anyhow!(
                "{name} is in failed/ already; `ccf task retry {stem}` queues it again"
            ));
        }
        _ => return Err(super::unknown(&ap.queue, name)),
    };
    ap.apply_all(&mut m.state, &facts, &[action]);
    if dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    ap.sync_state(&mut m.state)?;
    ctx.save(&m.state)?;
    if ap.failed > 0 {
        bail!("failed to cancel {name} (see above)");
    }
    println!("{name}: in failed/ as cancelled; `ccf task retry {stem}` queues it again");
    Ok(ExitCode::SUCCESS)
}
