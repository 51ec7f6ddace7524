//! `ccf status`: what ccf knows and what tmux shows, for people or as stable JSON.
//! Takes no lock: it must answer while a swap runs.

pub mod accounts;
mod fleet;
mod prometheus;
mod segment;
mod views;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use jiff::Timestamp;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::context::Ctx;
use crate::exit::Exit;
use crate::state::State;
use crate::tasks::queue::{DONE, FAILED, INBOX, Queue, RUNNING};
use crate::units::SandboxLevel;
use crate::user_manager::{self, UnitInfo};
pub use accounts::AccountView;
use views::{LastSwapView, PendingReturnView, SwapView};

/// How long check-quota may go without a pass before `--check` calls it stopped: three
/// periods of `ccf-check-quota.timer`.
const CHECK_STALE_SECS: i64 = 90;

/// The `--json` document. Field names are a documented contract: add, never rename.
#[derive(Debug, Serialize)]
pub struct Status {
    /// ccf's version (`0.9.0`): what wrote this document.
    pub version: &'static str,
    pub active_account: String,
    pub link_target: Option<PathBuf>,
    pub accounts: Vec<AccountView>,
    pub sessions: Vec<SessionView>,
    pub swap_in_progress: Option<SwapView>,
    pub degraded: bool,
    pub degraded_reason: Option<String>,
    pub last_swap: Option<LastSwapView>,
    /// Swaps finished since the state was created.
    pub swaps_total: u64,
    pub pending_return: Option<PendingReturnView>,
    pub all_exhausted_since: Option<Timestamp>,
    pub tasks: BTreeMap<String, usize>,
    pub tmux_server: bool,
    pub last_check: Option<Timestamp>,
    pub last_decision: Option<String>,
    pub queue: QueueView,
    /// ccf's units as the user manager reports them; `null` when no manager is
    /// reachable or no unit is installed.
    pub units: Option<Vec<UnitView>>,
    /// The sandbox level of the installed services (`full`, `basic`, `none`).
    pub sandbox: Option<String>,
    /// What `--check` counts as a problem, one line each (empty: all is well).
    pub problems: Vec<String>,
    /// The fleet as the last check found it; `null` without `fleet:`.
    pub fleet: Option<fleet::FleetSummary>,
}

/// One unit of ccf's, as the user manager reports it.
#[derive(Debug, Serialize)]
pub struct UnitView {
    pub name: String,
    /// `active`, `inactive`, `failed`, `activating`, …
    pub state: String,
    /// The last run's result (`success`, `exit-code`, …).
    pub result: String,
    pub failed: bool,
    pub exit_status: Option<i32>,
    pub last_exit: Option<Timestamp>,
    pub last_trigger: Option<Timestamp>,
    pub next_run: Option<Timestamp>,
    /// The line for people.
    #[serde(skip)]
    pub detail: String,
}

/// The task queue beyond its counts.
#[derive(Debug, Serialize)]
pub struct QueueView {
    /// Tasks claimed in `running/`: on a pool session, finished and not yet settled by
    /// janitor, or waiting to start again (after a usage limit or a timeout).
    pub running: Vec<TaskView>,
    /// The task that has waited longest in `inbox/`.
    pub oldest_waiting: Option<WaitingView>,
    /// Why tasks cannot start at all, as dispatch last found it (none: all is well).
    pub problem: Option<String>,
    pub problem_since: Option<Timestamp>,
}

#[derive(Debug, Serialize)]
pub struct TaskView {
    pub task: String,
    /// `running`, `finished` or `waiting`.
    pub state: &'static str,
    pub session: Option<String>,
    pub account: Option<String>,
    pub session_id: Option<String>,
    pub attempt: Option<u32>,
    pub launched_at: Option<Timestamp>,
    /// Seconds since it was launched.
    pub age_secs: Option<i64>,
    /// Why it waits: `limit` or `retry`.
    pub wait_reason: Option<crate::tasks::record::WaitReason>,
    pub wait_until: Option<Timestamp>,
}

#[derive(Debug, Serialize)]
pub struct WaitingView {
    pub task: String,
    pub since: Timestamp,
    pub age_secs: i64,
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub name: String,
    pub kind: crate::config::SessionKind,
    pub account: Option<String>,
    pub session_id: Option<String>,
    pub cwd: Option<PathBuf>,
    pub task: Option<String>,
    /// Whether the tmux session exists now.
    pub running: bool,
    /// What its pane runs now (`claude`, `bash`, …), when it exists.
    pub command: Option<String>,
    /// Whether its claude is pinned to an account's home (`CLAUDE_CONFIG_DIR`) rather
    /// than following `~/.claude`; `null` when no claude runs there.
    pub pinned: Option<bool>,
    /// A move a swap still owes it (deferred while busy, or a failed relaunch).
    pub pending_move: Option<views::PendingMoveView>,
}

