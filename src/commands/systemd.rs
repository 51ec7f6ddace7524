//! `ccf systemd install|uninstall`: write ccf's user units with this binary and this
//! config filled in, and enable them when a user systemd is there; or take them away.
//!
//! Facts (what is on disk, what systemd says, which sandbox level runs here) → a plan
//! (files to write or remove, `systemctl` calls) → apply, or print with `--dry-run`. Only
//! files whose content differs are written, so a second run has nothing to do. An install
//! ends by running `ccf-setup.service` and reading its result: it never says done over
//! units that cannot start.

mod probe;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::{SystemdAction, SystemdArgs, SystemdInstallArgs, SystemdUninstallArgs};
use crate::config::TmuxSocket;
use crate::context::Ctx;
use crate::exit::Exit;
use crate::units::{self, ENABLED, Installation, SandboxLevel, TMUX_UNIT};
use crate::user_manager::{self, systemctl};

pub fn run(ctx: &Ctx, args: &SystemdArgs) -> Result<ExitCode> {
    match &args.action {
        SystemdAction::Install(a) => install(ctx, a),
        SystemdAction::Uninstall(a) => uninstall(ctx, a),
        SystemdAction::CheckSandbox(a) => Ok(probe::check(ctx, a)),
    }
}

const SETUP_UNIT: &str = "ccf-setup.service";

/// The ccf services, whose sandbox the level sets.
pub const SERVICES: &[&str] = &[
    "ccf-setup.service",
    "ccf-check-quota.service",
    "ccf-dispatch.service",
    "ccf-janitor.service",
];

/// One file to write: where, what, and whether it is new.
struct Write {
    path: PathBuf,
    bytes: Vec<u8>,
    new: bool,
}

fn install(ctx: &Ctx, args: &SystemdInstallArgs) -> Result<ExitCode> {
    let unit_dir = unit_dir(ctx, args.unit_dir.as_deref());
    let mut inst = installation(ctx)?;
    let reachable = user_manager::reachable();
    inst.sandbox = choose_level(ctx, &inst, args, reachable)?;
    loop {
        write_and_enable(ctx, &inst, &unit_dir, args, reachable)?;
        if args.dry_run || !reachable {
            break;
        }
        match setup_result()? {
            SetupResult::Ran => {
                println!("ccf-setup.service ran: every ccf service can start");
                break;
            }
            SetupResult::CannotStart(status) if inst.sandbox != SandboxLevel::Off => {
                let lower = inst.sandbox.weaker();
                println!(
                    "ccf-setup.service could not start under sandbox level {} (exit status {status}); installing {lower}",
                    inst.sandbox
                );
                inst.sandbox = lower;
            }
            SetupResult::CannotStart(status) | SetupResult::Failed(status) => {
                print_todo(ctx, &inst, reachable);
                return Err(Exit::Problems(format!(
                    "ccf-setup.service failed (exit status {status}): run `ccf --config {} validate` to see why, fix it, then `systemctl --user restart ccf-setup.service`",
                    inst.config.display()
                ))
                .into());
            }
        }
    }
    print_todo(ctx, &inst, reachable);
    Ok(ExitCode::SUCCESS)
}

/// The sandbox level to install: the one asked for (when it can start), else the
/// strongest measured to work; printed with why each stronger one was refused.
fn choose_level(
    ctx: &Ctx,
    inst: &Installation,
    args: &SystemdInstallArgs,
    reachable: bool,
) -> Result<SandboxLevel> {
    if !reachable {
        let level = args.sandbox.unwrap_or(SandboxLevel::Basic);
        println!(
            "sandbox: {level}{} (not measured: no user manager is reachable; run `ccf systemd install` again once it runs)",
            exposure_note(inst, level)
        );
        return Ok(level);
    }
    let from = args.sandbox.unwrap_or(SandboxLevel::Full);
    let choice = probe::measure(ctx, inst, from, args.sandbox.is_some())?;
    for t in &choice.trials {
        if let Some(why) = &t.refused {
            println!("sandbox {}: refused: {why}", t.level);
        }
    }
    if let Some(asked) = args.sandbox {
        let trial = &choice.trials[0];
        if trial.cannot_start {
            bail!(
                "--sandbox {asked} cannot start under this user manager ({}); leave --sandbox out to install the strongest level that runs",
                trial.refused.as_deref().unwrap_or("?")
            );
        }
        println!(
            "sandbox: {asked}{} (asked for with --sandbox{})",
            exposure_note(inst, asked),
            if trial.refused.is_some() {
                "; ccf works with less under it, see above"
            } else {
                ""
            }
        );
        return Ok(asked);
    }
    println!(
        "sandbox: {}{} (the strongest level measured to run here)",
        choice.level,
        exposure_note(inst, choice.level)
    );
    Ok(choice.level)
}

