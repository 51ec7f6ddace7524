//! `ccf systemd install|uninstall`: write ccf's user units with this binary and this
//! config filled in, and enable them when a user systemd is there; or take them away.
//!
//! Facts (what is on disk, what systemd says) → a plan (files to write or remove,
//! `systemctl` calls) → apply, or print with `--dry-run`. Only files whose content
//! differs are written, so a second run has nothing to do.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

use crate::cli::{SystemdAction, SystemdArgs, SystemdInstallArgs};
use crate::config::TmuxSocket;
use crate::context::Ctx;
use crate::units::{self, ENABLED, Installation, TMUX_UNIT};

pub fn run(ctx: &Ctx, args: &SystemdArgs) -> Result<ExitCode> {
    match &args.action {
        SystemdAction::Install(a) => install(ctx, a),
        SystemdAction::Uninstall(a) => uninstall(ctx, a),
    }
}

/// One file to write: where, what, and whether it is new.
struct Write {
    path: PathBuf,
    bytes: Vec<u8>,
    new: bool,
}

fn install(ctx: &Ctx, args: &SystemdInstallArgs) -> Result<ExitCode> {
    let unit_dir = unit_dir(ctx, args.unit_dir.as_deref());
    let inst = installation(ctx)?;
    let mut files: Vec<(PathBuf, Vec<u8>)> = units::render(&inst)
        .into_iter()
        .map(|u| (unit_dir.join(u.name), u.text.into_bytes()))
        .collect();
    let unit_count = files.len();
    files.push((man_path(ctx), super::man::render()));
    let writes: Vec<Write> = files
        .into_iter()
        .filter_map(|(path, bytes)| match std::fs::read(&path) {
            Ok(old) if old == bytes => None,
            Ok(_) => Some(Write {
                path,
                bytes,
                new: false,
            }),
            Err(_) => Some(Write {
                path,
                bytes,
                new: true,
            }),
        })
        .collect();
    let units_changed = writes.iter().any(|w| w.path.starts_with(&unit_dir));

    let reachable = manager_reachable();
    let calls = if reachable {
        install_calls(ctx, units_changed)?
    } else {
        Vec::new()
    };

    let verb = |done: &str, planned: &str| if args.dry_run { planned } else { done }.to_string();
    for w in &writes {
        if !args.dry_run {
            write_file(&w.path, &w.bytes)?;
        }
        let what = if w.new { "create" } else { "update" };
        println!(
            "{} {}",
            verb(&format!("{what}d"), &format!("would {what}")),
            w.path.display()
        );
    }
    let unchanged = unit_count
        - writes
            .iter()
            .filter(|w| w.path.starts_with(&unit_dir))
            .count();
    if unchanged > 0 {
        println!(
            "unchanged: {unchanged} unit files in {}",
            unit_dir.display()
        );
    }
    for call in &calls {
        let line = format!("systemctl --user {}", call.join(" "));
        if args.dry_run {
            println!("would run {line}");
        } else {
            systemctl(call)?;
            println!("ran {line}");
        }
    }
    if writes.is_empty() && calls.is_empty() {
        println!("nothing to change");
    }

    print_todo(ctx, &inst, reachable);
    Ok(ExitCode::SUCCESS)
}

/// The `systemctl --user` calls that bring the installed units up.
fn install_calls(ctx: &Ctx, units_changed: bool) -> Result<Vec<Vec<String>>> {
    let mut calls: Vec<Vec<String>> = Vec::new();
    if units_changed {
        calls.push(vec!["daemon-reload".into()]);
    }
    let names: Vec<&str> = ENABLED.iter().chain([&TMUX_UNIT]).copied().collect();
    let status = unit_status(&names)?;
    // The tmux unit: enabled so the server comes up at boot; started only when no
    // server runs (one started by hand keeps running, and stays the one ccf uses).
    if !status.enabled.contains(TMUX_UNIT) {
        let running = ctx.tmux.server_running().unwrap_or(false);
        let mut call = vec!["enable".to_string()];
        if !running {
            call.push("--now".into());
        }
        call.push(TMUX_UNIT.into());
        calls.push(call);
    }
    let start: Vec<String> = ENABLED
        .iter()
        .filter(|u| !(status.enabled.contains(**u) && status.active.contains(**u)))
        .map(|u| (*u).to_string())
        .collect();
    if !start.is_empty() {
        calls.push(
            ["enable", "--now"]
                .iter()
                .map(ToString::to_string)
                .chain(start)
                .collect(),
        );
    }
    Ok(calls)
}

