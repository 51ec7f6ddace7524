//! `ccf ensure-symlinks`: create what is missing of the shared layout; report the rest.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::EnsureSymlinksArgs;
use crate::context::Ctx;
use crate::links;

pub fn run(ctx: &Ctx, args: &EnsureSymlinksArgs) -> Result<ExitCode> {
    let only = match &args.account {
        Some(name) => Some(ctx.config.named_account(name)?),
        None => None,
    };
    let mut m = crate::mutation::begin(ctx)?;
    let active = ctx.active_account(&m.state).clone();
    let items = links::survey(&ctx.config, only, &active)?;
    for line in items
        .iter()
        .filter_map(|i| links::describe(i, args.dry_run))
    {
        println!("{line}");
    }
    if !args.dry_run {
        links::apply(&items)?;
        if m.state.active_account.is_none() {
            // Record what the layout now says, so status and the link agree from here on.
            m.state.active_account = Some(active.name.clone());
            ctx.save(&m.state)?;
        }
    }
    let divergent = items.iter().filter(|i| i.is_problem()).count();
    if divergent > 0 {
        bail!(
            "{} in the shared layout {} the operator (see above); nothing there was changed",
            crate::human::count(divergent, "place"),
            if divergent == 1 { "needs" } else { "need" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
