//! What the hooks say about each session's turn: `UserPromptSubmit` opens it, `Stop` and
//! `StopFailure` close it. One small file per session id in `state_dir/turns/`,
//! overwritten (not spooled: a prompt must not wake check-quota), read by the swap so
//! that it never relaunches a claude in the middle of a turn.

use std::path::{Path, PathBuf};

use anyhow::Result;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::claude::is_session_id;

/// The latest word of a session's hooks about its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// A turn started and has not ended.
    pub open: bool,
    pub at: Timestamp,
}

fn path(state_dir: &Path, session_id: &str) -> Option<PathBuf> {
    is_session_id(session_id).then(|| state_dir.join("turns").join(format!("{session_id}.json")))
}

/// Records a turn's start or end (the hook's cost: one small atomic write).
pub fn record(state_dir: &Path, session_id: &str, turn: Turn) -> Result<()> {
    let Some(p) = path(state_dir, session_id) else {
        anyhow::bail!("the hook's session_id {session_id:?} is not a session id; nothing recorded");
    };
    crate::fsutil::ensure_private_dir(&state_dir.join("turns"))?;
    crate::fsutil::write_atomic(&p, &serde_json::to_vec(&turn)?, 0o600)
}

/// The hooks' latest word on `session_id`'s turn, if they said anything readable.
pub fn read(state_dir: &Path, session_id: &str) -> Option<Turn> {
    let bytes = std::fs::read(path(state_dir, session_id)?).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether a turn runs, hooks first: their word counts when it came from this claude
/// (written after it started, `started` in epoch seconds, whole); else the pane's footer.
pub fn running(hooks: Option<Turn>, started: Option<i64>, pane_shows_turn: bool) -> bool {
    match hooks {
        Some(t) if started.is_none_or(|s| t.at.as_second() + 1 >= s) => t.open,
        _ => pane_shows_turn,
    }
}

/// Removes the turn files older than `before` (the janitor's sweep: one file per session
/// ever seen would otherwise pile up).
pub fn prune(state_dir: &Path, before: Timestamp) {
    let Ok(dir) = std::fs::read_dir(state_dir.join("turns")) else {
        return;
    };
    for e in dir.filter_map(Result::ok) {
        let old = read_entry(&e.path()).is_none_or(|t| t.at < before);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn read_entry(p: &Path) -> Option<Turn> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b6e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_hooks_word_counts_only_when_it_is_about_this_claude() {
        let open = Turn {
            open: true,
            at: at("2026-03-01T12:00:00Z"),
        };
        let started = at("2026-03-01T11:00:00Z").as_second();
        assert!(running(Some(open), Some(started), false));
        let closed = Turn {
            open: false,
            ..open
        };
        assert!(!running(Some(closed), Some(started), true), "hooks first");
        // A claude started after the last hook (a relaunch): the pane decides.
        let later = at("2026-03-01T13:00:00Z").as_second();
        assert!(!running(Some(open), Some(later), false));
        assert!(running(None, Some(later), true));
    }

    #[test]
    fn a_turn_is_written_and_read_back_and_bad_ids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let t = Turn {
            open: true,
            at: at("2026-03-01T12:00:00Z"),
        };
        record(dir.path(), ID, t).unwrap();
        assert_eq!(read(dir.path(), ID), Some(t));
        assert!(record(dir.path(), "../../etc/passwd", t).is_err());
        assert_eq!(read(dir.path(), "../x"), None);
        prune(dir.path(), at("2026-03-02T00:00:00Z"));
        assert_eq!(read(dir.path(), ID), None);
    }
}
