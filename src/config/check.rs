//! The second pass of loading: the typed file expanded (`~`) and cross-checked
//! (duplicate names, shared homes, pool collisions, secrets, URLs), every problem
//! collected with the line it is on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{
    Account, Config, Dedicated, Dispatcher, Fleet, Notifications, Pool, Quota, SharedDir,
    TmuxSocket, expand_tilde, pool_index, schema, tmux_name_problem,
};

/// The largest autonomous pool ccf accepts.
const MAX_POOL: u32 = 1000;

/// Checks `f` (read from `text` at `path`); returns the config and its problems.
pub fn check(
    path: &Path,
    text: &str,
    home: &Path,
    state_home: Option<&Path>,
    f: schema::File,
) -> (Config, Vec<String>) {
    let mut checker = Checker {
        text,
        home,
        state_home,
        problems: Vec::new(),
    };
    let config = checker.check(path, f);
    (config, checker.problems)
}

struct Checker<'a> {
    text: &'a str,
    home: &'a Path,
    /// `$XDG_STATE_HOME`, when set to an absolute path: the default `state_dir`'s parent.
    state_home: Option<&'a Path>,
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
        let claude_link = self.check_link(f.claude_link.as_deref(), &accounts);
        let shared = self.check_shared(&f.shared, &accounts);
        let state_dir = match &f.state_dir {
            Some(dir) => self.expand("state_dir", dir),
            None => super::default_state_dir(self.home, self.state_home),
        };
        self.check_timezone(f.timezone.as_deref());
        let tmux = self.check_tmux(&f.tmux);
        if f.claude.command.trim().is_empty() {
            self.problem(
                Some("command:"),
                "claude.command is empty: name the claude executable".into(),
            );
        }
        let pool = self.check_pool(&f.pool);
        let quota = self.check_quota(&f.quota);
        let dispatcher = Dispatcher {
            queue_dir: self.expand("dispatcher.queue_dir", &f.dispatcher.queue_dir),
            task_timeout: f.dispatcher.task_timeout.0,
            retries: f.dispatcher.retries,
        };
        let notifications = self.check_notifications(f.notifications);
        let fleet = f.fleet.map(|fl| self.check_fleet(fl));
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
            fleet,
        }
    }

    fn check_link(&mut self, link: Option<&Path>, accounts: &[Account]) -> Option<PathBuf> {
        let link = self.expand("claude_link", link?);
        if let Some(a) = accounts.iter().find(|a| a.home == link) {
            self.problem(
                None,
                format!(
                    "claude_link {} is also the home of account {}: point claude_link at ~/.claude and give the account its own directory",
                    link.display(),
                    a.name
                ),
            );
        }
        Some(link)
    }

    fn check_timezone(&mut self, tz: Option<&str>) {
        if let Some(tz) = tz
            && crate::detect::lookup_zone(tz).is_err()
        {
            self.problem(
                Some(tz),
                format!("timezone: unknown zone {tz:?}; use an IANA name such as Europe/Paris, or null for the system's"),
            );
        }
    }

    fn check_tmux(&mut self, t: &schema::Tmux) -> TmuxSocket {
        match (&t.socket_name, &t.socket_path) {
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
        }
    }

    fn check_quota(&mut self, q: &schema::Quota) -> Quota {
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
        Quota {
            capture_lines: q.capture_lines,
            confirm_polls: q.confirm_polls,
            cooldown: q.cooldown.0,
            return_margin: q.return_margin.0,
            default_exhaustion: q.default_exhaustion.0,
            statusline_threshold: q.statusline_threshold,
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

    fn check_fleet(&mut self, f: schema::Fleet) -> Fleet {
        if f.endpoints.is_empty() {
            self.problem(
                Some("endpoints:"),
                "fleet.endpoints is empty: list the etcd members' client URLs (http://10.0.0.1:2379)".into(),
            );
        }
        let mut endpoints = Vec::new();
        for e in &f.endpoints {
            let scheme = e
                .strip_prefix("http://")
                .or_else(|| e.strip_prefix("https://"));
            match scheme {
                Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
                    endpoints.push(e.trim_end_matches('/').to_string());
                }
                _ => self.problem(
                    Some(e),
                    format!(
                        "fleet.endpoints: {e:?} must be a URL starting with http:// or https://"
                    ),
                ),
            }
        }
        let prefix = f.prefix.trim_end_matches('/').to_string();
        if !f.prefix.starts_with('/') || prefix.is_empty() || prefix.chars().any(char::is_control) {
            self.problem(
                Some("prefix:"),
                format!(
                    "fleet.prefix {:?} must start with / and name a key range (/ccf)",
                    f.prefix
                ),
            );
        }
        let host = f.host.clone().unwrap_or_else(hostname);
        if host.is_empty()
            || host.contains('/')
            || host.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            self.problem(
                Some("host:"),
                format!(
                    "fleet.host {host:?} must be a non-empty name without / or spaces (set fleet.host)"
                ),
            );
        }
        match (&f.username, f.password_file.is_some(), f.password_env.is_some()) {
            (Some(_), true, true) | (Some(_), false, false) => self.problem(
                Some("username:"),
                "fleet: with username, set exactly one of password_file or password_env (never the password itself)".into(),
            ),
            (None, true, _) | (None, _, true) => self.problem(
                Some("password_"),
                "fleet: a password is set without a username: add fleet.username".into(),
            ),
            _ => {}
        }
        if f.cert_file.is_some() != f.key_file.is_some() {
            self.problem(
                Some("_file:"),
                "fleet: cert_file and key_file go together (a client certificate and its key)"
                    .into(),
            );
        }
        if f.timeout.0.is_zero() || f.timeout.0 > std::time::Duration::from_secs(60) {
            self.problem(
                Some("timeout:"),
                format!(
                    "fleet.timeout {:?} must be between 1ms and 60s: it bounds what one run spends on etcd",
                    f.timeout
                ),
            );
        }
        let mut path = |key: &str, p: Option<&PathBuf>| p.map(|p| self.expand(key, p));
        let ca_file = path("fleet.ca_file", f.ca_file.as_ref());
        let cert_file = path("fleet.cert_file", f.cert_file.as_ref());
        let key_file = path("fleet.key_file", f.key_file.as_ref());
        // Relative password files are `$CREDENTIALS_DIRECTORY`'s, as for notifications.
        let password_file = f
            .password_file
            .map(|p| expand_tilde(&p, self.home).unwrap_or(p));
        Fleet {
            endpoints,
            prefix,
            host,
            username: f.username,
            password_file,
            password_env: f.password_env,
            ca_file,
            cert_file,
            key_file,
            timeout: f.timeout.0,
        }
    }
}

/// This host's name (the kernel's), for `fleet.host`'s default.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}