pub fn run(ctx: &Ctx, args: &StatusArgs) -> Result<ExitCode> {
    if args.fleet {
        fleet::run(ctx, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let state = ctx.read_state()?;
    if args.tmux {
        println!("{}", tmux_line(ctx, &state));
        return Ok(ExitCode::SUCCESS);
    }
    let status = gather(ctx, &state);
    if let Some(file) = &args.prometheus {
        let text = prometheus::render(&status, ctx.now);
        if file.as_os_str() == "-" {
            print!("{text}");
        } else {
            // World-readable: node_exporter runs as its own user.
            crate::fsutil::write_atomic(file, text.as_bytes(), 0o644)?;
        }
    } else if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render(&status, ctx.now, &ctx.zone()));
    }
    if args.check && !status.problems.is_empty() {
        return Err(Exit::Problems(status.problems.join("; ")).into());
    }
    Ok(ExitCode::SUCCESS)
}

/// The tmux segment, from the state and the usage files only (see [`segment`]).
fn tmux_line(ctx: &Ctx, st: &State) -> String {
    let link = ctx.link_account().map(|a| a.name.clone());
    let active = ctx.active_account_with(st, link.as_deref());
    let usage = crate::usage::read(&ctx.config, st, link.as_deref(), ctx.now);
    segment::line(&segment::Facts {
        state: st,
        active: &active,
        usage: &usage,
        last_check: crate::state::last_check(st, &ctx.config.state_dir),
        now: ctx.now,
    })
}

pub fn gather(ctx: &Ctx, st: &State) -> Status {
    let now = ctx.now;
    let active = ctx.active_account(st).name.clone();
    let (panes, tmux_server) = match ctx.tmux.list() {
        Ok(p) => (p, ctx.tmux.server_running().unwrap_or(false)),
        Err(e) => {
            crate::log::warn(&format!("{e:#}"));
            (Vec::new(), false)
        }
    };
    let sessions = session_views(ctx, st, &panes);
    let accounts = accounts_of(ctx, st, &active, &sessions);
    let queue = Queue::new(&ctx.config.dispatcher.queue_dir);
    let tasks = [INBOX, RUNNING, DONE, FAILED]
        .into_iter()
        .map(|q| (q.to_string(), queue.count(q)))
        .collect();
    let installed = user_manager::installed_units(&crate::units::names());
    let sandbox = installed.as_ref().and_then(|u| sandbox_level(u));
    let mut status = Status {
        version: env!("CARGO_PKG_VERSION"),
        active_account: active,
        link_target: ctx.link_target(),
        accounts,
        sessions,
        swap_in_progress: st.swap.as_ref().map(Into::into),
        degraded: st.degraded.is_some(),
        degraded_reason: st.degraded.as_ref().map(|d| d.reason.clone()),
        last_swap: st.last_swap.as_ref().map(Into::into),
        swaps_total: st.swaps_total,
        pending_return: st.pending_return.as_ref().map(Into::into),
        all_exhausted_since: st.all_exhausted_since,
        tasks,
        tmux_server,
        last_check: crate::state::last_check(st, &ctx.config.state_dir),
        last_decision: st.quota.last_decision.clone(),
        queue: queue_view(ctx, st),
        units: installed
            .as_ref()
            .map(|u| u.iter().map(unit_view).collect()),
        sandbox: sandbox.map(|l| l.name().to_string()),
        problems: Vec::new(),
        fleet: fleet::summary(ctx, st),
    };
    status.problems = problems(&status, installed.as_deref().unwrap_or(&[]), now);
    status
}

/// The accounts' views with the sessions tmux shows now: `account list`'s, without the
/// rest of the status.
pub fn account_views(ctx: &Ctx, st: &State) -> Vec<AccountView> {
    let panes = ctx.tmux.list().unwrap_or_default();
    let sessions = session_views(ctx, st, &panes);
    accounts_of(ctx, st, &ctx.active_account(st).name, &sessions)
}

/// Each account's view, its usage read from the files, its sessions from `sessions`.
fn accounts_of(ctx: &Ctx, st: &State, active: &str, sessions: &[SessionView]) -> Vec<AccountView> {
    let link_account = ctx.link_account().map(|a| a.name.clone());
    let usage = crate::usage::read(&ctx.config, st, link_account.as_deref(), ctx.now);
    accounts::views(&ctx.config, st, active, &usage, sessions, ctx.now)
}

