//! The configuration: where it is found, how it is read, and every check it must pass.
//!
//! Loading is two passes. The YAML is deserialized into [`schema::File`]; each unknown
//! key or type error is reported with its line and column, and the offending entry is
//! blanked out so the parse can go on and report the next one. The typed file is then
//! expanded (`~`) and cross-checked (duplicate names, shared homes, pool collisions, …).
//! Every problem is collected, so an operator fixes the file in one go.

pub mod schema;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::exit::Exit;

pub use schema::{Dedicated, Notifications, Resend, Telegram, Webhook};

/// A loaded and checked configuration. Paths are absolute and `~`-expanded.
/// How many problems of a config's keys and types are reported at once.
const MAX_PROBLEMS: usize = 50;

/// The largest configuration file ccf reads (a real one is a few KiB).
const MAX_CONFIG: u64 = 1 << 20;

/// The largest autonomous pool ccf accepts.
const MAX_POOL: u32 = 1000;

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub home: PathBuf,
    /// `home` with every link resolved, once, when the config is loaded (`None` while
    /// the home does not exist).
    pub canonical: Option<PathBuf>,
}

impl Account {
    pub fn new(name: impl Into<String>, home: PathBuf) -> Account {
        let canonical = std::fs::canonicalize(&home).ok();
        Account {
            name: name.into(),
            home,
            canonical,
        }
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
            .find(|a| a.canonical.as_ref() == Some(&canon))
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
    let xdg = env("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")));
    if let Some(dir) = xdg {
        let p = dir.join("ccf/config.yaml");
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
        "no configuration found (looked at --config, $CCF_CONFIG, {}); copy config.example.yaml to one of them",
        list.join(", ")
    )))
}

/// Reads, parses and checks the file at `path`; `home` expands `~`.
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
    parse(path, &text, home)
}

/// Parses and checks configuration text; `path` is only used in messages and kept.
pub fn parse(path: &Path, text: &str, home: &Path) -> Result<Config, Exit> {
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
    let file = parse_typed(text).map_err(report)?;
    let mut checker = Checker {
        text,
        home,
        problems: Vec::new(),
    };
    let config = checker.check(path, file);
    if checker.problems.is_empty() {
        Ok(config)
    } else {
        Err(report(checker.problems))
    }
}

/// Deserializes, collecting every unknown key and type error with its position.
fn parse_typed(text: &str) -> Result<schema::File, Vec<String>> {
    let mut work: Vec<String> = text.lines().map(str::to_string).collect();
    let mut problems = Vec::new();
    let mut blanked: Vec<String> = Vec::new();
    // Each round blanks one entry, so the number of lines bounds the rounds.
    for _ in 0..=work.len() {
        let err = match serde_yaml::from_str::<schema::File>(&work.join("\n")) {
            Ok(file) if problems.is_empty() => return Ok(file),
            Ok(_) => return Err(problems),
            Err(e) => e,
        };
        let msg = for_people(&strip_location(&err.to_string()));
        // A required key we blanked ourselves is not news to the operator.
        if msg.contains("missing field") && blanked.iter().any(|k| msg.contains(&format!("`{k}`")))
        {
            return Err(problems);
        }
        let Some(loc) = err.location() else {
            problems.push(msg);
            return Err(problems);
        };
        problems.push(format!(
            "line {} column {}: {msg}",
            loc.line(),
            loc.column()
        ));
        // Each round parses the whole file again: past a screenful of problems, stop
        // (a generated file with 20 000 of them took 84 s), and say there may be more.
        if problems.len() >= MAX_PROBLEMS {
            problems.push(format!(
                "… stopped after {MAX_PROBLEMS} problems: fix these, then run ccf validate again"
            ));
            return Err(problems);
        }
        let recoverable = [
            "unknown field",
            "invalid type",
            "invalid value",
            "invalid duration",
        ]
        .iter()
        .any(|k| msg.contains(k));
        match recoverable
            .then(|| blank_entry(&mut work, loc.line() - 1))
            .flatten()
        {
            Some(key) => blanked.push(key),
            None => return Err(problems),
        }
    }
    Err(problems)
}

