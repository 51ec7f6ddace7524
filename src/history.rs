//! The event log: `state_dir/history.jsonl`, one JSON line for each thing that happened
//! (a limit seen, a swap started, done, partial or failed, a return, sessions parked and
//! resumed, a login failed, a task done, failed or cancelled). Every event ccf tells the
//! operator about is written here (through [`emit`]), with those that are not told: a
//! limit seen, a task done, a task the operator cancelled. No secret is in an event.
//!
//! Appends happen under the state lock (only mutating runs emit), one `write` of one
//! line in append mode. The log is bounded: past [`MAX_BYTES`] the file becomes
//! `history.1.jsonl` (the one before is dropped) and a new one starts, so the two hold
//! between one and two bounds' worth, weeks to months of a busy host.

pub mod svg;
pub mod timeline;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::detect::Scope;
use crate::notify::Event;

/// The size past which the log is rotated.
pub const MAX_BYTES: u64 = 1 << 20;

const FILE: &str = "history.jsonl";
const OLD: &str = "history.1.jsonl";

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub at: Timestamp,
    #[serde(flatten)]
    pub what: What,
}

/// What happened: an event the operator is told of, or one only the history keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum What {
    Told(Event),
    Kept(Kept),
}

/// The events only the history keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kept {
    /// check-quota marked `account` out until `until` (newly, or later than it was).
    LimitSeen {
        account: String,
        until: Timestamp,
        scope: Option<Scope>,
    },
    /// A task's run ended well and it went to `done/`.
    TaskDone { task: String },
    /// The operator cancelled a task (`ccf task cancel`); it went to `failed/`.
    TaskCancelled { task: String, reason: String },
}

impl What {
    /// The `kind` name (`swap_done`, `limit_seen`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            What::Told(e) => e.kind(),
            What::Kept(Kept::LimitSeen { .. }) => "limit_seen",
            What::Kept(Kept::TaskDone { .. }) => "task_done",
            What::Kept(Kept::TaskCancelled { .. }) => "task_cancelled",
        }
    }

    /// Whether the event concerns `account` (as the account, or a swap's end).
    pub fn names(&self, account: &str) -> bool {
        match self {
            What::Told(
                Event::SwapStarted { from, to, .. }
                | Event::SwapDone { from, to, .. }
                | Event::SwapFailed { from, to, .. }
                | Event::SwapPartial { from, to, .. },
            ) => from == account || to == account,
            What::Told(Event::WorkResumed { account: a } | Event::NeedsLogin { account: a })
            | What::Kept(Kept::LimitSeen { account: a, .. }) => a == account,
            What::Told(Event::Returned { to, from }) => {
                to == account || from.as_deref() == Some(account)
            }
            // Every account is out, or the degraded state concerns them all.
            What::Told(Event::AllExhausted { .. } | Event::Degraded { .. }) => true,
            _ => false,
        }
    }
}

/// Tells the operator of `event` (queues its notification) and writes it to the
/// history: how every run reports what happened.
pub fn emit(ctx: &crate::context::Ctx, event: &Event) {
    append(&ctx.config.state_dir, ctx.now, What::Told(event.clone()));
    crate::notify::emit(ctx, event);
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE)
}

/// Appends one line. Never fails the run: the history is a record, not a decision; a
/// line that cannot be written is reported once, here.
pub fn append(state_dir: &Path, at: Timestamp, what: What) {
    if let Err(e) = try_append(state_dir, &Line { at, what }) {
        crate::log::warn(&format!("failed to write the history: {e:#}"));
    }
}

fn try_append(state_dir: &Path, line: &Line) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    crate::fsutil::ensure_private_dir(state_dir)?;
    let file = path(state_dir);
    if std::fs::metadata(&file).is_ok_and(|m| m.len() >= MAX_BYTES) {
        std::fs::rename(&file, state_dir.join(OLD))
            .with_context(|| format!("failed to rotate {}", file.display()))?;
    }
    let mut bytes = serde_json::to_vec(line).context("failed to serialize a history line")?;
    bytes.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&file)
        .and_then(|mut f| f.write_all(&bytes))
        .with_context(|| format!("failed to append to {}", file.display()))
}

/// Every line of both files, oldest first, and the lines that do not parse (file and
/// line number), which the caller reports.
pub fn read(state_dir: &Path) -> (Vec<Line>, Vec<String>) {
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for file in [state_dir.join(OLD), path(state_dir)] {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (n, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Line>(l) {
                Ok(line) => lines.push(line),
                Err(e) => bad.push(format!("{}:{}: {e}", file.display(), n + 1)),
            }
        }
    }
    // Runs are serialised by the lock, but a clock set back would break the order.
    lines.sort_by_key(|l| l.at);
    (lines, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn told_and_kept_events_round_trip_through_one_line_each() {
        let dir = tempfile::tempdir().unwrap();
        let swap = What::Told(Event::SwapDone {
            from: "a".into(),
            to: "b".into(),
            reason: "usage limit".into(),
            moved: vec!["s".into()],
            failed: vec![],
        });
        let limit = What::Kept(Kept::LimitSeen {
            account: "a".into(),
            until: t("2026-12-02T16:00:00Z"),
            scope: Some(Scope::FiveHour),
        });
        append(dir.path(), t("2026-12-02T14:00:00Z"), limit.clone());
        append(dir.path(), t("2026-12-02T14:00:01Z"), swap.clone());
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(
            text.starts_with(r#"{"at":"2026-12-02T14:00:00Z","kind":"limit_seen","account":"a""#),
            "{text}"
        );
        let (lines, bad) = read(dir.path());
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(
            lines.iter().map(|l| l.what.clone()).collect::<Vec<_>>(),
            [limit, swap]
        );
    }

    #[test]
    fn past_the_bound_the_log_rotates_and_both_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path());
        let filler = format!(
            "{}\n",
            serde_json::to_string(&Line {
                at: t("2026-12-01T00:00:00Z"),
                what: What::Kept(Kept::TaskDone {
                    task: "x".repeat(100)
                }),
            })
            .unwrap()
        );
        let n = usize::try_from(MAX_BYTES).unwrap() / filler.len() + 1;
        std::fs::write(&file, filler.repeat(n)).unwrap();
        append(
            dir.path(),
            t("2026-12-02T00:00:00Z"),
            What::Kept(Kept::TaskDone { task: "new".into() }),
        );
        assert!(dir.path().join(OLD).exists());
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);
        let (lines, _) = read(dir.path());
        assert_eq!(lines.len(), n + 1);
        assert_eq!(lines.last().unwrap().what.kind(), "task_done");
    }

    #[test]
    fn a_line_that_does_not_parse_is_named_and_the_rest_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            path(dir.path()),
            "garbage\n{\"at\":\"2026-12-02T00:00:00Z\",\"kind\":\"task_done\",\"task\":\"t\"}\n{\"at\":\"2026-12-02T00:00:00Z\",\"kind\":\"from_the_future\"}\n",
        )
        .unwrap();
        let (lines, bad) = read(dir.path());
        assert_eq!(lines.len(), 1);
        assert_eq!(bad.len(), 2);
        assert!(
            bad[0].ends_with(":1: expected value at line 1 column 1"),
            "{bad:?}"
        );
        assert!(bad[1].contains(":3: "), "{bad:?}");
    }
}
