//! `ccf init [--stdout]`: a first configuration from what is on this host, written where
//! ccf looks for it (`--config`, `$CCF_CONFIG`, else `$XDG_CONFIG_HOME/ccf/config.yaml`),
//! never over an existing file.
//!
//! What it finds: the account homes `~/.claude-*` with a login (the others are named in a
//! comment), the tmux server (`$TMUX`, else the user's default socket), `claude` on
//! `PATH`, and the server's sessions, sorted by the example's naming: `ccl-auto-N` is the
//! pool, any other `ccl-…` a dedicated session in its pane's directory, the rest manual.
//! Every other key is `config.example.yaml`'s, comments included; its notification
//! channels are commented out (they are the example's addresses). Finding is
//! [`survey`] (reads files and tmux), writing the text is [`render`] (pure).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::InitArgs;
use crate::config::{self, TmuxSocket};

/// The example's pool: what a session name is matched against.
const POOL_PREFIX: &str = "ccl-auto-";
const POOL_START: u32 = 11;
const POOL_MAX: u32 = 10;
/// The example's dedicated sessions are `ccl-<n>-<project>`: every `ccl-` name outside
/// the pool is taken for one.
const DEDICATED_PREFIX: &str = "ccl-";
/// The most sessions a pool may hold (config check's bound).
const MAX_POOL: u32 = 1000;

/// What `ccf init` found on the host.
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    pub home: PathBuf,
    /// Homes with a login, by name: the config's accounts, in this order.
    pub accounts: Vec<(String, PathBuf)>,
    /// `~/.claude-*` homes without one.
    pub without_login: Vec<PathBuf>,
    pub state_dir: PathBuf,
    /// The socket of a tmux server that answered.
    pub socket: Option<PathBuf>,
    /// `claude` on `PATH`.
    pub claude: Option<PathBuf>,
    /// Pool sessions' indexes, and their directory when they share one.
    pub pool: Vec<u32>,
    pub pool_workdir: Option<PathBuf>,
    /// Dedicated sessions: name, the directory of its pane.
    pub dedicated: Vec<(String, PathBuf)>,
    /// Every other session, left alone.
    pub manual: Vec<String>,
}

