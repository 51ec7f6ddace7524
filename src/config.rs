//! The configuration: where it is found, how it is read, and every check it must pass.
//!
//! Loading is two passes. The YAML is deserialized into [`schema::File`]; each unknown
//! key or type error is reported with its line and column, and the offending entry is
//! blanked out so the parse can go on and report the next one. The typed file is then
//! expanded (`~`) and cross-checked (duplicate names, shared homes, pool collisions, …).
//! Every problem is collected, so an operator fixes the file in one go.

mod check;
mod reparse;
pub mod schema;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::exit::Exit;

pub use reparse::for_people;
pub use schema::{Dedicated, Notifications, Resend, Telegram, Webhook};

/// `config.example.yaml`: every key with its default (`ccf config example`, and what
/// `ccf init` starts from).
pub const EXAMPLE: &str = include_str!("../config.example.yaml");

/// The largest configuration file ccf reads (a real one is a few KiB).
const MAX_CONFIG: u64 = 1 << 20;

/// A loaded and checked configuration. Paths are absolute and `~`-expanded.
#[derive(Debug)]
pub struct Config {
    /// The file this came from (given to everything ccf starts that calls ccf back).
    pub path: PathBuf,
    /// Priority order; the first is the primary.
    pub accounts: Vec<Account>,
    pub claude_link: Option<PathBuf>,
    /// One shared target per name, linked from every account home.
    pub shared: Vec<SharedDir>,
    pub state_dir: PathBuf,
    pub timezone: Option<String>,
    pub tmux: TmuxSocket,
    pub claude: schema::Claude,
    pub pool: Pool,
    pub quota: Quota,
    pub dispatcher: Dispatcher,
    pub keep_finished: Duration,
    pub notifications: Notifications,
    /// `None`: a single host, exactly as without the fleet.
    pub fleet: Option<Fleet>,
}

/// The checked `fleet:` section.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// `http(s)://host:port`, without a trailing `/`, tried in this order.
    pub endpoints: Vec<String>,
    /// Every key ccf reads or writes starts with this (no trailing `/`).
    pub prefix: String,
    pub host: String,
    pub username: Option<String>,
    /// Where the password is: a file (absolute, or under `$CREDENTIALS_DIRECTORY`) or a
    /// variable. Read only when a run talks to etcd.
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub home: PathBuf,
    /// `home` with every link resolved, at most once per run and only when a path does
    /// not match `home` as written (a hook's run compares exact paths and never needs
    /// it); `None` inside while the home does not exist.
    canonical: std::sync::OnceLock<Option<PathBuf>>,
}

impl Account {
    pub fn new(name: impl Into<String>, home: PathBuf) -> Account {
        Account {
            name: name.into(),
            home,
            canonical: std::sync::OnceLock::new(),
        }
    }

    /// [`Account::home`] with every link resolved.
    pub fn canonical_home(&self) -> Option<&Path> {
        self.canonical
            .get_or_init(|| std::fs::canonicalize(&self.home).ok())
            .as_deref()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedDir {
    pub name: String,
    pub target: PathBuf,
}

/// Which tmux server ccf talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TmuxSocket {
    /// The user's default server.
    Default,
    /// `tmux -L NAME`.
    Name(String),
    /// `tmux -S PATH`.
    Path(PathBuf),
}

/// The socket as an operator names it: its path, `-L NAME`, or the default.
impl std::fmt::Display for TmuxSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TmuxSocket::Default => f.write_str("the default socket"),
            TmuxSocket::Name(n) => write!(f, "-L {n}"),
            TmuxSocket::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug)]
pub struct Pool {
    pub prefix: String,
    pub start_index: u32,
    pub min: u32,
    pub max: u32,
    pub workdir: PathBuf,
    pub dedicated: Vec<Dedicated>,
}

#[derive(Debug)]
pub struct Quota {
    pub capture_lines: u32,
    pub confirm_polls: u32,
    pub cooldown: Duration,
    pub return_margin: Duration,
    pub default_exhaustion: Duration,
    pub statusline_threshold: Option<f64>,
}

