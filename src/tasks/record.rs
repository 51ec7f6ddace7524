//! The files beside a claimed task in `running/`.
//!
//! `<stem>.run.json` ([`TaskRecord`]) is written by dispatch and janitor under the state
//! lock: where the task runs, on which account, with which Claude session id, and why it
//! waits when it is not placed. `<stem>.result.json` ([`TaskResult`]) is written once by
//! the `run-task` wrapper when claude exits: it is how ccf knows a task ended, and how.
//! `<stem>.pid` holds the wrapper's pid, so janitor can tell a pane that still runs the
//! wrapper from one that was respawned under it. Both JSON formats are documented in the
//! README: add fields, never rename.

use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What ccf knows about a claimed task (`running/<stem>.run.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task's file name (`fix-login.md`).
    pub task: String,
    /// The Claude session id ccf chose; kept across a limit so the task resumes.
    pub session_id: String,
    /// The account the task runs (or last ran) on.
    pub account: String,
    /// The front matter's `account`: the task runs on no other.
    #[serde(default)]
    pub pinned_account: Option<String>,
    /// `CLAUDE_CONFIG_DIR` for claude; `None` = run on `~/.claude`, following swaps.
    #[serde(default)]
    pub config_dir: Option<PathBuf>,
    /// The task's project directory: claude's working directory.
    pub cwd: PathBuf,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub priority: i64,
    /// When the task entered the inbox (its file's mtime): the age order.
    pub queued_at: Timestamp,
    /// 1 for the first start; a retry after a timeout adds one.
    pub attempt: u32,
    /// Retries allowed after a timeout.
    #[serde(default)]
    pub retries: u32,
    /// The task's timeout in seconds.
    pub timeout_secs: u64,
    /// Whether the next start continues `session_id` (`--resume`) instead of starting it.
    #[serde(default)]
    pub resume: bool,
    /// The pool session the task runs in; `None` while it waits in `running/`.
    #[serde(default)]
    pub session: Option<String>,
    #[serde(default)]
    pub launched_at: Option<Timestamp>,
    /// Why the task waits (set when `session` is `None`).
    #[serde(default)]
    pub wait: Option<Wait>,
}

/// Why a claimed task is not running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wait {
    pub reason: WaitReason,
    /// The account whose limit stopped it.
    #[serde(default)]
    pub account: Option<String>,
    /// Not on that account before this instant (its reset).
    #[serde(default)]
    pub until: Option<Timestamp>,
}

/// Why a claimed task waits to start again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// Its run ended on a usage limit.
    Limit,
    /// It timed out with retries left.
    Retry,
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WaitReason::Limit => "limit",
            WaitReason::Retry => "retry",
        })
    }
}

impl Wait {
    /// A run stopped by a usage limit on `account`, which resets at `until`.
    pub fn limit(account: &str, until: Timestamp) -> Wait {
        Wait {
            reason: WaitReason::Limit,
            account: Some(account.to_string()),
            until: Some(until),
        }
    }

    /// A run that timed out with retries left.
    pub fn retry() -> Wait {
        Wait {
            reason: WaitReason::Retry,
            account: None,
            until: None,
        }
    }
}

/// How a run ended, as the wrapper judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// claude exited 0 with a result that is not an error.
    Success,
    /// It stopped on a usage limit: the task waits and resumes, it has not failed.
    Limit,
    Failed,
}

/// A usage limit the run ended on (from a rejected `rate_limit_event`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    pub resets_at: Option<Timestamp>,
    /// `five_hour`, `seven_day`, …
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// What one run of a task did (`running/<stem>.result.json`; moved beside the task into
/// `done/` or `failed/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub task: String,
    pub outcome: Outcome,
    pub session_id: String,
    pub account: String,
    pub attempt: u32,
    /// Whether this run continued the session (`--resume`).
    #[serde(default)]
    pub resumed: bool,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub duration_ms: u64,
    /// claude's exit code; `None` when a signal ended it (see `signal`).
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
    /// The `result` event's `subtype` (`success`, `error_during_execution`, …).
    pub subtype: Option<String>,
    #[serde(default)]
    pub is_error: bool,
    /// The `result` event's text: the task's answer.
    pub result: Option<String>,
    #[serde(default)]
    pub limit: Option<Limit>,
    /// A problem of the wrapper itself (claude could not be started, …).
    #[serde(default)]
    pub error: Option<String>,
    /// The last lines claude wrote on stderr, when it failed.
    #[serde(default)]
    pub stderr_tail: Vec<String>,
}

impl TaskResult {
    /// One line for a reason file and a notification.
    pub fn failure_reason(&self) -> String {
        if let Some(e) = &self.error {
            return e.clone();
        }
        let how = match (self.exit_code, self.signal) {
            (Some(c), _) => format!("claude exited {c}"),
            (None, Some(s)) => format!("claude was killed by signal {s}"),
            (None, None) => "claude ended".to_string(),
        };
        let what = self
            .result
            .as_deref()
            .or(self.stderr_tail.last().map(String::as_str))
            .map(|t| format!(": {}", first_line(t)))
            .unwrap_or_default();
        format!("{how}{what}")
    }
}

/// The first non-blank line of `text`, at most 200 characters.
pub fn first_line(text: &str) -> &str {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    match line.char_indices().nth(200) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}
