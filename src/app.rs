//! From a parsed command line to a finished run: which commands need a config, and
//! which module runs each.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command};
use crate::context::Ctx;
use crate::{commands, config};

pub fn run(cli: Cli) -> Result<ExitCode> {
    // Commands that need no configuration.
    match &cli.command {
        Command::Completions(args) => return commands::completions::run(args.shell),
        Command::Man => return commands::man::run(),
        _ => {}
    }
    let ctx = context(cli.config.as_deref())?;
    let result = dispatch(&ctx, cli.command);
    // Deliver what this run (or an earlier one) queued; never changes the outcome.
    crate::notify::flush(&ctx);
    result
}

fn dispatch(ctx: &Ctx, command: Command) -> Result<ExitCode> {
    match command {
        Command::EnsureSymlinks(args) => commands::ensure_symlinks::run(ctx, &args),
        Command::Validate => commands::validate::run(ctx),
        Command::Status(args) => commands::status::run(ctx, &args),
        Command::CheckQuota(args) => commands::check_quota::run(ctx, &args),
        Command::Swap(args) => commands::swap::run(ctx, &args),
        Command::Rollback(args) => commands::rollback::run(ctx, &args),
        Command::Dispatch(args) => commands::dispatch::run(ctx, &args),
        Command::Janitor(args) => commands::janitor::run(ctx, &args),
        Command::Detect(args) => commands::detect::run(ctx, &args),
        Command::Hook(args) => commands::hook::run(ctx, &args),
        Command::InstallHooks(args) => commands::install_hooks::run(ctx, &args),
        Command::RunTask(args) => commands::run_task::run(ctx, &args),
        Command::Notify(args) => commands::notify::run(ctx, &args),
        Command::Systemd(args) => commands::systemd::run(ctx, &args),
        Command::Cron => commands::cron::run(ctx),
        Command::Completions(_) | Command::Man => unreachable!("handled above"),
    }
}

/// Finds and loads the configuration and reads the clock once.
fn context(explicit: Option<&Path>) -> Result<Ctx> {
    let home = PathBuf::from(
        std::env::var_os("HOME").context("$HOME is not set; ccf needs it to expand ~")?,
    );
    let env = |k: &str| std::env::var(k).ok();
    let path = config::locate(explicit, &env)?;
    let config = config::load(&path, &home)?;
    // CCF_NOW pins the clock (tests of timeouts and pruning); unset, it is the real time.
    let now = match std::env::var("CCF_NOW") {
        Ok(s) if !s.is_empty() => s
            .parse()
            .with_context(|| format!("CCF_NOW={s:?} is not an RFC 3339 instant"))?,
        _ => jiff::Timestamp::now(),
    };
    Ok(Ctx::new(config, now, home))
}
