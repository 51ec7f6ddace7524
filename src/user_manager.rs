//! The systemd user manager, through `systemctl --user` and `systemd-run --user`: the
//! only module that runs them. Whether a manager runs, what it says of ccf's units, and a
//! transient unit that tries a set of sandbox settings.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;

/// The user manager's private socket: present when a user systemd runs.
pub fn private_socket() -> Option<PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(|d| PathBuf::from(d).join("systemd/private"))
}

/// Whether a user systemd runs: its private socket exists.
pub fn reachable() -> bool {
    private_socket().is_some_and(|p| p.exists())
}

/// A systemd client program, without stdin.
#[expect(
    clippy::disallowed_methods,
    reason = "this module is the adapter that runs systemd's programs"
)]
fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs `systemctl --user ARGS` and fails with its stderr unless it exits 0.
pub fn systemctl(args: &[String]) -> Result<()> {
    let line = format!("systemctl --user {}", args.join(" "));
    let out = command("systemctl")
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

/// Which of a set of units are enabled and which active.
pub struct Enablement {
    pub enabled: BTreeSet<String>,
    pub active: BTreeSet<String>,
}

/// Which of `names` are enabled and which active (one line per unit, in order).
pub fn enablement(names: &[&str]) -> Result<Enablement> {
    let query = |verb: &str, good: &[&str]| -> Result<BTreeSet<String>> {
        let out = command("systemctl")
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
    Ok(Enablement {
        enabled: query("is-enabled", &["enabled", "enabled-runtime", "static"])?,
        active: query("is-active", &["active", "activating", "reloading"])?,
    })
}

/// What the manager says of one unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitInfo {
    pub name: String,
    /// `loaded`, `not-found`, …
    pub load: String,
    /// `active`, `inactive`, `failed`, `activating`, …
    pub active: String,
    /// `success`, `exit-code`, `timeout`, … (the last run's, for a service).
    pub result: String,
    /// The main process's last exit status (a service).
    pub exit_status: Option<i32>,
    /// When the main process last exited (a service).
    pub exited_at: Option<Timestamp>,
    /// When the timer fires next (a timer).
    pub next_run: Option<Timestamp>,
    /// When the timer last fired (a timer).
    pub last_trigger: Option<Timestamp>,
    /// The unit file it was loaded from.
    pub fragment: Option<PathBuf>,
}

impl UnitInfo {
    pub fn installed(&self) -> bool {
        self.load == "loaded"
    }

    /// A unit whose last run failed.
    pub fn failed(&self) -> bool {
        self.active == "failed" || (self.result != "success" && !self.result.is_empty())
    }

    /// One line for people: `failed (exit-code, status 226/NAMESPACE) at …`.
    pub fn describe(&self) -> String {
        use std::fmt::Write as _;
        let mut s = self.active.clone();
        if self.failed() {
            let _ = write!(s, " ({}", self.result);
            if let Some(code) = self.exit_status.filter(|c| *c != 0) {
                let _ = write!(s, ", status {code}");
                if let Some(name) = exit_status_name(code) {
                    let _ = write!(s, "/{name}");
                }
            }
            s.push(')');
        }
        if let Some(t) = self.exited_at {
            let _ = write!(s, ", last run ended {t}");
        }
        if let Some(t) = self.last_trigger {
            let _ = write!(s, ", last fired {t}");
        }
        if let Some(t) = self.next_run {
            let _ = write!(s, ", next {t}");
        }
        s
    }
}

/// What the user manager says of ccf's installed units, or `None` when no manager is
/// reachable or none of them is installed.
pub fn installed_units(names: &[&str]) -> Option<Vec<UnitInfo>> {
    if !reachable() {
        return None;
    }
    let units: Vec<UnitInfo> = show(names)
        .map_err(|e| crate::log::warn(&format!("{e:#}")))
        .ok()?
        .into_iter()
        .filter(UnitInfo::installed)
        .collect();
    (!units.is_empty()).then_some(units)
}

/// The problems the units show: each failed one, named with how it failed.
pub fn unit_problems(units: &[UnitInfo]) -> Vec<String> {
    units
        .iter()
        .filter(|u| u.failed())
        .map(|u| format!("{} {}", u.name, u.describe()))
        .collect()
}

const SHOWN: &str = "Id,LoadState,ActiveState,Result,ExecMainStatus,ExecMainExitTimestamp,NextElapseUSecRealtime,LastTriggerUSec,FragmentPath";

/// What the manager says of each of `names`, in order.
pub fn show(names: &[&str]) -> Result<Vec<UnitInfo>> {
    let out = command("systemctl")
        .args(["--user", "show", "--timestamp=utc", "-p", SHOWN])
        .args(names)
        .stdin(Stdio::null())
        .output()
        .context("failed to run systemctl --user show")?;
    if !out.status.success() {
        bail!(
            "systemctl --user show failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(parse_show(&String::from_utf8_lossy(&out.stdout)))
}

/// `systemctl show` output: one block of `Key=value` lines per unit, blank-separated.
fn parse_show(text: &str) -> Vec<UnitInfo> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut u = UnitInfo::default();
            for (k, v) in block.lines().filter_map(|l| l.split_once('=')) {
                match k {
                    "Id" => u.name = v.to_string(),
                    "LoadState" => u.load = v.to_string(),
                    "ActiveState" => u.active = v.to_string(),
                    "Result" => u.result = v.to_string(),
                    "ExecMainStatus" => u.exit_status = v.parse().ok(),
                    "ExecMainExitTimestamp" => u.exited_at = parse_utc(v),
                    "NextElapseUSecRealtime" => u.next_run = parse_utc(v),
                    "LastTriggerUSec" => u.last_trigger = parse_utc(v),
                    "FragmentPath" if !v.is_empty() => u.fragment = Some(PathBuf::from(v)),
                    _ => {}
                }
            }
            u
        })
        .collect()
}

