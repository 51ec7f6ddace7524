//! Which sandbox level this host's user manager applies and ccf works under, measured:
//! each level's settings on a transient unit (`systemd-run --user`) that runs
//! `ccf systemd check-sandbox`, strongest first. A level is refused when the manager
//! cannot start it, when it starts without applying what it names, or when ccf cannot do
//! its job inside it (read the panes' environment, write its state, reach tmux).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::CheckSandboxArgs;
use crate::context::Ctx;
use crate::units::{self, Installation, SandboxLevel};
use crate::user_manager;

/// How one level fared.
#[derive(Debug, Clone)]
pub struct Trial {
    pub level: SandboxLevel,
    /// Why it was refused; `None` when it works.
    pub refused: Option<String>,
    /// Whether it could not even start (never installed, not even when asked for).
    pub cannot_start: bool,
}

/// The level to install and what was tried to get there.
#[derive(Debug, Clone)]
pub struct Choice {
    pub level: SandboxLevel,
    pub trials: Vec<Trial>,
}

/// Tries the levels from `from` down and stops at the first that works; `only` tries
/// that one alone.
pub fn measure(ctx: &Ctx, inst: &Installation, from: SandboxLevel, only: bool) -> Result<Choice> {
    let mut trials = Vec::new();
    for level in SandboxLevel::ALL.into_iter().filter(|l| *l >= from) {
        let trial = try_level(ctx, inst, level)?;
        let works = trial.refused.is_none();
        trials.push(trial);
        if works || only {
            break;
        }
    }
    let level = trials.iter().find(|t| t.refused.is_none()).map_or_else(
        || trials.last().map_or(SandboxLevel::Off, |t| t.level),
        |t| t.level,
    );
    Ok(Choice { level, trials })
}

fn try_level(ctx: &Ctx, inst: &Installation, level: SandboxLevel) -> Result<Trial> {
    let mut at = inst.clone();
    at.sandbox = level;
    let service = units::render(&at)
        .into_iter()
        .find(|u| u.name == "ccf-check-quota.service")
        .expect("the check-quota service is shipped");
    let properties: Vec<String> = units::sandbox_properties(&service.text)
        .iter()
        .map(|p| expand(p, &ctx.home))
        .collect();
    let mut argv: Vec<String> = vec![
        inst.ccf.display().to_string(),
        "--config".into(),
        inst.config.display().to_string(),
        "systemd".into(),
        "check-sandbox".into(),
        "--environ-of".into(),
        std::process::id().to_string(),
    ];
    if ctx.tmux.server_running().unwrap_or(false) {
        argv.push("--tmux".into());
    }
    let run = user_manager::run_transient(&properties, &argv, 30)?;
    let (refused, cannot_start) = judge(level, &run, inst.root);
    Ok(Trial {
        level,
        refused,
        cannot_start,
    })
}

/// Why a level's trial run refuses it, and whether it could not start at all.
fn judge(level: SandboxLevel, run: &user_manager::Transient, root: bool) -> (Option<String>, bool) {
    match run.status {
        Some(0) => {}
        Some(s) if user_manager::is_setup_failure(s) => {
            let name = user_manager::exit_status_name(s).unwrap_or("see systemd.exec(5)");
            let mut why = format!("the user manager cannot apply it (exit status {s}/{name})");
            if level == SandboxLevel::Full && !root {
                if let Some(cause) = userns_sysctl() {
                    why = format!("{why}: {cause}");
                } else if s == 226 {
                    why.push_str(
                        ": it cannot set up the mount namespace inside a user namespace here",
                    );
                }
            }
            return (Some(why), true);
        }
        Some(s) => {
            let said = run.stderr.lines().rev().find(|l| !l.trim().is_empty());
            return (
                Some(format!(
                    "it starts, but ccf cannot work under it (exit {s}): {}",
                    said.unwrap_or("no message")
                )),
                false,
            );
        }
        None => {
            return (
                Some("its trial run was killed (it took over 30 s)".into()),
                false,
            );
        }
    }
    // It ran: did the manager apply what the level names?
    let applied = |key: &str| run.stdout.split_whitespace().any(|w| w == key);
    let missing: Vec<&str> = match level {
        SandboxLevel::Full => vec!["no_new_privs=1", "seccomp=2", "root=ro"],
        SandboxLevel::Basic => vec!["no_new_privs=1", "seccomp=2"],
        SandboxLevel::Off => vec![],
    }
    .into_iter()
    .filter(|k| !applied(k))
    .collect();
    if missing.is_empty() {
        (None, false)
    } else {
        (
            Some(format!(
                "it starts, but the manager did not apply it (inside: {}; wanted {})",
                run.stdout.trim(),
                missing.join(" ")
            )),
            false,
        )
    }
}