#[cfg(test)]
impl Quota {
    /// The quota settings the unit tests decide with: two confirming polls, a 5-minute
    /// cooldown and return margin, an hour's default exhaustion, no status-line threshold.
    pub fn for_tests() -> Quota {
        Quota {
            capture_lines: 200,
            confirm_polls: 2,
            cooldown: Duration::from_secs(300),
            return_margin: Duration::from_secs(300),
            default_exhaustion: Duration::from_secs(3600),
            statusline_threshold: None,
        }
    }
}

#[derive(Debug)]
pub struct Dispatcher {
    pub queue_dir: PathBuf,
    pub task_timeout: Duration,
    pub retries: u32,
}

/// What kind of session a managed session is: a pool member or a dedicated one. The
/// config says it by the name's layout; the state file keeps it as `autonomous` or
/// `dedicated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    Autonomous,
    Dedicated,
}

impl SessionKind {
    /// The kind's name for people, the same as in the state file.
    pub fn name(self) -> &'static str {
        match self {
            SessionKind::Autonomous => "autonomous",
            SessionKind::Dedicated => "dedicated",
        }
    }
}

impl Config {
    pub fn primary(&self) -> &Account {
        &self.accounts[0]
    }

    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// The account an operator named on the command line, or an error listing the names.
    pub fn named_account(&self, name: &str) -> anyhow::Result<&Account> {
        self.account(name).ok_or_else(|| {
            let known: Vec<&str> = self.accounts.iter().map(|a| a.name.as_str()).collect();
            anyhow::anyhow!(
                "no account named {name} in {}; known: {}",
                self.path.display(),
                known.join(", ")
            )
        })
    }

    /// The account whose home is `path` (compared as written and canonicalized).
    pub fn account_by_home(&self, path: &Path) -> Option<&Account> {
        // The exact path first: the common case (a link's target, a CLAUDE_CONFIG_DIR
        // as configured) costs no system call, which the hooks' hot path wants.
        if let Some(a) = self.accounts.iter().find(|a| a.home == path) {
            return Some(a);
        }
        let canon = std::fs::canonicalize(path).ok()?;
        self.accounts
            .iter()
            .find(|a| a.canonical_home() == Some(canon.as_path()))
    }

    /// Names of the autonomous pool, in index order: `prefix + i` for the configured range.
    pub fn pool_names(&self) -> Vec<String> {
        (self.pool.start_index..self.pool.start_index + self.pool.max)
            .map(|i| format!("{}{i}", self.pool.prefix))
            .collect()
    }

    /// The kind of a managed session, or `None` for a manual session ccf never touches.
    pub fn session_kind(&self, name: &str) -> Option<SessionKind> {
        if self.pool.dedicated.iter().any(|d| d.name == name) {
            return Some(SessionKind::Dedicated);
        }
        pool_index(&self.pool.prefix, name)
            .filter(|i| (self.pool.start_index..self.pool.start_index + self.pool.max).contains(i))
            .map(|_| SessionKind::Autonomous)
    }

    pub fn dedicated(&self, name: &str) -> Option<&Dedicated> {
        self.pool.dedicated.iter().find(|d| d.name == name)
    }

    pub fn spool_dir(&self) -> PathBuf {
        self.state_dir.join("spool")
    }
}

/// `Some(i)` when `name` is `prefix` followed by a decimal index (any index).
pub fn pool_index(prefix: &str, name: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    if rest.is_empty()
        || !rest.bytes().all(|b| b.is_ascii_digit())
        || rest.starts_with('0') && rest.len() > 1
    {
        return None;
    }
    rest.parse().ok()
}

