//! `ccf task add|list|cancel|retry`: the queue driven from the command line.
//!
//! `add` writes a new task into `inbox/` in one step (no lock: it only adds a file, as an
//! operator may by hand); `list` reads the four directories (no lock, like `status`);
//! `cancel` and `retry` move tasks between them under the state lock, serial with
//! dispatch and janitor.

mod add;
mod cancel;
mod list;

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};

use crate::cli::{TaskAction, TaskArgs};
use crate::context::Ctx;
use crate::tasks::facts;
use crate::tasks::queue::{self, DONE, FAILED, INBOX, Queue, RUNNING};

pub fn run(ctx: &Ctx, args: &TaskArgs) -> Result<ExitCode> {
    match &args.action {
        TaskAction::Add(a) => add::run(ctx, a),
        TaskAction::List { json } => list::run(ctx, *json),
        TaskAction::Cancel { name, dry_run } => cancel::run(ctx, &task_name(name)?, *dry_run),
        TaskAction::Retry { name, dry_run } => retry(ctx, &task_name(name)?, *dry_run),
    }
}

/// A task's file name from what the operator typed: `fix-login` or `fix-login.md`.
fn task_name(typed: &str) -> Result<String> {
    let name = if queue::is_task_name(typed) {
        typed.to_string()
    } else {
        format!("{typed}.md")
    };
    if !queue::is_task_name(&name) {
        bail!(
            "{typed:?} is not a task name (like fix-login or fix-login.md: no `/`, not starting with `.`)"
        );
    }
    Ok(name)
}

/// The error for a name no queue directory holds.
fn unknown(queue: &Queue, name: &str) -> anyhow::Error {
    anyhow!(
        "no task named {name} in {} (inbox/, running/, done/ or failed/); `ccf task list` shows them",
        queue.root.display()
    )
}

/// Puts `failed/<name>` back into the inbox, once it would run: a task dispatch would
/// reject again at once (its project still missing, say) stays where it is.
fn retry(ctx: &Ctx, name: &str, dry_run: bool) -> Result<ExitCode> {
    let m = crate::mutation::begin(ctx)?;
    let queue = Queue::new(&ctx.config.dispatcher.queue_dir);
    let from = queue.task_path(FAILED, name);
    if std::fs::symlink_metadata(&from).is_err() {
        let stem = queue::stem(name);
        return Err(match queue.locate(name) {
            Some(INBOX) => anyhow!("{name} is in inbox/: it waits for dispatch already"),
            Some(RUNNING) => anyhow!(
                "{name} is in running/: only a task in failed/ can be retried (`ccf task cancel {stem}` stops it)"
            ),
            Some(DONE) => anyhow!(
                "{name} is in done/: it succeeded, and only a task in failed/ can be retried; to run it again: ccf task add --name {stem}-again {}",
                queue.task_path(DONE, name).display()
            ),
            _ => unknown(&queue, name),
        });
    }
    if let Some(d) = [INBOX, RUNNING]
        .into_iter()
        .find(|d| std::fs::symlink_metadata(queue.task_path(d, name)).is_ok())
    {
        bail!(
            "a task named {name} is in {d}/ already: {} stays in failed/ until that one is finished",
            from.display()
        );
    }
    facts::vet(ctx, &from).map_err(|e| {
        anyhow!(
            "{name} would fail again at once: {e}; fix {} first",
            from.display()
        )
    })?;
    let to = queue.task_path(INBOX, name);
    if dry_run {
        println!("would retry {name}: {} -> {}", from.display(), to.display());
        return Ok(ExitCode::SUCCESS);
    }
    if !queue.retry(name, ctx.now)? {
        bail!("a task named {name} appeared in inbox/ or running/ meanwhile; nothing moved");
    }
    // The run may have finished an interrupted swap on the way in.
    ctx.save(&m.state)?;
    println!("retry {name}: back in {}; dispatch starts it", to.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_named_with_or_without_its_md() {
        assert_eq!(task_name("fix-login").unwrap(), "fix-login.md");
        assert_eq!(task_name("fix-login.md").unwrap(), "fix-login.md");
        assert_eq!(task_name("notes.txt").unwrap(), "notes.txt.md");
        for bad in ["", ".hidden", "a/b", "../x", ".md"] {
            assert!(task_name(bad).is_err(), "{bad:?}");
        }
    }
}
