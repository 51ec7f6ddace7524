//! `ccf validate`: read-only checks of everything a swap depends on, every problem at
//! once with its fix (like `nginx -t`). Problems exit 3; warnings are printed but keep
//! the exit code 0 (things that work without them, like hooks).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::context::Ctx;
use crate::exit::Exit;
use crate::fsutil::{self, Entry};
use crate::human;
use crate::links;
use crate::secret;

#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
    /// ccf's installed units as the user manager reports them, a line each.
    pub units: Vec<String>,
    /// What the fleet's etcd answered (members, other hosts), a line each.
    pub fleet: Vec<String>,
}

impl Report {
    fn problem(&mut self, what: impl Into<String>, fix: impl Into<String>) {
        self.problems.push((what.into(), fix.into()));
    }
    fn warning(&mut self, what: impl Into<String>, fix: impl Into<String>) {
        self.warnings.push((what.into(), fix.into()));
    }
}

pub fn run(ctx: &Ctx) -> Result<ExitCode> {
    let report = check(ctx, &|k| std::env::var(k).ok());
    for (what, fix) in &report.problems {
        println!("problem: {what}\n  fix: {fix}");
    }
    for (what, fix) in &report.warnings {
        println!("warning: {what}\n  fix: {fix}");
    }
    for line in &report.units {
        println!("unit: {line}");
    }
    for line in &report.fleet {
        println!("fleet: {line}");
    }
    if report.problems.is_empty() {
        println!(
            "ok: {} is valid ({}, {})",
            ctx.config.path.display(),
            human::count(ctx.config.accounts.len(), "account"),
            human::count(report.warnings.len(), "warning")
        );
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Exit::Problems(format!(
            "{} found",
            human::count(report.problems.len(), "problem")
        ))
        .into())
    }
}

/// Runs every check; `env` is the environment ccf runs in.
pub fn check(ctx: &Ctx, env: &dyn Fn(&str) -> Option<String>) -> Report {
    let mut r = Report::default();
    let state = match ctx.read_state() {
        Ok(s) => Some(s),
        Err(e) => {
            r.problem(
                format!("{e:#}"),
                "see above; ccf refuses to run on a state it cannot read",
            );
            None
        }
    };
    check_homes(ctx, &mut r);
    check_layout(ctx, state.as_ref(), &mut r);
    if let Some(state) = &state {
        if let Some(j) = &state.swap {
            r.problem(
                format!(
                    "a swap from {} to {} is unfinished (step {})",
                    j.from, j.to, j.step
                ),
                "run ccf rollback (or any mutating command finishes it)",
            );
        }
        if let Some(d) = &state.degraded {
            r.problem(
                format!("ccf is degraded since {}: {}", d.since, d.reason),
                "fix the cause, then run ccf rollback",
            );
        }
        for (name, a) in &state.accounts {
            if a.auth_failed {
                r.problem(
                    format!("account {name} failed authentication"),
                    format!(
                        "log in again: CLAUDE_CONFIG_DIR={} claude, then /login",
                        home_of(ctx, name)
                    ),
                );
            }
        }
    }
    check_dirs(ctx, &mut r);
    check_units(&mut r);
    match ctx.tmux.server_running() {
        Ok(true) => {}
        Ok(false) => r.problem(
            format!("no tmux server answers on {}", ctx.config.tmux),
            "start it outside ccf (e.g. systemctl --user start ccf-tmux.service); ccf never starts it itself",
        ),
        Err(e) => r.problem(format!("{e:#}"), "install tmux"),
    }
    if find_program(&ctx.config.claude.command, env).is_none() {
        r.problem(
            format!(
                "claude command {:?} is not on PATH",
                ctx.config.claude.command
            ),
            "install Claude Code, or set claude.command to its absolute path",
        );
    }
    // Panes inherit the tmux server's global environment, not ccf's: look there too.
    let panes_env = ctx.tmux.global_environment().unwrap_or_default();
    for var in [
        "CLAUDE_CODE_OAUTH_TOKEN",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
    ] {
        let mut wheres = Vec::new();
        if env(var).is_some_and(|v| !v.is_empty()) {
            wheres.push("ccf's environment");
        }
        if ctx.config.claude.env.contains_key(var) {
            wheres.push("claude.env");
        }
        if panes_env.iter().any(|(k, v)| k == var && !v.is_empty()) {
            wheres.push("the tmux server's global environment");
        }
        if !wheres.is_empty() {
            r.problem(
                format!(
                    "{var} is set in {}: it overrides every account's own login, so a swap changes nothing",
                    wheres.join(" and ")
                ),
                format!(
                    "unset {var} there (tmux: tmux set-environment -g -u {var}, and in the shell profile the server starts from)"
                ),
            );
        }
    }
    let skips = bypasses_permissions(&ctx.config.claude.args);
    if skips && is_root() && !ctx.config.claude.env.contains_key("IS_SANDBOX") {
        r.warning(
            "claude.args has --dangerously-skip-permissions and ccf runs as root: Claude Code refuses that flag as root",
            "run as a normal user, or set claude.env.IS_SANDBOX: \"1\" on a sandboxed host",
        );
    }
    check_secrets(ctx, env, &mut r);
    check_fleet(ctx, &mut r);
    r
}