/// Where the configuration is looked for, in order.
///
/// `env` is passed in (not read here) so tests pin it.
pub fn locate(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf, Exit> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = env("CCF_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let mut tried = Vec::new();
    if let Some(p) = xdg_path(env) {
        if p.exists() {
            return Ok(p);
        }
        tried.push(p);
    }
    let etc = PathBuf::from("/etc/ccf/config.yaml");
    if etc.exists() {
        return Ok(etc);
    }
    tried.push(etc);
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(Exit::Config(format!(
        "no configuration found (looked at --config, $CCF_CONFIG, {}); run `ccf init` to write one from the account homes and tmux sessions found here (`ccf config example` prints the documented example)",
        list.join(", ")
    )))
}

/// Where the XDG base directory spec puts the configuration: `$XDG_CONFIG_HOME/ccf/config.yaml`,
/// `~/.config/ccf/config.yaml` without it (where `ccf init` writes).
pub fn xdg_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_CONFIG_HOME")
        .filter(|p| Path::new(p).is_absolute())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))
        .map(|dir| dir.join("ccf/config.yaml"))
}

/// `$XDG_STATE_HOME` when it is an absolute path (the spec says to ignore a relative one).
pub fn state_home(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_STATE_HOME")
        .filter(|p| Path::new(p).is_absolute())
        .map(PathBuf::from)
}

/// `state_dir` when the file has none: `$XDG_STATE_HOME/ccf`, else `~/.local/state/ccf`.
pub fn default_state_dir(home: &Path, state_home: Option<&Path>) -> PathBuf {
    state_home
        .map_or_else(|| home.join(".local/state"), Path::to_path_buf)
        .join("ccf")
}

