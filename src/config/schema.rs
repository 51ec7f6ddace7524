//! The configuration file's schema: every key, its type and its default.
//!
//! These structs mirror `config.example.yaml` one to one. Unknown keys are errors
//! (`deny_unknown_fields`); defaults live here so the example file and the code cannot
//! disagree on them. Paths are expanded and cross-checked in `config.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

use crate::secret::Secret;

/// A humantime duration (`30s`, `5m`, `2h`, `7d`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl fmt::Debug for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::human::duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The text is judged inside the visitor, while the deserializer still holds the
        // value: serde_yaml then gives the error the value's own line and key path. An
        // error raised after the value was read gets the enclosing mapping's start and
        // name instead, and the loader would blank the wrong entry and report it again.
        struct Text;
        impl de::Visitor<'_> for Text {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 30s, 5m, 2h or 7d")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Dur, E> {
                humantime::parse_duration(text).map(Dur).map_err(|e| {
                    E::custom(format!(
                        "invalid duration {text:?} ({e}); write e.g. 30s, 5m, 2h or 7d"
                    ))
                })
            }
        }
        d.deserialize_str(Text)
    }
}

/// Event names a channel's `events` filter may list.
pub const EVENTS: &[&str] = &[
    "swap_started",
    "swap_done",
    "swap_failed",
    "swap_partial",
    "degraded",
    "all_exhausted",
    "work_resumed",
    "returned",
    "needs_login",
    "pool_empty",
    "task_failed",
    "task_timed_out",
    "test",
];

fn secs(n: u64) -> Dur {
    Dur(Duration::from_secs(n))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub accounts: Vec<Account>,
    #[serde(default = "default_claude_link")]
    pub claude_link: Option<PathBuf>,
    #[serde(default)]
    pub shared: Shared,
    /// null = `$XDG_STATE_HOME/ccf`, `~/.local/state/ccf` without it.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// Zone for banner times printed without one; null = the system's.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub tmux: Tmux,
    #[serde(default)]
    pub claude: Claude,
    #[serde(default)]
    pub pool: Pool,
    #[serde(default)]
    pub quota: Quota,
    #[serde(default)]
    pub dispatcher: Dispatcher,
    #[serde(default)]
    pub janitor: Janitor,
    #[serde(default)]
    pub notifications: Notifications,
    /// Several hosts sharing accounts through etcd; absent = a single host.
    #[serde(default)]
    pub fleet: Option<Fleet>,
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "serde's default must return the field's type"
)]
fn default_claude_link() -> Option<PathBuf> {
    Some(PathBuf::from("~/.claude"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub name: String,
    pub home: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Shared {
    pub root: PathBuf,
    pub names: Vec<String>,
    /// Per-name target overriding `<root>/<name>`.
    pub targets: BTreeMap<String, PathBuf>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            root: PathBuf::from("~/.claude-shared"),
            names: vec![
                "projects".into(),
                "session-env".into(),
                "file-history".into(),
                "shell-snapshots".into(),
            ],
            targets: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tmux {
    pub socket_name: Option<String>,
    pub socket_path: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Claude {
    pub command: String,
    pub args: Vec<String>,
    /// Extra environment for every claude ccf launches.
    pub env: BTreeMap<String, String>,
    /// Typed into a session relaunched after a limit stopped its turn; null = nothing.
    pub resume_prompt: Option<String>,
}

impl Default for Claude {
    fn default() -> Self {
        Claude {
            command: "claude".into(),
            args: vec!["--dangerously-skip-permissions".into()],
            env: BTreeMap::new(),
            resume_prompt: Some("continue".into()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pool {
    pub autonomous: Autonomous,
    pub dedicated: Vec<Dedicated>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Autonomous {
    pub prefix: String,
    pub start_index: u32,
    pub min: u32,
    pub max: u32,
    pub workdir: PathBuf,
}

impl Default for Autonomous {
    fn default() -> Self {
        Autonomous {
            prefix: "ccl-auto-".into(),
            start_index: 11,
            min: 2,
            max: 10,
            workdir: PathBuf::from("~/work"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dedicated {
    pub name: String,
    pub project: PathBuf,
    /// Start claude in the session when janitor recreates it.
    #[serde(default)]
    pub autostart: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quota {
    pub capture_lines: u32,
    pub confirm_polls: u32,
    pub cooldown: Dur,
    pub return_margin: Dur,
    /// How long an account counts as exhausted when no reset time is known.
    pub default_exhaustion: Dur,
    /// Move away once the status line reports this percentage used; null = off.
    pub statusline_threshold: Option<f64>,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            capture_lines: 200,
            confirm_polls: 2,
            cooldown: secs(300),
            return_margin: secs(300),
            default_exhaustion: secs(5 * 3600),
            statusline_threshold: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dispatcher {
    pub queue_dir: PathBuf,
    pub task_timeout: Dur,
    /// Times a timed-out task is started again before it fails (front matter may override).
    pub retries: u32,
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher {
            queue_dir: PathBuf::from("~/agent-queue"),
            task_timeout: secs(2 * 3600),
            retries: 0,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Janitor {
    pub keep_finished: Dur,
}

impl Default for Janitor {
    fn default() -> Self {
        Janitor {
            keep_finished: secs(7 * 86400),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notifications {
    /// Connect and total timeout of one send.
    pub timeout: Dur,
    /// Attempts before an undeliverable message is dropped from the outbox.
    pub max_attempts: u32,
    /// Age after which an undelivered message is dropped from the outbox.
    pub max_age: Dur,
    pub telegram: Option<Telegram>,
    pub resend: Option<Resend>,
    pub webhook: Option<Webhook>,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            timeout: secs(10),
            max_attempts: 20,
            max_age: secs(24 * 3600),
            telegram: None,
            resend: None,
            webhook: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Telegram {
    pub bot_token: Option<Secret>,
    pub bot_token_file: Option<PathBuf>,
    pub bot_token_env: Option<String>,
    pub chat_id: String,
    #[serde(default = "telegram_api")]
    pub api_base: String,
    /// Events to send; empty = all.
    #[serde(default)]
    pub events: Vec<String>,
}

fn telegram_api() -> String {
    "https://api.telegram.org".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resend {
    pub api_key: Option<Secret>,
    pub api_key_file: Option<PathBuf>,
    pub api_key_env: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    #[serde(default = "resend_api")]
    pub api_base: String,
    #[serde(default)]
    pub events: Vec<String>,
}

fn resend_api() -> String {
    "https://api.resend.com".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// Values are secrets: they often carry a token.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    #[serde(default)]
    pub events: Vec<String>,
}

/// `fleet:`: the etcd cluster hosts share what they know about accounts through.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    pub endpoints: Vec<String>,
    #[serde(default = "fleet_prefix")]
    pub prefix: String,
    /// This host's name in the fleet; null = the hostname.
    #[serde(default)]
    pub host: Option<String>,
    /// etcd's authentication; the password only from a file or the environment.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// All the time one run may spend on the fleet.
    #[serde(default = "fleet_timeout")]
    pub timeout: Dur,
}

fn fleet_prefix() -> String {
    "/ccf".into()
}

fn fleet_timeout() -> Dur {
    secs(1)
}
