//! One pass's reading of the world into [`Facts`]: the hook spool, the status-line
//! usage files, and the managed panes' screens (already captured in the [`World`]), each
//! charged to the account its session runs on. Reads files and `/proc`; changes nothing.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::observe::{
    fingerprint, scope_of_type, stop_failure_stale, stop_failure_verdict, usage_limits,
};
use super::remember::registered;
use super::{Facts, Observation, Registration, Source};
use crate::context::Ctx;
use crate::detect::{self, Verdict};
use crate::spool::{self, Record};
use crate::state::{SessionRecord, State};
use crate::tmux::Pane;
use crate::world::World;

/// Reads everything one pass decides on.
pub fn gather(ctx: &Ctx, state: &State, world: &World) -> Facts {
    let g = Gatherer { ctx, state, world };
    let mut facts = Facts::default();
    for (path, record) in spool::read_all(&ctx.config.spool_dir()) {
        match record {
            Ok(r) => g.spool_record(&r, &mut facts),
            Err(e) => crate::log::warn(&format!("dropping {e:#}")),
        }
        facts.consumed.push(path);
    }
    g.usage(&mut facts);
    g.panes(&mut facts);
    facts.relogged = g.relogged();
    facts
}

struct Gatherer<'a> {
    ctx: &'a Ctx,
    state: &'a State,
    world: &'a World,
}

