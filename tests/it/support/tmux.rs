//! A real tmux server on a private socket, started with a clean environment and
//! `-f /dev/null`, killed on drop. Never the developer's own server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub struct TmuxServer {
    dir: tempfile::TempDir,
    pub socket: PathBuf,
    env: Vec<(String, String)>,
    /// The unprivileged user the server runs as (uid, gid), when not the test's own.
    owner: Option<(u32, u32)>,
}

impl TmuxServer {
    /// Starts a server whose global environment is exactly `env` (plus what tmux adds);
    /// a `keepalive` session (a manual session, for ccf) keeps it running.
    pub fn start(env: &[(String, String)]) -> TmuxServer {
        TmuxServer::start_as(env, None)
    }

    /// The same, the server (and every tmux client of the test) running as `owner`.
    pub fn start_as(env: &[(String, String)], owner: Option<(u32, u32)>) -> TmuxServer {
        // Socket paths over ~100 bytes fail: keep it short, under /tmp.
        let dir = tempfile::Builder::new()
            .prefix("ccf-t")
            .tempdir_in("/tmp")
            .unwrap();
        let socket = dir.path().join("s");
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let server = TmuxServer {
            dir,
            socket,
            env: env.to_vec(),
            owner,
        };
        let out = server.tmux([
            "new-session",
            "-d",
            "-s",
            "keepalive",
            "-x",
            "200",
            "-y",
            "50",
        ]);
        assert!(
            out.status.success(),
            "tmux did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server
    }

    pub fn tmux<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some((uid, gid)) = self.owner {
            use std::os::unix::process::CommandExt as _;
            cmd.uid(uid).gid(gid);
        }
        cmd.output().expect("tmux runs")
    }

    /// Runs tmux and returns stdout, panicking on failure.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.tmux(args);
        assert!(
            out.status.success(),
            "tmux failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A detached session in `cwd`, running `argv` (the default shell when empty).
    pub fn new_session(&self, name: &str, cwd: &Path, argv: &[&str]) {
        let mut cmdline: Vec<String> = [
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "200",
            "-y",
            "50",
            "-c",
        ]
        .map(String::from)
        .to_vec();
        cmdline.push(cwd.display().to_string());
        if !argv.is_empty() {
            cmdline.push("--".into());
            cmdline.extend(argv.iter().map(|a| (*a).to_string()));
        }
        self.ok(&cmdline);
    }

    pub fn has_session(&self, name: &str) -> bool {
        self.tmux(["has-session", "-t", &format!("={name}")])
            .status
            .success()
    }

    pub fn sessions(&self) -> Vec<String> {
        self.ok(["list-sessions", "-F", "#{session_name}"])
            .lines()
            .map(String::from)
            .collect()
    }

    pub fn capture(&self, name: &str) -> String {
        self.ok([
            "capture-pane",
            "-p",
            "-J",
            "-t",
            &format!("={name}:"),
            "-S",
            "-200",
        ])
    }

    pub fn pane(&self, name: &str, format: &str) -> String {
        self.ok(["display-message", "-p", "-t", &format!("={name}:"), format])
            .trim()
            .to_string()
    }

    pub fn pane_command(&self, name: &str) -> String {
        self.pane(name, "#{pane_current_command}")
    }

    pub fn pane_pid(&self, name: &str) -> u32 {
        self.pane(name, "#{pane_pid}").parse().unwrap()
    }

    /// Types a line into a pane (literally) and presses Enter.
    pub fn type_line(&self, name: &str, text: &str) {
        self.ok(["send-keys", "-t", &format!("={name}:"), "-l", "--", text]);
        self.ok(["send-keys", "-t", &format!("={name}:"), "Enter"]);
    }

    /// Waits until the pane shows `needle`.
    pub fn wait_for_text(&self, name: &str, needle: &str) -> String {
        super::wait_for(
            &format!("{needle:?} in {name}"),
            Duration::from_secs(10),
            || {
                let c = self.capture(name);
                c.contains(needle).then_some(c)
            },
        )
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = self.tmux(["kill-server"]);
    }
}
