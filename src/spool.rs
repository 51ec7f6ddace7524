//! The hook spool: one small JSON file per Claude Code hook event in `state_dir/spool/`.
//!
//! Hooks write here without the state lock (Claude Code waits for them, so a hook call
//! must cost a few milliseconds), atomically (temp name starting with `.`, then rename:
//! readers and path units never see a partial file). `check-quota` consumes the files
//! under the lock; the failover reads `session_start` records to learn session ids.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One hook event as ccf keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Record {
    /// Claude Code started or resumed a session (`SessionStart`).
    SessionStart(SessionStart),
    /// A turn ended on an API error (`StopFailure`).
    StopFailure(StopFailure),
    /// The status line's rate-limit figures (`statusLine` command).
    Statusline(Statusline),
}

/// Where the event came from: the same for every kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Origin {
    pub at: Option<Timestamp>,
    pub session_id: Option<String>,
    pub transcript_path: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    /// `$TMUX_PANE` of the claude that ran the hook (`%12`), to find its tmux session.
    pub tmux_pane: Option<String>,
    /// `$CLAUDE_CONFIG_DIR` of that claude; `None` = it runs on `~/.claude`.
    pub claude_config_dir: Option<PathBuf>,
    /// The account the record belongs to, resolved when it was written: the one
    /// `claude_config_dir` names, else `claude_link`'s target at that moment. A swap
    /// between the write and the read must not charge it to the next account.
    pub account: Option<String>,
}

impl Origin {
    /// The account the record names (resolved when it was written), else the one whose
    /// home `claude_config_dir` is; `None` for a claude on `~/.claude` recorded before
    /// records named their account: the caller knows whose the link was.
    pub fn named_account<'c>(&self, config: &'c crate::config::Config) -> Option<&'c str> {
        self.account
            .as_deref()
            .and_then(|a| config.account(a))
            .or_else(|| {
                self.claude_config_dir
                    .as_deref()
                    .and_then(|d| config.account_by_home(d))
            })
            .map(|a| a.name.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionStart {
    #[serde(flatten)]
    pub origin: Origin,
    /// `startup`, `resume`, `clear` or `compact`.
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StopFailure {
    #[serde(flatten)]
    pub origin: Origin,
    /// Claude Code's error kind: `rate_limit`, `overloaded`, `server_error`,
    /// `authentication_failed`, `billing_error`, …
    pub error: Option<String>,
    /// Set for a sub-agent's failure.
    pub agent_id: Option<String>,
    pub last_assistant_message: Option<String>,
    /// From the transcript's API-error row, when the hook could read it.
    pub resets_at: Option<i64>,
    pub rate_limit_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statusline {
    #[serde(flatten)]
    pub origin: Origin,
    pub five_hour_used: Option<f64>,
    pub five_hour_resets_at: Option<i64>,
    pub seven_day_used: Option<f64>,
    pub seven_day_resets_at: Option<i64>,
}

impl Record {
    pub fn origin(&self) -> &Origin {
        match self {
            Record::SessionStart(r) => &r.origin,
            Record::StopFailure(r) => &r.origin,
            Record::Statusline(r) => &r.origin,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Record::SessionStart(_) => "session_start",
            Record::StopFailure(_) => "stop_failure",
            Record::Statusline(_) => "statusline",
        }
    }
}

/// The account a claude with this `CLAUDE_CONFIG_DIR` runs on now: the one the
/// variable names, else the one `claude_link` points at (one `readlink`).
pub fn account_now(config: &crate::config::Config, dir: Option<&Path>) -> Option<String> {
    let home = if let Some(d) = dir {
        d.to_path_buf()
    } else {
        let link = config.claude_link.as_deref()?;
        crate::context::absolute_from(link, &std::fs::read_link(link).ok()?)
    };
    config.account_by_home(&home).map(|a| a.name.clone())
}

/// The largest spool or usage record read: a real one is under a few KiB.
const MAX_RECORD: u64 = 1 << 20;

/// Writes `record` into `dir` atomically; the name sorts by time.
pub fn write(dir: &Path, record: &Record, now: Timestamp) -> Result<PathBuf> {
    crate::fsutil::ensure_private_dir(dir)?;
    let name = format!(
        "{:020}-{}-{}.json",
        now.as_nanosecond(),
        record.kind(),
        uuid::Uuid::new_v4().simple()
    );
    let path = dir.join(name);
    let bytes = serde_json::to_vec(record).context("failed to serialize a spool record")?;
    crate::fsutil::write_atomic(&path, &bytes, 0o600)?;
    Ok(path)
}

/// Every readable record in `dir`, oldest first, with its file. Unreadable files are
/// returned as errors beside the good ones so the caller can log and drop them.
pub fn read_all(dir: &Path) -> Vec<(PathBuf, Result<Record>)> {
    records(dir, true)
}

/// [`read_all`]; `warn` says whether a file that is not ccf's own is logged. Only the
/// pass that consumes the spool says so: the other readers of one run would repeat it.
fn records(dir: &Path, warn: bool) -> Vec<(PathBuf, Result<Record>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_record(p))
        .filter(|p| match crate::fsutil::own_regular_file(p) {
            Ok(()) => true,
            Err(why) => {
                if warn {
                    crate::log::warn(&format!("ignoring {}: {why}", p.display()));
                }
                false
            }
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rec = crate::fsutil::read_bounded(&p, MAX_RECORD)
                .with_context(|| format!("failed to read spool file {}", p.display()))
                .and_then(|b| {
                    serde_json::from_slice(&b)
                        .with_context(|| format!("spool file {} does not parse", p.display()))
                });
            (p, rec)
        })
        .collect()
}

/// Whether `dir` holds a record that calls for a decision: anything but `session_start`
/// (those only tell who a session is, and the failover reads them where they lie). An
/// unreadable file counts: the next pass logs and drops it.
pub fn has_events(dir: &Path) -> bool {
    records(dir, false)
        .iter()
        .any(|(_, r)| !matches!(r, Ok(Record::SessionStart(_))))
}

fn is_record(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "json")
        && !p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// The `session_start` records in `dir`, oldest first (read, not consumed).
pub fn session_starts(dir: &Path) -> Vec<SessionStart> {
    records(dir, false)
        .into_iter()
        .filter_map(|(_, r)| match r {
            Ok(Record::SessionStart(s)) => Some(s),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let t1: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t2: Timestamp = "2026-01-01T00:00:01Z".parse().unwrap();
        let late = Record::StopFailure(StopFailure {
            error: Some("rate_limit".into()),
            ..Default::default()
        });
        let early = Record::SessionStart(SessionStart {
            origin: Origin {
                session_id: Some("abc".into()),
                ..Origin::default()
            },
            source: Some("startup".into()),
        });
        write(dir.path(), &late, t2).unwrap();
        write(dir.path(), &early, t1).unwrap();
        let all: Vec<Record> = read_all(dir.path())
            .into_iter()
            .map(|(_, r)| r.unwrap())
            .collect();
        assert_eq!(all, vec![early.clone(), late]);
        assert_eq!(
            session_starts(dir.path())[0].origin.session_id.as_deref(),
            Some("abc")
        );
    }
}
