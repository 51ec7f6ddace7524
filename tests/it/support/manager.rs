//! An unprivileged test user with a real systemd user manager
//! (`scripts/user-manager.sh`), and ways to act as that user: run ccf, systemctl, tmux,
//! write files it owns. The user, its processes, its cgroup and its home are removed on
//! drop. Needs root and systemd's binaries: elsewhere the tier is skipped with one line
//! on stderr, and with `CI=true` it fails instead.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::wait_for;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/user-manager.sh");

pub struct UserManager {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

impl Drop for UserManager {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT)
            .args(["stop", &self.user])
            .stdin(Stdio::null())
            .output();
    }
}

/// Why the tier cannot run here, if it cannot.
fn missing() -> Option<String> {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    if !root {
        return Some("it must run as root (it creates a user and a cgroup)".into());
    }
    for p in [
        "/lib/systemd/systemd",
        "/usr/bin/systemctl",
        "/usr/bin/systemd-run",
    ] {
        if !Path::new(p).exists() {
            return Some(format!(
                "{p} is missing (scripts/install-test-deps.sh installs it)"
            ));
        }
    }
    None
}

impl UserManager {
    /// Creates `user` and starts its manager; `None` (after one line on stderr) where
    /// the tier cannot run, and a panic instead in CI.
    pub fn start(user: &str) -> Option<UserManager> {
        if let Some(why) = missing() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the user-manager tier is required in CI: {why}"
            );
            eprintln!("SKIPPED user-manager test: {why}");
            return None;
        }
        // A run that died left its user behind: start clean.
        let _ = Command::new(SCRIPT).args(["stop", user]).output();
        let out = Command::new(SCRIPT)
            .args(["start", user])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "user-manager.sh start {user}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let id = |flag: &str| -> u32 {
            let o = Command::new("id").args([flag, user]).output().unwrap();
            String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
        };
        let home = PathBuf::from(format!("/home/{user}"));
        Some(UserManager {
            user: user.into(),
            uid: id("-u"),
            gid: id("-g"),
            home,
        })
    }

    pub fn runtime_dir(&self) -> String {
        format!("/run/user/{}", self.uid)
    }

    /// The environment of the user's commands: no locale, like the manager's.
    pub fn env(&self) -> Vec<(String, String)> {
        let h = self.home.display();
        vec![
            ("HOME".into(), h.to_string()),
            ("USER".into(), self.user.clone()),
            ("LOGNAME".into(), self.user.clone()),
            ("SHELL".into(), "/bin/bash".into()),
            (
                "PATH".into(),
                format!("{h}/.cargo/bin:{h}/.local/bin:/usr/local/bin:/usr/bin:/bin"),
            ),
            ("XDG_RUNTIME_DIR".into(), self.runtime_dir()),
        ]
    }

    fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", &self.user, "--", "env", "-i"])
            .args(self.env().iter().map(|(k, v)| format!("{k}={v}")))
            .args(argv)
            .current_dir(&self.home);
        cmd
    }

    /// Runs `argv` as the user, in its home.
    pub fn run(&self, argv: &[&str]) -> Output {
        self.command(argv)
            .stdin(Stdio::null())
            .output()
            .expect("runuser runs")
    }

    /// Runs `argv` as the user with `input` on stdin.
    pub fn run_with_input(&self, argv: &[&str], input: &str) -> Output {
        let mut child = self
            .command(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runuser runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// The user's installed ccf (what `cargo install` put in `~/.cargo/bin`).
    pub fn ccf(&self, args: &[&str]) -> Output {
        let bin = self.home.join(".cargo/bin/ccf");
        let mut line = vec![bin.to_str().unwrap()];
        line.extend(args);
        self.run(&line)
    }

    pub fn systemctl(&self, args: &[&str]) -> Output {
        let mut line = vec!["systemctl", "--user"];
        line.extend(args);
        self.run(&line)
    }

    /// One property of a unit (`systemctl --user show -p P --value`).
    pub fn property(&self, unit: &str, property: &str) -> String {
        let out = self.systemctl(&["show", "-p", property, "--value", unit]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs tmux as the user on its default server (the one `ccf-tmux.service` runs).
    pub fn tmux(&self, args: &[&str]) -> Output {
        let mut line = vec!["tmux", "-u"];
        line.extend(args);
        self.run(&line)
    }

    /// What the pane of `session` shows.
    pub fn capture(&self, session: &str) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &format!("={session}:")]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn wait_for_text(&self, session: &str, text: &str, timeout: Duration) {
        wait_for(&format!("{text:?} in {session}"), timeout, || {
            self.capture(session).contains(text).then_some(())
        });
    }

    /// Writes `rel` under the home as the user's own file, creating its directories.
    pub fn put(&self, rel: &str, content: &[u8], mode: u32) -> PathBuf {
        let path = self.home.join(rel);
        let mut dir = path.parent().unwrap().to_path_buf();
        let mut created = Vec::new();
        while !dir.exists() {
            created.push(dir.clone());
            dir = dir.parent().unwrap().to_path_buf();
        }
        for d in created.iter().rev() {
            std::fs::create_dir(d).unwrap();
            self.own(d);
        }
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        self.own(&path);
        path
    }

    pub fn own(&self, path: &Path) {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).unwrap();
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }
}

/// Asserts a command exited 0, showing what it said otherwise.
pub fn ok(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n--- stdout:\n{stdout}--- stderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// An unprivileged user without a manager, for tests that only need to run as one (the
/// real client refuses `--dangerously-skip-permissions` as root). Removed on drop.
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl TestUser {
    /// `None` (after one line on stderr) where users cannot be made, and a panic instead
    /// in CI.
    pub fn create(name: &str) -> Option<TestUser> {
        if let Some(why) = missing() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "tests as an ordinary user are required in CI: {why}"
            );
            eprintln!("SKIPPED test as an ordinary user: {why}");
            return None;
        }
        let _ = Command::new("pkill").args(["-KILL", "-u", name]).output();
        let _ = Command::new("userdel").arg(name).output();
        let out = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/bash", name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "useradd {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = |flag: &str| -> u32 {
            let o = Command::new("id").args([flag, name]).output().unwrap();
            String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
        };
        Some(TestUser {
            name: name.into(),
            uid: id("-u"),
            gid: id("-g"),
        })
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args(["-KILL", "-u", &self.name])
            .output();
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}