/// The sysctl that keeps an unprivileged user from making a user namespace, if one does.
fn userns_sysctl() -> Option<String> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|v| v.trim().to_string())
    };
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Some(
            "kernel.apparmor_restrict_unprivileged_userns=1 forbids the user namespace it needs"
                .into(),
        );
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Some(
            "kernel.unprivileged_userns_clone=0 forbids the user namespace it needs".into(),
        );
    }
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Some("user.max_user_namespaces=0 forbids the user namespace it needs".into());
    }
    None
}

/// A unit setting with the specifiers a transient unit does not expand filled in.
fn expand(property: &str, home: &Path) -> String {
    let uid = crate::fsutil::own_uid().to_string();
    property
        .replace("%%", "\u{0}")
        .replace("%h", &home.display().to_string())
        .replace("%U", &uid)
        .replace('\u{0}', "%")
}

/// `ccf systemd check-sandbox`: run inside a trial unit. Says on stdout what the sandbox
/// applied, on stderr what ccf could not do; exits 1 when it could not.
pub fn check(ctx: &Ctx, args: &CheckSandboxArgs) -> ExitCode {
    let mut problems = Vec::new();
    if crate::procfs::process_environ(args.environ_of).is_none() {
        problems.push(format!(
            "cannot read /proc/{}/environ (a process of yours outside the sandbox): ccf could not tell which account a pinned claude runs on",
            args.environ_of
        ));
    }
    let dir = &ctx.config.state_dir;
    let probe = dir.join(format!(".sandbox-probe-{}", uuid::Uuid::new_v4().simple()));
    let wrote = crate::fsutil::create_private_dir(dir)
        .and_then(|()| crate::fsutil::write_atomic(&probe, b"probe", 0o600));
    match wrote {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => problems.push(format!("cannot write {}: {e:#}", dir.display())),
    }
    if args.tmux
        && let Err(e) = ctx.tmux.list()
    {
        problems.push(format!("cannot reach the tmux server: {e:#}"));
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix(':'))
            .map_or_else(|| "?".into(), |v| v.trim().to_string())
    };
    println!(
        "no_new_privs={} seccomp={} root={}",
        field("NoNewPrivs"),
        field("Seccomp"),
        if root_read_only() { "ro" } else { "rw" }
    );
    for p in &problems {
        eprintln!("{p}");
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Whether `/` is mounted read-only for this process (the topmost mount of `/`).
fn root_read_only() -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .rfind(|l| l.split(' ').nth(4) == Some("/"))
        .and_then(|l| l.split(' ').nth(5))
        .is_some_and(|opts| opts.split(',').any(|o| o == "ro"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user_manager::Transient;

    fn ran(status: Option<i32>, stdout: &str, stderr: &str) -> Transient {
        Transient {
            status,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn a_level_the_manager_cannot_start_is_refused_with_its_status() {
        let (why, cannot) = judge(SandboxLevel::Full, &ran(Some(226), "", ""), true);
        assert!(cannot);
        assert!(why.unwrap().contains("226/NAMESPACE"));
        let (why, cannot) = judge(SandboxLevel::Basic, &ran(Some(218), "", ""), false);
        assert!(cannot && why.unwrap().contains("218/CAPABILITIES"));
    }

    #[test]
    fn a_level_ccf_cannot_work_under_is_refused_with_what_it_said() {
        let (why, cannot) = judge(
            SandboxLevel::Full,
            &ran(
                Some(1),
                "no_new_privs=1 seccomp=2 root=ro",
                "cannot read /proc/9/environ (…)\n",
            ),
            false,
        );
        assert!(!cannot);
        assert!(why.unwrap().ends_with("cannot read /proc/9/environ (…)"));
    }

    #[test]
    fn a_level_that_starts_unapplied_is_refused() {
        let (why, _) = judge(
            SandboxLevel::Basic,
            &ran(Some(0), "no_new_privs=0 seccomp=0 root=rw", ""),
            false,
        );
        assert!(why.unwrap().contains("did not apply"));
        let (why, _) = judge(
            SandboxLevel::Full,
            &ran(Some(0), "no_new_privs=1 seccomp=2 root=rw", ""),
            false,
        );
        assert!(why.unwrap().contains("root=ro"));
        let (why, _) = judge(
            SandboxLevel::Basic,
            &ran(Some(0), "no_new_privs=1 seccomp=2 root=rw", ""),
            false,
        );
        assert_eq!(why, None);
        let (why, _) = judge(
            SandboxLevel::Off,
            &ran(Some(0), "no_new_privs=0 seccomp=0 root=rw", ""),
            false,
        );
        assert_eq!(why, None);
    }

    #[test]
    fn specifiers_are_expanded_and_escaped_percent_kept() {
        let uid = crate::fsutil::own_uid();
        assert_eq!(
            expand(
                "ReadWritePaths=%h -/tmp/tmux-%U -/srv/100%%",
                Path::new("/home/op")
            ),
            format!("ReadWritePaths=/home/op -/tmp/tmux-{uid} -/srv/100%")
        );
    }
}
