//! The real Claude Code in a sandbox: the pinned npm build (installed once by
//! `scripts/install-claude-code.sh`), account homes laid out like logged-in ones, the
//! loopback API stand-in, and a ccf config that launches the real binary.
//!
//! The tmux server's own environment points `ANTHROPIC_BASE_URL` at a closed loopback
//! port: a claude that ccf launched without the operator's variables (`claude.env`) fails
//! visibly instead of reaching the network.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Sandbox;
use super::anthropic::{Anthropic, Request};

/// The version `scripts/install-claude-code.sh` pins (the layout below was checked on it).
pub const VERSION: &str = "2.1.330";
/// How long the real client may take to show a screen (it starts in ~0.5 s).
pub const SCREEN: Duration = Duration::from_secs(30);

/// What check-quota warns when its nudge of a session gives up (after a fixed 20 s). With the whole suite running, the client has drawn its input box later
/// than that, so a test that relaunches a stopped turn allows the warning and checks
/// the prompt itself: [`RealWorld::wait_resume_prompt`].
pub const NUDGE_GAVE_UP: &str = "the resume prompt may not have been sent";

/// The installed client, or `None` after one loud line on stderr (outside CI only: with
/// `CI=true` a missing client fails the test).
pub fn claude_bin() -> Option<PathBuf> {
    // Once per process: tests run in parallel and must not run npm side by side.
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = BIN.get_or_init(|| {
        let found = install();
        if let Err(why) = &found
            && std::env::var("CI").as_deref() != Ok("true")
        {
            // Straight to the process's stderr: libtest hides eprintln! of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED the real-client tier (tests/it/real): Claude Code {VERSION} is not installed ({why}); run scripts/install-claude-code.sh"
            );
        }
        found
    });
    match found {
        Ok(p) => Some(p.clone()),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "real-client tier: the pinned Claude Code {VERSION} is required in CI: {why}"
            );
            None
        }
    }
}

fn install() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-claude-code.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", script.display(), out.status));
    }
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!("{} printed no binary", script.display()))
    }
}

/// A sandbox (two accounts, `ccl-1-proj` in `~/proj`, the pool in `~/work`) whose claude
/// is the real one, talking to `api`.
pub struct RealWorld {
    pub sb: Sandbox,
    pub api: Anthropic,
    pub claude: PathBuf,
}

impl RealWorld {
    /// `None` when the tier is skipped.
    pub fn new() -> Option<RealWorld> {
        let claude = claude_bin()?;
        Some(RealWorld::build(claude, Sandbox::new()))
    }

    /// The same world, every process in it (tmux, ccf, claude) `owner`'s (uid, gid).
    pub fn new_as(owner: (u32, u32)) -> Option<RealWorld> {
        let claude = claude_bin()?;
        Some(RealWorld::build(claude, Sandbox::owned_by(owner)))
    }

