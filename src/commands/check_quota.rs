//! `ccf check-quota [--dry-run]`: one detection pass.
//!
//! Facts: the hook spool (consumed), the status-line usage files, and the bottom of every
//! managed pane (one tmux process for all). Each becomes an observation against the
//! account its session runs on; `quota::decide` turns them into one action; the failover
//! carries it out. `--dry-run` prints every observation and the decision, and changes
//! nothing (the spool is not consumed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use jiff::Timestamp;

use crate::cli::DryRun;
use crate::context::Ctx;
use crate::detect::{self, Verdict};
use crate::failover::{self, SwapRequest};
use crate::notify::{self, Event};
use crate::quota::{self, Action, Observation, Source};
use crate::spool::{self, Record};
use crate::state::{SessionRecord, Signal, State};
use crate::tmux::Pane;

/// How many passes one run takes at most: the first, and one more for each batch of
/// hook events that landed while the previous pass ran.
const MAX_PASSES: usize = 4;

pub fn run(ctx: &Ctx, args: &DryRun) -> Result<ExitCode> {
    let mut m = ctx.begin_mutation()?;
    // What hooks write into (without the lock): no one else may write there.
    for dir in [ctx.config.spool_dir(), ctx.config.state_dir.join("usage")] {
        crate::fsutil::tighten(&dir)?;
    }
    let mut code = pass(ctx, &mut m.state, args)?;
    if args.dry_run {
        return Ok(code);
    }
    // systemd does not queue a path unit's trigger while its service runs: a hook event
    // that lands during a pass (a swap takes seconds) would wait for the timer, or for
    // ever with the timer stopped. Look at the spool again before letting the lock go.
    for _ in 1..MAX_PASSES {
        if !spool::has_events(&ctx.config.spool_dir()) {
            break;
        }
        let later = ctx.later()?;
        crate::log::info("hook events arrived during the pass; taking another");
        code = pass(&later, &mut m.state, args)?;
    }
    Ok(code)
}