/// What the operator must still do, and where to look next.
fn print_todo(ctx: &Ctx, inst: &Installation, reachable: bool) {
    let mut todo = Vec::new();
    if !reachable {
        todo.push(format!(
            "no user systemd is reachable (no {}): in a login session run\n    systemctl --user daemon-reload && systemctl --user enable --now {} {}\n  or, on a host without systemd, put the lines of `ccf cron` in your crontab",
            private_socket().map_or_else(|| "$XDG_RUNTIME_DIR".into(), |p| p.display().to_string()),
            TMUX_UNIT,
            ENABLED.join(" ")
        ));
    }
    if !lingering() {
        todo.push(
            "loginctl enable-linger \"$USER\"   # so the units run without a login session"
                .to_string(),
        );
    }
    todo.push(format!(
        "ccf --config {} install-hooks   # hooks in each account's settings.json (idempotent)",
        inst.config.display()
    ));
    println!("still to do:");
    for t in todo {
        println!("  {t}");
    }
    println!(
        "then: ccf status; journalctl --user -u 'ccf-*'; man ccf ({})",
        man_path(ctx).display()
    );
}

fn uninstall(ctx: &Ctx, args: &SystemdInstallArgs) -> Result<ExitCode> {
    let unit_dir = unit_dir(ctx, args.unit_dir.as_deref());
    let mut removes: Vec<PathBuf> = units::TEMPLATES
        .iter()
        .map(|(name, _)| unit_dir.join(name))
        .chain([man_path(ctx)])
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    removes.dedup();
    let reachable = manager_reachable();
    let mut calls: Vec<Vec<String>> = Vec::new();
    let mut tmux_active = false;
    if reachable {
        let all: Vec<&str> = units::TEMPLATES.iter().map(|(n, _)| *n).collect();
        let status = unit_status(&all)?;
        let stop: Vec<String> = all
            .iter()
            .filter(|u| **u != TMUX_UNIT)
            .filter(|u| status.enabled.contains(**u) || status.active.contains(**u))
            .map(|u| (*u).to_string())
            .collect();
        if !stop.is_empty() {
            calls.push(
                ["disable", "--now"]
                    .iter()
                    .map(ToString::to_string)
                    .chain(stop)
                    .collect(),
            );
        }
        // Never stopped here: stopping it ends every session in the server.
        if status.enabled.contains(TMUX_UNIT) {
            calls.push(vec!["disable".into(), TMUX_UNIT.into()]);
        }
        tmux_active = status.active.contains(TMUX_UNIT);
    }
    for call in &calls {
        let line = format!("systemctl --user {}", call.join(" "));
        if args.dry_run {
            println!("would run {line}");
        } else {
            systemctl(call)?;
            println!("ran {line}");
        }
    }
    for p in &removes {
        if args.dry_run {
            println!("would remove {}", p.display());
        } else {
            std::fs::remove_file(p).with_context(|| format!("failed to remove {}", p.display()))?;
            println!("removed {}", p.display());
        }
    }
    if reachable && removes.iter().any(|p| p.starts_with(&unit_dir)) {
        let call = vec!["daemon-reload".to_string()];
        if args.dry_run {
            println!("would run systemctl --user daemon-reload");
        } else {
            systemctl(&call)?;
            println!("ran systemctl --user daemon-reload");
        }
    }
    if calls.is_empty() && removes.is_empty() {
        println!("nothing to change");
    }
    if tmux_active {
        println!(
            "{TMUX_UNIT} keeps your tmux server running; `systemctl --user stop {TMUX_UNIT}` ends it and every session in it"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The paths this installation fills into the units.
fn installation(ctx: &Ctx) -> Result<Installation> {
    let exe = std::env::current_exe().context("failed to find the running ccf binary")?;
    let config = std::path::absolute(&ctx.config.path)
        .with_context(|| format!("failed to make {} absolute", ctx.config.path.display()))?;
    for p in [&exe, &config] {
        if p.to_str().is_none() {
            bail!("{} is not UTF-8; unit files cannot name it", p.display());
        }
    }
    let c = &ctx.config;
    let mut writable: BTreeSet<PathBuf> = BTreeSet::new();
    writable.insert(c.state_dir.clone());
    writable.insert(c.dispatcher.queue_dir.clone());
    writable.extend(c.accounts.iter().map(|a| a.home.clone()));
    writable.extend(c.shared.iter().map(|s| s.target.clone()));
    if let Some(link) = c.claude_link.as_ref().and_then(|l| l.parent()) {
        writable.insert(link.to_path_buf());
    }
    if let TmuxSocket::Path(p) = &c.tmux
        && let Some(dir) = p.parent()
    {
        writable.insert(dir.to_path_buf());
    }
    let writable = writable
        .into_iter()
        .filter(|p| !p.starts_with(&ctx.home))
        .collect();
    Ok(Installation {
        ccf: exe,
        config,
        spool: c.spool_dir(),
        inbox: c.dispatcher.queue_dir.join("inbox"),
        tmux: c.tmux.clone(),
        writable,
        root: is_root(),
    })
}

fn unit_dir(ctx: &Ctx, explicit: Option<&Path>) -> PathBuf {
    explicit.map_or_else(
        || xdg("XDG_CONFIG_HOME", &ctx.home, ".config").join("systemd/user"),
        Path::to_path_buf,
    )
}

fn man_path(ctx: &Ctx) -> PathBuf {
    xdg("XDG_DATA_HOME", &ctx.home, ".local/share").join("man/man1/ccf.1")
}

fn xdg(var: &str, home: &Path, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| home.join(default), PathBuf::from)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    crate::fsutil::write_atomic(path, bytes, 0o644)
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // Our own /proc entry is owned by our uid; no libc call needed.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Whether `loginctl enable-linger` was done for this user.
fn lingering() -> bool {
    std::env::var("USER")
        .ok()
        .is_some_and(|u| Path::new("/var/lib/systemd/linger").join(u).exists())
}

/// The user manager's private socket: present when a user systemd runs.
fn private_socket() -> Option<PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(|d| PathBuf::from(d).join("systemd/private"))
}

/// Whether a user systemd runs: its private socket exists.
fn manager_reachable() -> bool {
    private_socket().is_some_and(|p| p.exists())
}

struct UnitStatus {
    enabled: BTreeSet<String>,
    active: BTreeSet<String>,
}

/// Which of `names` are enabled and which active (one line per unit, in order).
fn unit_status(names: &[&str]) -> Result<UnitStatus> {
    let query = |verb: &str, good: &[&str]| -> Result<BTreeSet<String>> {
        let out = Command::new("systemctl")
            .args(["--user", verb])
            .args(names)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("failed to run systemctl --user {verb}"))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .zip(names)
            .filter(|(state, _)| good.contains(&state.trim()))
            .map(|(_, n)| (*n).to_string())
            .collect())
    };
    Ok(UnitStatus {
        enabled: query("is-enabled", &["enabled", "enabled-runtime", "static"])?,
        active: query("is-active", &["active", "activating", "reloading"])?,
    })
}

fn systemctl(args: &[String]) -> Result<()> {
    let line = format!("systemctl --user {}", args.join(" "));
    let out = Command::new("systemctl")
        .arg("--user")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to run {line}"))?;
    if !out.status.success() {
        bail!(
            "{line} failed ({}): {}; see `systemctl --user --failed` and `journalctl --user -u 'ccf-*'`",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
