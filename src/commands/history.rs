//! `ccf history [--since 7d] [--account A] [--json] [--svg FILE]`: the event log over a
//! window, one line per event, then per account the limits hit, the time exhausted and
//! active, the swaps away and onto it, and the time parked. Takes no lock: it reads.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Result, bail};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::cli::HistoryArgs;
use crate::context::Ctx;
use crate::history::timeline::{self, Timeline};
use crate::history::{self as log, Kept, Line, What};
use crate::notify::Event;

/// `--json`'s document: the window, its events, and the timeline built from them.
#[derive(Debug, Serialize)]
struct Document<'a> {
    since: Timestamp,
    until: Timestamp,
    account: Option<&'a str>,
    events: Vec<&'a Line>,
    #[serde(flatten)]
    timeline: &'a Timeline,
}

pub fn run(ctx: &Ctx, args: &HistoryArgs) -> Result<ExitCode> {
    if let Some(a) = &args.account
        && ctx.config.account(a).is_none()
    {
        let unknown = crate::failover::plan::UnknownAccount {
            name: a.clone(),
            known: ctx.config.accounts.iter().map(|a| a.name.clone()).collect(),
        };
        bail!("{unknown} (in {})", ctx.config.path.display());
    }
    let now = ctx.now;
    let start = crate::clock::sub(now, *args.since);
    let (lines, bad) = log::read(&ctx.config.state_dir);
    for b in &bad {
        crate::log::warn(&format!("ignoring a history line that does not parse: {b}"));
    }
    let state = ctx.read_state()?;
    let active = ctx.active_account(&state).name.clone();
    let accounts: Vec<String> = match &args.account {
        Some(a) => vec![a.clone()],
        None => ctx.config.accounts.iter().map(|a| a.name.clone()).collect(),
    };
    let tl = timeline::build(&lines, &accounts, &active, start, now);
    let events: Vec<&Line> = lines
        .iter()
        .filter(|l| l.at >= start)
        .filter(|l| args.account.as_deref().is_none_or(|a| l.what.names(a)))
        .collect();
    let zone = ctx.zone();
    if let Some(file) = &args.svg {
        let title = format!(
            "ccf on {}: {} to {}",
            crate::notify::outbox::host_name(),
            crate::human::local(start, &zone),
            crate::human::local(now, &zone)
        );
        let svg = crate::history::svg::draw(&tl, &title, &zone)?;
        crate::fsutil::write_atomic(file, svg.as_bytes(), 0o644)?;
        eprintln!("timeline written to {}", file.display());
    }
    if args.json {
        let doc = Document {
            since: start,
            until: now,
            account: args.account.as_deref(),
            events,
            timeline: &tl,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else if args.svg.is_none() {
        print!(
            "{}",
            render(
                &events,
                &tl,
                &crate::human::duration(*args.since),
                now,
                &zone
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The events, then the summary.
fn render(events: &[&Line], tl: &Timeline, since: &str, now: Timestamp, zone: &TimeZone) -> String {
    let mut o = String::new();
    let at = |t: Timestamp| {
        t.to_zoned(zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let _ = writeln!(
        o,
        "history since {} ({since}):",
        crate::human::instant(tl.start, now, zone)
    );
    if events.is_empty() {
        let _ = writeln!(o, "  nothing happened");
    }
    for l in events {
        let _ = writeln!(
            o,
            "  {}  {:<14} {}",
            at(l.at),
            l.what.kind(),
            describe(&l.what, now, zone)
        );
    }
    let _ = writeln!(o, "summary:");
    // Whole minutes: seconds say nothing over a week.
    let d = |secs: i64| {
        let minutes = (secs.max(0).unsigned_abs() + 30) / 60;
        crate::human::duration(std::time::Duration::from_secs(minutes * 60))
    };
    for r in &tl.rows {
        let _ = writeln!(
            o,
            "  {:<12} {}, exhausted {}, active {}, {} away, {} onto it",
            r.account,
            crate::human::count(r.limits, "limit"),
            d(r.exhausted_secs),
            d(r.active_secs),
            crate::human::count(r.swaps_away, "swap"),
            r.swaps_onto
        );
    }
    let _ = writeln!(o, "  parked (every account out): {}", d(tl.parked_secs));
    o
}

/// An event's particulars on one line, for people.
fn describe(what: &What, now: Timestamp, zone: &TimeZone) -> String {
    let names = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    match what {
        What::Kept(Kept::LimitSeen {
            account,
            until,
            scope,
        }) => format!(
            "{account} out until {}{}",
            crate::human::instant(*until, now, zone),
            scope.map(|s| format!(" ({s})")).unwrap_or_default()
        ),
        What::Kept(Kept::TaskDone { task }) => task.clone(),
        What::Kept(Kept::TaskCancelled { task, reason }) => format!("{task}: {reason}"),
        What::Told(e) => match e {
            Event::SwapStarted {
                from, to, reason, ..
            } => format!("{from} -> {to} ({reason})"),
            Event::SwapDone {
                from, to, moved, ..
            } => {
                format!("{from} -> {to}, moved {}", names(moved))
            }
            Event::SwapPartial {
                from,
                to,
                moved,
                failed,
                ..
            } => format!(
                "{from} -> {to}, moved {}, not relaunched {}",
                names(moved),
                names(failed)
            ),
            Event::SwapFailed {
                from, to, error, ..
            } => format!("{from} -> {to}: {error}"),
            Event::Returned { to, from } => match from {
                Some(from) => format!("{from} -> {to}, back on the primary"),
                None => format!("back on {to}"),
            },
            Event::WorkResumed { account } => format!("parked sessions go on, on {account}"),
            Event::AllExhausted { until } => match until {
                Some(u) => format!(
                    "sessions parked until {}",
                    crate::human::instant(*u, now, zone)
                ),
                None => "sessions parked".to_string(),
            },
            Event::NeedsLogin { account } => format!("{account} needs a login"),
            Event::Degraded { reason } => reason.clone(),
            Event::PoolEmpty { detail } => detail.clone(),
            Event::TaskFailed { task, reason } => format!("{task}: {reason}"),
            Event::TaskTimedOut { task } => task.clone(),
            Event::Test => String::new(),
        },
    }
}
