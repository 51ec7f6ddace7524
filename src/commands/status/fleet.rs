//! The fleet in `ccf status`: one line from this host's memory (no request to etcd), and
//! `status --fleet`, which reads etcd once and shows every host (from the heartbeats)
//! and the shared view of the accounts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use jiff::Timestamp;
use serde::Serialize;

use crate::context::Ctx;
use crate::fleet::Link;
use crate::human::printable;
use crate::state::State;

/// The fleet as this host last found it (`status --json`'s `fleet`; `null` without
/// `fleet:`).
#[derive(Debug, Serialize)]
pub struct FleetSummary {
    /// This host's name in the fleet.
    pub host: String,
    /// Why the last check could not use etcd; `null` while it answers.
    pub problem: Option<String>,
    pub problem_since: Option<Timestamp>,
    /// Values the last check ignored, one line each naming its key.
    pub ignored: Vec<String>,
}

pub fn summary(ctx: &Ctx, st: &State) -> Option<FleetSummary> {
    let cfg = ctx.config.fleet.as_ref()?;
    Some(FleetSummary {
        host: cfg.host.clone(),
        problem: st.fleet.problem.as_ref().map(|p| p.detail.clone()),
        problem_since: st.fleet.problem.as_ref().map(|p| p.since),
        ignored: st.fleet.ignored.clone(),
    })
}

/// `fleet: …` for `status`, or nothing on a single host.
pub fn render_line(o: &mut String, s: Option<&FleetSummary>) {
    let Some(s) = s else { return };
    match (&s.problem, s.problem_since) {
        (Some(p), Some(since)) => {
            let (what, why) = match p.strip_prefix("etcd unreachable: ") {
                Some(rest) => ("unreachable", rest),
                None => ("failing", p.as_str()),
            };
            let _ = writeln!(
                o,
                "fleet: {what} since {since} ({why}); working as a single host (host {})",
                s.host
            );
        }
        _ => {
            let _ = writeln!(
                o,
                "fleet: etcd answered the last check (host {}; ccf status --fleet shows the others)",
                s.host
            );
        }
    }
    for l in &s.ignored {
        let _ = writeln!(o, "  {l}");
    }
}

/// `status --fleet --json`. Field names are a documented contract: add, never rename.
#[derive(Debug, Serialize)]
pub struct FleetStatus {
    pub host: String,
    pub hosts: Vec<HostView>,
    pub accounts: Vec<SharedAccountView>,
    pub ignored: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct HostView {
    pub host: String,
    /// Its last check-quota, and how long ago that was.
    pub last_check: Timestamp,
    pub age_secs: i64,
    pub active_account: Option<String>,
    /// Its managed sessions per account.
    pub sessions: BTreeMap<String, u32>,
    pub ccf_version: String,
}

#[derive(Debug, Serialize)]
pub struct SharedAccountView {
    pub name: String,
    pub exhausted_until: Option<Timestamp>,
    pub scope: Option<String>,
    /// The host that saw the limit, how (`pane`, `spool`, `statusline`) and when.
    pub seen_by: Option<String>,
    pub seen_source: Option<String>,
    pub seen_at: Option<Timestamp>,
    /// The last authentication state a host published, and which host.
    pub auth_failed: Option<bool>,
    pub auth_seen_by: Option<String>,
}

pub fn run(ctx: &Ctx, json: bool) -> Result<()> {
    let Some(mut link) = Link::open(ctx.config.fleet.as_ref(), ctx.now) else {
        bail!(
            "no fleet: section in {}: this host shares nothing (README, \"Several hosts\")",
            ctx.config.path.display()
        );
    };
    let Some(view) = link.view.take() else {
        bail!(
            "failed to read the fleet from etcd: {}",
            link.problem().unwrap_or_default()
        );
    };
    let hosts = view
        .hosts
        .values()
        .map(|h| HostView {
            host: h.host.clone(),
            last_check: h.at,
            age_secs: ctx.now.duration_since(h.at).as_secs(),
            active_account: h.active.clone(),
            sessions: h.sessions.clone(),
            ccf_version: h.ccf.clone(),
        })
        .collect();
    let mut names: Vec<&String> = view.limits.keys().chain(view.auth.keys()).collect();
    names.sort();
    names.dedup();
    let accounts = names
        .into_iter()
        .map(|name| {
            let l = view.limits.get(name);
            let a = view.auth.get(name);
            SharedAccountView {
                name: name.clone(),
                exhausted_until: l.map(|l| l.until),
                scope: l.and_then(|l| l.scope).map(|s| s.to_string()),
                seen_by: l.map(|l| l.seen.host.clone()),
                seen_source: l.and_then(|l| l.seen.source).map(|s| s.to_string()),
                seen_at: l.map(|l| l.seen.at),
                auth_failed: a.map(|a| a.failed),
                auth_seen_by: a.map(|a| a.seen.host.clone()),
            }
        })
        .collect();
    let status = FleetStatus {
        host: link.cfg.host.clone(),
        hosts,
        accounts,
        ignored: view.ignored,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render(&status));
    }
    Ok(())
}

/// Everything shown comes from other machines: escaped before it reaches a terminal.
fn render(s: &FleetStatus) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "fleet (this host: {}):", printable(&s.host));
    let _ = writeln!(o, "hosts:");
    if s.hosts.is_empty() {
        let _ = writeln!(
            o,
            "  none has checked in (heartbeats expire after 10 minutes)"
        );
    }
    for h in &s.hosts {
        let sessions = if h.sessions.is_empty() {
            "no sessions".to_string()
        } else {
            h.sessions
                .iter()
                .map(|(a, n)| format!("{}: {n}", printable(a)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            o,
            "  {:<16} active {:<12} {sessions}  last check {} ({}s ago)  ccf {}",
            printable(&h.host),
            printable(h.active_account.as_deref().unwrap_or("-")),
            h.last_check,
            h.age_secs,
            printable(&h.ccf_version)
        );
    }
    let _ = writeln!(o, "shared accounts:");
    if s.accounts.is_empty() {
        let _ = writeln!(o, "  no limit or login problem known to the fleet");
    }
    for a in &s.accounts {
        let mut line = format!("  {:<12}", printable(&a.name));
        if let Some(until) = a.exhausted_until {
            let _ = write!(
                line,
                " exhausted until {until}{} (seen on {} by its {} at {})",
                a.scope
                    .as_ref()
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default(),
                printable(a.seen_by.as_deref().unwrap_or("?")),
                a.seen_source.as_deref().unwrap_or("?"),
                a.seen_at.map(|t| t.to_string()).unwrap_or_default()
            );
        }
        if let Some(failed) = a.auth_failed {
            let _ = write!(
                line,
                " login {} (on {})",
                if failed { "failed" } else { "fine again" },
                printable(a.auth_seen_by.as_deref().unwrap_or("?"))
            );
        }
        let _ = writeln!(o, "{line}");
    }
    for l in &s.ignored {
        let _ = writeln!(o, "{l}");
    }
    o
}