    fn build(claude: PathBuf, sb: Sandbox) -> RealWorld {
        // An owner other than the test's may not reach the checkout's .cache.
        let claude = if sb.owner.is_some() {
            sb.reachable_copy(&claude, "claude-code")
        } else {
            claude
        };
        let api = Anthropic::start();
        let w = RealWorld { sb, api, claude };
        let trusted = [w.sb.path("proj"), w.sb.path("work")];
        for (i, a) in w.sb.accounts.clone().iter().enumerate() {
            account_home(&w.sb.account_home(a), &RealWorld::token(a), &trusted, i);
            w.api.name_token(&RealWorld::token(a), a);
        }
        // A claude started without CLAUDE_CONFIG_DIR reads onboarding and trust here.
        write_json(
            &w.sb.path(".claude.json"),
            &claude_json("operator", &trusted),
        );
        // The operator's shell exports the variables, as a real ~/.bashrc would.
        // tmux starts login shells, which read ~/.bash_profile.
        let mut rc = String::from("PS1='operator$ '\n");
        for (k, v) in w.operator_env() {
            let _ = writeln!(rc, "export {k}='{v}'");
        }
        std::fs::write(w.sb.path(".bashrc"), rc).unwrap();
        std::fs::write(w.sb.path(".bash_profile"), ". ~/.bashrc\n").unwrap();
        for (k, v) in [
            ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9"),
            ("DISABLE_TELEMETRY", "1"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
        ] {
            w.sb.tmux.ok(["set-environment", "-g", k, v]);
        }
        w.sb.write_config(&w.config());
        w.sb.ccf(&["ensure-symlinks"]).run();
        w
    }

    /// The access token of `account`'s home: how the stand-in knows the account.
    pub fn token(account: &str) -> String {
        format!("tok-{account}")
    }

    /// What the operator's environment gives every claude: the stand-in, nothing leaving
    /// the machine, quick errors (2 retries instead of 10, which take ~3 minutes), and the
    /// client's temp files inside the sandbox.
    pub fn operator_env(&self) -> Vec<(String, String)> {
        [
            ("ANTHROPIC_BASE_URL", self.api.base_url()),
            ("DISABLE_TELEMETRY", "1".into()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
            ("DISABLE_AUTOUPDATER", "1".into()),
            ("DISABLE_ERROR_REPORTING", "1".into()),
            ("CLAUDE_CODE_MAX_RETRIES", "2".into()),
            (
                "CLAUDE_CODE_TMPDIR",
                self.sb.path("tmp").display().to_string(),
            ),
            ("TZ", "UTC".into()),
            // What the client sends anywhere but the stand-in (a token refresh after a
            // 401 goes to the OAuth host, not ANTHROPIC_BASE_URL) meets a closed port.
            ("HTTPS_PROXY", "http://127.0.0.1:9".into()),
            ("HTTP_PROXY", "http://127.0.0.1:9".into()),
            ("NO_PROXY", "127.0.0.1,localhost".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The sandbox's config with the real binary and the operator's variables in
    /// `claude.env`, so that ccf keeps them on relaunch.
    pub fn config(&self) -> String {
        let base = self.sb.default_config();
        let mut env = String::from("  env:\n");
        for (k, v) in self.operator_env() {
            let _ = writeln!(env, "    {k}: '{v}'");
        }
        base.replace(
            "claude:\n  command: claude\n  args: []\n",
            &format!(
                "claude:\n  command: {}\n  args: []\n{env}",
                self.claude.display()
            ),
        )
    }

    /// The operator opens `session` in `dir` and types the binary's path into its shell:
    /// no id, no `CLAUDE_CONFIG_DIR`, nothing ccf launched. Waits for the input box.
    pub fn start_by_hand(&self, session: &str, dir: &Path) {
        self.sb.tmux.new_session(session, dir, &[]);
        self.sb.tmux.wait_for_text(session, "operator$");
        self.sb
            .tmux
            .type_line(session, &self.claude.display().to_string());
        self.wait_screen(session, "the input box", ready);
    }

    /// The same with `CLAUDE_CONFIG_DIR=<account's home>` before the binary: a claude
    /// pinned to `account`, whatever `~/.claude` points at later.
    pub fn start_pinned(&self, session: &str, dir: &Path, account: &str) {
        self.sb.tmux.new_session(session, dir, &[]);
        self.sb.tmux.wait_for_text(session, "operator$");
        let line = format!(
            "CLAUDE_CONFIG_DIR={} {}",
            self.sb.account_home(account).display(),
            self.claude.display()
        );
        self.sb.tmux.type_line(session, &line);
        self.wait_screen(session, "the input box", ready);
    }

    /// Lets the client run its Bash tool without asking: `permissions.allow: ["Bash"]`
    /// and `defaultMode: acceptEdits` in every account's `settings.json` (merged with
    /// what is there). As root the client refuses `--dangerously-skip-permissions`
    /// (without `IS_SANDBOX=1`). Its default here, `auto`, sends some commands to a
    /// server-side check the stand-in does not have, and then asks.
    pub fn allow_bash(&self) {
        for a in &self.sb.accounts {
            let path = self.sb.account_home(a).join("settings.json");
            let mut doc: Value = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_else(|| json!({}));
            doc["permissions"]["defaultMode"] = json!("acceptEdits");
            let allow = &mut doc["permissions"]["allow"];
            if !allow.is_array() {
                *allow = json!([]);
            }
            let list = allow.as_array_mut().unwrap();
            if !list.iter().any(|v| v == "Bash") {
                list.push(json!("Bash"));
            }
            write_json(&path, &doc);
        }
        self.sb.hand_over();
    }

    /// How the stand-in answers `account` from now on.
    pub fn set_mode(&self, account: &str, mode: super::anthropic::Mode) {
        self.api.set_mode(&RealWorld::token(account), mode);
    }

    /// The pid of the claude running in `session`'s pane: the pane's own process (ccf
    /// relaunched it) or the first claude below it (started from the operator's shell).
    pub fn claude_pid(&self, session: &str) -> Option<u32> {
        let mut todo = vec![self.sb.tmux.pane_pid(session)];
        while !todo.is_empty() {
            let pid = todo.remove(0);
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if matches!(comm.trim(), "claude" | "claude.exe") {
                return Some(pid);
            }
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            todo.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        None
    }

    /// [`RealWorld::claude_pid`], which must be there.
    pub fn must_claude_pid(&self, session: &str) -> u32 {
        self.claude_pid(session).unwrap_or_else(|| {
            panic!(
                "no claude runs in {session}; screen:\n{}",
                self.screen(session)
            )
        })
    }

    /// Every transcript of the sandbox (the shared `projects/`), with its rows.
    pub fn transcripts(&self) -> Vec<(PathBuf, Vec<Value>)> {
        let root = self.sb.path(".claude-shared/projects");
        let mut out = Vec::new();
        for dir in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let p = f.path();
                if p.extension().is_some_and(|x| x == "jsonl") {
                    let rows = std::fs::read_to_string(&p)
                        .unwrap_or_default()
                        .lines()
                        .filter_map(|l| serde_json::from_str(l).ok())
                        .collect();
                    out.push((p, rows));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Types `text` into claude's input box, waits until it shows there, then sends Enter
    /// (one paste of text + Enter would not submit).
    pub fn prompt(&self, session: &str, text: &str) {
        let t = format!("={session}:");
        self.sb.tmux.ok(["send-keys", "-t", &t, "-l", "--", text]);
        self.wait_screen(session, "the typed prompt", |s| {
            s.lines().any(|l| l.starts_with('❯') && l.contains(text))
        });
        self.sb.tmux.ok(["send-keys", "-t", &t, "Enter"]);
    }

    /// The visible screen (claude draws on the alternate screen: no scrollback).
    pub fn screen(&self, session: &str) -> String {
        self.sb
            .tmux
            .ok(["capture-pane", "-p", "-t", &format!("={session}:")])
    }

    /// Polls the screen until `pred` holds; panics with the last screen after [`SCREEN`].
    pub fn wait_screen(&self, session: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SCREEN;
        loop {
            let s = self.screen(session);
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} in {session}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for `claude.resume_prompt` (the default, `continue`) to reach the stand-in
    /// from `account` in conversation `id`, and for its reply on `session`'s screen.
    pub fn wait_resume_prompt(&self, session: &str, account: &str, id: &str) -> Request {
        let token = RealWorld::token(account);
        let deadline = Instant::now() + Duration::from_secs(20);
        let turn = loop {
            let found = self.api.turns().into_iter().rev().find(|r| {
                r.token.as_deref() == Some(token.as_str())
                    && r.session_id.as_deref() == Some(id)
                    && r.body.contains("continue")
            });
            if let Some(turn) = found {
                break turn;
            }
            // The screen says why: a prompt left in the input box, a dialog, a shell.
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {session}'s resume prompt on {account}; turns:\n{}screen:\n{}",
                self.api.summary(),
                self.screen(session)
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // The reply below the last `continue` (a resumed history may show an older one).
        self.wait_screen(session, "the reply to the resume prompt", |s| {
            after(s, "continue").contains("Stand-in reply: CONTINUE.")
        });
        turn
    }

    /// The id of the conversation the stand-in saw last from `token`.
    pub fn last_session_id(&self, token: &str) -> String {
        self.api
            .turns()
            .iter()
            .rev()
            .find(|r| r.token.as_deref() == Some(token))
            .and_then(|r| r.session_id.clone())
            .expect("a turn with a session id header")
    }
}

/// Ready for input: the banner is up and the input box shows its prompt.
pub fn ready(screen: &str) -> bool {
    screen.contains("Claude Code v") && screen.lines().any(|l| l.starts_with('❯'))
}

/// The part of a screen from the last line holding `marker` on.
pub fn after<'a>(screen: &'a str, marker: &str) -> &'a str {
    screen.rfind(marker).map_or("", |i| &screen[i..])
}

/// `.claude.json` keys that keep 2.1.330 from showing any first-run screen or notice, and
/// trust `trusted`. Without `hasCompletedOnboarding` the client does not stop at a dialog:
/// offline it exits after trying api.anthropic.com directly.
fn claude_json(who: &str, trusted: &[PathBuf]) -> Value {
    let projects: serde_json::Map<String, Value> = trusted
        .iter()
        .map(|d| {
            (
                d.display().to_string(),
                json!({"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true,
                    "projectOnboardingSeenCount": 1, "allowedTools": []}),
            )
        })
        .collect();
    json!({
        "hasCompletedOnboarding": true,
        "lastOnboardingVersion": VERSION,
        "lastReleaseNotesSeen": VERSION,
        "firstStartVersion": VERSION,
        "numStartups": 1,
        "hasSeenAutoDefaultNotice": true,
        // Else a resumed client whose settings name a mode other than auto asks, in a
        // dialog over the input box, whether auto should be the default.
        "hasSeenAutoDefaultNudge": true,
        "autoUpdates": false,
        "officialMarketplaceAutoInstallAttempted": true,
        "oauthAccount": {
            "accountUuid": "00000000-0000-4000-8000-000000000001",
            "emailAddress": format!("{who}@example.test"),
            "organizationUuid": "00000000-0000-4000-8000-000000000002",
            "organizationName": format!("{who}'s Organization"),
            "organizationRole": "admin",
            "displayName": who,
            "billingType": "stripe_subscription",
        },
        "projects": projects,
    })
}

/// A logged-in Claude Max account home: `.credentials.json` (0600) whose access token is
/// how the stand-in knows the account, and `.claude.json` trusting `trusted`.
///
/// The client reads the credentials again only when their mtime (in ms) changes: homes
/// written in the same millisecond would look alike after a flip of `~/.claude`. The
/// `index`th account's are dated `index + 1` hours back.
fn account_home(dir: &Path, token: &str, trusted: &[PathBuf], index: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let cred = dir.join(".credentials.json");
    write_json(
        &cred,
        &json!({"claudeAiOauth": {
            "accessToken": token, "refreshToken": format!("{token}-refresh"),
            "expiresAt": 4_102_444_800_000_u64, "scopes": ["user:inference", "user:profile"],
            "subscriptionType": "max"}}),
    );
    super::sandbox::set_mode(&cred, 0o600);
    let hours = u64::try_from(index).unwrap() + 1;
    let when = std::time::SystemTime::now() - Duration::from_secs(hours * 3600);
    std::fs::File::options()
        .write(true)
        .open(&cred)
        .and_then(|f| f.set_modified(when))
        .unwrap();
    write_json(&dir.join(".claude.json"), &claude_json(token, trusted));
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}
