//! What dispatch and janitor see before they plan: the pool's panes, the claimed tasks
//! in `running/`, and the inbox with each file read and vetted against the config and
//! the file system.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::frontmatter::{self, Task};
use super::plan::{self, Action, Candidate, Verdict};
use super::queue::{self, Claimed, Queue};
use super::record::{TaskRecord, Wait};
use crate::context::Ctx;
use crate::tmux::Pane;

/// An inbox file, read and checked against the config and the file system.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub name: String,
    pub queued_at: jiff::Timestamp,
    pub vetted: Result<Vetted, String>,
}

/// A task file that can run, with its options resolved.
#[derive(Debug, Clone)]
pub struct Vetted {
    pub task: Task,
    pub cwd: PathBuf,
    pub timeout: Duration,
    pub retries: u32,
}

/// What dispatch and janitor see before they plan.
#[derive(Debug)]
pub struct Facts {
    pub panes: Vec<Pane>,
    pub server_running: bool,
    pub inbox: Vec<Inbox>,
    pub claimed: Vec<Claimed>,
}

impl Facts {
    pub fn gather(ctx: &Ctx, queue: &Queue, with_inbox: bool) -> Result<Facts> {
        let panes = ctx.tmux.list()?;
        let server_running = !panes.is_empty() || ctx.tmux.server_running()?;
        let inbox = if with_inbox {
            queue
                .inbox()?
                .into_iter()
                .map(|w| Inbox {
                    vetted: vet(ctx, &queue.task_path(queue::INBOX, &w.name)),
                    name: w.name,
                    queued_at: w.queued_at,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Facts {
            panes,
            server_running,
            inbox,
            claimed: queue.claimed()?,
        })
    }

    fn pane(&self, session: &str) -> Option<&Pane> {
        self.panes.iter().find(|p| p.session == session)
    }

    fn record(&self, task: &str) -> Option<&TaskRecord> {
        self.claimed
            .iter()
            .find(|c| c.name == task)
            .and_then(|c| c.record.as_ref())
            .and_then(|r| r.as_ref().ok())
    }

    /// Settles what can be settled now: with `all`, every verdict (janitor); else only
    /// finished runs (dispatch). Returns the actions, the tasks they move out of their
    /// session, and the tasks that wait in `running/` afterwards (held after a limit,
    /// or to be retried) as candidates for this same run.
    pub fn settle(&self, ctx: &Ctx, all: bool) -> (Vec<Action>, BTreeSet<String>, Vec<Candidate>) {
        let mut actions = Vec::new();
        let mut leaving = BTreeSet::new();
        let mut again = Vec::new();
        for (task, v) in self.verdicts(ctx) {
            let Verdict::Act(a) = v else { continue };
            if !all && !matches!(a, Action::Finish { .. } | Action::Hold { .. }) {
                continue;
            }
            let record = self.record(&task);
            match (&a, record) {
                (Action::Hold { account, until, .. }, Some(r)) => again.push(Candidate {
                    task: task.clone(),
                    priority: r.priority,
                    queued_at: r.queued_at,
                    account: r.pinned_account.clone(),
                    claimed: true,
                    resume: true,
                    wait: Some(Wait {
                        reason: "limit".into(),
                        account: Some(account.clone()),
                        until: Some(*until),
                    }),
                }),
                (Action::Kill { retry: true, .. }, Some(r)) => again.push(Candidate {
                    task: task.clone(),
                    priority: r.priority,
                    queued_at: r.queued_at,
                    account: r.pinned_account.clone(),
                    claimed: true,
                    resume: false,
                    wait: None,
                }),
                _ => {}
            }
            leaving.insert(task);
            actions.push(a);
        }
        (actions, leaving, again)
    }

    /// Judges every claimed task; tasks without a usable record go back to the inbox
    /// (a dispatch died between claiming and recording it).
    pub fn verdicts(&self, ctx: &Ctx) -> Vec<(String, Verdict)> {
        self.claimed
            .iter()
            .map(|c| {
                let v = match &c.record {
                    Some(Ok(r)) => plan::judge(
                        r,
                        c.result.as_ref(),
                        c.pid,
                        r.session.as_deref().and_then(|s| self.pane(s)),
                        ctx.now,
                        ctx.config.quota.default_exhaustion,
                    ),
                    Some(Err(e)) => Verdict::Act(Action::Requeue {
                        task: c.name.clone(),
                        session: None,
                        why: e.clone(),
                    }),
                    None => Verdict::Act(Action::Requeue {
                        task: c.name.clone(),
                        session: None,
                        why: "it has no record in running/".into(),
                    }),
                };
                (c.name.clone(), v)
            })
            .collect()
    }

    /// Pool sessions that stay busy with a task once `leaving` tasks are settled.
    pub fn tasked_sessions(&self, leaving: &BTreeSet<String>) -> BTreeSet<String> {
        self.claimed
            .iter()
            .filter(|c| !leaving.contains(&c.name))
            .filter_map(|c| c.record.as_ref()?.as_ref().ok()?.session.clone())
            .collect()
    }

    /// Tasks waiting in `running/` (after a limit or a timeout), minus `leaving`.
    pub fn waiting_candidates(&self, leaving: &BTreeSet<String>) -> Vec<Candidate> {
        self.claimed
            .iter()
            .filter(|c| !leaving.contains(&c.name))
            .filter_map(|c| {
                let r = c.record.as_ref()?.as_ref().ok()?;
                r.session.is_none().then(|| Candidate {
                    task: r.task.clone(),
                    priority: r.priority,
                    queued_at: r.queued_at,
                    account: r.pinned_account.clone(),
                    claimed: true,
                    resume: r.resume,
                    wait: r.wait.clone(),
                })
            })
            .collect()
    }

    /// Inbox tasks that can run; a name still busy in `running/` waits its turn.
    pub fn inbox_candidates(&self) -> (Vec<Candidate>, Vec<Action>) {
        let mut cands = Vec::new();
        let mut actions = Vec::new();
        for i in &self.inbox {
            match &i.vetted {
                Err(reason) => actions.push(Action::Reject {
                    task: i.name.clone(),
                    reason: reason.clone(),
                }),
                Ok(_) if self.claimed.iter().any(|c| c.name == i.name) => {
                    actions.push(Action::Wait {
                        task: i.name.clone(),
                        why: "a task of that name is still in running/".into(),
                    });
                }
                Ok(v) => cands.push(Candidate {
                    task: i.name.clone(),
                    priority: v.task.meta.priority.unwrap_or(0),
                    queued_at: i.queued_at,
                    account: v.task.meta.account.clone(),
                    claimed: false,
                    resume: false,
                    wait: None,
                }),
            }
        }
        (cands, actions)
    }
}

/// Reads and checks one inbox file: the front matter, then what needs the config and
/// the file system (the project exists, the account is configured).
fn vet(ctx: &Ctx, path: &Path) -> Result<Vetted, String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot stat it: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err(
            "it is a symbolic link, and ccf never follows one in the queue: move the task file itself into inbox/"
                .into(),
        );
    }
    if !meta.is_file() {
        return Err("it is not a regular file (a FIFO, a device or a socket)".into());
    }
    let bytes = read_limited(path)?;
    let task = frontmatter::parse(&bytes)?;
    let cfg = &ctx.config;
    let cwd = match &task.meta.project {
        None => cfg.pool.workdir.clone(),
        Some(p) => match crate::config::expand_tilde(p, &ctx.home) {
            Some(x) if x.is_absolute() => x,
            _ => {
                return Err(format!(
                    "project {} must be absolute or start with ~/",
                    p.display()
                ));
            }
        },
    };
    if !cwd.is_dir() {
        return Err(format!("project {} is not a directory", cwd.display()));
    }
    if let Some(a) = &task.meta.account
        && cfg.account(a).is_none()
    {
        return Err(format!(
            "account {a} is not configured (known: {})",
            cfg.accounts
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Vetted {
        timeout: task
            .meta
            .timeout
            .map_or(cfg.dispatcher.task_timeout, |d| d.0),
        retries: task.meta.retries.unwrap_or(cfg.dispatcher.retries),
        cwd,
        task,
    })
}

/// Reads at most one byte more than the limit, so a huge file costs nothing.
fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(frontmatter::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() > frontmatter::MAX_BYTES {
        return Err(format!(
            "the file is over the limit of {} bytes (1 MiB)",
            frontmatter::MAX_BYTES
        ));
    }
    Ok(bytes)
}
