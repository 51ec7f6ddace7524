//! `ccf notify test [CHANNEL]`: sends a test message now, on every configured channel or
//! on one, and says per channel whether it arrived. Not through the outbox: the operator
//! is waiting for the answer.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::{NotifyAction, NotifyArgs};
use crate::context::Ctx;
use crate::notify::channel::{self, Failure, NAMES};
use crate::notify::{Event, Message, outbox};

pub fn run(ctx: &Ctx, args: &NotifyArgs) -> Result<ExitCode> {
    match &args.action {
        NotifyAction::Test { channel } => test(ctx, channel.as_deref()),
    }
}

fn test(ctx: &Ctx, only: Option<&str>) -> Result<ExitCode> {
    let n = &ctx.config.notifications;
    let configured = channel::configured(n);
    let names: Vec<&str> = configured.iter().map(|c| c.name).collect();
    if let Some(name) = only {
        if !NAMES.contains(&name) {
            bail!(
                "unknown channel {name:?}; channels are {}",
                NAMES.join(", ")
            );
        }
        if !names.contains(&name) {
            bail!(
                "channel {name} is not configured in {} (configured: {})",
                ctx.config.path.display(),
                list(&names)
            );
        }
    }
    if configured.is_empty() {
        bail!(
            "no notification channel is configured in {}; see notifications: in config.example.yaml",
            ctx.config.path.display()
        );
    }
    let message = Message::new(&Event::Test, ctx.now, &outbox::host_name(), &ctx.zone());
    let client = channel::client(n.timeout.0)
        .map_err(|e| anyhow::anyhow!("failed to set up HTTP: {}", e.without_url()))?;
    let env = |k: &str| std::env::var(k).ok();
    let mut failed = 0;
    // The test ignores the `events` filters: it checks that each channel can deliver.
    for c in configured
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.name))
    {
        let outcome = c
            .ready(&env)
            .map_err(|u| format!("secret unavailable: {}", u.why))
            .and_then(|r| {
                r.send(&client, &message).map_err(|f| match f {
                    Failure::Transient { error, .. } => error,
                    Failure::Refused { error } => format!("refused: {error}"),
                })
            });
        match outcome {
            Ok(()) => println!("{}: ok", c.name),
            Err(e) => {
                println!("{}: failed: {e}", c.name);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{} failed", crate::human::count(failed, "channel"));
    }
    Ok(ExitCode::SUCCESS)
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
