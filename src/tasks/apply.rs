//! Dispatch's and janitor's shared adapter: carries out the planner's actions on files,
//! tmux and the state, one method per action. What an action writes into a record or
//! the state is decided in [`bookkeeping`]; here are the reads, writes and tmux calls
//! around it.
//!
//! Every action prints its plan line; with `--dry-run` that is all it does. One action
//! that fails is logged and counted, and the others still run: a bad pane must not
//! stop the queue.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use jiff::Timestamp;

use super::bookkeeping;
use super::facts::Facts;
use super::plan::{self, Action};
use super::queue::{self, DONE, FAILED, Queue};
use super::record::TaskRecord;
use crate::context::Ctx;
use crate::notify::Event;
use crate::state::State;
use crate::tmux::Launch;

/// Carries out actions for one run of dispatch or janitor.
pub struct Applier<'a> {
    pub ctx: &'a Ctx,
    pub queue: Queue,
    pub dry_run: bool,
    /// Notifications to emit once the state is saved.
    pub events: Vec<Event>,
    /// Actions that failed (each was logged).
    pub failed: usize,
}

impl<'a> Applier<'a> {
    pub fn new(ctx: &'a Ctx, dry_run: bool) -> Applier<'a> {
        Applier {
            ctx,
            queue: Queue::new(&ctx.config.dispatcher.queue_dir),
            dry_run,
            events: Vec::new(),
            failed: 0,
        }
    }

    /// Prints each action's plan line and, unless this is a dry run, carries it out.
    pub fn apply_all(&mut self, state: &mut State, facts: &Facts, actions: &[Action]) {
        for a in actions {
            if self.dry_run {
                println!("would {a}");
                continue;
            }
            if matches!(a, Action::Wait { .. }) {
                crate::log::info(&a.to_string());
                continue;
            }
            println!("{a}");
            if let Err(e) = self.apply(state, facts, a) {
                crate::log::error(&format!("{e:#}"));
                self.failed += 1;
            }
        }
    }

    fn apply(&mut self, state: &mut State, facts: &Facts, action: &Action) -> Result<()> {
        match action {
            Action::Reject { task, reason } => self.reject(task, reason),
            Action::Finish {
                task,
                session,
                reason,
            } => self.finish(state, task, session.as_deref(), reason.as_deref()),
            Action::Hold {
                task,
                session,
                account,
                until,
            } => self.hold(state, task, session.as_deref(), account, *until),
            Action::Kill {
                task,
                session,
                retry,
                after,
            } => self.kill(state, task, session, *retry, *after),
            Action::Cancel {
                task,
                session,
                stop,
                claimed,
            } => self.cancel(state, task, session.as_deref(), *stop, *claimed),
            Action::Requeue { task, session, .. } => self.requeue(state, task, session.as_deref()),
            Action::Launch {
                task,
                session,
                create,
                account,
                claimed,
                ..
            } => self.launch(state, facts, task, session, *create, account, *claimed),
            Action::CreatePool { session } => self.create_pool(session),
            Action::CreateDedicated {
                session,
                project,
                autostart,
            } => self.create_dedicated(state, session, project, *autostart),
            Action::Stray { session } => {
                self.stray(session);
                Ok(())
            }
            Action::Prune { path } => queue::remove_if_present(path),
            Action::Wait { .. } => Ok(()),
        }
    }

    /// The record as it is now on disk: an earlier action of this run may have changed it.
    fn record(&self, task: &str) -> Result<TaskRecord> {
        self.queue.read_record(task)
    }

    /// An inbox file that can never run goes to `failed/`, with its reason.
    fn reject(&mut self, task: &str, reason: &str) -> Result<()> {
        crate::log::warn(&format!("task {task} can never run: {reason}"));
        self.queue.reject(task, reason, self.ctx.now)?;
        self.events.push(Event::TaskFailed {
            task: task.to_string(),
            reason: reason.to_string(),
        });
        Ok(())
    }

    /// A run that ended goes to `done/`, or to `failed/` with its reason.
    fn finish(
        &mut self,
        state: &mut State,
        task: &str,
        session: Option<&str>,
        reason: Option<&str>,
    ) -> Result<()> {
        let which = if reason.is_some() { FAILED } else { DONE };
        self.queue.finish(task, which, reason, self.ctx.now)?;
        bookkeeping::forget(state, session, task);
        if let Some(r) = reason {
            self.events.push(Event::TaskFailed {
                task: task.to_string(),
                reason: r.to_string(),
            });
        } else {
            crate::history::append(
                &self.ctx.config.state_dir,
                self.ctx.now,
                crate::history::What::Kept(crate::history::Kept::TaskDone {
                    task: task.to_string(),
                }),
            );
        }
        Ok(())
    }

    /// A run stopped by a limit: the task waits in `running/` to resume.
    fn hold(
        &mut self,
        state: &mut State,
        task: &str,
        session: Option<&str>,
        account: &str,
        until: Timestamp,
    ) -> Result<()> {
        let mut r = self.record(task)?;
        bookkeeping::hold(&mut r, account, until);
        self.queue.write_record(&r)?;
        self.queue.clear_run(task)?;
        bookkeeping::forget(state, session, task);
        Ok(())
    }

    /// Puts a timed-out task's pane back to a shell; then retries or fails the task.
    fn kill(
        &mut self,
        state: &mut State,
        task: &str,
        session: &str,
        retry: bool,
        after: Duration,
    ) -> Result<()> {
        self.to_shell(session)?;
        bookkeeping::forget(state, Some(session), task);
        let mut r = self.queue.read_record(task)?;
        if retry {
            bookkeeping::retry(&mut r, uuid::Uuid::new_v4().to_string());
            self.queue.write_record(&r)?;
            self.queue.clear_run(task)?;
        } else {
            let reason = bookkeeping::timeout_reason(&r, after);
            self.queue
                .finish(task, FAILED, Some(&reason), self.ctx.now)?;
            self.events.push(Event::TaskTimedOut {
                task: task.to_string(),
            });
        }
        Ok(())
    }

    /// Respawns `session`'s pane to a shell in the pool's workdir: the wrapper and its
    /// claude are killed, and the session is free for the next task.
    fn to_shell(&self, session: &str) -> Result<()> {
        let ctx = self.ctx;
        let shell = std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        ctx.tmux.respawn(
            session,
            &Launch {
                argv: vec![shell],
                cwd: ctx.config.pool.workdir.clone(),
                env: vec![],
            },
        )
    }

    /// A task the operator cancelled: a running one is stopped as a timed-out one is
    /// (its pane back to a shell), then it goes to `failed/` as cancelled. The pane is
    /// stopped first: when that fails, the task stays where it was.
    fn cancel(
        &mut self,
        state: &mut State,
        task: &str,
        session: Option<&str>,
        stop: bool,
        claimed: bool,
    ) -> Result<()> {
        let now = self.ctx.now;
        let reason = if claimed {
            let record = self.queue.read_record(task).ok();
            if stop && let Some(s) = session {
                self.to_shell(s)?;
            }
            bookkeeping::forget(state, session, task);
            let reason = bookkeeping::cancel_reason(record.as_ref().filter(|_| stop), now);
            self.queue.finish(task, FAILED, Some(&reason), now)?;
            reason
        } else {
            let reason = bookkeeping::cancel_reason(None, now);
            self.queue.reject(task, &reason, now)?;
            reason
        };
        // The operator asked: no notification, but the history keeps it.
        crate::history::append(
            &self.ctx.config.state_dir,
            now,
            crate::history::What::Kept(crate::history::Kept::TaskCancelled {
                task: task.to_string(),
                reason,
            }),
        );
        Ok(())
    }

    /// The wrapper is gone without a result: the task goes back to the inbox.
    fn requeue(&mut self, state: &mut State, task: &str, session: Option<&str>) -> Result<()> {
        let back = self.queue.requeue(task)?;
        bookkeeping::forget(state, session, task);
        if back != task {
            crate::log::notice(&format!("{task} is back in the inbox as {back}"));
        }
        Ok(())
    }

    /// Starts `task` in `session`: claims it from the inbox (or takes its record in
    /// `running/`), records where it runs, starts the wrapper, and puts the task back
    /// where it was if the start fails.
    #[expect(clippy::too_many_arguments, reason = "the fields of one Launch action")]
    fn launch(
        &mut self,
        state: &mut State,
        facts: &Facts,
        task: &str,
        session: &str,
        create: bool,
        account: &str,
        claimed: bool,
    ) -> Result<()> {
        let ctx = self.ctx;
        let before = if claimed {
            Some(self.record(task)?)
        } else {
            None
        };
        let mut r = match &before {
            Some(r) => r.clone(),
            None => first_record(facts, task, account)?,
        };
        bookkeeping::place(
            &mut r,
            session,
            account,
            config_dir(ctx, state, account),
            ctx.now,
        );
        if !claimed && !self.queue.claim(task)? {
            crate::log::notice(&format!(
                "{task} waits: a task of that name is still in running/"
            ));
            return Ok(());
        }
        if let Err(e) = self.start(task, &r, session, create) {
            self.put_back(task, before.as_ref());
            return Err(e.context(format!("failed to start task {task} in {session}")));
        }
        state.sessions.insert(
            session.to_string(),
            bookkeeping::launched_session(task, &r, ctx.now),
        );
        Ok(())
    }

    /// Writes the record of a claimed task and starts its wrapper in `session` (a new
    /// tmux session when `create`, else in place of the pane's shell).
    fn start(&self, task: &str, r: &TaskRecord, session: &str, create: bool) -> Result<()> {
        let ctx = self.ctx;
        self.queue.clear_run(task)?;
        self.queue.write_record(r)?;
        let launch = Launch {
            argv: wrapper_argv(ctx, task)?,
            cwd: r.cwd.clone(),
            env: vec![],
        };
        if create {
            ctx.tmux.new_session(session, &launch)
        } else {
            ctx.tmux.respawn(session, &launch)
        }
    }

    /// Puts a task whose start failed back where it was (its record as it was before,
    /// or the inbox), so the next run tries again.
    fn put_back(&self, task: &str, before: Option<&TaskRecord>) {
        let undo = match before {
            Some(b) => self.queue.write_record(b),
            None => self.queue.requeue(task).map(|_| ()),
        };
        if let Err(u) = undo {
            crate::log::error(&format!("failed to put {task} back: {u:#}"));
        }
    }

    fn create_pool(&self, session: &str) -> Result<()> {
        self.ctx.tmux.new_session(
            session,
            &Launch {
                argv: vec![],
                cwd: self.ctx.config.pool.workdir.clone(),
                env: vec![],
            },
        )
    }

    fn create_dedicated(
        &mut self,
        state: &mut State,
        session: &str,
        project: &Path,
        autostart: bool,
    ) -> Result<()> {
        let ctx = self.ctx;
        if !project.is_dir() {
            anyhow::bail!(
                "cannot recreate dedicated session {session}: its project {} is not a directory",
                project.display()
            );
        }
        if !autostart {
            return ctx.tmux.new_session(
                session,
                &Launch {
                    argv: vec![],
                    cwd: project.to_path_buf(),
                    env: vec![],
                },
            );
        }
        let active = ctx.active_account(state).clone();
        let id = uuid::Uuid::new_v4().to_string();
        let dir = config_dir(ctx, state, &active.name);
        ctx.tmux.new_session(
            session,
            &plan::dedicated_launch(&ctx.config, dir.as_deref(), &id, project),
        )?;
        state.sessions.insert(
            session.to_string(),
            bookkeeping::dedicated_session(&active.name, id, project, ctx.now),
        );
        Ok(())
    }

    fn stray(&self, session: &str) {
        let pool = &self.ctx.config.pool;
        crate::log::warn(&format!(
            "tmux session {session} has the pool prefix but lies outside [{}, {}): ccf leaves it alone; widen the range or rename it",
            pool.start_index,
            pool.start_index + pool.max
        ));
    }

    /// Makes `state.sessions` agree with the records in `running/`.
    pub fn sync_state(&self, state: &mut State) -> Result<()> {
        bookkeeping::sync_sessions(state, &self.queue.claimed()?);
        Ok(())
    }

    /// Records a standing pool problem for `status` and alerts once per occurrence.
    pub fn pool_problem(&mut self, state: &mut State, problem: Option<String>) {
        if let Some(detail) = &problem {
            crate::log::error(&format!("{detail}; the queue is stuck until this is fixed"));
        }
        self.events
            .extend(bookkeeping::pool_problem(state, problem, self.ctx.now));
    }

    /// Queues this run's notifications; call after the state is saved.
    pub fn emit(&self) {
        for e in &self.events {
            crate::history::emit(self.ctx, e);
        }
    }
}

/// The record of an inbox task's first claim, from its vetted file.
fn first_record(facts: &Facts, task: &str, account: &str) -> Result<TaskRecord> {
    let i = facts
        .inbox
        .iter()
        .find(|i| i.name == task)
        .with_context(|| format!("task {task} is not in the inbox any more"))?;
    let v = i.vetted.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(bookkeeping::first_record(
        task,
        v,
        i.queued_at,
        account,
        uuid::Uuid::new_v4().to_string(),
    ))
}

/// `CLAUDE_CONFIG_DIR` for a claude on `account`: none when it is the active account and
/// ccf manages `claude_link` — such a claude runs on `~/.claude` and follows a swap by
/// itself — else the account's home.
pub fn config_dir(ctx: &Ctx, state: &State, account: &str) -> Option<PathBuf> {
    if ctx.config.claude_link.is_some() && ctx.active_account(state).name == account {
        return None;
    }
    ctx.config.account(account).map(|a| a.home.clone())
}

/// The wrapper's argv: this very binary, the config by absolute path (the pane's
/// environment is the tmux server's, not ours), and the task's file name as one word
/// after `--`.
fn wrapper_argv(ctx: &Ctx, task: &str) -> Result<Vec<String>> {
    let exe = std::env::current_exe().context("failed to find the ccf executable")?;
    let config = if ctx.config.path.is_absolute() {
        ctx.config.path.clone()
    } else {
        std::env::current_dir()
            .context("failed to read the current directory")?
            .join(&ctx.config.path)
    };
    Ok(vec![
        exe.to_string_lossy().into_owned(),
        "--config".into(),
        config.to_string_lossy().into_owned(),
        "run-task".into(),
        // A task file may be named `-x.md`: it must never read as an option.
        "--".into(),
        task.to_string(),
    ])
}