pub fn run(explicit: Option<&Path>, args: &InitArgs) -> Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    let home = PathBuf::from(env("HOME").context("$HOME is not set; ccf needs it to expand ~")?);
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => env("CCF_CONFIG")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| config::xdg_path(&env))
            .context("no place to write the config: set $HOME or $XDG_CONFIG_HOME")?,
    };
    if !args.stdout && std::fs::symlink_metadata(&path).is_ok() {
        bail!(
            "{} exists; ccf init never overwrites a config: edit it, or move it away and run ccf init again",
            path.display()
        );
    }
    let found = survey(&home, &env)?;
    for h in &found.without_login {
        crate::log::notice(&format!(
            "{} has no login, so it is left out: log in (CLAUDE_CONFIG_DIR={} claude, then /login) and add it to accounts",
            h.display(),
            h.display()
        ));
    }
    if found.accounts.is_empty() {
        bail!(
            "no account home with a login: ccf wants one ~/.claude-NAME per account (log in with CLAUDE_CONFIG_DIR=~/.claude-NAME claude, then /login), then run ccf init again"
        );
    }
    let text = render(config::EXAMPLE, &found)?;
    // What was written must load: a finding the checks refuse is a bug here, not the
    // operator's to discover.
    config::parse(&path, &text, &home)
        .context("ccf init made a config that does not load (a bug; please report it)")?;
    if args.stdout {
        std::io::stdout()
            .write_all(text.as_bytes())
            .context("failed to print the config")?;
        return Ok(ExitCode::SUCCESS);
    }
    write_new(&path, &text)?;
    println!("wrote {}:", path.display());
    println!("{}", summary(&found));
    println!(
        "next: ccf ensure-symlinks (the shared layout and the ~/.claude link), then ccf validate"
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` (and its directory) with `text`; fails if it exists, even when another
/// process created it since the check.
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        // It may get a secret (a notification token) once edited.
        .mode(0o600)
        .open(path)
        .with_context(|| format!("failed to create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write {}", path.display()))
}

/// One line per thing found, for the operator.
fn summary(f: &Found) -> String {
    let names: Vec<&str> = f.accounts.iter().map(|(n, _)| n.as_str()).collect();
    let mut lines = vec![format!(
        "  {}: {}",
        crate::human::count(f.accounts.len(), "account"),
        names.join(", ")
    )];
    lines.push(match &f.socket {
        Some(s) => format!("  tmux: {}", s.display()),
        None => "  tmux: no server answered; the default socket".to_string(),
    });
    lines.push(match &f.claude {
        Some(c) => format!("  claude: {}", c.display()),
        None => "  claude: not on PATH; `claude` (set claude.command)".to_string(),
    });
    lines.push(format!(
        "  sessions: {} in the pool, {} dedicated, {} left alone",
        f.pool.len(),
        f.dedicated.len(),
        f.manual.len()
    ));
    lines.push(format!("  state_dir: {}", f.state_dir.display()));
    lines.join("\n")
}

/// Looks at the host: account homes, tmux, claude, sessions.
pub fn survey(home: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Found> {
    let mut found = Found {
        home: home.to_path_buf(),
        state_dir: config::default_state_dir(home, config::state_home(env).as_deref()),
        ..Found::default()
    };
    let mut homes: Vec<(String, PathBuf)> = std::fs::read_dir(home)
        .with_context(|| format!("failed to list {}", home.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e
                .file_name()
                .to_str()?
                .strip_prefix(".claude-")?
                .to_string();
            Some((name, e.path()))
        })
        // The example's shared root is not an account; neither is a name the config
        // refuses (a backup `.claude-a~`).
        .filter(|(name, path)| {
            name != "shared"
                && !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                && path.is_dir()
        })
        .collect();
    homes.sort();
    for (name, path) in homes {
        if has_login(&path) {
            found.accounts.push((name, path));
        } else {
            found.without_login.push(path);
        }
    }
    found.claude = on_path("claude", env);
    let socket = env("TMUX")
        .and_then(|t| t.split(',').next().map(PathBuf::from))
        .filter(|p| p.is_absolute())
        .or_else(|| {
            let dir = env("TMUX_TMPDIR")
                .filter(|d| Path::new(d).is_absolute())
                .unwrap_or_else(|| "/tmp".into());
            Some(Path::new(&dir).join(format!("tmux-{}/default", crate::fsutil::own_uid())))
        });
    if let Some(socket) = socket {
        let tmux = crate::tmux::Tmux::new(&TmuxSocket::Path(socket.clone()));
        // A stale socket or a server that does not answer: no server.
        if tmux.server_running().unwrap_or(false) {
            let panes = tmux.list().unwrap_or_default();
            found.socket = Some(socket);
            sort_sessions(
                &mut found,
                panes.into_iter().map(|p| (p.session, p.cwd)).collect(),
            );
        }
    }
    Ok(found)
}

/// Whether an account home holds a login: Claude Code's credentials file, or an
/// `oauthAccount` in its `.claude.json`.
fn has_login(home: &Path) -> bool {
    let json = |name: &str| {
        crate::fsutil::read_bounded(&home.join(name), 1 << 20)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    };
    json(".credentials.json").is_some_and(|v| v.get("claudeAiOauth").is_some())
        || json(".claude.json").is_some_and(|v| v.get("oauthAccount").is_some_and(|a| !a.is_null()))
}

/// The first executable `name` on `$PATH`.
fn on_path(name: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = env("PATH")?;
    path.split(':')
        .filter(|d| Path::new(d).is_absolute())
        .map(|d| Path::new(d).join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Sorts the server's sessions (name, its pane's directory) into pool, dedicated and
/// manual, by the example's names.
fn sort_sessions(found: &mut Found, sessions: Vec<(String, PathBuf)>) {
    let mut pool: BTreeMap<u32, PathBuf> = BTreeMap::new();
    for (name, cwd) in sessions {
        let fits = config::tmux_name_problem(&name).is_ok();
        if let Some(i) = config::pool_index(POOL_PREFIX, &name).filter(|_| fits) {
            pool.insert(i, cwd);
        } else if fits
            && name.starts_with(DEDICATED_PREFIX)
            && !name.starts_with(POOL_PREFIX)
            && cwd.is_absolute()
        {
            found.dedicated.push((name, cwd));
        } else {
            found.manual.push(name);
        }
    }
    // The pool starts at the example's index or the lowest seen, and holds the highest
    // seen; an index too far for one pool is a manual session.
    let start = pool
        .keys()
        .next()
        .map_or(POOL_START, |&i| i.min(POOL_START));
    let (kept, far): (BTreeMap<u32, PathBuf>, BTreeMap<u32, PathBuf>) =
        pool.into_iter().partition(|(i, _)| *i < start + MAX_POOL);
    found
        .manual
        .extend(far.keys().map(|i| format!("{POOL_PREFIX}{i}")));
    let mut dirs: Vec<&PathBuf> = kept.values().collect();
    dirs.dedup();
    if let [one] = dirs.as_slice()
        && one.is_absolute()
    {
        found.pool_workdir = Some((*one).clone());
    }
    found.pool = kept.into_keys().collect();
    found.dedicated.sort();
    found.manual.sort();
}

/// `path` as the operator writes it: `~/…` under the home.
fn tilde(path: &Path, home: &Path) -> String {
    match path.strip_prefix(home) {
        Ok(rest) if rest.as_os_str().is_empty() => "~".to_string(),
        Ok(rest) => format!("~/{}", rest.display()),
        Err(_) => path.display().to_string(),
    }
}

/// A YAML scalar for `s`: bare when YAML reads it back as this string, else a
/// double-quoted (JSON) string, which YAML reads the same.
fn scalar(s: &str) -> String {
    let plain_start = !s.starts_with(['-', '.', '~']) || s.starts_with("~/");
    let bare = !s.is_empty()
        && plain_start
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-~+".contains(c))
        && serde_yaml::from_str::<serde_yaml::Value>(s).ok() == Some(serde_yaml::Value::from(s));
    if bare {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

fn path_scalar(path: &Path, home: &Path) -> String {
    scalar(&tilde(path, home))
}

/// The example with what was found in place of its accounts, `state_dir`, tmux socket,
/// claude command, pool and dedicated sessions; its notification channels commented out.
pub fn render(example: &str, f: &Found) -> Result<String> {
    let h = &f.home;
    let mut lines: Vec<String> = example.lines().map(str::to_string).collect();

    let mut accounts = vec!["accounts:".to_string()];
    for (name, home) in &f.accounts {
        accounts.push(format!("  - name: {}", scalar(name)));
        accounts.push(format!("    home: {}", path_scalar(home, h)));
    }
    for home in &f.without_login {
        accounts.push(format!(
            "  # {}: no login yet (CLAUDE_CONFIG_DIR={0} claude, then /login)",
            tilde(home, h)
        ));
    }
    replace_block(&mut lines, "accounts:", accounts)?;

    set_line(
        &mut lines,
        None,
        "state_dir:",
        format!("state_dir: {}", path_scalar(&f.state_dir, h)),
    )?;
    if let Some(socket) = &f.socket {
        set_line(
            &mut lines,
            Some("tmux:"),
            "  socket_path:",
            format!("  socket_path: {}", path_scalar(socket, h)),
        )?;
    }
    if let Some(claude) = &f.claude {
        set_line(
            &mut lines,
            Some("claude:"),
            "  command:",
            format!("  command: {}", scalar(&claude.display().to_string())),
        )?;
    }
    if let (Some(&first), Some(&last)) = (f.pool.first(), f.pool.last()) {
        let start = first.min(POOL_START);
        set_line(
            &mut lines,
            Some("  autonomous:"),
            "    start_index:",
            format!("    start_index: {start}"),
        )?;
        set_line(
            &mut lines,
            Some("  autonomous:"),
            "    max:",
            format!("    max: {}", POOL_MAX.max(last - start + 1)),
        )?;
    }
    if let Some(dir) = &f.pool_workdir {
        set_line(
            &mut lines,
            Some("  autonomous:"),
            "    workdir:",
            format!("    workdir: {}", path_scalar(dir, h)),
        )?;
    }
    let mut dedicated = if f.dedicated.is_empty() {
        vec!["  dedicated: []".to_string()]
    } else {
        vec!["  dedicated:".to_string()]
    };
    for (name, project) in &f.dedicated {
        dedicated.push(format!("    - name: {}", scalar(name)));
        dedicated.push(format!("      project: {}", path_scalar(project, h)));
        dedicated.push("      autostart: false".to_string());
    }
    if !f.manual.is_empty() {
        dedicated.push(format!(
            "  # Other tmux sessions, left alone (list one here to have it carried): {}",
            f.manual.join(", ")
        ));
    }
    replace_block(&mut lines, "  dedicated:", dedicated)?;
    comment_out_channels(&mut lines)?;
    comment_out_fleet(&mut lines);

    // The example's opening comment says how to copy it; this file's says where it came from.
    let opening = lines.iter().take_while(|l| l.starts_with('#')).count();
    let mut text = String::from(
        "# ccf configuration, written by `ccf init` from what it found on this host. Every\n\
         # other key is as in `ccf config example`, at its default; unknown keys are an error.\n\
         # `~` expands to $HOME; durations are humantime (30s, 5m, 2h, 7d).\n",
    );
    for l in lines.into_iter().skip(opening) {
        let _ = writeln!(text, "{l}");
    }
    Ok(text)
}

/// Replaces the line starting with `key` (after the line `section`, when given).
fn set_line(lines: &mut [String], section: Option<&str>, key: &str, new: String) -> Result<()> {
    let from = match section {
        Some(s) => lines
            .iter()
            .position(|l| l == s)
            .with_context(|| format!("the example has no {s:?} line"))?,
        None => 0,
    };
    let at = lines[from..]
        .iter()
        .position(|l| l.starts_with(key))
        .with_context(|| format!("the example has no {key:?} line"))?;
    lines[from + at] = new;
    Ok(())
}

/// Replaces the line `key` and the more-indented lines under it with `new`.
fn replace_block(lines: &mut Vec<String>, key: &str, new: Vec<String>) -> Result<()> {
    let at = lines
        .iter()
        .position(|l| l == key)
        .with_context(|| format!("the example has no {key:?} line"))?;
    let indent = key.len() - key.trim_start().len();
    let end = lines[at + 1..]
        .iter()
        .position(|l| {
            let depth = l.len() - l.trim_start().len();
            l.trim().is_empty() || depth <= indent
        })
        .map_or(lines.len(), |n| at + 1 + n);
    lines.splice(at..end, new);
    Ok(())
}

/// The example's `fleet:` names example etcd endpoints: a host joins a fleet by
/// choice, so the whole section becomes a comment (uncommented, each check-quota would
/// spend its timeout on addresses that do not exist).
fn comment_out_fleet(lines: &mut [String]) {
    let Some(start) = lines.iter().position(|l| l == "fleet:") else {
        return;
    };
    for l in &mut lines[start..] {
        if l.is_empty() || (!l.starts_with(' ') && !l.starts_with('#') && l != "fleet:") {
            break;
        }
        if !l.starts_with('#') {
            *l = format!("# {l}");
        }
    }
}

/// The example's channels send to example addresses: each is turned into a comment.
fn comment_out_channels(lines: &mut [String]) -> Result<()> {
    let section = lines
        .iter()
        .position(|l| l == "notifications:")
        .context("the example has no notifications section")?;
    let mut inside = false;
    for l in &mut lines[section + 1..] {
        if !l.starts_with(' ') && !l.is_empty() {
            break;
        }
        let key = l.trim_end();
        if ["  telegram:", "  resend:", "  webhook:"]
            .iter()
            .any(|c| key.starts_with(c))
        {
            inside = true;
        } else if l.starts_with("  ") && !l.starts_with("   ") && !l.trim_start().starts_with('#') {
            inside = false;
        }
        if inside && !l.is_empty() {
            *l = format!("  # {}", &l[2..]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Found {
        let h = PathBuf::from("/home/op");
        Found {
            accounts: vec![
                ("a".into(), h.join(".claude-a")),
                ("work.2".into(), h.join(".claude-work.2")),
            ],
            without_login: vec![h.join(".claude-b")],
            state_dir: h.join(".local/state/ccf"),
            socket: Some("/tmp/tmux-1000/default".into()),
            claude: Some(h.join(".local/bin/claude")),
            pool: vec![3, 4, 30],
            pool_workdir: Some(h.join("jobs")),
            dedicated: vec![("ccl-1-web".into(), h.join("src/web site"))],
            manual: vec!["main".into()],
            home: h,
        }
    }

    #[test]
    fn what_was_found_replaces_the_examples_values_and_loads() {
        let f = found();
        let text = render(config::EXAMPLE, &f).unwrap();
        let c = config::parse(Path::new("/c.yaml"), &text, &f.home).unwrap_or_else(|e| {
            panic!("{e}\n{text}");
        });
        let names: Vec<&str> = c.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["a", "work.2"]);
        assert_eq!(c.accounts[1].home, Path::new("/home/op/.claude-work.2"));
        assert_eq!(c.state_dir, Path::new("/home/op/.local/state/ccf"));
        assert_eq!(c.tmux, TmuxSocket::Path("/tmp/tmux-1000/default".into()));
        assert_eq!(c.claude.command, "/home/op/.local/bin/claude");
        assert_eq!((c.pool.start_index, c.pool.max), (3, 28));
        assert_eq!(c.pool.workdir, Path::new("/home/op/jobs"));
        assert_eq!(c.pool.dedicated.len(), 1);
        assert_eq!(c.pool.dedicated[0].name, "ccl-1-web");
        // No fleet unless the operator joins one: the example's endpoints stay a comment.
        assert!(c.fleet.is_none());
        assert!(text.lines().any(|l| l == "# fleet:"), "{text}");
        assert!(c.notifications.telegram.is_none() && c.notifications.webhook.is_none());
        assert!(text.contains("# ~/.claude-b: no login yet"), "{text}");
        assert!(text.contains("left alone (list one here to have it carried): main"));
        // The rest is the example's, comments and all.
        assert!(text.contains("  cooldown: 5m                # no new swap within this"));
        assert!(
            text.contains("  # telegram:\n  #   bot_token_file:"),
            "{text}"
        );
    }

    #[test]
    fn nothing_found_but_an_account_keeps_the_examples_defaults() {
        let h = PathBuf::from("/home/op");
        let f = Found {
            accounts: vec![("solo".into(), h.join(".claude-solo"))],
            state_dir: h.join("st/ccf"),
            home: h,
            ..Found::default()
        };
        let text = render(config::EXAMPLE, &f).unwrap();
        let c = config::parse(Path::new("/c.yaml"), &text, &f.home).unwrap();
        assert_eq!(c.tmux, TmuxSocket::Default);
        assert_eq!(c.claude.command, "claude");
        assert_eq!((c.pool.start_index, c.pool.max), (POOL_START, POOL_MAX));
        assert!(c.pool.dedicated.is_empty());
    }

    #[test]
    fn sessions_are_sorted_by_the_examples_names() {
        let mut f = Found::default();
        let s = |n: &str, d: &str| (n.to_string(), PathBuf::from(d));
        sort_sessions(
            &mut f,
            vec![
                s("ccl-auto-12", "/w"),
                s("ccl-auto-14", "/w"),
                s("ccl-2-api", "/src/api"),
                s("main", "/"),
                s("ccl-auto-09", "/w"),
                s("ccl-auto-5000", "/w"),
            ],
        );
        assert_eq!(f.pool, [12, 14]);
        assert_eq!(f.pool_workdir, Some(PathBuf::from("/w")));
        assert_eq!(f.dedicated, [s("ccl-2-api", "/src/api")]);
        assert_eq!(f.manual, ["ccl-auto-09", "ccl-auto-5000", "main"]);
    }

    #[test]
    fn scalars_are_quoted_only_when_yaml_would_misread_them() {
        assert_eq!(scalar("compte1"), "compte1");
        assert_eq!(scalar("~/.claude-a"), "~/.claude-a");
        assert_eq!(scalar("/src/web site"), "\"/src/web site\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("123"), "\"123\"");
        assert_eq!(scalar("null"), "\"null\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
    }
}