/// Reads, parses and checks the file at `path`; `home` expands `~`; `state_dir` defaults
/// from this process's `$XDG_STATE_HOME`.
pub fn load(path: &Path, home: &Path) -> Result<Config, Exit> {
    let bytes = crate::fsutil::read_bounded(path, MAX_CONFIG)
        .map_err(|e| Exit::Config(format!("cannot read configuration {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Exit::Config(format!(
            "configuration {} is not UTF-8 (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    let env = |k: &str| std::env::var(k).ok();
    parse_with(path, &text, home, state_home(&env).as_deref())
}

/// Parses and checks configuration text as if `$XDG_STATE_HOME` were unset; `path` is
/// only used in messages and kept.
pub fn parse(path: &Path, text: &str, home: &Path) -> Result<Config, Exit> {
    parse_with(path, text, home, None)
}

/// [`parse`] with `$XDG_STATE_HOME`'s value.
pub fn parse_with(
    path: &Path,
    text: &str,
    home: &Path,
    state_home: Option<&Path>,
) -> Result<Config, Exit> {
    let report = |problems: Vec<String>| {
        let mut msg = format!(
            "{}: {} in the configuration:",
            path.display(),
            crate::human::count(
                problems.iter().filter(|p| !p.starts_with('…')).count(),
                "problem"
            )
        );
        for p in &problems {
            let _ = write!(msg, "\n  {p}");
        }
        Exit::Config(msg)
    };
    if text.trim().is_empty() {
        return Err(report(vec![
            "the file is empty: start from config.example.yaml".to_string(),
        ]));
    }
    let file = reparse::parse_typed(text).map_err(report)?;
    let (config, problems) = check::check(path, text, home, state_home, file);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(report(problems))
    }
}

/// Why tmux could not address a session called `name`, if it could not.
pub fn tmux_name_problem(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("is empty")
    } else if name.contains([':', '.']) {
        Err("contains ':' or '.', which tmux reads as window/pane separators")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err("contains whitespace or control characters")
    } else if name.starts_with('-') {
        Err("starts with '-', which tmux reads as an option")
    } else if name.contains([';', '#', '$', '`', '\\', '\'', '"']) {
        // tmux expands `#(…)` in a new session's name and ends a command at a trailing
        // `;`; ccf escapes both, but a name that needs escaping is a trap in every
        // script and key binding the operator writes around it.
        Err("contains one of ; # $ ` \\ ' \" which tmux or a shell reads specially")
    } else {
        Ok(())
    }
}

/// `~` and `~/x` become `home` and `home/x`; `~user` is not supported (None).
pub fn expand_tilde(p: &Path, home: &Path) -> Option<PathBuf> {
    let s = p.to_str()?;
    if s == "~" {
        Some(home.to_path_buf())
    } else if let Some(rest) = s.strip_prefix("~/") {
        Some(home.join(rest))
    } else if s.starts_with('~') {
        None
    } else {
        Some(p.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Config, String> {
        parse(Path::new("/c.yaml"), text, Path::new("/home/op")).map_err(|e| e.to_string())
    }

    const MINIMAL: &str =
        "accounts:\n  - name: a\n    home: ~/.claude-a\n  - name: b\n    home: ~/.claude-b\n";

    #[test]
    fn a_minimal_file_gets_the_documented_defaults() {
        let c = parse_str(MINIMAL).unwrap();
        assert_eq!(c.accounts[1].home, Path::new("/home/op/.claude-b"));
        assert_eq!(
            c.claude_link.as_deref(),
            Some(Path::new("/home/op/.claude"))
        );
        assert_eq!(c.shared.len(), 4);
        assert_eq!(
            c.shared[0].target,
            Path::new("/home/op/.claude-shared/projects")
        );
        assert_eq!(c.quota.cooldown, Duration::from_secs(300));
        assert_eq!(c.pool_names()[0], "ccl-auto-11");
        assert_eq!(c.pool_names().len(), 10);
    }

    #[test]
    fn every_unknown_key_is_reported_with_its_line() {
        let text = format!(
            "{MINIMAL}pool:\n  autonomous:\n    prefx: x\n    min: 1\nquota:\n  cooldwn: 5m\n"
        );
        let err = parse_str(&text).unwrap_err();
        assert!(
            err.contains("line 8 column 5: pool.autonomous: unknown field `prefx`"),
            "{err}"
        );
        assert!(
            err.contains("line 11 column 3: quota: unknown field `cooldwn`"),
            "{err}"
        );
        assert!(err.contains("2 problems"), "{err}");
    }

    #[test]
    fn a_bad_duration_names_its_line_and_the_fix() {
        let err = parse_str(&format!("{MINIMAL}quota:\n  cooldown: five minutes\n")).unwrap_err();
        assert!(err.contains("line 7 column"), "{err}");
        assert!(err.contains("write e.g. 30s"), "{err}");
    }

    #[test]
    fn a_type_error_names_what_yaml_calls_the_value_not_the_rust_type() {
        let text = format!(
            "{MINIMAL}tmux: 4\nquota:\n  statusline_threshold: high\npool:\n  autonomous:\n    max: -1\n  dedicated:\n    - {{name: x, project: [1]}}\n"
        );
        let err = parse_str(&text).unwrap_err();
        for line in [
            "line 6 column 7: tmux: invalid type: integer `4`, expected a map",
            "line 8 column 25: quota.statusline_threshold: invalid type: string \"high\", expected a number",
            "line 11 column 10: pool.autonomous.max: invalid type: integer `-1`, expected a whole number (0 or more)",
            "line 13 column 26: pool.dedicated[0].project: invalid type: sequence, expected a path",
        ] {
            assert!(err.contains(line), "missing {line:?} in {err}");
        }
        assert!(err.contains("4 problems"), "{err}");
    }

    #[test]
    fn a_config_with_thousands_of_bad_keys_stops_at_a_screenful() {
        let mut text = MINIMAL.to_string();
        text.push_str("quota:\n");
        for i in 0..5000 {
            let _ = writeln!(text, "  bad_key_{i}: 1");
        }
        let err = parse_str(&text).unwrap_err();
        assert_eq!(
            err.matches("unknown field").count(),
            reparse::MAX_PROBLEMS,
            "{err}"
        );
        assert!(err.contains("stopped after 50 problems"), "{err}");
        assert!(err.contains(": 50 problems in the configuration"), "{err}");
    }

    #[test]
    fn a_pool_of_millions_or_past_u32_is_refused() {
        let err = parse_str(&format!(
            "{MINIMAL}pool:\n  autonomous: {{start_index: 11, max: 100000000}}\n"
        ))
        .unwrap_err();
        assert!(
            err.contains("pool.autonomous.max (100000000) is over 1000"),
            "{err}"
        );
        let err = parse_str(&format!(
            "{MINIMAL}pool:\n  autonomous: {{start_index: 4294967290, max: 10}}\n"
        ))
        .unwrap_err();
        assert!(err.contains("does not fit in 32 bits"), "{err}");
    }

    #[test]
    fn duplicate_names_shared_homes_and_pool_collisions_are_all_reported() {
        let text = "accounts:\n  - {name: a, home: ~/h}\n  - {name: a, home: ~/h}\nshared:\n  root: ~/h/shared\npool:\n  autonomous: {prefix: 'ccl-auto-', start_index: 11, min: 5, max: 2}\n  dedicated:\n    - {name: ccl-auto-12, project: ~/p}\n    - {name: 'bad:name', project: ~/p}\n    - {name: '-x', project: ~/p}\n";
        let err = parse_str(text).unwrap_err();
        for needle in [
            "account name a is used twice",
            "share the home /home/op/h",
            "inside the home of account a",
            "min (5) is greater than max (2)",
            "ccl-auto-12 has the autonomous prefix",
            "\"bad:name\" contains ':'",
            "\"-x\" starts with '-'",
        ] {
            assert!(err.contains(needle), "missing {needle:?} in {err}");
        }
    }

    #[test]
    fn a_fleet_section_gets_its_defaults_and_each_mistake_its_line() {
        let base = "accounts:\n  - {name: a, home: ~/h}\n";
        let ok = parse_str(&format!(
            "{base}fleet:\n  endpoints: [http://10.0.0.1:2379/]\n  host: vm1\n"
        ))
        .unwrap();
        let f = ok.fleet.unwrap();
        assert_eq!(f.endpoints, ["http://10.0.0.1:2379"]);
        assert_eq!((f.prefix.as_str(), f.host.as_str()), ("/ccf", "vm1"));
        assert_eq!(f.timeout, Duration::from_secs(1));
        assert!(
            parse_str(base).unwrap().fleet.is_none(),
            "no fleet: = one host"
        );

        let text = format!(
            "{base}fleet:\n  endpoints: [etcd1:2379]\n  prefix: ccf\n  host: a/b\n  username: ccf\n  cert_file: ~/c.pem\n  timeout: 5m\n"
        );
        let err = parse_str(&text).unwrap_err();
        for needle in [
            "line 4: fleet.endpoints: \"etcd1:2379\" must be a URL",
            "line 5: fleet.prefix \"ccf\" must start with /",
            "line 6: fleet.host \"a/b\"",
            "line 7: fleet: with username, set exactly one of password_file or password_env",
            "fleet: cert_file and key_file go together",
            "line 9: fleet.timeout 5m must be between",
        ] {
            assert!(err.contains(needle), "missing {needle:?} in {err}");
        }
        let inline = parse_str(&format!(
            "{base}fleet:\n  endpoints: [http://e:2379]\n  username: u\n  password: hunter2\n"
        ))
        .unwrap_err();
        assert!(
            inline.contains("line 6") && inline.contains("password"),
            "{inline}"
        );
        assert!(!inline.contains("hunter2"), "{inline}");
    }

    #[test]
    fn a_tmux_socket_reads_as_the_operator_would_name_it() {
        assert_eq!(TmuxSocket::Default.to_string(), "the default socket");
        assert_eq!(TmuxSocket::Name("work".into()).to_string(), "-L work");
        assert_eq!(
            TmuxSocket::Path("/tmp/ccf.sock".into()).to_string(),
            "/tmp/ccf.sock"
        );
    }

    #[test]
    fn pool_index_accepts_only_the_prefix_and_a_number() {
        assert_eq!(pool_index("ccl-auto-", "ccl-auto-11"), Some(11));
        assert_eq!(pool_index("ccl-auto-", "ccl-auto-1x"), None);
        assert_eq!(pool_index("ccl-auto-", "ccl-auto-"), None);
        assert_eq!(pool_index("ccl-auto-", "ccl-auto-011"), None);
    }

    #[test]
    fn a_home_is_found_through_a_link_and_resolved_only_when_the_exact_path_misses() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real-a");
        std::fs::create_dir(&real).unwrap();
        let alias = dir.path().join("alias");
        std::os::unix::fs::symlink(&real, &alias).unwrap();
        let a = Account::new("a", alias.clone());
        let c = Config {
            accounts: vec![a],
            ..parse_str("accounts:\n  - {name: x, home: /nonexistent-x}\n").unwrap()
        };
        assert_eq!(
            c.account_by_home(&alias).map(|a| a.name.as_str()),
            Some("a")
        );
        assert!(
            c.accounts[0].canonical.get().is_none(),
            "an exact match costs no system call"
        );
        assert_eq!(c.account_by_home(&real).map(|a| a.name.as_str()), Some("a"));
        assert_eq!(
            c.accounts[0].canonical.get(),
            Some(&Some(real.canonicalize().unwrap()))
        );
        assert!(c.account_by_home(&dir.path().join("other")).is_none());
    }

    #[test]
    fn session_kind_knows_the_range_exactly() {
        let c = parse_str(&format!("{MINIMAL}pool:\n  autonomous: {{start_index: 11, max: 10}}\n  dedicated: [{{name: ccl-1-x, project: ~/x}}]\n")).unwrap();
        assert_eq!(c.session_kind("ccl-auto-11"), Some(SessionKind::Autonomous));
        assert_eq!(c.session_kind("ccl-auto-20"), Some(SessionKind::Autonomous));
        assert_eq!(c.session_kind("ccl-auto-21"), None);
        assert_eq!(c.session_kind("ccl-auto-1"), None);
        assert_eq!(c.session_kind("ccl-1-x"), Some(SessionKind::Dedicated));
        assert_eq!(c.session_kind("ccl-0"), None);
    }

    #[test]
    fn relative_paths_and_tilde_user_are_refused() {
        let err =
            parse_str("accounts:\n  - {name: a, home: rel/dir}\n  - {name: b, home: ~bob/x}\n")
                .unwrap_err();
        assert!(err.contains("rel/dir must be absolute"), "{err}");
        assert!(err.contains("~bob/x must be absolute"), "{err}");
    }

    #[test]
    fn the_example_config_loads_and_documents_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.yaml");
        let c = load(&path, Path::new("/home/op")).unwrap();
        assert_eq!(c.accounts.len(), 2);
        assert!(
            c.notifications.telegram.is_some()
                && c.notifications.resend.is_some()
                && c.notifications.webhook.is_some()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        for key in [
            "accounts:",
            "claude_link:",
            "shared:",
            "targets:",
            "state_dir:",
            "timezone:",
            "socket_name:",
            "socket_path:",
            "command:",
            "resume_prompt:",
            "args:",
            "env:",
            "prefix:",
            "start_index:",
            "min:",
            "max:",
            "workdir:",
            "dedicated:",
            "autostart:",
            "capture_lines:",
            "confirm_polls:",
            "cooldown:",
            "return_margin:",
            "default_exhaustion:",
            "statusline_threshold:",
            "queue_dir:",
            "task_timeout:",
            "retries:",
            "keep_finished:",
            "timeout:",
            "max_attempts:",
            "max_age:",
            "bot_token_file:",
            "chat_id:",
            "api_base:",
            "events:",
            "api_key_env:",
            "from:",
            "to:",
            "url:",
            "headers:",
            "endpoints:",
            "password_file:",
            "ca_file:",
            "key_file:",
        ] {
            assert!(
                text.contains(key),
                "config.example.yaml does not document {key}"
            );
        }
    }

    #[test]
    fn locate_follows_the_documented_order() {
        let env = |k: &str| match k {
            "CCF_CONFIG" => Some("/from/env.yaml".to_string()),
            _ => None,
        };
        assert_eq!(
            locate(Some(Path::new("/x.yaml")), &env).unwrap(),
            Path::new("/x.yaml")
        );
        assert_eq!(locate(None, &env).unwrap(), Path::new("/from/env.yaml"));
    }
}