/// Drops the location `serde_yaml` appends, since we print it in front.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Replaces the Rust type a serde error says it expected (`u32`, `struct Tmux`, `path
/// string`) with what the value is called in YAML; the rest of `msg` is kept.
pub fn for_people(msg: &str) -> String {
    const EXPECTED: &str = ", expected ";
    let Some(i) = msg.rfind(EXPECTED) else {
        return msg.to_string();
    };
    let (head, rust) = (&msg[..i], &msg[i + EXPECTED.len()..]);
    let yaml = match rust {
        "u8" | "u16" | "u32" | "u64" => "a whole number (0 or more)",
        "i8" | "i16" | "i32" | "i64" => "a whole number",
        "f32" | "f64" => "a number",
        "path string" => "a path",
        _ if rust.starts_with("struct ") => "a map",
        _ => return msg.to_string(),
    };
    format!("{head}{EXPECTED}{yaml}")
}

/// Comments out the block-style entry at `line` and its more-indented children; returns
/// its key, or `None` when the line is not a simple `key: …` entry we can safely remove.
fn blank_entry(lines: &mut [String], line: usize) -> Option<String> {
    let text = lines.get(line)?.clone();
    let indent = text.len() - text.trim_start().len();
    let body = text.trim_start().trim_start_matches("- ");
    let key = body.split(':').next()?.trim();
    if key.is_empty() || key.contains(['{', '[', ' ', '#']) || !body.contains(':') {
        return None;
    }
    lines[line] = "#".to_string();
    for l in lines.iter_mut().skip(line + 1) {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if l.len() - t.len() <= indent {
            break;
        }
        *l = "#".to_string();
    }
    Some(key.to_string())
}

struct Checker<'a> {
    text: &'a str,
    home: &'a Path,
    problems: Vec<String>,
}

