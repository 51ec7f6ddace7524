//! What dispatch and janitor see before they plan: the pool's panes, the claimed tasks
//! in `running/`, and the inbox with each file read and vetted against the config and
//! the file system.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::frontmatter::{self, Task};
use super::queue::{self, Claimed, Queue};
use super::record::TaskRecord;
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

    /// The pane of `session`, if tmux has one.
    pub fn pane(&self, session: &str) -> Option<&Pane> {
        self.panes.iter().find(|p| p.session == session)
    }

    /// The readable record of claimed `task`.
    pub fn record(&self, task: &str) -> Option<&TaskRecord> {
        self.claimed
            .iter()
            .find(|c| c.name == task)
            .and_then(|c| c.record.as_ref())
            .and_then(|r| r.as_ref().ok())
    }
}

/// Reads and checks one queued file: its kind, the front matter, then what needs the
/// config and the file system (the project exists, the account is configured).
pub fn vet(ctx: &Ctx, path: &Path) -> Result<Vetted, String> {
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
    vet_bytes(ctx, &read_limited(path)?)
}

/// Checks a task file's bytes as dispatch does (`ccf task add` refuses what dispatch
/// would reject).
pub fn vet_bytes(ctx: &Ctx, bytes: &[u8]) -> Result<Vetted, String> {
    let task = frontmatter::parse(bytes)?;
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
