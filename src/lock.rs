//! The state lock: one exclusive `flock(2)` on `state_dir/state.lock`, held for a whole
//! mutating run.
//!
//! It is a separate file because saving the state renames a new `state.json` over the
//! old one, which would silently drop a lock taken on the old inode. A run that finds the
//! lock held gives up at once (exit 75): timers must not queue behind a slow swap. Only an
//! operator's command at a terminal waits ([`StateLock::acquire_waiting`]).

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::exit::Exit;

/// Held for as long as it lives; the kernel releases it when the process dies.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    pub path: PathBuf,
}

impl StateLock {
    /// Takes the lock in `state_dir` (created if missing), or fails with [`Exit::Locked`].
    pub fn acquire(state_dir: &Path) -> Result<StateLock> {
        crate::fsutil::ensure_private_dir(state_dir)?;
        let path = state_dir.join("state.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("failed to open lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(StateLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(Exit::Locked {
                path: path.display().to_string(),
            }
            .into()),
            Err(TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("failed to lock {}", path.display()))
            }
        }
    }
}

impl StateLock {
    /// [`StateLock::acquire`], waiting up to `wait` for a run that holds the lock;
    /// `waiting` is called once, when it has to wait. For an operator at a terminal:
    /// timers keep exit 75.
    pub fn acquire_waiting(
        state_dir: &Path,
        wait: Duration,
        waiting: impl FnOnce(&str),
    ) -> Result<StateLock> {
        let deadline = Instant::now() + wait;
        let mut waiting = Some(waiting);
        loop {
            match StateLock::acquire(state_dir) {
                Err(e) if Instant::now() < deadline => {
                    let Some(Exit::Locked { path }) = e.downcast_ref::<Exit>() else {
                        return Err(e);
                    };
                    if let Some(say) = waiting.take() {
                        say(path);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_acquire_is_refused_while_the_first_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path()).unwrap();
        let err = StateLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(
            err.downcast_ref::<Exit>(),
            Some(Exit::Locked { .. })
        ));
        drop(first);
        StateLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_waiting_acquire_takes_the_lock_once_it_is_let_go_and_says_so_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path()).unwrap();
        let held = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        let mut said = 0;
        StateLock::acquire_waiting(dir.path(), Duration::from_secs(10), |_| said += 1).unwrap();
        held.join().unwrap();
        assert_eq!(said, 1);
        let _second = StateLock::acquire(dir.path()).unwrap();
        let err =
            StateLock::acquire_waiting(dir.path(), Duration::from_millis(100), |_| {}).unwrap_err();
        assert!(matches!(
            err.downcast_ref::<Exit>(),
            Some(Exit::Locked { .. })
        ));
    }
}
