//! Dispatch's and janitor's shared adapter: carries out the planner's actions on files,
//! tmux and the state.
//!
//! Every action prints its plan line; with `--dry-run` that is all it does. One action
//! that fails is logged and counted, and the others still run: a bad pane must not
//! stop the queue.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::facts::Facts;
use super::plan::Action;
use super::queue::{self, DONE, FAILED, Queue};
use super::record::{TaskRecord, Wait};
use crate::context::Ctx;
use crate::notify::Event;
use crate::state::{Kind, PoolProblem, SessionRecord, State};
use crate::tmux::Launch;

/// Variables Claude Code sets for its own children; a claude that inherits them refuses
/// to start or misbehaves, so nothing ccf launches keeps them.
pub const CLAUDE_CHILD_VARS: &[&str] = &[
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SESSION_ID",
    "CLAUDE_CODE_SSE_PORT",
];

/// The alert key of a standing pool problem in `State::alerts`.
const POOL_ALERT: &str = "pool_empty";

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
        let ctx = self.ctx;
        match action {
            Action::Reject { task, reason } => {
                crate::log::warn(&format!("task {task} can never run: {reason}"));
                self.queue.reject(task, reason, self.ctx.now)?;
                self.events.push(Event::TaskFailed {
                    task: task.clone(),
                    reason: reason.clone(),
                });
            }
            Action::Finish {
                task,
                session,
                reason,
            } => {
                let which = if reason.is_some() { FAILED } else { DONE };
                self.queue
                    .finish(task, which, reason.as_deref(), self.ctx.now)?;
                forget(state, session.as_deref(), task);
                if let Some(r) = reason {
                    self.events.push(Event::TaskFailed {
                        task: task.clone(),
                        reason: r.clone(),
                    });
                }
            }
            Action::Hold {
                task,
                session,
                account,
                until,
            } => {
                let mut r = self.record(task)?;
                r.session = None;
                r.resume = true;
                r.wait = Some(Wait {
                    reason: "limit".into(),
                    account: Some(account.clone()),
                    until: Some(*until),
                });
                self.queue.write_record(&r)?;
                self.queue.clear_run(task)?;
                forget(state, session.as_deref(), task);
            }
            Action::Kill {
                task,
                session,
                retry,
                after,
            } => self.kill(state, task, session, *retry, *after)?,
            Action::Requeue { task, session, .. } => {
                let back = self.queue.requeue(task)?;
                forget(state, session.as_deref(), task);
                if &back != task {
                    crate::log::notice(&format!("{task} is back in the inbox as {back}"));
                }
            }
            Action::Launch {
                task,
                session,
                create,
                account,
                claimed,
                ..
            } => self.launch(state, facts, task, session, *create, account, *claimed)?,
            Action::CreatePool { session } => {
                ctx.tmux.new_session(
                    session,
                    &Launch {
                        argv: vec![],
                        cwd: ctx.config.pool.workdir.clone(),
                        env: vec![],
                    },
                )?;
            }
            Action::CreateDedicated {
                session,
                project,
                autostart,
            } => self.create_dedicated(state, session, project, *autostart)?,
            Action::Stray { session } => crate::log::warn(&format!(
                "tmux session {session} has the pool prefix but lies outside [{}, {}): ccf leaves it alone; widen the range or rename it",
                ctx.config.pool.start_index,
                ctx.config.pool.start_index + ctx.config.pool.max
            )),
            Action::Prune { path } => queue::remove_if_present(path)?,
            Action::Wait { .. } => {}
        }
        Ok(())
    }

    /// The record as it is now on disk: an earlier action of this run may have changed it.
    fn record(&self, task: &str) -> Result<TaskRecord> {
        self.queue.read_record(task)
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
        )?;
        forget(state, Some(session), task);
        let mut r = self.queue.read_record(task)?;
        if retry {
            r.attempt += 1;
            r.session_id = uuid::Uuid::new_v4().to_string();
            r.resume = false;
            r.session = None;
            r.wait = Some(Wait {
                reason: "retry".into(),
                account: None,
                until: None,
            });
            self.queue.write_record(&r)?;
            self.queue.clear_run(task)?;
        } else {
            let reason = format!(
                "timed out after {} (attempt {} of {})",
                crate::human::duration(after),
                r.attempt,
                r.retries + 1
            );
            self.queue
                .finish(task, FAILED, Some(&reason), self.ctx.now)?;
            self.events.push(Event::TaskTimedOut {
                task: task.to_string(),
            });
        }
        Ok(())
    }

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
        let mut r = if let Some(r) = &before {
            r.clone()
        } else {
            let i = facts
                .inbox
                .iter()
                .find(|i| i.name == task)
                .with_context(|| format!("task {task} is not in the inbox any more"))?;
            let v = i.vetted.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            TaskRecord {
                task: task.to_string(),
                session_id: uuid::Uuid::new_v4().to_string(),
                account: account.to_string(),
                pinned_account: v.task.meta.account.clone(),
                config_dir: None,
                cwd: v.cwd.clone(),
                model: v.task.meta.model.clone(),
                priority: v.task.meta.priority.unwrap_or(0),
                queued_at: i.queued_at,
                attempt: 1,
                retries: v.retries,
                timeout_secs: v.timeout.as_secs(),
                resume: false,
                session: None,
                launched_at: None,
                wait: None,
            }
        };
        r.account = account.to_string();
        r.config_dir = config_dir(ctx, state, account);
        r.session = Some(session.to_string());
        r.launched_at = Some(ctx.now);
        r.wait = None;
        if !claimed && !self.queue.claim(task)? {
            crate::log::notice(&format!(
                "{task} waits: a task of that name is still in running/"
            ));
            return Ok(());
        }
        let started = self
            .queue
            .clear_run(task)
            .and_then(|()| self.queue.write_record(&r))
            .and_then(|()| {
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
            });
        if let Err(e) = started {
            // Put the task back where it was, so the next run tries again.
            let undo = match &before {
                Some(b) => self.queue.write_record(b),
                None => self.queue.requeue(task).map(|_| ()),
            };
            if let Err(u) = undo {
                crate::log::error(&format!("failed to put {task} back: {u:#}"));
            }
            return Err(e.context(format!("failed to start task {task} in {session}")));
        }
        state.sessions.insert(
            session.to_string(),
            SessionRecord {
                kind: Kind::Autonomous,
                account: Some(account.to_string()),
                session_id: Some(r.session_id.clone()),
                id_source: Some("launched".into()),
                cwd: Some(r.cwd.clone()),
                launched_at: Some(ctx.now),
                task: Some(task.to_string()),
            },
        );
        Ok(())
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
        // `env -u` drops what the tmux server's environment may hold for Claude Code's
        // children; no shell is involved.
        let mut argv = vec!["env".to_string()];
        for v in CLAUDE_CHILD_VARS.iter().chain(&["CLAUDE_CONFIG_DIR"]) {
            argv.extend(["-u".to_string(), (*v).to_string()]);
        }
        if let Some(dir) = config_dir(ctx, state, &active.name) {
            argv.push(format!("CLAUDE_CONFIG_DIR={}", dir.display()));
        }
        argv.push(ctx.config.claude.command.clone());
        argv.extend(ctx.config.claude.args.iter().cloned());
        argv.extend(["--session-id".to_string(), id.clone()]);
        let env = ctx
            .config
            .claude
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ctx.tmux.new_session(
            session,
            &Launch {
                argv,
                cwd: project.to_path_buf(),
                env,
            },
        )?;
        state.sessions.insert(
            session.to_string(),
            SessionRecord {
                kind: Kind::Dedicated,
                account: Some(active.name.clone()),
                session_id: Some(id),
                id_source: Some("launched".into()),
                cwd: Some(project.to_path_buf()),
                launched_at: Some(ctx.now),
                task: None,
            },
        );
        Ok(())
    }

    /// Makes `state.sessions` agree with the records in `running/`: a pool session that
    /// the state says runs a task no record places there is forgotten.
    pub fn sync_state(&self, state: &mut State) -> Result<()> {
        let placed: BTreeSet<(String, String)> = self
            .queue
            .claimed()?
            .into_iter()
            .filter_map(|c| {
                let r = c.record?.ok()?;
                Some((r.session?, r.task))
            })
            .collect();
        state.sessions.retain(|name, s| match (&s.kind, &s.task) {
            (Kind::Autonomous, Some(t)) => placed.contains(&(name.clone(), t.clone())),
            _ => true,
        });
        Ok(())
    }

    /// Records a standing pool problem for `status` and alerts once per occurrence.
    pub fn pool_problem(&mut self, state: &mut State, problem: Option<String>) {
        let now = self.ctx.now;
        let Some(detail) = problem else {
            state.pool_problem = None;
            state.alerts.remove(POOL_ALERT);
            return;
        };
        crate::log::error(&format!("{detail}; the queue is stuck until this is fixed"));
        let since = state.pool_problem.as_ref().map_or(now, |p| p.since);
        state.pool_problem = Some(PoolProblem {
            since,
            detail: detail.clone(),
        });
        if !state.alerts.contains_key(POOL_ALERT) {
            state.alerts.insert(POOL_ALERT.into(), now);
            self.events.push(Event::PoolEmpty { detail });
        }
    }

    /// Queues this run's notifications; call after the state is saved.
    pub fn emit(&self) {
        for e in &self.events {
            crate::notify::emit(self.ctx, e);
        }
    }
}

/// Removes the state's record of `session` when it is the one running `task`.
fn forget(state: &mut State, session: Option<&str>, task: &str) {
    if let Some(s) = session
        && state
            .sessions
            .get(s)
            .is_some_and(|r| r.task.as_deref() == Some(task))
    {
        state.sessions.remove(s);
    }
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
