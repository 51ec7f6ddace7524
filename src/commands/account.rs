//! `ccf account list [--json]`, `ccf account disable NAME [--reason TEXT]`,
//! `ccf account enable NAME`: what ccf holds about each account, and the operator's
//! switch that takes one out of rotation (never a target, never returned to) and puts
//! it back. Sessions already on a disabled account stay there: disabling moves nothing.

use std::process::ExitCode;

use anyhow::{Result, bail};
use jiff::Timestamp;
use serde::Serialize;

use crate::cli::{AccountAction, AccountArgs};
use crate::context::Ctx;
use crate::state::{Disabled, State};

pub fn run(ctx: &Ctx, args: &AccountArgs) -> Result<ExitCode> {
    match &args.action {
        AccountAction::List { json } => list(ctx, *json),
        AccountAction::Disable { name, reason } => set(ctx, name, Switch::Disable(reason.clone())),
        AccountAction::Enable { name } => set(ctx, name, Switch::Enable),
    }
}

/// One account as `account list --json` shows it (a view: the state's types stay free
/// to change).
#[derive(Debug, Serialize)]
struct AccountView {
    name: String,
    home: String,
    active: bool,
    disabled: bool,
    disabled_since: Option<Timestamp>,
    disabled_reason: Option<String>,
    exhausted_until: Option<Timestamp>,
    auth_failed: bool,
}

fn views(ctx: &Ctx, state: &State) -> Vec<AccountView> {
    let active = ctx.active_account(state).name.clone();
    ctx.config
        .accounts
        .iter()
        .map(|a| {
            let s = state.accounts.get(&a.name);
            let disabled = s.and_then(|s| s.disabled.as_ref());
            AccountView {
                name: a.name.clone(),
                home: a.home.display().to_string(),
                active: a.name == active,
                disabled: disabled.is_some(),
                disabled_since: disabled.map(|d| d.since),
                disabled_reason: disabled.and_then(|d| d.reason.clone()),
                exhausted_until: s.and_then(|s| s.exhausted_until).filter(|u| *u > ctx.now),
                auth_failed: s.is_some_and(|s| s.auth_failed),
            }
        })
        .collect()
}

fn list(ctx: &Ctx, json: bool) -> Result<ExitCode> {
    // A read: no lock, like `status`.
    let state = ctx.read_state()?;
    let views = views(ctx, &state);
    if json {
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(ExitCode::SUCCESS);
    }
    for v in &views {
        let mut words = Vec::new();
        if v.active {
            words.push("active".to_string());
        }
        if let Some(since) = v.disabled_since {
            let why = v
                .disabled_reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            words.push(format!("disabled since {since}{why}"));
        }
        if let Some(until) = v.exhausted_until {
            let left = ctx.now.duration_until(until).unsigned_abs();
            words.push(format!(
                "exhausted until {until} (in {})",
                crate::human::duration(left)
            ));
        }
        if v.auth_failed {
            words.push("needs login".to_string());
        }
        if words.is_empty() {
            words.push("available".to_string());
        }
        println!("{}  {}  {}", v.name, v.home, words.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// What the operator asked of an account.
enum Switch {
    Disable(Option<String>),
    Enable,
}

/// Disables or enables `name`, under the state lock.
fn set(ctx: &Ctx, name: &str, switch: Switch) -> Result<ExitCode> {
    if ctx.config.account(name).is_none() {
        // The words `swap --to` uses for the same mistake.
        let unknown = crate::failover::plan::UnknownAccount {
            name: name.to_string(),
            known: ctx.config.accounts.iter().map(|a| a.name.clone()).collect(),
        };
        bail!("{unknown} (in {})", ctx.config.path.display());
    }
    let mut m = crate::mutation::begin(ctx)?;
    let account = m.state.account_mut(name);
    let line = match (switch, &account.disabled) {
        (Switch::Disable(_), Some(d)) => format!("{name} is already disabled (since {})", d.since),
        (Switch::Disable(reason), None) => {
            account.disabled = Some(Disabled {
                since: ctx.now,
                reason: reason.filter(|r| !r.trim().is_empty()),
            });
            format!(
                "{name}: disabled; ccf moves no session onto it until `ccf account enable {name}`"
            )
        }
        (Switch::Enable, None) => format!("{name} is not disabled"),
        (Switch::Enable, Some(_)) => {
            account.disabled = None;
            format!("{name}: enabled")
        }
    };
    ctx.save(&m.state)?;
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}
