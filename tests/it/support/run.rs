//! Runs the built ccf binary with a cleared environment and checks exit code, stdout and
//! stderr together.
//!
//! stderr is checked by default: a line at warning or error priority (ccf's `warning: `
//! and `error: ` prefixes, or journald's `<0>`…`<4>`) or a panic fails the run unless
//! the test expects it ([`Run::stderr_has`], [`Run::stderr_may_have`]) or says why it
//! cannot know ([`Run::stderr_unchecked`]). Notices and info lines are ccf's ordinary
//! talk and pass.

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
    stderr_may_have: Vec<String>,
    stderr_unchecked: bool,
    stderr_empty: bool,
    stderr_is: Option<String>,
    stdout_is: Option<String>,
}

#[derive(Debug)]
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
            stderr_may_have: vec![],
            stderr_unchecked: false,
            stderr_empty: false,
            stderr_is: None,
            stdout_is: None,
        }
    }

    /// Runs ccf from `dir` (its relative paths are taken from there).
    pub fn current_dir(mut self, dir: &std::path::Path) -> Run {
        self.cmd.current_dir(dir);
        self
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

    /// stdout must be exactly `text`.
    pub fn stdout_is(mut self, text: &str) -> Run {
        self.stdout_is = Some(text.into());
        self
    }

    pub fn stdout_lacks(mut self, s: &str) -> Run {
        self.stdout_lacks.push(s.into());
        self
    }

    /// stderr must hold `s`; warning and error lines holding it are expected.
    pub fn stderr_has(mut self, s: &str) -> Run {
        self.stderr_has.push(s.into());
        self
    }

    /// Warning and error lines holding `s` are expected, but need not appear (a race
    /// decides, say).
    pub fn stderr_may_have(mut self, s: &str) -> Run {
        self.stderr_may_have.push(s.into());
        self
    }

    /// No check of stderr's warnings and errors; `why` says why the test cannot know
    /// them (it is for the reader: the builder does not keep it).
    pub fn stderr_unchecked(mut self, why: &str) -> Run {
        assert!(!why.is_empty(), "say why stderr is not checked");
        self.stderr_unchecked = true;
        self
    }

    pub fn stderr_empty(mut self) -> Run {
        self.stderr_empty = true;
        self
    }

    /// stderr must be exactly `text`.
    pub fn stderr_is(mut self, text: &str) -> Run {
        self.stderr_is = Some(text.into());
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
        if let Some(want) = &self.stdout_is {
            assert!(done.stdout == *want, "stdout is not {want:?}: {}", show());
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
        if let Some(text) = &self.stderr_is {
            assert_eq!(&done.stderr, text, "stderr differs: {}", show());
        } else if !self.stderr_unchecked {
            let expected = expected_spans(
                &done.stderr,
                self.stderr_has.iter().chain(&self.stderr_may_have),
            );
            let unexpected: Vec<&str> = lines_with_spans(&done.stderr)
                .filter(|(l, (a, b))| alarming(l) && !expected.iter().any(|(s, e)| s < b && a < e))
                .map(|(l, _)| l)
                .collect();
            assert!(
                unexpected.is_empty(),
                "unexpected on stderr: {unexpected:#?}\n(declare it with .stderr_has or .stderr_may_have): {}",
                show()
            );
        }
        done
    }
}

/// Where the expected texts occur in `text`, as byte ranges: a line is expected when
/// one overlaps it (an expected text may span lines, or end with the newline).
fn expected_spans<'a>(
    text: &str,
    expected: impl Iterator<Item = &'a String>,
) -> Vec<(usize, usize)> {
    expected
        .filter(|s| !s.is_empty())
        .flat_map(|s| {
            text.match_indices(s.as_str())
                .map(|(i, m)| (i, i + m.len()))
        })
        .collect()
}

/// Each line of `text` with its byte range (without the newline).
fn lines_with_spans(text: &str) -> impl Iterator<Item = (&str, (usize, usize))> {
    text.split_inclusive('\n').scan(0, |at, l| {
        let start = *at;
        *at += l.len();
        let line = l.strip_suffix('\n').unwrap_or(l);
        Some((line, (start, start + line.len())))
    })
}

/// Whether a stderr line is at warning priority or worse, or a panic.
pub fn alarming(line: &str) -> bool {
    let journald = line.len() >= 3
        && line.as_bytes()[0] == b'<'
        && (b'0'..=b'4').contains(&line.as_bytes()[1])
        && line.as_bytes()[2] == b'>';
    journald
        || line.starts_with("error: ")
        || line.starts_with("warning: ")
        || line.contains("panicked at")
}

impl Done {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::Sandbox;

    #[test]
    fn warnings_errors_and_panics_are_alarming_and_ccfs_ordinary_talk_is_not() {
        for line in [
            "error: 1 problem found",
            "warning: ccf hook: hook input is not JSON",
            "<3>failed to start task x.md in ccl-auto-11",
            "<4>tmux session ccl-auto-5 has the pool prefix",
            "<0>emergency",
            "thread 'main' (7) panicked at src/main.rs:3:5:",
        ] {
            assert!(alarming(line), "{line}");
        }
        for line in [
            "<5>removed the leftovers of x.md",
            "<6>info",
            "x.md is back in the inbox as x~2.md",
            "  line 3: an indented detail",
            "errors: not a prefix",
        ] {
            assert!(!alarming(line), "{line}");
        }
    }

    #[test]
    fn an_expected_text_covers_every_line_it_touches_even_across_lines_or_with_its_newline() {
        let text = "error: one\nerror: two\nerror: three\n";
        let covered = |expected: &[&str]| -> Vec<&str> {
            let expected: Vec<String> = expected.iter().map(|s| (*s).to_string()).collect();
            let spans = expected_spans(text, expected.iter());
            lines_with_spans(text)
                .filter(|(_, (a, b))| spans.iter().any(|(s, e)| s < b && a < e))
                .map(|(l, _)| l)
                .collect()
        };
        assert_eq!(covered(&["two"]), ["error: two"]);
        assert_eq!(covered(&["error: one\n"]), ["error: one"]);
        assert_eq!(covered(&["one\nerror: two"]), ["error: one", "error: two"]);
        assert_eq!(covered(&["four", ""]), Vec::<&str>::new());
    }

    #[test]
    fn a_run_fails_on_a_warning_it_did_not_expect_and_passes_once_it_is_declared() {
        let sb = Sandbox::new();
        let hook = || sb.ccf(&["hook", "stop-failure"]).stdin("not json");
        let undeclared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook().run()));
        let message = *undeclared
            .expect_err("an undeclared warning fails the run")
            .downcast::<String>()
            .unwrap();
        assert!(message.contains("unexpected on stderr"), "{message}");
        assert!(message.contains("hook input is not JSON"), "{message}");
        hook().stderr_has("hook input is not JSON").run();
        hook().stderr_may_have("hook input").run();
        hook()
            .stderr_unchecked("this test is about the check itself")
            .run();
    }
}
