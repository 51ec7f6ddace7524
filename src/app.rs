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
        // init writes the config, so it cannot need one.
        Command::Init(args) => return commands::init::run(cli.config.as_deref(), args),
        Command::Config(args) => return commands::config::run(args),
        // A hook must never fail Claude Code, so it handles a missing config itself.
        Command::Hook(args) => return Ok(commands::hook::run(cli.config.as_deref(), args)),
        // detect works without a config: it only borrows its time zone.
        Command::Detect(args) => {
            let ctx = context(cli.config.as_deref());
            if let Err(e) = &ctx {
                crate::log::debug(&format!("detect runs without a config: {e:#}"));
            }
            return commands::detect::run(ctx.ok().as_ref(), args, crate::clock::now()?);
        }
        _ => {}
    }
    let ctx = context(cli.config.as_deref())?;
    let delivers = delivers(&cli.command);
    let result = dispatch(&ctx, cli.command);
    // Deliver what this run (or an earlier one) queued; never changes the outcome.
    if delivers {
        crate::notify::flush(&ctx);
    }
    result
}

/// Whether a run delivers what the outbox holds at its end: the runs that change
/// things, not a dry run, and never a read (`status` must answer at once whatever a
/// notification service does), a hook (Claude Code waits for it) or a task's wrapper.
fn delivers(command: &Command) -> bool {
    match command {
        Command::CheckQuota(a)
        | Command::Rollback(a)
        | Command::Dispatch(a)
        | Command::Janitor(a) => !a.dry_run,
        Command::Swap(a) => !a.dry_run,
        Command::EnsureSymlinks(a) => !a.dry_run,
        _ => false,
    }
}

fn dispatch(ctx: &Ctx, command: Command) -> Result<ExitCode> {
    match command {
        Command::EnsureSymlinks(args) => commands::ensure_symlinks::run(ctx, &args),
        Command::Validate => commands::validate::run(ctx),
        Command::Status(args) => commands::status::run(ctx, &args),
        Command::History(args) => commands::history::run(ctx, &args),
        Command::CheckQuota(args) => commands::check_quota::run(ctx, &args),
        Command::Swap(args) => commands::swap::run(ctx, &args),
        Command::Rollback(args) => commands::rollback::run(ctx, &args),
        Command::Dispatch(args) => commands::dispatch::run(ctx, &args),
        Command::Janitor(args) => commands::janitor::run(ctx, &args),
        Command::InstallHooks(args) => commands::install_hooks::run(ctx, &args),
        Command::RunTask(args) => commands::run_task::run(ctx, &args),
        Command::Notify(args) => commands::notify::run(ctx, &args),
        Command::Account(args) => commands::account::run(ctx, &args),
        Command::Task(args) => commands::task::run(ctx, &args),
        Command::Systemd(args) => commands::systemd::run(ctx, &args),
        Command::Cron => commands::cron::run(ctx),
        Command::Completions(_)
        | Command::Man
        | Command::Hook(_)
        | Command::Detect(_)
        | Command::Init(_)
        | Command::Config(_) => {
            unreachable!("handled above")
        }
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
    Ok(Ctx::new(config, crate::clock::now()?, home))
}