/// `, exposure 5.3 MEDIUM` as `systemd-analyze security` scores the check-quota service
/// at `level`, or nothing when it cannot be scored here.
fn exposure_note(inst: &Installation, level: SandboxLevel) -> String {
    let mut at = inst.clone();
    at.sandbox = level;
    exposure(&at).map_or_else(String::new, |e| format!(", exposure {e}"))
}

fn exposure(inst: &Installation) -> Option<String> {
    let unit = units::render(inst)
        .into_iter()
        .find(|u| u.name == "ccf-check-quota.service")?;
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join(unit.name);
    std::fs::write(&path, unit.text).ok()?;
    user_manager::exposure(&path)
}

/// How the run of `ccf-setup.service` that ends an install went.
enum SetupResult {
    Ran,
    /// systemd could not start it (its own exit status, 200–243): the sandbox.
    CannotStart(i32),
    /// It ran and failed: ccf found a problem (the config, a link).
    Failed(i32),
}

/// Runs `ccf-setup.service` again (a oneshot: `restart` waits for it) after clearing
/// what earlier failures left, and reads how it ended.
fn setup_result() -> Result<SetupResult> {
    let mut reset = vec!["reset-failed".to_string()];
    reset.extend(SERVICES.iter().map(ToString::to_string));
    // reset-failed on a unit that has not failed is no error.
    let _ = systemctl(&reset);
    let started = systemctl(&["restart".into(), SETUP_UNIT.into()]);
    let info = user_manager::show(&[SETUP_UNIT])?;
    let status = info.first().and_then(|u| u.exit_status).unwrap_or(0);
    Ok(match started {
        Ok(()) => SetupResult::Ran,
        Err(_) if user_manager::is_setup_failure(status) => SetupResult::CannotStart(status),
        Err(_) => SetupResult::Failed(status),
    })
}

/// Writes the unit files that differ and brings the units up (or prints the plan).
fn write_and_enable(
    ctx: &Ctx,
    inst: &Installation,
    unit_dir: &Path,
    args: &SystemdInstallArgs,
    reachable: bool,
) -> Result<()> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = units::render(inst)
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
    let units_changed = writes.iter().any(|w| w.path.starts_with(unit_dir));
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
            .filter(|w| w.path.starts_with(unit_dir))
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
    Ok(())
}

/// The `systemctl --user` calls that bring the installed units up.
fn install_calls(ctx: &Ctx, units_changed: bool) -> Result<Vec<Vec<String>>> {
    let mut calls: Vec<Vec<String>> = Vec::new();
    if units_changed {
        calls.push(vec!["daemon-reload".into()]);
    }
    let names: Vec<&str> = ENABLED.iter().chain([&TMUX_UNIT]).copied().collect();
    let status = user_manager::enablement(&names)?;
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
    // The setup service is enabled here and run by the install's last step, which
    // reads its result.
    if !status.enabled.contains(SETUP_UNIT) {
        calls.push(vec!["enable".into(), SETUP_UNIT.into()]);
    }
    let start: Vec<String> = ENABLED
        .iter()
        .filter(|u| **u != SETUP_UNIT)
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
            user_manager::private_socket().map_or_else(|| "$XDG_RUNTIME_DIR".into(), |p| p.display().to_string()),
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

fn uninstall(ctx: &Ctx, args: &SystemdUninstallArgs) -> Result<ExitCode> {
    let unit_dir = unit_dir(ctx, args.unit_dir.as_deref());
    let mut removes: Vec<PathBuf> = units::TEMPLATES
        .iter()
        .map(|(name, _)| unit_dir.join(name))
        .chain([man_path(ctx)])
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    removes.dedup();
    let reachable = user_manager::reachable();
    let mut calls: Vec<Vec<String>> = Vec::new();
    let mut tmux_active = false;
    if reachable {
        let all = units::names();
        let status = user_manager::enablement(&all)?;
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
        sandbox: SandboxLevel::Full,
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