/// Every session the state, tmux or the config knows of, with what its pane runs.
fn session_views(ctx: &Ctx, st: &State, panes: &[crate::tmux::Pane]) -> Vec<SessionView> {
    let mut names: Vec<String> = st.sessions.keys().cloned().collect();
    names.extend(
        panes
            .iter()
            .filter(|p| ctx.config.session_kind(&p.session).is_some())
            .map(|p| p.session.clone()),
    );
    names.extend(ctx.config.pool.dedicated.iter().map(|d| d.name.clone()));
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let rec = st.sessions.get(&name);
            let kind = rec
                .map(|r| r.kind)
                .or_else(|| ctx.config.session_kind(&name))?;
            let pane = panes.iter().find(|p| p.session == name);
            // What runs there now, not what the last run recorded: a pinned claude is on
            // its home's account, one without a pin on the link's.
            let claude = pane
                .filter(|p| !p.dead)
                .and_then(|p| crate::failover::find_claude(p.pid));
            let live = claude.as_ref().and_then(|c| match &c.config_dir {
                Some(d) => ctx.config.account_by_home(d).map(|a| a.name.clone()),
                None => ctx.link_account().map(|a| a.name.clone()),
            });
            Some(SessionView {
                kind,
                account: live.or_else(|| rec.and_then(|r| r.account.clone())),
                pinned: claude.as_ref().map(|c| c.config_dir.is_some()),
                pending_move: rec.and_then(|r| r.pending_move.as_ref()).map(Into::into),
                session_id: rec.and_then(|r| r.session_id.clone()),
                cwd: rec
                    .and_then(|r| r.cwd.clone())
                    .or_else(|| pane.map(|p| p.cwd.clone())),
                task: rec.and_then(|r| r.task.clone()),
                running: pane.is_some(),
                command: pane.map(|p| p.command.clone()),
                name,
            })
        })
        .collect()
}

/// The level the installed check-quota service names.
fn sandbox_level(units: &[UnitInfo]) -> Option<SandboxLevel> {
    let service = units.iter().find(|u| u.name == "ccf-check-quota.service")?;
    let text = std::fs::read_to_string(service.fragment.as_ref()?).ok()?;
    SandboxLevel::of_unit(&text)
}

fn unit_view(u: &UnitInfo) -> UnitView {
    UnitView {
        name: u.name.clone(),
        state: u.active.clone(),
        result: u.result.clone(),
        failed: u.failed(),
        exit_status: u.exit_status,
        last_exit: u.exited_at,
        last_trigger: u.last_trigger,
        next_run: u.next_run,
        detail: u.describe(),
    }
}

/// Everything that needs the operator, each with what to look at: what `--check` exits
/// 3 for. Pure: the gathered status and the units in, lines out.
pub fn problems(s: &Status, units: &[UnitInfo], now: Timestamp) -> Vec<String> {
    let mut p = Vec::new();
    if let Some(reason) = &s.degraded_reason {
        p.push(format!(
            "ccf is degraded: {reason} (fix it, then ccf rollback)"
        ));
    }
    if let Some(j) = &s.swap_in_progress {
        p.push(format!(
            "a swap {} -> {} is unfinished (ccf rollback finishes or undoes it)",
            j.from, j.to
        ));
    }
    if !s.tmux_server {
        p.push("no tmux server answers (systemctl --user start ccf-tmux.service)".into());
    }
    if !s.accounts.is_empty()
        && s.accounts
            .iter()
            .all(|a| matches!(a.state, "exhausted" | "auth_failed"))
    {
        p.push("every account is exhausted or needs a login: sessions are parked".into());
    }
    if let Some(w) = &s.last_swap {
        let stuck: Vec<&str> = w
            .failed
            .iter()
            .filter(|name| {
                !s.sessions
                    .iter()
                    .any(|x| &x.name == *name && x.command.as_deref() == Some("claude"))
            })
            .map(String::as_str)
            .collect();
        if !stuck.is_empty() {
            p.push(format!(
                "the last swap could not relaunch {} (fix the cause, then `ccf swap --to {}`)",
                stuck.join(", "),
                s.active_account
            ));
        }
    }
    match s.last_check {
        Some(t) if now.as_second() - t.as_second() > CHECK_STALE_SECS => p.push(format!(
            "the last check-quota pass was at {}, over {} ago: is ccf-check-quota.timer running?",
            t.round(jiff::Unit::Second).unwrap_or(t),
            crate::human::duration(std::time::Duration::from_secs(
                CHECK_STALE_SECS.unsigned_abs()
            ))
        )),
        None if units
            .iter()
            .any(|u| u.name == "ccf-check-quota.timer" && u.last_trigger.is_some()) =>
        {
            p.push("check-quota has never finished a pass although its timer fired".into());
        }
        _ => {}
    }
    p.extend(user_manager::unit_problems(units));
    p
}

