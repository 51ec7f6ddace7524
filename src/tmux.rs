//! The only module that runs tmux.
//!
//! Every call goes through `Tmux::run`, which adds `-N` (never start a server: a server
//! born inside a oneshot unit would die with the unit's cgroup, so ccf must never become
//! its parent), the configured socket, and removes `$TMUX` so the operator's own client
//! never decides which server ccf talks to. Targets use tmux's exact-match form
//! (`=name:`), so `ccl-auto-1` can never address `ccl-auto-11`. "No server running" is
//! an empty list of sessions, not an error.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

use crate::config::TmuxSocket;

/// A handle on one tmux server.
#[derive(Debug, Clone)]
pub struct Tmux {
    program: OsString,
    socket: Vec<OsString>,
}

/// One tmux session, seen through its active pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pane {
    pub session: String,
    pub pane_id: String,
    pub pid: u32,
    /// `#{pane_current_command}`: the basename of the foreground process's `argv[0]`.
    pub command: String,
    pub cwd: PathBuf,
    pub dead: bool,
}

impl Pane {
    /// Whether the pane's foreground process is Claude Code: the native build shows
    /// `claude`, the npm build `claude.exe`, older npm builds `node`.
    pub fn runs_claude(&self) -> bool {
        !self.dead && is_claude_command(&self.command)
    }

    /// Whether nothing runs in the pane but its shell (or nothing at all): the pane is
    /// free for a task, and a claude that was there has exited.
    pub fn at_shell(&self) -> bool {
        self.dead || is_shell(&self.command)
    }
}

/// Whether a foreground command is an interactive shell. A login shell's `argv[0]`
/// starts with `-` (`-bash`), which is what tmux shows for a pane opened as one.
pub fn is_shell(command: &str) -> bool {
    matches!(
        command.strip_prefix('-').unwrap_or(command),
        "bash" | "sh" | "zsh" | "fish" | "dash" | "ksh" | "mksh" | "tcsh" | "csh" | "ash" | "nu"
    )
}

pub fn is_claude_command(command: &str) -> bool {
    matches!(command, "claude" | "claude.exe" | "node")
}

/// What a launched process gets: argv, working directory and extra environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Launch {
    /// tmux runs a one-element command through `sh -c`; more elements are exec'd as argv.
    /// ccf never wants a shell to read its text, so a single word gets `env` in front.
    fn argv(&self) -> Vec<String> {
        if self.argv.len() == 1 {
            vec!["env".into(), self.argv[0].clone()]
        } else {
            self.argv.clone()
        }
    }

    /// `-c CWD` and one `-e K=V` per variable, escaped for tmux.
    fn options(&self) -> Vec<OsString> {
        let mut args = vec!["-c".into(), unformatted(self.cwd.as_os_str())];
        for (k, v) in &self.env {
            args.extend(["-e".into(), literal(format!("{k}={v}").as_ref())]);
        }
        args
    }
}

/// Text ccf hands tmux as data, made to reach the program as it is. tmux splits its
/// argv into commands at any argument that *ends* in `;`, even after `--` (`-s x;` ends
/// the command there); a `\` before that `;` keeps it, and tmux removes the `\`.
fn literal(arg: &OsStr) -> OsString {
    let bytes = arg.as_bytes();
    match bytes.strip_suffix(b";") {
        Some(head) => OsString::from_vec([head, b"\\;"].concat()),
        None => arg.to_os_string(),
    }
}

/// Text that tmux expands as a format (`new-session -s`, every `-c`): `#(cmd)` there
/// runs `cmd` in a shell and `#{…}` is replaced, so each `#` is doubled (`##` is `#`).
fn unformatted(arg: &OsStr) -> OsString {
    let mut doubled = Vec::with_capacity(arg.len() + 2);
    for &b in arg.as_bytes() {
        if b == b'#' {
            doubled.push(b'#');
        }
        doubled.push(b);
    }
    literal(&OsString::from_vec(doubled))
}

/// Flags of every tmux client ccf runs. `-N`: never start a server. `-u`: the client
/// speaks UTF-8 whatever the locale; without it, under a user manager or cron with no
/// `LANG`, tmux writes the tabs of `-F` output and every non-ASCII character of a
/// captured pane as `_`, and ccf would see no panes and no banners.
const CLIENT_FLAGS: [&str; 2] = ["-N", "-u"];

const NO_SERVER: [&str; 3] = [
    "no server running",
    "error connecting to",
    "server exited unexpectedly",
];

