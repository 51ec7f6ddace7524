//! Pure planning for dispatch and janitor: facts about the queue, the pool's panes and
//! the accounts in; actions out. Nothing here touches the disk, tmux or the clock.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use super::record::{Outcome, TaskRecord, TaskResult, Wait};
use crate::clock;
use crate::config::{self, Config};
use crate::tmux::{Launch, Pane};

/// A pane whose process exited less than this long after its launch may still be
/// starting the wrapper: it is not judged vanished yet.
pub const LAUNCH_GRACE: Duration = Duration::from_secs(30);

/// One thing dispatch or janitor does. `Display` is the plan line `--dry-run` prints.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// An inbox file that can never run goes to `failed/`.
    Reject {
        task: String,
        reason: String,
    },
    /// A run ended: to `done/` (`reason` `None`) or `failed/`.
    Finish {
        task: String,
        session: Option<String>,
        reason: Option<String>,
    },
    /// A run stopped on a usage limit: the task waits in `running/` and resumes later.
    Hold {
        task: String,
        session: Option<String>,
        account: String,
        until: Timestamp,
    },
    /// A run is past its timeout: its pane goes back to a shell; the task is retried
    /// (`retry`) or fails.
    Kill {
        task: String,
        session: String,
        retry: bool,
        after: Duration,
    },
    /// The operator cancelled a task (`ccf task cancel`): one that runs (`stop`) has its
    /// pane put back to a shell, as after a timeout; the task goes to `failed/` as
    /// cancelled, from `running/` (`claimed`) or from the inbox.
    Cancel {
        task: String,
        session: Option<String>,
        stop: bool,
        claimed: bool,
    },
    /// The wrapper is gone without a result: the task goes back to the inbox.
    Requeue {
        task: String,
        session: Option<String>,
        why: String,
    },
    /// Start a task (from the inbox, or waiting in `running/`) in a pool session.
    Launch {
        task: String,
        session: String,
        create: bool,
        account: String,
        claimed: bool,
        resume: bool,
    },
    /// A task that stays where it is this run, and why.
    Wait {
        task: String,
        why: String,
    },
    CreatePool {
        session: String,
    },
    CreateDedicated {
        session: String,
        project: PathBuf,
        autostart: bool,
    },
    /// A session with the pool's prefix outside the configured range: reported only.
    Stray {
        session: String,
    },
    Prune {
        path: PathBuf,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = |s: &Option<String>| s.as_ref().map(|s| format!(" (in {s})")).unwrap_or_default();
        match self {
            Action::Reject { task, reason } => write!(f, "reject {task}: {reason}"),
            Action::Finish {
                task,
                session,
                reason: None,
            } => write!(f, "finish {task}{}: done", on(session)),
            Action::Finish {
                task,
                session,
                reason: Some(r),
            } => write!(f, "finish {task}{}: failed: {r}", on(session)),
            Action::Hold {
                task,
                session,
                account,
                until,
            } => write!(
                f,
                "hold {task}{}: usage limit on {account}; resumes on another account, or after {until}",
                on(session)
            ),
            Action::Kill {
                task,
                session,
                retry,
                after,
            } => write!(
                f,
                "kill {task} in {session}: timed out after {}; {}",
                crate::human::duration(*after),
                if *retry { "retry it" } else { "fail it" }
            ),
            Action::Cancel {
                task,
                session,
                stop,
                claimed,
            } => match (session, stop, claimed) {
                (_, _, false) => write!(f, "cancel {task} in the inbox: fail it as cancelled"),
                (Some(s), true, true) => write!(
                    f,
                    "cancel {task} in {s}: stop its claude, put the pane back to a shell, fail it as cancelled"
                ),
                _ => write!(f, "cancel {task}{}: fail it as cancelled", on(session)),
            },
            Action::Requeue { task, session, why } => {
                write!(f, "requeue {task}{}: {why}", on(session))
            }
            Action::Launch {
                task,
                session,
                create,
                account,
                claimed: _,
                resume,
            } => write!(
                f,
                "{} {task} in {session}{} on {account}",
                if *resume { "resume" } else { "start" },
                if *create { " (new session)" } else { "" }
            ),
            Action::Wait { task, why } => write!(f, "wait {task}: {why}"),
            Action::CreatePool { session } => write!(f, "create pool session {session}"),
            Action::CreateDedicated {
                session,
                project,
                autostart,
            } => write!(
                f,
                "create dedicated session {session} in {}{}",
                project.display(),
                if *autostart { " with claude" } else { "" }
            ),
            Action::Stray { session } => write!(
                f,
                "report {session}: it has the pool prefix but is outside the configured range; left alone"
            ),
            Action::Prune { path } => write!(f, "prune {}", path.display()),
        }
    }
}

/// What a pool session can do for the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// No such tmux session: one can be created.
    Absent,
    /// At a shell (or dead): a task can start there.
    Free,
    /// Running a ccf task.
    Task,
    /// Running something else (claude by hand, an editor, …): never taken.
    Occupied,
}