/// A `--timestamp=utc` time (`Tue 2026-12-01 23:28:30 UTC`); empty or `n/a` is none.
fn parse_utc(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    let rest = v.split_once(' ').map_or(v, |(_, r)| r);
    let rest = rest.strip_suffix(" UTC")?;
    jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", rest)
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// How a transient unit ended.
#[derive(Debug, Clone)]
pub struct Transient {
    /// Its exit status (systemd-run's own, which passes the unit's on); `None` when it
    /// was killed.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `argv` as a transient service of the user manager with `properties`, waits for
/// it (at most `max_secs`) and returns how it ended.
pub fn run_transient(properties: &[String], argv: &[String], max_secs: u32) -> Result<Transient> {
    let mut cmd = command("systemd-run");
    cmd.args(["--user", "--wait", "--collect", "--quiet", "--pipe"])
        .arg(format!("--property=RuntimeMaxSec={max_secs}"));
    for p in properties {
        cmd.arg(format!("--property={p}"));
    }
    let out = cmd
        .arg("--")
        .args(argv)
        .stdin(Stdio::null())
        .output()
        .context("failed to run systemd-run --user (is systemd installed?)")?;
    Ok(Transient {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// The exposure `systemd-analyze security --user --offline=yes` gives the unit file at
/// `path` (`6.4 MEDIUM`), or `None` when it cannot be scored here.
pub fn exposure(path: &std::path::Path) -> Option<String> {
    let out = command("systemd-analyze")
        .args(["security", "--user", "--offline=yes", "--no-pager"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))?;
    // "4.2 MEDIUM :-|": the score and its word, without colours.
    let score = strip_ansi(line.split_once(": ")?.1);
    Some(
        score
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        match (esc, c) {
            (false, '\x1b') => esc = true,
            (true, 'm') => esc = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

/// The name systemd gives an exit status of its own (systemd.exec(5), "Process exit
/// codes"): the step of starting a service that failed.
pub fn exit_status_name(status: i32) -> Option<&'static str> {
    Some(match status {
        200 => "CHDIR",
        203 => "EXEC",
        206 => "OOM_ADJUST",
        210 => "CHROOT",
        214 => "SETSCHEDULER",
        216 => "GROUP",
        217 => "USER",
        218 => "CAPABILITIES",
        226 => "NAMESPACE",
        227 => "NO_NEW_PRIVILEGES",
        228 => "SECCOMP",
        231 => "APPARMOR",
        233 => "PERSONALITY",
        237 => "KEYRING",
        238 => "STATE_DIRECTORY",
        242 => "NUMA",
        243 => "CREDENTIALS",
        _ => return None,
    })
}

/// Whether an exit status is systemd's own (the service never ran its command).
pub fn is_setup_failure(status: i32) -> bool {
    (200..=243).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_blocks_parse_in_order_with_utc_times() {
        let text = "Result=exit-code\nExecMainExitTimestamp=Tue 2026-12-01 23:28:14 UTC\nExecMainStatus=226\nId=ccf-check-quota.service\nLoadState=loaded\nActiveState=failed\n\nNextElapseUSecRealtime=Tue 2026-12-01 23:28:30 UTC\nLastTriggerUSec=\nResult=success\nId=ccf-check-quota.timer\nLoadState=loaded\nActiveState=active\n\nId=ccf-x.service\nLoadState=not-found\nActiveState=inactive\nResult=success\nExecMainStatus=0\nExecMainExitTimestamp=\n";
        let u = parse_show(text);
        assert_eq!(u.len(), 3);
        assert_eq!(u[0].name, "ccf-check-quota.service");
        assert!(u[0].failed());
        assert_eq!(u[0].exit_status, Some(226));
        assert_eq!(
            u[0].exited_at,
            Some("2026-12-01T23:28:14Z".parse().unwrap())
        );
        assert!(!u[1].failed());
        assert_eq!(u[1].next_run, Some("2026-12-01T23:28:30Z".parse().unwrap()));
        assert_eq!(u[1].last_trigger, None);
        assert!(!u[2].installed());
        let problems = unit_problems(&u);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "ccf-check-quota.service failed (exit-code, status 226/NAMESPACE), last run ended 2026-12-01T23:28:14Z"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn systemd_s_own_statuses_have_names() {
        assert_eq!(exit_status_name(226), Some("NAMESPACE"));
        assert_eq!(exit_status_name(218), Some("CAPABILITIES"));
        assert!(is_setup_failure(226) && !is_setup_failure(75) && !is_setup_failure(1));
    }
}