impl Tmux {
    pub fn new(socket: &TmuxSocket) -> Tmux {
        // CCF_TMUX names another tmux executable (a wrapper that counts or slows calls,
        // for the tests and the benchmark).
        let program = std::env::var_os("CCF_TMUX").unwrap_or_else(|| "tmux".into());
        Tmux::with_program(program, socket)
    }

    pub fn with_program(program: impl Into<OsString>, socket: &TmuxSocket) -> Tmux {
        let socket = match socket {
            TmuxSocket::Default => vec![],
            TmuxSocket::Name(n) => vec!["-L".into(), n.into()],
            TmuxSocket::Path(p) => vec!["-S".into(), p.into()],
        };
        Tmux {
            program: program.into(),
            socket,
        }
    }

    /// A tmux client of ccf's server: `-N` (never start one), `-u`, the socket, no `$TMUX`.
    #[expect(
        clippy::disallowed_methods,
        reason = "this module is the adapter that runs tmux"
    )]
    fn client(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(CLIENT_FLAGS).args(&self.socket).env_remove("TMUX");
        cmd
    }

    /// Runs one tmux client with `args`; never starts a server.
    fn run<I, S>(&self, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        self.client()
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("failed to run {}", self.program.to_string_lossy()))
    }

    /// Runs tmux and fails with its stderr unless it exits 0.
    fn run_ok<I, S>(&self, what: &str, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let out = self.run(args)?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if is_no_server(&err) {
                bail!(
                    "{what}: no tmux server is running{}; start it (e.g. systemctl --user start ccf-tmux) — ccf never starts it itself",
                    self.socket_hint()
                );
            }
            bail!("{what}: tmux says: {}", err.trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn socket_hint(&self) -> String {
        match self.socket.as_slice() {
            [flag, v] => format!(" on {} {}", flag.to_string_lossy(), v.to_string_lossy()),
            _ => String::new(),
        }
    }

    /// Whether a server answers on the socket.
    pub fn server_running(&self) -> Result<bool> {
        let out = self.run(["list-sessions", "-F", "x"])?;
        Ok(out.status.success())
    }

    /// The server's global environment, which every new pane inherits (`-NAME` lines,
    /// variables removed from it, are left out); empty when no server runs.
    pub fn global_environment(&self) -> Result<Vec<(String, String)>> {
        let out = self.run(["show-environment", "-g"])?;
        if !out.status.success() {
            return Ok(Vec::new());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// Every session with its active pane; empty when no server runs.
    pub fn list(&self) -> Result<Vec<Pane>> {
        let out = self.run(["list-sessions", "-F", LIST_FORMAT])?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if is_no_server(&err) {
                return Ok(Vec::new());
            }
            bail!("failed to list tmux sessions: {}", err.trim());
        }
        Ok(parse_list(&String::from_utf8_lossy(&out.stdout)))
    }

    /// [`Tmux::list`] and the captures of `expected` in ONE tmux process. A session of
    /// `expected` that no longer exists makes tmux abort the captures after the listing:
    /// then the captures are empty and the caller captures what it needs (the listing
    /// is still good, it came first).
    pub fn survey(
        &self,
        expected: &[String],
        lines: u32,
    ) -> Result<(Vec<Pane>, BTreeMap<String, String>)> {
        if expected.is_empty() {
            return Ok((self.list()?, BTreeMap::new()));
        }
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let listed = format!("ccf-capture-{nonce}-list");
        let mut args: Vec<String> = vec![
            "list-sessions".into(),
            "-F".into(),
            LIST_FORMAT.into(),
            ";".into(),
            "display-message".into(),
            "-p".into(),
            listed.clone(),
            ";".into(),
        ];
        args.extend(capture_args(expected, lines, &nonce));
        let out = self.run(&args)?;
        let text = String::from_utf8_lossy(&out.stdout);
        let Some((list, rest)) = text.split_once(&format!("{listed}\n")) else {
            if out.status.success() {
                bail!("failed to list tmux sessions: tmux printed no listing");
            }
            // The listing itself failed: no server, or a real error.
            return Ok((self.list()?, BTreeMap::new()));
        };
        let panes = parse_list(list);
        let captures = match (
            out.status.success(),
            split_capture(rest, &nonce, expected.len()),
        ) {
            (true, Some(parts)) => expected.iter().cloned().zip(parts).collect(),
            _ => BTreeMap::new(),
        };
        Ok((panes, captures))
    }

    /// Captures the bottom `lines` lines of each session's active pane in ONE tmux
    /// process: `capture-pane …; display-message <marker>; …`. One bad target makes tmux
    /// abort the whole batch, so then each pane is captured on its own (and a pane that
    /// cannot be captured gets an error of its own).
    pub fn capture_many(&self, sessions: &[String], lines: u32) -> Vec<(String, Result<String>)> {
        if sessions.is_empty() {
            return Vec::new();
        }
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let args = capture_args(sessions, lines, &nonce);
        if let Ok(out) = self.run(&args)
            && out.status.success()
        {
            let text = String::from_utf8_lossy(&out.stdout);
            if let Some(parts) = split_capture(&text, &nonce, sessions.len()) {
                return sessions
                    .iter()
                    .cloned()
                    .zip(parts.into_iter().map(Ok))
                    .collect();
            }
        }
        sessions
            .iter()
            .map(|s| (s.clone(), self.capture(s, lines)))
            .collect()
    }

    /// Captures one session's active pane.
    pub fn capture(&self, session: &str, lines: u32) -> Result<String> {
        self.run_ok(
            &format!("failed to capture tmux session {session}"),
            [
                "capture-pane",
                "-p",
                "-J",
                "-t",
                &target(session),
                "-S",
                &format!("-{lines}"),
            ],
        )
    }

    /// Creates a detached session in `launch.cwd`; an empty argv starts the default shell.
    pub fn new_session(&self, name: &str, launch: &Launch) -> Result<()> {
        let mut args: Vec<OsString> = vec![
            "new-session".into(),
            "-d".into(),
            "-s".into(),
            unformatted(name.as_ref()),
        ];
        args.extend(launch.options());
        if !launch.argv.is_empty() {
            args.push("--".into());
            args.extend(launch.argv().iter().map(|a| literal(a.as_ref())));
        }
        self.run_ok(&format!("failed to create tmux session {name}"), args)?;
        Ok(())
    }

    /// Replaces the process in `session`'s active pane (`respawn-pane -k`), with the
    /// working directory and environment given on tmux's command line: nothing is typed
    /// into a shell.
    pub fn respawn(&self, session: &str, launch: &Launch) -> Result<()> {
        let mut args: Vec<OsString> = vec![
            "respawn-pane".into(),
            "-k".into(),
            "-t".into(),
            target(session).into(),
        ];
        args.extend(launch.options());
        args.push("--".into());
        args.extend(launch.argv().iter().map(|a| literal(a.as_ref())));
        self.run_ok(&format!("failed to respawn tmux session {session}"), args)?;
        Ok(())
    }

    pub fn kill_session(&self, session: &str) -> Result<()> {
        self.run_ok(
            &format!("failed to kill tmux session {session}"),
            ["kill-session", "-t", &target(session)],
        )?;
        Ok(())
    }

    /// Clears the scrollback of `session`'s pane, so an old banner cannot be read again.
    pub fn clear_history(&self, session: &str) -> Result<()> {
        self.run_ok(
            &format!("failed to clear the history of tmux session {session}"),
            ["clear-history", "-t", &target(session)],
        )?;
        Ok(())
    }

    /// Types `text` literally (through a paste buffer, so no word becomes a key and
    /// nothing is eaten), then presses Enter when `enter`.
    pub fn send_text(&self, session: &str, text: &str, enter: bool) -> Result<()> {
        let buffer = format!("ccf-{}", uuid::Uuid::new_v4().simple());
        let mut child = self
            .client()
            .args(["load-buffer", "-b", &buffer, "-"])
            .env_remove("TMUX")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("failed to run tmux load-buffer")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .context("failed to write to tmux load-buffer")?;
        }
        let out = child
            .wait_with_output()
            .context("failed to run tmux load-buffer")?;
        if !out.status.success() {
            bail!(
                "failed to load text for tmux session {session}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        self.run_ok(
            &format!("failed to paste into tmux session {session}"),
            [
                "paste-buffer",
                "-d",
                "-p",
                "-b",
                &buffer,
                "-t",
                &target(session),
            ],
        )?;
        if enter {
            self.run_ok(
                &format!("failed to send Enter to tmux session {session}"),
                ["send-keys", "-t", &target(session), "Enter"],
            )?;
        }
        Ok(())
    }

    /// Presses Enter in a session's active pane.
    pub fn press_enter(&self, session: &str) -> Result<()> {
        self.run_ok(
            &format!("failed to send Enter to tmux session {session}"),
            ["send-keys", "-t", &target(session), "Enter"],
        )?;
        Ok(())
    }

    /// The active pane of one session, if the session exists.
    pub fn pane(&self, session: &str) -> Result<Option<Pane>> {
        Ok(self.list()?.into_iter().find(|p| p.session == session))
    }
}

/// tmux's exact-match target for a session's current pane.
pub fn target(session: &str) -> String {
    format!("={session}:")
}

fn is_no_server(stderr: &str) -> bool {
    NO_SERVER.iter().any(|m| stderr.contains(m))
}

/// The fields of a listed session, tab-separated, in [`parse_list`]'s order.
const LIST_FORMAT: &str = "#{session_name}\t#{pane_id}\t#{pane_pid}\t#{pane_current_command}\t#{pane_dead}\t#{pane_current_path}";

/// `capture-pane` of each session's active pane, each followed by a marker line that
/// [`split_capture`] cuts at.
fn capture_args(sessions: &[String], lines: u32, nonce: &str) -> Vec<String> {
    let start = format!("-{lines}");
    let mut args: Vec<String> = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        if i > 0 {
            args.push(";".into());
        }
        let marker = format!("ccf-capture-{nonce}-{i}");
        args.extend(
            [
                "capture-pane",
                "-p",
                "-J",
                "-t",
                &target(s),
                "-S",
                &start,
                ";",
                "display-message",
                "-p",
                &marker,
            ]
            .map(String::from),
        );
    }
    args
}

fn parse_list(text: &str) -> Vec<Pane> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.splitn(6, '\t');
            Some(Pane {
                session: f.next()?.to_string(),
                pane_id: f.next()?.to_string(),
                pid: f.next()?.parse().unwrap_or(0),
                command: f.next()?.to_string(),
                dead: f.next()? == "1",
                cwd: PathBuf::from(f.next()?),
            })
        })
        .collect()
}