/// The pool's sessions in index order, each judged from its pane and whether a task is
/// recorded on it.
pub fn pool_slots(
    config: &Config,
    panes: &[Pane],
    tasked: &BTreeSet<String>,
) -> Vec<(String, Slot)> {
    config
        .pool_names()
        .into_iter()
        .map(|name| {
            let pane = panes.iter().find(|p| p.session == name);
            let slot = if tasked.contains(&name) {
                Slot::Task
            } else {
                match pane {
                    None => Slot::Absent,
                    Some(p) if p.at_shell() => Slot::Free,
                    Some(_) => Slot::Occupied,
                }
            };
            (name, slot)
        })
        .collect()
}

/// A task that could start this run.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub task: String,
    pub priority: i64,
    pub queued_at: Timestamp,
    /// The account the task must run on (front matter `account`).
    pub account: Option<String>,
    /// Already in `running/`, waiting (after a limit or a timeout).
    pub claimed: bool,
    pub resume: bool,
    pub wait: Option<Wait>,
}

/// The accounts as placement sees them.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub active: String,
    /// Accounts neither exhausted nor auth-failed now.
    pub available: BTreeSet<String>,
}

/// Placement's answer: what starts where, what waits, and a standing problem of the
/// pool worth an alert (tasks wait and no pool session exists or can be made).
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub actions: Vec<Action>,
    pub problem: Option<String>,
}

/// Orders tasks (priority, higher first; then oldest first; then by name) and gives each
/// a free pool session, else a new one, while there are any. A task never starts on an
/// account that is not available, nor on the account whose limit stopped it before
/// that limit's reset.
pub fn place(
    mut candidates: Vec<Candidate>,
    slots: &[(String, Slot)],
    server_running: bool,
    accounts: &Accounts,
    now: Timestamp,
) -> Placement {
    candidates.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.queued_at.cmp(&b.queued_at))
            .then(a.task.cmp(&b.task))
    });
    let mut free: Vec<(&str, bool)> = slots
        .iter()
        .filter_map(|(n, s)| match s {
            Slot::Free => Some((n.as_str(), false)),
            _ => None,
        })
        .collect();
    if server_running {
        free.extend(
            slots
                .iter()
                .filter(|(_, s)| *s == Slot::Absent)
                .map(|(n, _)| (n.as_str(), true)),
        );
    }
    let mut free = free.into_iter();
    let mut actions = Vec::new();
    let mut starved = 0;
    for c in candidates {
        let account = c.account.clone().unwrap_or_else(|| accounts.active.clone());
        if !accounts.available.contains(&account) {
            actions.push(Action::Wait {
                task: c.task,
                why: format!("account {account} is exhausted or needs a login"),
            });
            continue;
        }
        if let Some(w) = &c.wait
            && w.account.as_deref() == Some(account.as_str())
            && w.until.is_none_or(|u| now < u)
        {
            actions.push(Action::Wait {
                task: c.task,
                why: format!(
                    "usage limit on {account} until {}",
                    w.until
                        .map_or_else(|| "its reset".into(), |u| u.to_string())
                ),
            });
            continue;
        }
        if let Some((session, create)) = free.next() {
            actions.push(Action::Launch {
                task: c.task,
                session: session.to_string(),
                create,
                account,
                claimed: c.claimed,
                resume: c.resume,
            });
        } else {
            starved += 1;
            actions.push(Action::Wait {
                task: c.task,
                why: "no free pool session".into(),
            });
        }
    }
    let problem = (starved > 0)
        .then(|| pool_problem(slots, server_running, starved))
        .flatten();
    Placement { actions, problem }
}

/// Why tasks cannot start at all, when that is a problem rather than a busy pool.
fn pool_problem(slots: &[(String, Slot)], server_running: bool, waiting: usize) -> Option<String> {
    let tasks = format!(
        "{} {}",
        crate::human::count(waiting, "task"),
        if waiting == 1 { "waits" } else { "wait" }
    );
    if slots.is_empty() {
        return Some(format!(
            "{tasks} and the pool has no sessions (pool.autonomous.max is 0)"
        ));
    }
    if !server_running {
        return Some(format!(
            "{tasks} and no tmux server is running: no pool session exists or can be created"
        ));
    }
    if slots.iter().all(|(_, s)| *s == Slot::Occupied) {
        return Some(format!(
            "{tasks} and every pool session ({} … {}) runs something other than a ccf task",
            slots[0].0,
            slots[slots.len() - 1].0
        ));
    }
    None
}

/// Where one claimed task stands, as janitor concludes (not `detect::Verdict`, which
/// is what a screen says about an account).
#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    /// Not placed: waits to be launched again.
    Waiting,
    Running,
    Act(Action),
}

