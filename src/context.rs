//! What one run knows before it starts: the config, the tmux handle, the clock reading
//! and the process environment, gathered once in `main` and passed down.

use std::path::{Path, PathBuf};

use anyhow::Result;
use jiff::Timestamp;

use crate::config::{Account, Config};
use crate::fsutil::{self, Entry};
use crate::state::State;
use crate::tmux::Tmux;

pub struct Ctx {
    pub config: Config,
    pub tmux: Tmux,
    /// The clock, read once per run.
    pub now: Timestamp,
    /// `$HOME`, for `~`.
    pub home: PathBuf,
}

impl Ctx {
    pub fn new(config: Config, now: Timestamp, home: PathBuf) -> Ctx {
        let tmux = Tmux::new(&config.tmux);
        Ctx {
            config,
            tmux,
            now,
            home,
        }
    }

    /// The same world a moment later, for a run that takes another pass: the config
    /// read again from its file and the clock read again.
    pub fn later(&self) -> Result<Ctx> {
        let config = crate::config::load(&self.config.path, &self.home)?;
        Ok(Ctx::new(config, crate::clock::now()?, self.home.clone()))
    }

    pub fn state_path(&self) -> PathBuf {
        self.config.state_dir.join("state.json")
    }

    /// Reads the state without the lock (readers: `status`, `validate`).
    pub fn read_state(&self) -> Result<State> {
        State::load(&self.state_path())
    }

    pub fn save(&self, state: &State) -> Result<()> {
        state.save(&self.state_path())
    }

    /// The zone for times without one and for times shown to people: the configured
    /// one, else the system's.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        self.config
            .timezone
            .as_deref()
            .and_then(|z| crate::detect::lookup_zone(z).ok())
            .unwrap_or_else(jiff::tz::TimeZone::system)
    }

    /// Where `claude_link` points now, if it is a symlink.
    pub fn link_target(&self) -> Option<PathBuf> {
        let link = self.config.claude_link.as_ref()?;
        match fsutil::entry(link) {
            Ok(Entry::Symlink(t)) => Some(absolute_from(link, &t)),
            _ => None,
        }
    }

    /// The account `claude_link` points at now, if it points at one.
    pub fn link_account(&self) -> Option<&Account> {
        self.link_target()
            .and_then(|t| self.config.account_by_home(&t))
    }

    /// The active account: the state's, else the one `claude_link` points at, else the
    /// primary.
    pub fn active_account(&self, state: &State) -> &Account {
        state
            .active_account
            .as_deref()
            .and_then(|n| self.config.account(n))
            .or_else(|| self.link_account())
            .unwrap_or_else(|| self.config.primary())
    }

    /// [`Ctx::active_account`]'s name, with the link's account already read.
    pub fn active_account_with(&self, state: &State, link_account: Option<&str>) -> String {
        state
            .active_account
            .as_deref()
            .and_then(|n| self.config.account(n))
            .or_else(|| link_account.and_then(|n| self.config.account(n)))
            .unwrap_or_else(|| self.config.primary())
            .name
            .clone()
    }
}

/// A relative symlink target is relative to the link's directory.
pub fn absolute_from(link: &Path, target: &Path) -> PathBuf {
    if target.is_absolute() {
        target.to_path_buf()
    } else {
        link.parent().unwrap_or(Path::new("/")).join(target)
    }
}
