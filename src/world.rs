//! What the world looks like at the start of a run, gathered once after the lock: the
//! tmux sessions, the bottom of every managed pane, where `claude_link` points and which
//! account that is, and the active account. check-quota decides on it and the swap it
//! starts reuses it, so one run lists tmux, captures panes and reads the link once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

use crate::context::Ctx;
use crate::state::State;
use crate::tmux::Pane;

#[derive(Debug, Clone)]
pub struct World {
    pub panes: Vec<Pane>,
    /// The bottom `quota.capture_lines` lines of each managed session's pane (and of each
    /// session the state registry knows), by session name; a pane that could not be
    /// captured is absent.
    pub captures: BTreeMap<String, String>,
    /// Where `claude_link` points, if it is a symlink.
    pub link_target: Option<PathBuf>,
    /// The account `claude_link` points at: where a claude without `CLAUDE_CONFIG_DIR`
    /// runs.
    pub link_account: Option<String>,
    /// The state's active account, else the link's, else the primary.
    pub active: String,
}

impl World {
    /// Lists tmux and captures the managed panes: in one tmux process when every session
    /// the last run saw still exists (the common case), else in two.
    pub fn gather(ctx: &Ctx, state: &State) -> Result<World> {
        let config = &ctx.config;
        let managed =
            |name: &str| config.session_kind(name).is_some() || state.sessions.contains_key(name);
        // The sessions the last pass captured: the names to capture alongside the listing.
        let expected: Vec<String> = state
            .quota
            .last_seen
            .keys()
            .chain(state.sessions.keys())
            .filter(|n| managed(n))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let lines = config.quota.capture_lines;
        let (panes, mut captures) = ctx.tmux.survey(&expected, lines)?;
        let missing: Vec<String> = panes
            .iter()
            .map(|p| p.session.clone())
            .filter(|n| managed(n) && !captures.contains_key(n))
            .collect();
        for (name, text) in ctx.tmux.capture_many(&missing, lines) {
            match text {
                Ok(t) => {
                    captures.insert(name, t);
                }
                Err(e) => crate::log::warn(&format!("{e:#}")),
            }
        }
        // A session listed in `expected` that no longer exists has no pane: drop it.
        captures.retain(|n, _| panes.iter().any(|p| &p.session == n));
        let link_target = ctx.link_target();
        let link_account = link_target
            .as_deref()
            .and_then(|t| config.account_by_home(t))
            .map(|a| a.name.clone());
        let active = ctx.active_account_with(state, link_account.as_deref());
        Ok(World {
            panes,
            captures,
            link_target,
            link_account,
            active,
        })
    }

    /// The pane of a session, if it exists.
    pub fn pane(&self, session: &str) -> Option<&Pane> {
        self.panes.iter().find(|p| p.session == session)
    }

    /// The account an unpinned claude runs on: the link's, else the active one.
    pub fn unpinned_account(&self) -> &str {
        self.link_account.as_deref().unwrap_or(&self.active)
    }
}