/// One detection pass under the lock: gather, decide, remember, act.
fn pass(ctx: &Ctx, state: &mut State, args: &DryRun) -> Result<ExitCode> {
    let panes = ctx.tmux.list()?;
    let active = ctx.active_account(state).name.clone();
    let link_account = ctx
        .link_target()
        .and_then(|t| ctx.config.account_by_home(&t))
        .map_or_else(|| active.clone(), |a| a.name.clone());
    let facts = Facts {
        ctx,
        panes: &panes,
        link_account: &link_account,
    };

    let mut obs = Vec::new();
    let spooled = spool::read_all(&ctx.config.spool_dir());
    let mut consumed: Vec<PathBuf> = Vec::new();
    for (path, record) in spooled {
        match record {
            Ok(r) => facts.spool_record(state, &r, &mut obs),
            Err(e) => crate::log::warn(&format!("dropping {e:#}")),
        }
        consumed.push(path);
    }
    facts.usage(state, &mut obs);
    let fingerprints = facts.panes_observed(state, &mut obs);

    relogged(ctx, state);
    let due = failover::due_return(ctx, state);
    let order: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let decision = quota::decide(
        &obs,
        state,
        &active,
        &order,
        &ctx.config.quota,
        ctx.now,
        due,
    );
    let summary = decision.lines.last().cloned().unwrap_or_default();
    if args.dry_run {
        for line in &decision.lines {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // A standing verdict (a 500 on screen for an hour) is logged once, when it appears,
    // not every 30 seconds: the journal keeps what changed.
    let mut seen = BTreeMap::new();
    for (o, line) in obs.iter().zip(&decision.lines) {
        let key = o
            .session
            .clone()
            .unwrap_or_else(|| format!("{}:{}", o.source, o.account));
        let news = state.quota.last_seen.get(&key) != Some(line);
        if o.verdict == Verdict::None || o.stale.is_some() || !news {
            crate::log::debug(line);
        } else {
            crate::log::notice(line);
        }
        if o.source == Source::Pane {
            seen.insert(key, line.clone());
        }
    }
    state.quota.last_seen = seen;
    if decision.action == Action::Stay {
        crate::log::info(&summary);
    } else {
        crate::log::notice(&summary);
    }

    // Remember what this poll learnt, then save before acting on it.
    let newly_failed = remember(ctx, state, &decision, &obs, fingerprints, summary);
    ctx.save(state)?;
    for path in consumed {
        if let Err(e) = std::fs::remove_file(&path) {
            crate::log::warn(&format!(
                "failed to remove consumed spool file {}: {e}",
                path.display()
            ));
        }
    }
    for account in newly_failed {
        notify::emit(ctx, &Event::NeedsLogin { account });
    }
    act(ctx, state, decision.action)
}

/// Applies what the poll learnt to the state; returns the accounts that newly failed
/// authentication.
fn remember(
    ctx: &Ctx,
    state: &mut State,
    decision: &quota::Decision,
    obs: &[Observation],
    fingerprints: BTreeMap<String, Option<String>>,
    summary: String,
) -> Vec<String> {
    state.quota.confirm = decision.confirm.clone();
    state.quota.last_check = Some(ctx.now);
    state.quota.last_decision = Some(summary);
    let mut newly_failed = Vec::new();
    for (account, until, scope) in &decision.exhausted {
        let a = state.account_mut(account);
        if a.exhausted_until.is_none_or(|u| u < *until) {
            a.exhausted_until = Some(*until);
            a.exhausted_scope.clone_from(scope);
        }
    }
    for account in &decision.auth_failed {
        let a = state.account_mut(account);
        if !a.auth_failed {
            newly_failed.push(account.clone());
        }
        a.auth_failed = true;
        a.auth_failures += 1;
    }
    for o in obs
        .iter()
        .filter(|o| o.stale.is_none() && o.verdict != Verdict::None)
    {
        state.account_mut(&o.account).last_signal = Some(Signal {
            at: ctx.now,
            source: o.source.to_string(),
            verdict: quota::verdict_name(o.verdict).to_string(),
            session: o.session.clone(),
            matched: o.matched.clone(),
        });
    }
    // A banner becomes history once it has counted (its account marked out); one still
    // waiting for confirmation must be seen again on the next poll.
    let counted = |session: &str| {
        obs.iter().any(|o| {
            o.session.as_deref() == Some(session)
                && o.verdict == Verdict::Limit
                && decision.exhausted.iter().any(|(a, ..)| *a == o.account)
        })
    };
    for (session, fp) in fingerprints {
        match fp {
            Some(fp) if counted(&session) => {
                state.quota.acted.insert(session, fp);
            }
            Some(_) => {}
            None => {
                state.quota.acted.remove(&session);
            }
        }
    }
    newly_failed
}

/// Carries out the decided action through the failover.
fn act(ctx: &Ctx, state: &mut State, action: Action) -> Result<ExitCode> {
    let request = match action {
        Action::Stay => return Ok(ExitCode::SUCCESS),
        Action::Swap {
            from: _,
            reason,
            exhausted_until,
            scope,
            auth_failed,
            trigger,
        } => SwapRequest {
            to: None,
            reason,
            trigger,
            manual: false,
            exhausted_until,
            exhausted_scope: scope,
            auth_failed,
        },
        Action::Return { to } => SwapRequest {
            to: Some(to.clone()),
            reason: format!("return to {to}: its reset has passed"),
            trigger: None,
            manual: false,
            exhausted_until: None,
            exhausted_scope: None,
            auth_failed: false,
        },
    };
    let outcome = failover::swap(ctx, state, &request, false)?;
    match &outcome.to {
        Some(to) => println!(
            "swapped {} -> {to} ({}): moved {}, failed {}",
            outcome.from,
            request.reason,
            list(&outcome.moved),
            list(&outcome.failed)
        ),
        None => println!(
            "no account available to swap to from {}; sessions parked until a reset",
            outcome.from
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Clears the auth failure of an account whose `.credentials.json` changed after the
/// failure was seen: the operator logged in again (or Claude Code refreshed the token).
fn relogged(ctx: &Ctx, state: &mut State) {
    for account in &ctx.config.accounts {
        let Some(a) = state
            .accounts
            .get_mut(&account.name)
            .filter(|a| a.auth_failed)
        else {
            continue;
        };
        let since = a.last_signal.as_ref().map(|s| s.at);
        let changed = std::fs::metadata(account.home.join(".credentials.json"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| Timestamp::try_from(t).ok());
        if let (Some(changed), Some(since)) = (changed, since)
            && changed > since
        {
            a.auth_failed = false;
            crate::log::notice(&format!(
                "account {}: credentials changed since its auth failure; usable again",
                account.name
            ));
        }
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

struct Facts<'a> {
    ctx: &'a Ctx,
    panes: &'a [Pane],
    link_account: &'a str,
}

impl Facts<'_> {
    /// The account of a claude pinned by `CLAUDE_CONFIG_DIR`, else the link's.
    /// The account a hook record belongs to: the one it names (resolved when written),
    /// else, for records of older versions, the one its config dir names now.
    fn account_of(&self, origin: &spool::Origin) -> String {
        origin
            .account
            .as_deref()
            .and_then(|a| self.ctx.config.account(a))
            .map_or_else(
                || self.account_of_dir(origin.claude_config_dir.as_deref()),
                |a| a.name.clone(),
            )
    }

    fn account_of_dir(&self, dir: Option<&Path>) -> String {
        dir.and_then(|d| self.ctx.config.account_by_home(d))
            .map_or_else(|| self.link_account.to_string(), |a| a.name.clone())
    }

    fn session_of_pane(&self, pane_id: Option<&str>) -> Option<String> {
        let id = pane_id?;
        self.panes
            .iter()
            .find(|p| p.pane_id == id)
            .map(|p| p.session.clone())
    }

    fn spool_record(&self, state: &mut State, record: &Record, obs: &mut Vec<Observation>) {
        let origin = record.origin();
        let session = self.session_of_pane(origin.tmux_pane.as_deref());
        let account = self.account_of(origin);
        match record {
            Record::SessionStart(s) => {
                let Some(name) = session.filter(|n| self.ctx.config.session_kind(n).is_some())
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
                let kind = self.ctx.config.session_kind(&name).map(Into::into);
                let Some(kind) = kind else { return };
                let rec = state.session_mut(&name, kind);
                rec.session_id.clone_from(&s.origin.session_id);
                rec.id_source = Some("hook".into());
                rec.cwd.clone_from(&s.origin.cwd);
                rec.account = Some(account);
            }
            Record::StopFailure(f) => {
                // Claude Code reports every 429 as `rate_limit`: an API-key rejection and
                // a server-side throttle too. Only the transcript's quota row, or the
                // banner's own words, make it the account's usage limit.
                let said = f.last_assistant_message.as_deref().map(detect::classify);
                let (resets_at, rate_limit_type, quota_row) =
                    self.stop_failure_reset(f, said.as_ref());
                let verdict = match f.error.as_deref() {
                    Some("rate_limit") if quota_row => Verdict::Limit,
                    Some("rate_limit") => {
                        said.as_ref().map_or(Verdict::Limit, |d| match d.verdict {
                            Verdict::None => Verdict::Limit,
                            v => v,
                        })
                    }
                    Some("authentication_failed") => Verdict::Auth,
                    Some("billing_error") => Verdict::Billing,
                    Some("overloaded" | "server_error" | "api_error" | "timeout") => {
                        Verdict::ServerError
                    }
                    _ => Verdict::None,
                };
                let launched = session
                    .as_ref()
                    .and_then(|s| state.sessions.get(s))
                    .and_then(|r| r.launched_at);
                let why_stale = if f.agent_id.is_some() {
                    Some("a sub-agent's failure does not count by itself".to_string())
                } else if let (Some(at), Some(l)) = (origin.at, launched) {
                    (at < l).then(|| "it happened before the session's last relaunch".to_string())
                } else {
                    None
                };
                obs.push(Observation {
                    session,
                    account,
                    source: Source::Spool,
                    verdict,
                    scope: rate_limit_type.as_deref().map(scope_of_type),
                    resets_at,
                    matched: f.last_assistant_message.clone().or_else(|| f.error.clone()),
                    stale: why_stale,
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

    /// The zone of banners without one: the configured, else the system's.
    fn zone(&self) -> jiff::tz::TimeZone {
        self.ctx
            .config
            .timezone
            .as_deref()
            .and_then(|z| detect::lookup_zone(z).ok())
            .unwrap_or_else(jiff::tz::TimeZone::system)
    }

    /// Status-line figures over the configured threshold count as a limit.
    fn usage(&self, _state: &State, obs: &mut Vec<Observation>) {
        let Some(threshold) = self.ctx.config.quota.statusline_threshold else {
            return;
        };
        for (_, record) in spool::read_all(&self.ctx.config.state_dir.join("usage")) {
            let Ok(Record::Statusline(u)) = record else {
                continue;
            };
            // Figures older than ten minutes say nothing about now.
            if u.origin
                .at
                .is_none_or(|at| self.ctx.now.duration_since(at).as_secs() > 600)
            {
                continue;
            }
            let account = self.account_of(&u.origin);
            for (used, resets, scope) in [
                (u.five_hour_used, u.five_hour_resets_at, "five_hour"),
                (u.seven_day_used, u.seven_day_resets_at, "weekly"),
            ] {
                if used.is_some_and(|p| p >= threshold) {
                    obs.push(Observation {
                        session: None,
                        account: account.clone(),
                        source: Source::Statusline,
                        verdict: Verdict::Limit,
                        scope: Some(scope.into()),
                        resets_at: resets.and_then(|s| Timestamp::from_second(s).ok()),
                        matched: Some(format!(
                            "{scope} at {:.0}% (threshold {threshold}%)",
                            used.unwrap_or(0.0)
                        )),
                        stale: None,
                    });
                }
            }
        }
    }

    /// Captures and classifies every managed pane; returns, per session, the fingerprint
    /// of a limit banner now on screen (or `None` when none is), to remember as acted on.
    fn panes_observed(
        &self,
        state: &State,
        obs: &mut Vec<Observation>,
    ) -> BTreeMap<String, Option<String>> {
        let ctx = self.ctx;
        let managed: Vec<&Pane> = self
            .panes
            .iter()
            .filter(|p| ctx.config.session_kind(&p.session).is_some())
            .collect();
        let names: Vec<String> = managed.iter().map(|p| p.session.clone()).collect();
        let zone = self.zone();
        let mut fingerprints = BTreeMap::new();
        for ((name, text), pane) in ctx
            .tmux
            .capture_many(&names, ctx.config.quota.capture_lines)
            .into_iter()
            .zip(managed)
        {
            let text = match text {
                Ok(t) => t,
                Err(e) => {
                    crate::log::warn(&format!("{e:#}"));
                    continue;
                }
            };
            let d = detect::classify(&text);
            let record = state.sessions.get(&name);
            let account = self.pane_account(pane, record);
            let mut resets_at = d.reset.as_ref().and_then(|spec| {
                match detect::resolve_reset(spec, ctx.now, &zone) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        crate::log::warn(&format!("{name}: {e}"));
                        None
                    }
                }
            });
            let fp = d.matched.as_deref().map(fingerprint);
            let mut already = None;
            if d.verdict == Verdict::Limit {
                if fp.is_some() && state.quota.acted.get(&name) == fp.as_ref() {
                    already = Some("this banner was already acted on (it is history, re-shown after a relaunch)".into());
                }
                if let Some(exact) = record.and_then(|r| self.transcript_reset(r, &account)) {
                    resets_at = Some(exact);
                }
                fingerprints.insert(name.clone(), fp);
            } else if matches!(d.verdict, Verdict::None) {
                fingerprints.insert(name.clone(), None);
            }
            obs.push(Observation {
                session: Some(name),
                account,
                source: Source::Pane,
                verdict: d.verdict,
                scope: d.scope.map(|s| {
                    serde_json::to_value(s)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                }),
                resets_at,
                matched: d.matched,
                stale: already,
            });
        }
        fingerprints
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
                .unwrap_or_else(|| self.link_account.to_string()),
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

/// A banner's identity across re-renders: its letters and digits only.
fn fingerprint(matched: &str) -> String {
    matched
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase()
}

fn scope_of_type(t: &str) -> String {
    match t {
        "five_hour" => "five_hour",
        "seven_day" => "weekly",
        "seven_day_opus" => "opus_weekly",
        _ => "other",
    }
    .into()
}