/// Judges a claimed task from its record, its result, the wrapper's pid and its pane.
/// `default_exhaustion` stands in for a limit's unknown reset.
pub fn judge(
    record: &TaskRecord,
    result: Option<&Result<TaskResult, String>>,
    pid: Option<u32>,
    pane: Option<&Pane>,
    now: Timestamp,
    default_exhaustion: Duration,
) -> Standing {
    let Some(session) = record.session.clone() else {
        return Standing::Waiting;
    };
    let task = record.task.clone();
    // A result of an earlier attempt (a killed run that wrote late) says nothing now.
    let result = result.filter(|r| {
        r.as_ref().map_or(true, |r| {
            r.attempt == record.attempt && r.session_id == record.session_id
        })
    });
    if let Some(r) = result {
        return Standing::Act(ended(record, session, r, now, default_exhaustion));
    }
    let launched = record.launched_at.unwrap_or(now);
    let vanished = |why: String| {
        Standing::Act(Action::Requeue {
            task: task.clone(),
            session: Some(session.clone()),
            why,
        })
    };
    let Some(pane) = pane else {
        return vanished(format!("its tmux session {session} is gone"));
    };
    if pane.dead {
        return vanished(format!("the pane of {session} is dead"));
    }
    let timeout = Duration::from_secs(record.timeout_secs);
    if clock::add(launched, timeout) <= now {
        return Standing::Act(Action::Kill {
            task,
            session,
            retry: record.attempt <= record.retries,
            after: timeout,
        });
    }
    if pid.is_some_and(|p| p == pane.pid) || clock::add(launched, LAUNCH_GRACE) > now {
        return Standing::Running;
    }
    vanished(format!(
        "{session} no longer runs the task's wrapper (it runs {})",
        pane.command
    ))
}

/// What the wrapper's result for the current attempt says: done, failed or held.
fn ended(
    record: &TaskRecord,
    session: String,
    result: &Result<TaskResult, String>,
    now: Timestamp,
    default_exhaustion: Duration,
) -> Action {
    let task = record.task.clone();
    let session = Some(session);
    let r = match result {
        Err(e) => {
            return Action::Finish {
                task,
                session,
                reason: Some(format!("its result is unreadable: {e}")),
            };
        }
        Ok(r) => r,
    };
    match r.outcome {
        Outcome::Success => Action::Finish {
            task,
            session,
            reason: None,
        },
        Outcome::Failed => Action::Finish {
            task,
            session,
            reason: Some(r.failure_reason()),
        },
        Outcome::Limit => Action::Hold {
            task,
            session,
            account: record.account.clone(),
            until: r
                .limit
                .as_ref()
                .and_then(|l| l.resets_at)
                .unwrap_or_else(|| clock::add(now, default_exhaustion)),
        },
    }
}

/// The pool sessions to create to reach `min`, the dedicated sessions to recreate, and
/// the pool-prefixed sessions outside the range to report.
pub fn upkeep(config: &Config, panes: &[Pane], server_running: bool) -> Vec<Action> {
    let mut actions = Vec::new();
    let exists = |n: &str| panes.iter().any(|p| p.session == n);
    if server_running {
        let names = config.pool_names();
        let present = names.iter().filter(|n| exists(n)).count();
        let min = usize::try_from(config.pool.min).unwrap_or(usize::MAX);
        actions.extend(
            names
                .iter()
                .filter(|n| !exists(n))
                .take(min.saturating_sub(present))
                .map(|n| Action::CreatePool { session: n.clone() }),
        );
        actions.extend(
            config
                .pool
                .dedicated
                .iter()
                .filter(|d| !exists(&d.name))
                .map(|d| Action::CreateDedicated {
                    session: d.name.clone(),
                    project: d.project.clone(),
                    autostart: d.autostart,
                }),
        );
    }
    let range = config.pool.start_index..config.pool.start_index + config.pool.max;
    actions.extend(
        panes
            .iter()
            .filter(|p| {
                config::pool_index(&config.pool.prefix, &p.session)
                    .is_some_and(|i| !range.contains(&i))
            })
            .map(|p| Action::Stray {
                session: p.session.clone(),
            }),
    );
    actions
}

/// What a recreated dedicated session with `autostart` runs: `env -u <Claude's child
/// variables> -u CLAUDE_CONFIG_DIR [CLAUDE_CONFIG_DIR=<config_dir>] <claude> <args>
/// --session-id <id>` in its project, with `claude.env` in the pane's environment.
/// `env -u` drops what the tmux server's environment may hold for Claude Code's
/// children; no shell reads the argv.
pub fn dedicated_launch(
    config: &Config,
    config_dir: Option<&Path>,
    id: &str,
    project: &Path,
) -> Launch {
    let mut argv = crate::claude::clean_env_argv();
    if let Some(dir) = config_dir {
        argv.push(format!("CLAUDE_CONFIG_DIR={}", dir.display()));
    }
    argv.push(config.claude.command.clone());
    argv.extend(config.claude.args.iter().cloned());
    argv.extend(["--session-id".to_string(), id.to_string()]);
    Launch {
        argv,
        cwd: project.to_path_buf(),
        env: config
            .claude
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod tests;