fn queue_view(ctx: &Ctx, st: &State) -> QueueView {
    let queue = Queue::new(&ctx.config.dispatcher.queue_dir);
    let age = |t: Timestamp| ctx.now.as_second() - t.as_second();
    let running = running_views(&queue, ctx.now);
    let oldest_waiting = queue
        .inbox()
        .unwrap_or_default()
        .into_iter()
        .min_by_key(|w| (w.queued_at, w.name.clone()))
        .map(|w| WaitingView {
            age_secs: age(w.queued_at),
            task: w.name,
            since: w.queued_at,
        });
    QueueView {
        running,
        oldest_waiting,
        problem: st.pool_problem.as_ref().map(|p| p.detail.clone()),
        problem_since: st.pool_problem.as_ref().map(|p| p.since),
    }
}

/// Each task in `running/` as `status` and `ccf task list` show it.
pub fn running_views(queue: &Queue, now: Timestamp) -> Vec<TaskView> {
    let age = |t: Timestamp| now.as_second() - t.as_second();
    queue
        .claimed()
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let r = c.record.and_then(Result::ok);
            let state = if c.result.is_some() {
                "finished"
            } else if r.as_ref().is_some_and(|r| r.session.is_some()) {
                "running"
            } else {
                "waiting"
            };
            let launched_at = r.as_ref().and_then(|r| r.launched_at);
            TaskView {
                task: c.name,
                state,
                session: r.as_ref().and_then(|r| r.session.clone()),
                account: r.as_ref().map(|r| r.account.clone()),
                session_id: r.as_ref().map(|r| r.session_id.clone()),
                attempt: r.as_ref().map(|r| r.attempt),
                launched_at,
                age_secs: launched_at.map(age),
                wait_reason: r.as_ref().and_then(|r| Some(r.wait.as_ref()?.reason)),
                wait_until: r.as_ref().and_then(|r| r.wait.as_ref()?.until),
            }
        })
        .collect()
}

fn render(s: &Status, now: Timestamp, zone: &jiff::tz::TimeZone) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let link = s
        .link_target
        .as_ref()
        .map_or_else(|| "(not a symlink)".into(), |t| t.display().to_string());
    let _ = writeln!(o, "active account: {}  (link -> {link})", s.active_account);
    if s.degraded {
        let _ = writeln!(
            o,
            "DEGRADED: {} — fix it, then run ccf rollback",
            s.degraded_reason.as_deref().unwrap_or("?")
        );
    }
    if let Some(j) = &s.swap_in_progress {
        let _ = writeln!(
            o,
            "swap in progress: {} -> {} at step {} (ccf rollback finishes or undoes it)",
            j.from, j.to, j.step
        );
    }
    accounts::render(&mut o, &s.accounts, now, zone);
    let _ = writeln!(
        o,
        "sessions:{}",
        if s.tmux_server {
            ""
        } else {
            " (no tmux server running)"
        }
    );
    for x in &s.sessions {
        let _ = writeln!(
            o,
            "  {:<20} {:<10} {:<10} {:<8} {}{}",
            x.name,
            x.kind.name(),
            x.account.as_deref().unwrap_or("-"),
            if x.running {
                x.command.as_deref().unwrap_or("?")
            } else {
                "absent"
            },
            x.session_id.as_deref().unwrap_or("-"),
            x.task
                .as_ref()
                .map(|t| format!("  task {t}"))
                .unwrap_or_default(),
        );
        if x.pinned == Some(true) {
            let _ = writeln!(
                o,
                "    pinned to {} (CLAUDE_CONFIG_DIR): a swap relaunches it, once idle",
                x.account.as_deref().unwrap_or("its account")
            );
        }
        if let Some(p) = &x.pending_move {
            let _ = writeln!(
                o,
                "    owed a move to {} since {} ({}): {}",
                p.to, p.since, p.why, p.detail
            );
        }
    }
    let t = &s.tasks;
    let _ = writeln!(
        o,
        "tasks: {} waiting, {} running, {} done, {} failed",
        t["inbox"], t["running"], t["done"], t["failed"]
    );
    render_queue(&mut o, &s.queue);
    render_failover(&mut o, s);
    render_units(&mut o, s);
    if s.problems.is_empty() {
        let _ = writeln!(o, "problems: none");
    } else {
        let _ = writeln!(o, "problems:");
        for p in &s.problems {
            let _ = writeln!(o, "  {p}");
        }
    }
    o
}