/// Reaches the fleet's etcd (`fleet:`): its members, the other hosts, and whether they
/// name the same accounts (accounts are known across hosts by name).
fn check_fleet(ctx: &Ctx, r: &mut Report) {
    let Some(mut link) = crate::fleet::Link::open(ctx.config.fleet.as_ref(), ctx.now) else {
        return;
    };
    let endpoints = link.cfg.endpoints.join(", ");
    let Some(view) = link.view.take() else {
        r.problem(
            format!(
                "the fleet's etcd ({endpoints}) cannot be used: {}; check-quota works as a single host",
                link.problem().unwrap_or_default()
            ),
            "start etcd or fix fleet.endpoints; for a refusal check fleet.username and its password (password_file/password_env) and TLS files",
        );
        return;
    };
    match link.members() {
        Ok(mut m) => r.fleet.push(format!(
            "{} reachable: {}",
            human::count(m.len(), "member"),
            {
                m.sort();
                m.iter()
            }
            .map(|(name, urls)| format!("{} ({})", human::printable(name), urls.join(" ")))
            .collect::<Vec<_>>()
            .join(", ")
        )),
        Err(e) => r.warning(
            format!("the fleet's etcd answered a read but not its member list: {e}"),
            "grant this user the cluster read role, or ignore",
        ),
    }
    let mine: Vec<&str> = ctx
        .config
        .accounts
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    let others: Vec<_> = view
        .hosts
        .values()
        .filter(|h| h.host != link.cfg.host)
        .collect();
    r.fleet.push(format!(
        "this host is {}; {}",
        human::printable(&link.cfg.host),
        if others.is_empty() {
            "no other host has checked in".to_string()
        } else {
            format!(
                "other hosts: {}",
                others
                    .iter()
                    .map(|h| format!(
                        "{} (active {})",
                        human::printable(&h.host),
                        h.active.as_deref().map_or("-".into(), human::printable)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    for h in others {
        let unknown: Vec<&str> = h
            .accounts
            .iter()
            .map(String::as_str)
            .filter(|a| !mine.contains(a))
            .collect();
        if !unknown.is_empty() {
            r.warning(
                format!(
                    "host {} names accounts this host does not have: {}; accounts are shared by name",
                    human::printable(&h.host),
                    human::printable(&unknown.join(", "))
                ),
                "use the same account names on every host for the same Claude account",
            );
        }
    }
    for line in view.ignored {
        r.warning(
            line,
            "remove the key (etcdctl del KEY); ccf never acts on it",
        );
    }
}

/// Whether claude is launched in Bypass Permissions mode.
fn bypasses_permissions(args: &[String]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        a == "--dangerously-skip-permissions"
            || a == "--permission-mode=bypassPermissions"
            || (a == "--permission-mode"
                && args.get(i + 1).is_some_and(|m| m == "bypassPermissions"))
    })
}

/// Whether an account recorded its consent to Bypass Permissions mode (what accepting
/// Claude Code's warning writes into the account's `settings.json`).
fn accepted_bypass(home: &Path) -> bool {
    std::fs::read(home.join("settings.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("skipDangerousModePermissionPrompt")?.as_bool())
        == Some(true)
}

fn home_of(ctx: &Ctx, name: &str) -> String {
    ctx.config
        .account(name)
        .map_or_else(|| "?".into(), |a| a.home.display().to_string())
}

fn check_homes(ctx: &Ctx, r: &mut Report) {
    let managed: Vec<&Path> = std::iter::once(ctx.config.pool.workdir.as_path())
        .chain(
            ctx.config
                .pool
                .dedicated
                .iter()
                .map(|d| d.project.as_path()),
        )
        .collect();
    for a in &ctx.config.accounts {
        let home = &a.home;
        if !home.is_dir() {
            r.problem(
                format!("account {} home {} does not exist", a.name, home.display()),
                "run ccf ensure-symlinks, then log in: CLAUDE_CONFIG_DIR=<home> claude",
            );
            continue;
        }
        if tempfile::tempfile_in(home).is_err() {
            r.problem(
                format!("account {} home {} is not writable", a.name, home.display()),
                "fix its owner or mode",
            );
        }
        let has = |f: &str| home.join(f).exists();
        if !has(".credentials.json") {
            r.warning(
                format!(
                    "account {} ({}) has no .credentials.json: not logged in?",
                    a.name,
                    home.display()
                ),
                format!("CLAUDE_CONFIG_DIR={} claude, then /login", home.display()),
            );
        }
        if bypasses_permissions(&ctx.config.claude.args) && !accepted_bypass(home) {
            r.problem(
                format!(
                    "account {} has not accepted Claude Code's Bypass Permissions mode: a session relaunched there with claude.args' --dangerously-skip-permissions stops at its warning",
                    a.name
                ),
                format!(
                    "accept it once (CLAUDE_CONFIG_DIR={0} claude --dangerously-skip-permissions), or add \"skipDangerousModePermissionPrompt\": true to {0}/settings.json",
                    home.display()
                ),
            );
        }
        let missing = crate::commands::install_hooks::missing_hooks(home);
        if !missing.is_empty() {
            r.warning(
                format!(
                    "account {} has no ccf {} hook: ccf falls back to reading panes",
                    a.name,
                    missing.join("/")
                ),
                "ccf install-hooks",
            );
        }
        check_claude_json(
            &home.join(".claude.json"),
            &format!("account {}", a.name),
            &format!("CLAUDE_CONFIG_DIR={} claude", home.display()),
            &managed,
            r,
        );
    }
    // With claude_link, ccf relaunches sessions on ~/.claude (no CLAUDE_CONFIG_DIR), so
    // that the next swap carries them; such a claude keeps its onboarding and folder
    // trust in $HOME/.claude.json, not in the account's home.
    if ctx.config.claude_link.is_some() {
        let file = ctx.home.join(".claude.json");
        if !file.exists() {
            r.warning(
                format!("{} is missing: a session ccf relaunches on ~/.claude would start at Claude Code's first-run questions", file.display()),
                "run claude once (without CLAUDE_CONFIG_DIR) in each managed directory and accept its dialogs",
            );
        }
        check_claude_json(
            &ctx.home.join(".claude.json"),
            "~/.claude.json (what a session on ~/.claude reads)",
            "claude (without CLAUDE_CONFIG_DIR)",
            &managed,
            r,
        );
    }
}

/// Onboarding done and every managed directory trusted, in one `.claude.json`; `who`
/// names it in the problem, `run` is how to start a claude that writes it.
fn check_claude_json(path: &Path, who: &str, run: &str, managed: &[&Path], r: &mut Report) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        r.problem(
            format!("{} does not parse", path.display()),
            "let Claude Code rewrite it (start claude there)",
        );
        return;
    };
    if json
        .get("hasCompletedOnboarding")
        .and_then(serde_json::Value::as_bool)
        != Some(true)
    {
        r.problem(
            format!("{who} has not completed Claude Code's onboarding: a relaunched session would stop at a dialog"),
            format!("{run} once and finish the first-run questions"),
        );
    }
    for dir in managed {
        if !trusts(&json, dir) {
            r.problem(
                format!("{who} does not trust {}: a relaunched session there would stop at the trust dialog", dir.display()),
                format!("cd {} && {run}, and accept the trust dialog", dir.display()),
            );
        }
    }
}

/// Whether `.claude.json` trusts `dir` or one of its ancestors.
fn trusts(json: &serde_json::Value, dir: &Path) -> bool {
    let Some(projects) = json.get("projects").and_then(serde_json::Value::as_object) else {
        return false;
    };
    dir.ancestors().any(|d| {
        projects
            .get(&*d.to_string_lossy())
            .and_then(|p| p.get("hasTrustDialogAccepted"))
            .and_then(serde_json::Value::as_bool)
            == Some(true)
    })
}

fn check_layout(ctx: &Ctx, state: Option<&crate::state::State>, r: &mut Report) {
    let fallback = crate::state::State::new();
    let active = ctx.active_account(state.unwrap_or(&fallback));
    match links::survey(&ctx.config, None, active) {
        Err(e) => r.problem(
            format!("{e:#}"),
            "check the permissions of the account homes",
        ),
        Ok(items) => {
            for item in items {
                match item.finding {
                    links::Finding::Ok => {}
                    // A missing account home is reported, with the login hint, by check_homes.
                    links::Finding::CreateDir
                        if ctx.config.accounts.iter().any(|a| a.home == item.path) => {}
                    links::Finding::CreateDir => {
                        r.problem(
                            format!("{} is missing", item.path.display()),
                            "run ccf ensure-symlinks",
                        );
                    }
                    links::Finding::Link(t) => r.problem(
                        format!(
                            "{} is missing (should link to {})",
                            item.path.display(),
                            t.display()
                        ),
                        "run ccf ensure-symlinks",
                    ),
                    links::Finding::Adopt(t) => r.problem(
                        format!(
                            "{} is a real directory, not a link to {}",
                            item.path.display(),
                            t.display()
                        ),
                        "run ccf ensure-symlinks (it moves what is there into the shared directory)",
                    ),
                    links::Finding::Divergent { found, fix } => {
                        r.problem(
                            format!("{} is {found}, not the expected link", item.path.display()),
                            fix,
                        );
                    }
                }
            }
        }
    }
    if let (Some(link), Some(state)) = (&ctx.config.claude_link, state)
        && let (Some(target), Some(name)) = (ctx.link_target(), &state.active_account)
    {
        let linked = ctx.config.account_by_home(&target).map(|a| a.name.clone());
        if linked.as_deref() != Some(name) && state.swap.is_none() {
            r.problem(
                format!(
                    "{} points at {} but the state says the active account is {name}",
                    link.display(),
                    target.display()
                ),
                "run ccf rollback, or ccf swap --to <account> to make them agree",
            );
        }
    }
}

fn check_secrets(ctx: &Ctx, env: &dyn Fn(&str) -> Option<String>, r: &mut Report) {
    let n = &ctx.config.notifications;
    // Webhook headers usually carry a token (`Authorization`, `X-Api-Key`).
    let inline = n.telegram.as_ref().is_some_and(|t| t.bot_token.is_some())
        || n.resend.as_ref().is_some_and(|x| x.api_key.is_some())
        || n.webhook.as_ref().is_some_and(|w| {
            !w.headers.is_empty() || crate::notify::channel::url_holds_secret(&w.url)
        });
    if inline && readable_by_others(&ctx.config.path) {
        r.problem(
            format!(
                "{} holds a secret inline and others can read it",
                ctx.config.path.display()
            ),
            format!(
                "chmod 600 {}, or move the secret to a *_file / *_env key",
                ctx.config.path.display()
            ),
        );
    }
    let files = n
        .telegram
        .as_ref()
        .and_then(|t| t.bot_token_file.clone())
        .into_iter()
        .chain(n.resend.as_ref().and_then(|x| x.api_key_file.clone()));
    for f in files {
        let creds = env("CREDENTIALS_DIRECTORY");
        let Some(path) = secret::file_path(&f, creds.as_deref()) else {
            r.warning(
                format!(
                    "secret file {} is relative: it is read from $CREDENTIALS_DIRECTORY, which only systemd sets",
                    f.display()
                ),
                "give ccf's units LoadCredential= for it (runs outside systemd do not send)",
            );
            continue;
        };
        match fsutil::entry(&path) {
            Ok(Entry::Missing) => r.problem(
                format!("secret file {} does not exist", path.display()),
                "create it (mode 600)",
            ),
            Ok(_) if readable_by_others(&path) => {
                r.problem(
                    format!("secret file {} is readable by others", path.display()),
                    format!("chmod 600 {}", path.display()),
                );
            }
            _ if std::fs::read_to_string(&path).is_ok_and(|s| s.trim().is_empty()) => {
                r.problem(
                    format!("secret file {} is empty", path.display()),
                    "write the token or key into it",
                );
            }
            _ => {}
        }
    }
    let vars = n
        .telegram
        .as_ref()
        .and_then(|t| t.bot_token_env.clone())
        .into_iter()
        .chain(n.resend.as_ref().and_then(|x| x.api_key_env.clone()));
    for v in vars {
        if env(&v).is_none_or(|s| s.trim().is_empty()) {
            r.problem(
                format!("secret variable ${v} is not set"),
                "set it in ccf's environment (systemd: Environment= or a credential)",
            );
        }
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn readable_by_others(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

/// Resolves a command like a shell's PATH lookup would.
pub fn find_program(cmd: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<std::path::PathBuf> {
    if cmd.contains('/') {
        let p = Path::new(cmd);
        return is_executable(p).then(|| p.to_path_buf());
    }
    env("PATH")?
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// ccf's own directories, where they exist: none may be writable by another user or
/// owned by one (a forged spool record forces a swap; a replaced state misleads).
fn check_dirs(ctx: &Ctx, r: &mut Report) {
    let c = &ctx.config;
    let q = &c.dispatcher.queue_dir;
    let dirs = [
        c.state_dir.clone(),
        c.spool_dir(),
        c.state_dir.join("usage"),
        c.state_dir.join("outbox"),
        q.clone(),
        q.join("inbox"),
        q.join("running"),
        q.join("done"),
        q.join("failed"),
    ];
    for d in dirs {
        if let Some(why) = std::fs::metadata(&d).ok().and_then(|m| fsutil::loose(&m)) {
            r.problem(
                format!("{} {why}", d.display()),
                format!(
                    "chmod 700 {0} and give it to yourself (ccf tightens one of yours on its next run)",
                    d.display()
                ),
            );
        }
    }
}

/// ccf's units, when a user manager runs them: a line each, a problem for each failed.
fn check_units(r: &mut Report) {
    let Some(units) = crate::user_manager::installed_units(&crate::units::names()) else {
        return;
    };
    r.units = units
        .iter()
        .map(|u| format!("{} {}", u.name, u.describe()))
        .collect();
    for u in units.iter().filter(|u| u.failed()) {
        r.problem(
            format!("{} {}", u.name, u.describe()),
            format!(
                "systemctl --user status {0} (and its journal) says why; fix it, then systemctl --user reset-failed {0}",
                u.name
            ),
        );
    }
}
