//! `ccf cron`: crontab lines for hosts without a user systemd, on the units' schedule.
//!
//! No `flock`: ccf takes its own lock, and a run that finds it held exits 75, which the
//! lines treat as success. Output goes to `state_dir/cron.log` rather than to cron's mail.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::config::TmuxSocket;
use crate::context::Ctx;

pub fn run(ctx: &Ctx) -> Result<ExitCode> {
    let exe = std::env::current_exe().context("failed to find the running ccf binary")?;
    let config = std::path::absolute(&ctx.config.path)
        .with_context(|| format!("failed to make {} absolute", ctx.config.path.display()))?;
    let log = ctx.config.state_dir.join("cron.log");
    print!("{}", lines(&exe, &config, &log, &ctx.config.tmux));
    Ok(ExitCode::SUCCESS)
}

/// The crontab text: comments, then one line per schedule entry.
pub fn lines(ccf: &Path, config: &Path, log: &Path, tmux: &TmuxSocket) -> String {
    let ccf = word(&ccf.display().to_string());
    let config = word(&config.display().to_string());
    let log = word(&log.display().to_string());
    let run = |when: &str, delay: &str, args: &str| {
        format!("{when} {delay}{ccf} --config {config} {args} >>{log} 2>&1 || [ $? -eq 75 ]\n")
    };
    let socket = match tmux {
        TmuxSocket::Default => String::new(),
        TmuxSocket::Name(n) => format!(" -L {}", word(n)),
        TmuxSocket::Path(p) => format!(" -S {}", word(&p.display().to_string())),
    };
    let mut s = String::from(
        "# ccf on cron (hosts without a user systemd): the schedule of its systemd units.\n\
         # ccf locks itself (no flock); exit 75 means another run held the lock.\n\
         # The tmux server: started at boot from a login shell so panes get your PATH.\n",
    );
    // Inside bash's single quotes, `\;` reaches tmux as `;`; cron turns `\%` into `%`.
    let server = word(&format!(
        "exec tmux{socket} start-server \\; set-option -g exit-empty off"
    ));
    let _ = writeln!(s, "@reboot bash -lc {server}");
    let _ = writeln!(
        s,
        "@reboot sleep 5; {ccf} --config {config} ensure-symlinks >>{log} 2>&1; {ccf} --config {config} validate >>{log} 2>&1"
    );
    s.push_str(&run("* * * * *", "", "check-quota"));
    s.push_str(&run("* * * * *", "sleep 30; ", "check-quota"));
    s.push_str(&run("* * * * *", "sleep 15; ", "dispatch"));
    s.push_str(&run("*/5 * * * *", "sleep 45; ", "janitor"));
    s
}

/// A shell word in single quotes, with cron's `%` escaped.
fn word(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''")).replace('%', "\\%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_names_the_absolute_binary_and_config() {
        let text = lines(
            Path::new("/opt/bin/ccf"),
            Path::new("/etc/ccf/config.yaml"),
            Path::new("/var/ccf/cron.log"),
            &TmuxSocket::Default,
        );
        let runs: Vec<&str> = text.lines().filter(|l| l.contains("--config")).collect();
        assert_eq!(runs.len(), 5, "{text}");
        for l in runs {
            assert!(
                l.contains("'/opt/bin/ccf' --config '/etc/ccf/config.yaml' "),
                "{l}"
            );
        }
        assert!(text.contains("* * * * * sleep 30; '/opt/bin/ccf'"));
        assert!(text.contains("'/opt/bin/ccf' --config '/etc/ccf/config.yaml' janitor >>'/var/ccf/cron.log' 2>&1 || [ $? -eq 75 ]\n"));
    }

    #[test]
    fn percent_signs_and_quotes_are_escaped_for_cron_and_the_shell() {
        let text = lines(
            Path::new("/opt/it's/ccf"),
            Path::new("/etc/100%.yaml"),
            Path::new("/l"),
            &TmuxSocket::Name("a b".into()),
        );
        assert!(text.contains("'/opt/it'\\''s/ccf' --config '/etc/100\\%.yaml'"));
        assert!(text.contains("@reboot bash -lc 'exec tmux -L '\\''a b'\\'' start-server"));
    }
}