/// Splits a batched capture at its marker lines; `None` when the markers are not all
/// there in order (then the caller falls back to one capture per pane).
fn split_capture(text: &str, nonce: &str, count: usize) -> Option<Vec<String>> {
    let mut parts = Vec::with_capacity(count);
    let mut current = String::new();
    for line in text.lines() {
        if let Some(i) = line.strip_prefix(&format!("ccf-capture-{nonce}-")) {
            if i.parse::<usize>().ok()? != parts.len() {
                return None;
            }
            parts.push(std::mem::take(&mut current).trim_end().to_string());
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    (parts.len() == count).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn one_shell_predicate_for_the_failover_and_the_queue_login_shells_included() {
        let pane = |command: &str, dead: bool| Pane {
            session: "s".into(),
            pane_id: "%1".into(),
            pid: 1,
            command: command.into(),
            cwd: PathBuf::from("/"),
            dead,
        };
        for shell in ["bash", "-bash", "zsh", "-zsh", "sh", "fish", "dash"] {
            assert!(pane(shell, false).at_shell(), "{shell}");
        }
        for busy in ["claude", "claude.exe", "node", "vim", "--", "-", ""] {
            assert!(!pane(busy, false).at_shell(), "{busy:?}");
        }
        assert!(pane("claude", true).at_shell(), "a dead pane runs nothing");
    }

    #[test]
    fn split_capture_cuts_at_the_markers_only() {
        let text = "a\nb\n\nccf-capture-n-0\nccf-capture-x-1\nccf-capture-n-1\n";
        let parts = split_capture(text, "n", 2).unwrap();
        assert_eq!(
            parts,
            vec!["a\nb".to_string(), "ccf-capture-x-1".to_string()]
        );
        assert!(split_capture("ccf-capture-n-1\n", "n", 1).is_none());
    }

    #[test]
    fn parse_list_reads_every_field() {
        let panes = parse_list("ccl-auto-11\t%3\t42\tclaude\t0\t/home/op/my dir\n");
        assert_eq!(panes[0].cwd, Path::new("/home/op/my dir"));
        assert!(panes[0].runs_claude());
    }

    #[test]
    fn a_trailing_semicolon_is_escaped_so_tmux_does_not_end_the_command_there() {
        assert_eq!(literal(OsStr::new("fix it;")), "fix it\\;");
        assert_eq!(literal(OsStr::new("a\\;")), "a\\\\;");
        assert_eq!(literal(OsStr::new("a;b")), "a;b");
        assert_eq!(literal(OsStr::new(";")), "\\;");
    }

    #[test]
    fn hashes_are_doubled_where_tmux_expands_formats() {
        assert_eq!(unformatted(OsStr::new("/p/#(touch x)")), "/p/##(touch x)");
        assert_eq!(unformatted(OsStr::new("s#{host};")), "s##{host}\\;");
    }

    #[test]
    fn a_single_word_command_is_never_handed_to_a_shell() {
        let l = Launch {
            argv: vec!["claude".into()],
            cwd: "/".into(),
            env: vec![],
        };
        assert_eq!(l.argv(), vec!["env".to_string(), "claude".to_string()]);
    }
}
