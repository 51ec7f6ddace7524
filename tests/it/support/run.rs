//! Runs the built ccf binary with a cleared environment and checks exit code, stdout and
//! stderr together.

use std::io::Write as _;
use std::process::{Command, Stdio};

#[must_use = "a Run does nothing until .run()"]
pub struct Run {
    cmd: Command,
    label: String,
    code: i32,
    stdin: Option<Vec<u8>>,
    stdout_has: Vec<String>,
    stdout_lacks: Vec<String>,
    stderr_has: Vec<String>,
    stderr_empty: bool,
}

pub struct Done {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn new(env: &[(String, String)], args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccf"));
        cmd.args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Run {
            cmd,
            label: format!("ccf {}", args.join(" ")),
            code: 0,
            stdin: None,
            stdout_has: vec![],
            stdout_lacks: vec![],
            stderr_has: vec![],
            stderr_empty: false,
        }
    }

    pub fn env(mut self, k: &str, v: &str) -> Run {
        self.cmd.env(k, v);
        self
    }

    /// Runs this ccf binary instead of the one cargo built (same arguments, environment).
    pub fn program(mut self, path: &std::path::Path) -> Run {
        let mut cmd = Command::new(path);
        cmd.args(self.cmd.get_args()).env_clear().envs(
            self.cmd
                .get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        );
        self.cmd = cmd;
        self
    }

    /// Runs as the unprivileged user `(uid, gid)` instead of the test's own.
    pub fn owner(mut self, owner: Option<(u32, u32)>) -> Run {
        if let Some((uid, gid)) = owner {
            use std::os::unix::process::CommandExt as _;
            self.cmd.uid(uid).gid(gid);
        }
        self
    }

    /// Runs without `k` in the environment (a locale variable, say).
    pub fn env_remove(mut self, k: &str) -> Run {
        self.cmd.env_remove(k);
        self
    }

    pub fn code(mut self, code: i32) -> Run {
        self.code = code;
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Run {
        self.stdin = Some(input.into());
        self
    }

    pub fn stdout_has(mut self, s: &str) -> Run {
        self.stdout_has.push(s.into());
        self
    }

    pub fn stdout_lacks(mut self, s: &str) -> Run {
        self.stdout_lacks.push(s.into());
        self
    }

    pub fn stderr_has(mut self, s: &str) -> Run {
        self.stderr_has.push(s.into());
        self
    }

    pub fn stderr_empty(mut self) -> Run {
        self.stderr_empty = true;
        self
    }

    pub fn run(mut self) -> Done {
        self.cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("ccf binary runs");
        if let Some(input) = self.stdin.take() {
            let mut pipe = child.stdin.take().unwrap();
            // A command may exit before reading all of it; that is its business.
            let _ = pipe.write_all(&input);
        }
        let out = child.wait_with_output().unwrap();
        let done = Done {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let show = || {
            format!(
                "{}\n--- exit {}\n--- stdout:\n{}--- stderr:\n{}",
                self.label, done.code, done.stdout, done.stderr
            )
        };
        assert_eq!(done.code, self.code, "unexpected exit code: {}", show());
        for s in &self.stdout_has {
            assert!(
                done.stdout.contains(s.as_str()),
                "stdout lacks {s:?}: {}",
                show()
            );
        }
        for s in &self.stdout_lacks {
            assert!(
                !done.stdout.contains(s.as_str()),
                "stdout has {s:?}: {}",
                show()
            );
        }
        for s in &self.stderr_has {
            assert!(
                done.stderr.contains(s.as_str()),
                "stderr lacks {s:?}: {}",
                show()
            );
        }
        if self.stderr_empty {
            assert!(done.stderr.is_empty(), "stderr not empty: {}", show());
        }
        done
    }
}

impl Done {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}