/// The units' lines: the sandbox level, then one line per unit.
fn render_units(o: &mut String, s: &Status) {
    use std::fmt::Write as _;
    let Some(units) = &s.units else {
        let _ = writeln!(o, "units: not installed, or no user manager reachable");
        return;
    };
    let _ = writeln!(
        o,
        "units: (sandbox {})",
        s.sandbox.as_deref().unwrap_or("unknown")
    );
    for u in units {
        let _ = writeln!(o, "  {:<26} {}", u.name, u.detail);
    }
}

/// The last swap (reason, trigger, stragglers), parked sessions and a pending return.
fn render_failover(o: &mut String, s: &Status) {
    use std::fmt::Write as _;
    match &s.last_swap {
        Some(w) => {
            let trigger = w
                .trigger
                .as_ref()
                .map(|t| {
                    format!(
                        ", seen by {} in {}",
                        t.source,
                        t.session.as_deref().unwrap_or("-")
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "last swap: {} -> {} at {} ({}{trigger}){}",
                w.from,
                w.to,
                w.at.round(jiff::Unit::Second).unwrap_or(w.at),
                w.reason,
                if w.failed.is_empty() {
                    String::new()
                } else {
                    format!("; not relaunched: {}", w.failed.join(", "))
                }
            );
        }
        None => {
            let _ = writeln!(o, "last swap: none");
        }
    }
    // What the last poll decided, and so why nothing happens (a cooldown, every account
    // out, nothing seen).
    match (s.last_check, &s.last_decision) {
        (Some(at), Some(d)) => {
            let _ = writeln!(
                o,
                "last check: {} {d}",
                at.round(jiff::Unit::Second).unwrap_or(at)
            );
        }
        _ => {
            let _ = writeln!(o, "last check: never");
        }
    }
    if let Some(since) = s.all_exhausted_since {
        let _ = writeln!(
            o,
            "every account exhausted since {since}: sessions parked until the first reset"
        );
    }
    if let Some(p) = &s.pending_return {
        let _ = writeln!(o, "return to {} due after {}", p.to, p.not_before);
    }
    // What the other hosts contribute to these decisions.
    fleet::render_line(o, s.fleet.as_ref());
}

/// Where a task in `running/` is, for people: `in ccl-auto-11 on compte1 for 4m`,
/// `ended in …, janitor settles it`, or why it waits.
pub fn running_words(task: &TaskView) -> String {
    let place = match (&task.session, task.state) {
        (Some(s), "running") => format!("in {s}"),
        (Some(s), _) => format!("ended in {s}, janitor settles it"),
        (None, _) => match (&task.wait_reason, task.wait_until) {
            (Some(r), Some(u)) => format!("waits ({r}) until {u} or another account"),
            (Some(r), None) => format!("waits to start again ({r})"),
            _ => "waits".to_string(),
        },
    };
    format!(
        "{place}{}{}",
        task.account
            .as_ref()
            .map(|a| format!(" on {a}"))
            .unwrap_or_default(),
        task.age_secs
            .filter(|_| task.state == "running")
            .map(|a| format!(
                " for {}",
                crate::human::duration(std::time::Duration::from_secs(a.max(0).unsigned_abs()))
            ))
            .unwrap_or_default(),
    )
}

/// The queue's lines under the task counts: a stuck pool first, then each claimed task,
/// then the oldest waiting one.
fn render_queue(out: &mut String, queue: &QueueView) {
    use std::fmt::Write as _;
    if let Some(p) = &queue.problem {
        let since = queue
            .problem_since
            .map(|t| format!(" (since {t})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  QUEUE STUCK: {p}{since}");
    }
    for task in &queue.running {
        let _ = writeln!(out, "  {:<24} {}", task.task, running_words(task));
    }
    if let Some(w) = &queue.oldest_waiting {
        let _ = writeln!(
            out,
            "  oldest waiting: {} for {}",
            w.task,
            crate::human::duration(std::time::Duration::from_secs(
                w.age_secs.max(0).unsigned_abs()
            ))
        );
    }
}