impl Checker<'_> {
    fn problem(&mut self, near: Option<&str>, msg: String) {
        match near.and_then(|n| self.line_of(n)) {
            Some(line) => self.problems.push(format!("line {line}: {msg}")),
            None => self.problems.push(msg),
        }
    }

    /// The 1-based line of the last occurrence of `needle`, to point at a value.
    fn line_of(&self, needle: &str) -> Option<usize> {
        self.text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains(needle))
            .last()
            .map(|(i, _)| i + 1)
    }

    fn expand(&mut self, key: &str, p: &Path) -> PathBuf {
        match expand_tilde(p, self.home) {
            Some(x) if x.is_absolute() => x,
            _ => {
                self.problem(
                    p.to_str(),
                    format!("{key}: {} must be absolute or start with ~/", p.display()),
                );
                p.to_path_buf()
            }
        }
    }

    fn check(&mut self, path: &Path, f: schema::File) -> Config {
        let accounts = self.check_accounts(&f.accounts);
        let claude_link = f
            .claude_link
            .as_ref()
            .map(|p| self.expand("claude_link", p));
        if let Some(link) = &claude_link
            && let Some(a) = accounts.iter().find(|a| &a.home == link)
        {
            self.problem(
                    None,
                    format!(
                        "claude_link {} is also the home of account {}: point claude_link at ~/.claude and give the account its own directory",
                        link.display(),
                        a.name
                    ),
                );
        }
        let shared = self.check_shared(&f.shared, &accounts);
        let state_dir = self.expand("state_dir", &f.state_dir);
        if let Some(tz) = &f.timezone
            && jiff::tz::TimeZone::get(tz).is_err()
        {
            self.problem(
                    Some(tz),
                    format!("timezone: unknown zone {tz:?}; use an IANA name such as Europe/Paris, or null for the system's"),
                );
        }
        let tmux = match (&f.tmux.socket_name, &f.tmux.socket_path) {
            (Some(_), Some(_)) => {
                self.problem(
                    Some("socket_path"),
                    "tmux: set socket_name or socket_path, not both".into(),
                );
                TmuxSocket::Default
            }
            (Some(n), None) => TmuxSocket::Name(n.clone()),
            (None, Some(p)) => TmuxSocket::Path(self.expand("tmux.socket_path", p)),
            (None, None) => TmuxSocket::Default,
        };
        if f.claude.command.trim().is_empty() {
            self.problem(
                Some("command:"),
                "claude.command is empty: name the claude executable".into(),
            );
        }
        let pool = self.check_pool(&f.pool);
        let q = &f.quota;
        if !(1..=10_000).contains(&q.capture_lines) {
            self.problem(
                Some("capture_lines"),
                "quota.capture_lines must be between 1 and 10000".into(),
            );
        }
        if q.confirm_polls == 0 {
            self.problem(
                Some("confirm_polls"),
                "quota.confirm_polls must be at least 1".into(),
            );
        }
        if let Some(t) = q.statusline_threshold
            && !(t > 0.0 && t <= 100.0)
        {
            self.problem(
                Some("statusline_threshold"),
                "quota.statusline_threshold must be a percentage in (0, 100], or null for off"
                    .into(),
            );
        }
        let quota = Quota {
            capture_lines: q.capture_lines,
            confirm_polls: q.confirm_polls,
            cooldown: q.cooldown.0,
            return_margin: q.return_margin.0,
            default_exhaustion: q.default_exhaustion.0,
            statusline_threshold: q.statusline_threshold,
        };
        let dispatcher = Dispatcher {
            queue_dir: self.expand("dispatcher.queue_dir", &f.dispatcher.queue_dir),
            task_timeout: f.dispatcher.task_timeout.0,
            retries: f.dispatcher.retries,
        };
        let notifications = self.check_notifications(f.notifications);
        Config {
            path: path.to_path_buf(),
            accounts,
            claude_link,
            shared,
            state_dir,
            timezone: f.timezone,
            tmux,
            claude: f.claude,
            pool,
            quota,
            dispatcher,
            keep_finished: f.janitor.keep_finished.0,
            notifications,
        }
    }

    fn check_accounts(&mut self, raw: &[schema::Account]) -> Vec<Account> {
        if raw.is_empty() {
            self.problem(
                Some("accounts"),
                "accounts is empty: list at least one account (name, home)".into(),
            );
        }
        let mut out: Vec<Account> = Vec::new();
        for a in raw {
            let valid = !a.name.is_empty()
                && a.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !valid {
                self.problem(
                    Some(&a.name),
                    format!(
                        "account name {:?}: use letters, digits, '-', '_' or '.'",
                        a.name
                    ),
                );
            }
            let home = self.expand("account home", &a.home);
            if out.iter().any(|o| o.name == a.name) {
                self.problem(
                    Some(&format!("name: {}", a.name)),
                    format!(
                        "account name {} is used twice: give each account its own name",
                        a.name
                    ),
                );
            }
            if let Some(o) = out.iter().find(|o| o.home == home) {
                self.problem(
                    None,
                    format!(
                        "accounts {} and {} share the home {}: each account needs its own config directory",
                        o.name,
                        a.name,
                        home.display()
                    ),
                );
            }
            out.push(Account::new(a.name.clone(), home));
        }
        out
    }

    fn check_shared(&mut self, s: &schema::Shared, accounts: &[Account]) -> Vec<SharedDir> {
        let root = self.expand("shared.root", &s.root);
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for name in &s.names {
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                self.problem(
                    Some(name),
                    format!("shared name {name:?} must be a plain directory name"),
                );
                continue;
            }
            if !seen.insert(name.clone()) {
                self.problem(Some(name), format!("shared name {name} is listed twice"));
                continue;
            }
            let target = match s.targets.get(name) {
                Some(t) => self.expand("shared target", t),
                None => root.join(name),
            };
            if let Some(a) = accounts.iter().find(|a| target.starts_with(&a.home)) {
                self.problem(
                    None,
                    format!(
                        "shared target {} is inside the home of account {}: a swap would hide it from the other accounts; move it under shared.root",
                        target.display(),
                        a.name
                    ),
                );
            }
            out.push(SharedDir {
                name: name.clone(),
                target,
            });
        }
        for name in s.targets.keys() {
            if !seen.contains(name) {
                self.problem(
                    Some(name),
                    format!("shared.targets.{name} names no entry of shared.names"),
                );
            }
        }
        out
    }

    fn check_pool(&mut self, p: &schema::Pool) -> Pool {
        let a = &p.autonomous;
        if let Err(why) = tmux_name_problem(&a.prefix) {
            self.problem(
                Some("prefix"),
                format!("pool.autonomous.prefix {:?} {why}", a.prefix),
            );
        }
        // Every run walks the pool's names under the lock: a pool of millions is a typo,
        // and the range must fit in a u32.
        if a.max > MAX_POOL {
            self.problem(
                Some("max"),
                format!(
                    "pool.autonomous.max ({}) is over {MAX_POOL}: each session is a claude of hundreds of MB; lower it",
                    a.max
                ),
            );
        }
        if a.start_index.checked_add(a.max).is_none() {
            self.problem(
                Some("start_index"),
                format!(
                    "pool.autonomous.start_index ({}) + max ({}) does not fit in 32 bits: lower start_index",
                    a.start_index, a.max
                ),
            );
        }
        if a.min > a.max {
            self.problem(
                Some("min"),
                format!(
                    "pool.autonomous.min ({}) is greater than max ({}): lower min or raise max",
                    a.min, a.max
                ),
            );
        }
        let mut names = BTreeSet::new();
        let mut dedicated = Vec::new();
        for d in &p.dedicated {
            if let Err(why) = tmux_name_problem(&d.name) {
                self.problem(
                    Some(&d.name),
                    format!("dedicated session name {:?} {why}", d.name),
                );
            }
            if !names.insert(d.name.clone()) {
                self.problem(
                    Some(&d.name),
                    format!("dedicated session {} is listed twice", d.name),
                );
            }
            if pool_index(&a.prefix, &d.name).is_some() {
                self.problem(
                    Some(&d.name),
                    format!(
                        "dedicated session {} has the autonomous prefix {:?} followed by a number: the pool would claim it; rename it",
                        d.name, a.prefix
                    ),
                );
            }
            dedicated.push(Dedicated {
                name: d.name.clone(),
                project: self.expand("dedicated project", &d.project),
                autostart: d.autostart,
            });
        }
        Pool {
            prefix: a.prefix.clone(),
            start_index: a.start_index,
            min: a.min,
            max: a.max,
            workdir: self.expand("pool.autonomous.workdir", &a.workdir),
            dedicated,
        }
    }

    fn check_notifications(&mut self, mut n: Notifications) -> Notifications {
        let events = |list: &[String], me: &mut Self, channel: &str| {
            for e in list {
                if !schema::EVENTS.contains(&e.as_str()) {
                    me.problem(
                        Some(e),
                        format!(
                            "notifications.{channel}.events: unknown event {e:?}; known: {}",
                            schema::EVENTS.join(", ")
                        ),
                    );
                }
            }
        };
        if let Some(t) = &mut n.telegram {
            self.one_secret(
                "telegram",
                "bot_token",
                [
                    t.bot_token.is_some(),
                    t.bot_token_file.is_some(),
                    t.bot_token_env.is_some(),
                ],
            );
            self.url("telegram.api_base", &t.api_base);
            if let Some(f) = &t.bot_token_file {
                t.bot_token_file = Some(expand_tilde(f, self.home).unwrap_or_else(|| f.clone()));
            }
            events(&t.events.clone(), self, "telegram");
        }
        if let Some(r) = &mut n.resend {
            self.one_secret(
                "resend",
                "api_key",
                [
                    r.api_key.is_some(),
                    r.api_key_file.is_some(),
                    r.api_key_env.is_some(),
                ],
            );
            self.url("resend.api_base", &r.api_base);
            if r.to.is_empty() {
                self.problem(
                    Some("to:"),
                    "notifications.resend.to is empty: list at least one address".into(),
                );
            }
            if let Some(f) = &r.api_key_file {
                r.api_key_file = Some(expand_tilde(f, self.home).unwrap_or_else(|| f.clone()));
            }
            events(&r.events.clone(), self, "resend");
        }
        if let Some(w) = &n.webhook {
            self.url("webhook.url", &w.url);
            events(&w.events.clone(), self, "webhook");
        }
        n
    }

    fn one_secret(&mut self, channel: &str, key: &str, set: [bool; 3]) {
        let count = set.iter().filter(|s| **s).count();
        if count != 1 {
            self.problem(
                Some(&format!("{channel}:")),
                format!(
                    "notifications.{channel}: set exactly one of {key}_file, {key}_env or {key} (found {count})"
                ),
            );
        }
    }

    fn url(&mut self, key: &str, url: &str) {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            self.problem(
                Some(url),
                format!("notifications.{key} {url:?} must start with http:// or https://"),
            );
        }
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
        assert_eq!(c.shared.len(), 3);
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
        assert_eq!(err.matches("unknown field").count(), MAX_PROBLEMS, "{err}");
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