impl Gatherer<'_> {
    /// The account a hook record belongs to: the one it names (resolved when written),
    /// else, for records of older versions, the one its config dir names now.
    fn account_of(&self, origin: &spool::Origin) -> String {
        origin
            .named_account(&self.ctx.config)
            .unwrap_or_else(|| self.world.unpinned_account())
            .to_string()
    }

    /// The account of a claude pinned by `CLAUDE_CONFIG_DIR`, else the link's.
    fn account_of_dir(&self, dir: Option<&Path>) -> String {
        dir.and_then(|d| self.ctx.config.account_by_home(d))
            .map_or_else(
                || self.world.unpinned_account().to_string(),
                |a| a.name.clone(),
            )
    }

    fn session_of_pane(&self, pane_id: Option<&str>) -> Option<String> {
        let id = pane_id?;
        self.world
            .panes
            .iter()
            .find(|p| p.pane_id == id)
            .map(|p| p.session.clone())
    }

    /// A session's record as this pass knows it: the state's, with a `SessionStart` of
    /// this pass taken in.
    fn record(&self, facts: &Facts, name: &str) -> Option<SessionRecord> {
        let rec = self.state.sessions.get(name);
        match facts.registrations.iter().rev().find(|r| r.name == name) {
            Some(r) => Some(registered(rec, r)),
            None => rec.cloned(),
        }
    }

    fn spool_record(&self, record: &Record, facts: &mut Facts) {
        let origin = record.origin();
        let session = self.session_of_pane(origin.tmux_pane.as_deref());
        let account = self.account_of(origin);
        match record {
            Record::SessionStart(s) => {
                let Some((name, kind)) =
                    session.and_then(|n| self.ctx.config.session_kind(&n).map(|k| (n, k)))
                else {
                    return;
                };
                // The id becomes the value after `--resume` on a relaunch: a UUID or
                // nothing, whatever the record says.
                if s.origin
                    .session_id
                    .as_deref()
                    .is_some_and(|id| !crate::failover::plan::is_session_id(id))
                {
                    crate::log::warn(&format!(
                        "{name}: ignoring a session_start record whose session id is not a UUID"
                    ));
                    return;
                }
                facts.registrations.push(Registration {
                    name,
                    kind,
                    session_id: s.origin.session_id.clone(),
                    cwd: s.origin.cwd.clone(),
                    account,
                });
            }
            Record::StopFailure(f) => {
                let said = f.last_assistant_message.as_deref().map(detect::classify);
                let (resets_at, rate_limit_type, quota_row) =
                    self.stop_failure_reset(f, said.as_ref());
                let launched = session
                    .as_deref()
                    .and_then(|s| self.record(facts, s))
                    .and_then(|r| r.launched_at);
                facts.observations.push(Observation {
                    session,
                    account,
                    source: Source::Spool,
                    verdict: stop_failure_verdict(
                        f.error.as_deref(),
                        quota_row,
                        said.as_ref().map(|d| d.verdict),
                    ),
                    scope: rate_limit_type.as_deref().map(scope_of_type),
                    resets_at,
                    matched: f.last_assistant_message.clone().or_else(|| f.error.clone()),
                    stale: stop_failure_stale(origin.at, launched),
                });
            }
            Record::Statusline(_) => {}
        }
    }

    /// The reset of a `StopFailure`: what the hook read, else the transcript row now, else
    /// the banner's own words. Claude Code 2.1.330 runs the hook *before* it writes the
    /// failed turn to the transcript, so the hook itself rarely finds the row; by the time
    /// check-quota consumes the record it is usually there. The row must carry the banner
    /// the hook was given, or it is an older error's. The flag says whether a quota row
    /// (the account's usage limit, not a throttle) was found.
    fn stop_failure_reset(
        &self,
        f: &spool::StopFailure,
        said: Option<&detect::Detection>,
    ) -> (Option<Timestamp>, Option<String>, bool) {
        if let Some(s) = f.resets_at {
            return (
                Timestamp::from_second(s).ok(),
                f.rate_limit_type.clone(),
                true,
            );
        }
        let row = f
            .origin
            .transcript_path
            .as_deref()
            .and_then(|p| crate::fsutil::read_tail(p, crate::fsutil::TRANSCRIPT_TAIL))
            .and_then(|t| detect::last_api_error(&t))
            .filter(|row| row.resets_at.is_some() && row.text == f.last_assistant_message);
        if let Some(row) = row {
            return (
                row.resets_at.and_then(|s| Timestamp::from_second(s).ok()),
                row.rate_limit_type,
                true,
            );
        }
        let banner = said
            .and_then(|d| d.reset.as_ref())
            .and_then(|spec| detect::resolve_reset(spec, self.ctx.now, &self.zone()).ok());
        (banner, f.rate_limit_type.clone(), false)
    }

    /// The zone of banners without one.
    fn zone(&self) -> jiff::tz::TimeZone {
        self.ctx.zone()
    }

    /// Status-line figures over the configured threshold count as a limit.
    fn usage(&self, facts: &mut Facts) {
        let Some(threshold) = self.ctx.config.quota.statusline_threshold else {
            return;
        };
        for (_, record) in spool::read_all(&self.ctx.config.state_dir.join("usage")) {
            if let Ok(Record::Statusline(u)) = record {
                let account = self.account_of(&u.origin);
                facts
                    .observations
                    .extend(usage_limits(&u, &account, threshold, self.ctx.now));
            }
        }
    }

    /// Classifies every managed pane's screen; notes, per session, the fingerprint of a
    /// limit banner on screen (or `None` when none is), to remember as acted on.
    fn panes(&self, facts: &mut Facts) {
        let ctx = self.ctx;
        let zone = self.zone();
        for pane in self
            .world
            .panes
            .iter()
            .filter(|p| ctx.config.session_kind(&p.session).is_some())
        {
            let name = &pane.session;
            let Some(text) = self.world.captures.get(name) else {
                continue;
            };
            let d = detect::classify(text);
            let record = self.record(facts, name);
            let account = self.pane_account(pane, record.as_ref());
            let mut resets_at = d.reset.as_ref().and_then(|spec| {
                detect::resolve_reset(spec, ctx.now, &zone)
                    .inspect_err(|e| crate::log::warn(&format!("{name}: {e}")))
                    .ok()
            });
            let fp = d.matched.as_deref().map(fingerprint);
            let mut already = None;
            if d.verdict == Verdict::Limit {
                if fp.is_some() && self.state.quota.acted.get(name) == fp.as_ref() {
                    already = Some("this banner was already acted on (it is history, re-shown after a relaunch)".into());
                }
                if let Some(exact) = record
                    .as_ref()
                    .and_then(|r| self.transcript_reset(r, &account))
                {
                    resets_at = Some(exact);
                }
                facts.fingerprints.insert(name.clone(), fp);
            } else if d.verdict == Verdict::None {
                facts.fingerprints.insert(name.clone(), None);
            }
            facts.observations.push(Observation {
                session: Some(name.clone()),
                account,
                source: Source::Pane,
                verdict: d.verdict,
                scope: d.scope,
                resets_at,
                matched: d.matched,
                stale: already,
            });
        }
    }

    /// The account a pane's claude runs on: ccf's own record of a launch, else the
    /// claude process's `CLAUDE_CONFIG_DIR`, else where `~/.claude` points.
    fn pane_account(&self, pane: &Pane, record: Option<&SessionRecord>) -> String {
        if let Some(a) = record
            .filter(|r| r.launched_at.is_some())
            .and_then(|r| r.account.clone())
        {
            return a;
        }
        // Inside a sandboxed user unit /proc/<pid>/environ is unreadable: then the
        // SessionStart record's account is the next best word.
        let environ = claude_process(pane.pid).and_then(crate::procfs::process_environ);
        match environ {
            Some(env) => {
                let dir = env
                    .into_iter()
                    .find(|(k, _)| k == "CLAUDE_CONFIG_DIR")
                    .map(|(_, v)| PathBuf::from(v));
                self.account_of_dir(dir.as_deref())
            }
            None => record
                .and_then(|r| r.account.clone())
                .unwrap_or_else(|| self.world.unpinned_account().to_string()),
        }
    }

    /// The exact reset from the session's transcript, when its last row is the API error.
    fn transcript_reset(&self, record: &SessionRecord, account: &str) -> Option<Timestamp> {
        let id = record.session_id.as_deref()?;
        let cwd = record.cwd.as_deref()?;
        let home = &self.ctx.config.account(account)?.home;
        let path = crate::claude::transcript(home, cwd, id);
        let text = crate::fsutil::read_tail(&path, crate::fsutil::TRANSCRIPT_TAIL)?;
        let limit = detect::last_api_error(&text)?;
        Timestamp::from_second(limit.resets_at?).ok()
    }

    /// Accounts marked as failing authentication whose `.credentials.json` changed after
    /// the failure was seen: the operator logged in again (or Claude Code refreshed the
    /// token).
    fn relogged(&self) -> Vec<String> {
        self.ctx
            .config
            .accounts
            .iter()
            .filter(|account| {
                let Some(a) = self
                    .state
                    .accounts
                    .get(&account.name)
                    .filter(|a| a.auth_failed)
                else {
                    return false;
                };
                let since = a.last_signal.as_ref().map(|s| s.at);
                let changed = std::fs::metadata(account.home.join(".credentials.json"))
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| Timestamp::try_from(t).ok());
                matches!((changed, since), (Some(c), Some(s)) if c > s)
            })
            .map(|a| a.name.clone())
            .collect()
    }
}

/// The claude process of a pane: the pane's own process or one of its children.
fn claude_process(pane_pid: u32) -> Option<u32> {
    let is_claude = |pid: u32| {
        crate::procfs::command_name(pid).is_some_and(|n| crate::tmux::is_claude_command(&n))
    };
    if is_claude(pane_pid) {
        return Some(pane_pid);
    }
    crate::procfs::children(pane_pid)
        .into_iter()
        .find(|c| is_claude(*c))
}
