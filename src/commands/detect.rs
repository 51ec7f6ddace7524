//! `ccf detect [FILE]`: classify a pane capture and say why check-quota would or would
//! not swap on it. The operator's tool for "why did it (not) swap?", and the harness of
//! the classifier tests.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context, Result};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::cli::DetectArgs;
use crate::context::Ctx;
use crate::detect::{self, Detection, Scope, Verdict};
use crate::quota;

/// The `--json` document: exactly these four fields.
#[derive(Debug, Serialize)]
struct Output<'a> {
    verdict: Verdict,
    scope: Option<Scope>,
    resets_at: Option<String>,
    matched: Option<&'a str>,
}

/// The most of a capture `detect` reads: a pane's scrollback is far less.
const MAX_INPUT: u64 = 16 << 20;

pub fn run(ctx: Option<&Ctx>, args: &DetectArgs, now: Timestamp) -> Result<ExitCode> {
    let now = match &args.now {
        Some(s) => s.parse().with_context(|| {
            format!("--now {s:?} is not an RFC 3339 instant (e.g. 2026-01-30T20:00:00Z)")
        })?,
        None => now,
    };
    let zone = zone(ctx, args.tz.as_deref())?;
    let raw = if let Some(path) = &args.file {
        crate::fsutil::read_bounded(path, MAX_INPUT)
            .with_context(|| format!("failed to read {}", path.display()))?
    } else {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_INPUT)
            .read_to_end(&mut buf)
            .context("failed to read stdin")?;
        buf
    };
    let text = String::from_utf8_lossy(&raw);
    let d = detect::classify(&text);
    let resets_at = match &d.reset {
        Some(spec) => match detect::resolve_reset(spec, now, &zone) {
            Ok(t) => Some(t),
            Err(e) => {
                crate::log::warn(&format!("the reset time cannot be resolved: {e}"));
                None
            }
        },
        None => None,
    };
    if args.json {
        let out = Output {
            verdict: d.verdict,
            scope: d.scope,
            resets_at: resets_at.map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
            matched: d.matched.as_deref(),
        };
        println!("{}", serde_json::to_string(&out)?);
    } else {
        print!("{}", render(&d, resets_at, now, &zone, ctx));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--tz`, else the config's zone, else the system's.
fn zone(ctx: Option<&Ctx>, tz: Option<&str>) -> Result<TimeZone> {
    let name = tz
        .map(str::to_string)
        .or_else(|| ctx.and_then(|c| c.config.timezone.clone()));
    match name {
        Some(n) => detect::lookup_zone(&n)
            .with_context(|| format!("--tz {n:?}: use an IANA zone name such as Europe/Paris")),
        None => Ok(TimeZone::system()),
    }
}

fn render(
    d: &Detection,
    resets_at: Option<Timestamp>,
    now: Timestamp,
    zone: &TimeZone,
    ctx: Option<&Ctx>,
) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let scope = d
        .scope
        .map(|s| {
            format!(
                " ({})",
                serde_json::to_value(s)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or("?")
            )
        })
        .unwrap_or_default();
    let verdict = serde_json::to_value(d.verdict).unwrap_or_default();
    let _ = writeln!(o, "verdict:   {}{scope}", verdict.as_str().unwrap_or("?"));
    if let Some(t) = resets_at {
        let local = crate::human::local(t, zone);
        let secs = t.as_second() - now.as_second();
        let when = if secs >= 0 {
            format!(
                "in {}",
                crate::human::duration(std::time::Duration::from_secs(
                    secs.unsigned_abs() / 60 * 60
                ))
            )
        } else {
            "already passed".to_string()
        };
        let _ = writeln!(
            o,
            "resets at: {} ({local}, {when})",
            t.strftime("%Y-%m-%dT%H:%M:%SZ")
        );
    }
    if let (Some(m), Some(l)) = (&d.matched, d.line) {
        let _ = writeln!(
            o,
            "matched:   line {}: {}",
            l + 1,
            crate::human::printable(m)
        );
    }
    let confirm = ctx.map_or(2, |c| c.config.quota.confirm_polls);
    let _ = writeln!(
        o,
        "check-quota: {}",
        quota::explain(d.verdict, d.reset.is_some(), confirm)
    );
    o
}
