//! `ccf account list [--json]`, `ccf account disable NAME [--reason TEXT]`,
//! `ccf account enable NAME`: what ccf holds about each account, and the operator's
//! switch that takes one out of rotation (never a target, never returned to) and puts
//! it back. Sessions already on a disabled account stay there: disabling moves nothing.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::cli::{AccountAction, AccountArgs};
use crate::context::Ctx;
use crate::state::Disabled;
use anyhow::{Result, bail};

pub fn run(ctx: &Ctx, args: &AccountArgs) -> Result<ExitCode> {
    match &args.action {
        AccountAction::List { json } => list(ctx, *json),
        AccountAction::Disable { name, reason } => set(ctx, name, Switch::Disable(reason.clone())),
        AccountAction::Enable { name } => set(ctx, name, Switch::Enable),
    }
}

fn list(ctx: &Ctx, json: bool) -> Result<ExitCode> {
    // A read: no lock, like `status`, and the same view of each account.
    let state = ctx.read_state()?;
    let views = crate::commands::status::account_views(ctx, &state);
    if json {
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(ExitCode::SUCCESS);
    }
    let zone = ctx.zone();
    let mut out = String::new();
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
        if v.exhausted_until.is_some() {
            words.push("exhausted".to_string());
        }
        if v.auth_failed {
            words.push("needs login".to_string());
        }
        if words.is_empty() {
            words.push("available".to_string());
        }
        if !v.sessions.is_empty() {
            words.push(crate::human::count(v.sessions.len(), "session"));
        }
        let _ = writeln!(
            out,
            "{}  {}  {}",
            v.name,
            v.home.display(),
            words.join(", ")
        );
        crate::commands::status::accounts::render_detail(&mut out, v, ctx.now, &zone);
    }
    print!("{out}");
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
