//! A sandboxed world for one test: a temp HOME holding account homes, a queue and a
//! config; the fake claude first on PATH; a private tmux server whose environment is
//! the sandbox's. Nothing of the developer's HOME, tmux server or environment leaks in.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Run, TmuxServer};

pub struct Sandbox {
    // Fields drop in order: the tmux server (and the programs in its panes) goes before
    // the directory they write into, or a late write leaves the directory behind.
    pub tmux: TmuxServer,
    _root: tempfile::TempDir,
    pub home: PathBuf,
    pub bin: PathBuf,
    pub config: PathBuf,
    pub accounts: Vec<String>,
    /// The unprivileged user (uid, gid) that runs tmux, ccf and claude here, when not
    /// the test's own: what the operator's host looks like.
    pub owner: Option<(u32, u32)>,
    /// Variables every ccf run of this sandbox gets on top of the base environment.
    extra_env: std::cell::RefCell<Vec<(String, String)>>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // kill-server hangs up the panes; wait (bounded) for their programs and those
        // programs' children to go before the directory they write into is removed.
        let mut pids: Vec<u32> = String::from_utf8_lossy(
            &self
                .tmux
                .tmux(["list-panes", "-a", "-F", "#{pane_pid}"])
                .stdout,
        )
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
        let mut i = 0;
        while i < pids.len() {
            let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", pids[i]))
                .unwrap_or_default();
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
            i += 1;
        }
        let _ = self.tmux.tmux(["kill-server"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        // A zombie (state Z) has finished writing; it lingers until something reaps it.
        let alive = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
                .unwrap_or(false)
        };
        for pid in pids {
            while alive(pid) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

impl Sandbox {
    /// Two accounts (compte1, compte2), one dedicated session `ccl-1-proj` in `~/proj`,
    /// the pool `ccl-auto-11..20` in `~/work`.
    pub fn new() -> Sandbox {
        Sandbox::with_accounts(&["compte1", "compte2"])
    }

    pub fn with_accounts(names: &[&str]) -> Sandbox {
        Sandbox::build(names, None)
    }

    /// A sandbox whose tmux server, ccf runs and claude are `owner`'s (uid, gid): the
    /// test writes as root, then hands the files over ([`Sandbox::hand_over`]).
    pub fn owned_by(owner: (u32, u32)) -> Sandbox {
        Sandbox::build(&["compte1", "compte2"], Some(owner))
    }

    fn build(names: &[&str], owner: Option<(u32, u32)>) -> Sandbox {
        let root = tempfile::Builder::new().prefix("ccf-sb").tempdir().unwrap();
        let home = root.path().join("home");
        let bin = root.path().join("bin");
        for d in [
            &home,
            &bin,
            &home.join("work"),
            &home.join("proj"),
            &root.path().join("tmp"),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_claude.py");
        let wrapper = bin.join("claude");
        // argv[0] "claude", so tmux's #{pane_current_command} shows claude like the real one.
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/bash\nexec -a claude /usr/bin/python3 {} \"$@\"\n",
                fake.display()
            ),
        )
        .unwrap();
        set_mode(&wrapper, 0o755);
        let env = base_env(&home, &bin, root.path());
        if let Some((uid, gid)) = owner {
            chown_tree(root.path(), uid, gid);
        }
        if owner.is_some() {
            let to = bin.join("ccf");
            if std::fs::hard_link(env!("CARGO_BIN_EXE_ccf"), &to).is_err() {
                std::fs::copy(env!("CARGO_BIN_EXE_ccf"), &to).unwrap();
            }
        }
        let tmux = TmuxServer::start_as(&env, owner);
        let config = home.join("ccf.yaml");
        let sb = Sandbox {
            _root: root,
            home,
            bin,
            config,
            tmux,
            accounts: names.iter().map(|s| (*s).to_string()).collect(),
            owner,
            extra_env: std::cell::RefCell::default(),
        };
        sb.write_config(&sb.default_config());
        sb
    }

    /// The config every test starts from; tests append or replace it.
    pub fn default_config(&self) -> String {
        let mut s = String::from("accounts:\n");
        for a in &self.accounts {
            let _ = write!(s, "  - name: {a}\n    home: ~/.claude-{a}\n");
        }
        let _ = write!(
            s,
            "claude_link: ~/.claude\nshared:\n  root: ~/.claude-shared\nstate_dir: ~/state\ntimezone: UTC\ntmux:\n  socket_path: {}\nclaude:\n  command: claude\n  args: []\npool:\n  autonomous: {{prefix: ccl-auto-, start_index: 11, min: 2, max: 10, workdir: ~/work}}\n  dedicated:\n    - {{name: ccl-1-proj, project: ~/proj}}\ndispatcher:\n  queue_dir: ~/queue\n",
            self.tmux.socket.display()
        );
        s
    }

    pub fn write_config(&self, yaml: &str) {
        std::fs::write(&self.config, yaml).unwrap();
        self.hand_over();
    }

    /// Gives every file of the sandbox to its owner, when it has one (after the test
    /// wrote some as root).
    pub fn hand_over(&self) {
        if let Some((uid, gid)) = self.owner {
            chown_tree(self.home.parent().unwrap(), uid, gid);
        }
    }

    /// The environment ccf runs with.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = base_env(&self.home, &self.bin, self.home.parent().unwrap());
        env.push(("CCF_CONFIG".into(), self.config.display().to_string()));
        env.extend(self.extra_env.borrow().iter().cloned());
        env
    }

    /// Gives every later ccf run of this sandbox `key=value`.
    pub fn set_env(&self, key: &str, value: &str) {
        self.extra_env
            .borrow_mut()
            .push((key.to_string(), value.to_string()));
    }

    /// Runs ccf in this sandbox; expects exit 0 unless told otherwise.
    pub fn ccf(&self, args: &[&str]) -> Run {
        let run = Run::new(&self.env(), args);
        match self.owner {
            // The owner may not reach the checkout (CI clones into a root-only temp
            // dir): it runs its own copy of the binary, inside the sandbox.
            Some(_) => run.program(&self.bin.join("ccf")).owner(self.owner),
            None => run,
        }
    }

    /// Puts `file` where the sandbox's owner can run it (`<dir>/<its name>` in the
    /// sandbox; the name is kept, tmux shows it as the pane's command): a hard link, or a
    /// copy across file systems. Returns the new path.
    pub fn reachable_copy(&self, file: &Path, dir: &str) -> PathBuf {
        let dir = self.home.parent().unwrap().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let to = dir.join(file.file_name().unwrap());
        if std::fs::hard_link(file, &to).is_err() {
            std::fs::copy(file, &to).unwrap();
        }
        self.hand_over();
        to
    }

    pub fn account_home(&self, name: &str) -> PathBuf {
        self.home.join(format!(".claude-{name}"))
    }

    /// Makes an account home look logged in: credentials, onboarding done, and the pool
    /// workdir and dedicated projects trusted.
    pub fn login(&self, name: &str) {
        let h = self.account_home(name);
        std::fs::create_dir_all(&h).unwrap();
        std::fs::write(
            h.join(".credentials.json"),
            format!("{{\"claudeAiOauth\":{{\"accessToken\":\"tok-{name}\"}}}}"),
        )
        .unwrap();
        set_mode(&h.join(".credentials.json"), 0o600);
        let trust = |d: &str| {
            (
                self.home.join(d).display().to_string(),
                serde_json::json!({"hasTrustDialogAccepted": true}),
            )
        };
        let projects: serde_json::Map<String, serde_json::Value> =
            ["work", "proj"].into_iter().map(trust).collect();
        let doc = serde_json::json!({"hasCompletedOnboarding": true, "projects": projects});
        std::fs::write(h.join(".claude.json"), doc.to_string()).unwrap();
        // What a claude on ~/.claude (ccf relaunches there) reads: the operator ran one.
        std::fs::write(self.home.join(".claude.json"), doc.to_string()).unwrap();
    }

    pub fn login_all(&self) {
        for a in self.accounts.clone() {
            self.login(&a);
        }
    }

    /// Sets what the fake claude answers on `account`: `normal`, `limit EPOCH`, `500`, …
    pub fn set_mode(&self, account: &str, mode: &str) {
        std::fs::write(self.account_home(account).join("fake-mode"), mode).unwrap();
    }

    pub fn state_file(&self) -> PathBuf {
        self.home.join("state/state.json")
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.state_file()).unwrap()).unwrap()
    }

    /// Every invocation of the fake claude so far.
    pub fn claude_log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.home.join("fake-claude.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Adds a webhook that is down, so queued events stay in the outbox for the test to
    /// read (with no channel at all, delivery lets them go).
    pub fn hold_notifications(&self) {
        let mut config = std::fs::read_to_string(&self.config).unwrap();
        let _ = write!(
            config,
            "notifications:\n  webhook: {{url: \"{}\"}}\n",
            super::http::dead_url()
        );
        self.write_config(&config);
    }

    /// The messages waiting in the outbox, oldest first.
    pub fn outbox(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.home.join("state/outbox"))
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }
}

fn base_env(home: &Path, bin: &Path, root: &Path) -> Vec<(String, String)> {
    let h = home.display();
    vec![
        ("HOME".into(), h.to_string()),
        (
            "PATH".into(),
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
        ),
        ("XDG_CONFIG_HOME".into(), format!("{h}/.config")),
        ("XDG_STATE_HOME".into(), format!("{h}/.local/state")),
        ("XDG_RUNTIME_DIR".into(), format!("{}/tmp", root.display())),
        ("TMPDIR".into(), format!("{}/tmp", root.display())),
        ("LANG".into(), "C.UTF-8".into()),
        ("TERM".into(), "xterm-256color".into()),
        ("SHELL".into(), "/bin/bash".into()),
        ("USER".into(), "tester".into()),
    ]
}

fn chown_tree(dir: &Path, uid: u32, gid: u32) {
    let _ = std::os::unix::fs::lchown(dir, Some(uid), Some(gid));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                chown_tree(&p, uid, gid);
            } else {
                let _ = std::os::unix::fs::lchown(&p, Some(uid), Some(gid));
            }
        }
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
