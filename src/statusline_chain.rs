//! The one module that runs the operator's own status-line command, chained behind
//! `ccf hook statusline --then COMMAND` (ARCHITECTURE.md, "The status line is chained").
//!
//! The command gets what Claude Code would have given it: `sh -c COMMAND` (as Claude Code
//! runs a hook), the same stdin bytes, the same environment and working directory; its
//! stderr goes where ccf's goes. It runs in a process group of its own, so a command
//! that outlives [`TIMEOUT`] is killed with everything it started, and the status line
//! is drawn from ccf's figures instead.

use std::io::{Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the operator's command may take before ccf's own line is printed instead.
/// Claude Code redraws the status line after every message and gives up on a draw a
/// newer one replaces; a status line that takes longer than this is already not seen.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// The most of the command's output that is kept (a status line is a few lines).
const MAX_OUTPUT: u64 = 64 << 10;

/// Why the operator's command gave no status line.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("could not be started: {0}")]
    Spawn(std::io::Error),
    #[error("exited with {0}")]
    Exit(ExitStatus),
    #[error("took longer than {}s and was killed", TIMEOUT.as_secs())]
    Timeout,
    #[error("could not be waited for: {0}")]
    Wait(std::io::Error),
}

#[expect(
    clippy::disallowed_methods,
    reason = "this module is the adapter that runs the operator's status-line command"
)]
fn shell(command: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command);
    cmd
}

/// Runs `command` with `input` on its stdin and returns its stdout when it exits 0
/// within `timeout`.
pub fn run(command: &str, input: &[u8], timeout: Duration) -> Result<Vec<u8>, Failure> {
    let deadline = Instant::now() + timeout;
    let mut child = shell(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(Failure::Spawn)?;
    // A command that never reads its stdin must not block ccf on a full pipe: the
    // input is written from a thread, and a closed pipe is not an error.
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let mut stdout = stdout;
            let _ = (&mut stdout).take(MAX_OUTPUT).read_to_end(&mut out);
            // Whatever is past the cap is read and dropped, so the writer never blocks.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
            let _ = tx.send(out);
        });
    }
    // The end of its output is the usual sign that the command is done; then its exit.
    // A background process still holding the pipe at the deadline counts as a hang.
    let Ok(out) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
        kill(&mut child);
        return Err(Failure::Timeout);
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(None) => {
                kill(&mut child);
                return Err(Failure::Timeout);
            }
            Err(e) => {
                kill(&mut child);
                return Err(Failure::Wait(e));
            }
        }
    };
    if !status.success() {
        return Err(Failure::Exit(status));
    }
    Ok(out)
}

/// Kills the command's whole process group and reaps the shell.
fn kill(child: &mut Child) {
    if let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_reads_the_same_input_and_its_output_is_returned() {
        let out = run("printf 'mine '; cat", b"{\"a\":1}", TIMEOUT).unwrap();
        assert_eq!(out, b"mine {\"a\":1}");
    }

    #[test]
    fn a_failing_command_and_a_hanging_one_give_no_line() {
        assert!(matches!(
            run("echo partial; exit 3", b"", TIMEOUT),
            Err(Failure::Exit(_))
        ));
        let start = Instant::now();
        let hung = run("sleep 30 & sleep 30", b"", Duration::from_millis(200));
        assert!(matches!(hung, Err(Failure::Timeout)), "{hung:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_command_that_ignores_a_large_input_does_not_block() {
        let input = vec![b'x'; 1 << 20];
        assert_eq!(run("echo ok", &input, TIMEOUT).unwrap(), b"ok\n");
    }
}
