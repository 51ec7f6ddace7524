//! The state lock: one exclusive `flock(2)` on `state_dir/state.lock`, held for a whole
//! mutating run.
//!
//! It is a separate file because saving the state renames a new `state.json` over the
//! old one, which would silently drop a lock taken on the old inode. A run that finds the
//! lock held gives up at once (exit 75): timers must not queue behind a slow swap.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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
        crate::fsutil::create_private_dir(state_dir)?;
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
}
