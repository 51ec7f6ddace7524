//! ccf's systemd user units: the files in `systemd/`, embedded, and their rendering for
//! one installation (the running binary, the config, the directories the path units
//! watch). Pure: paths in, file contents out.
//!
//! The shipped files are working units for the default layout (`cargo install` puts ccf
//! in `~/.cargo/bin`, the config and the directories at their defaults), so they verify
//! as they are; rendering replaces those defaults with the real paths.

use std::path::{Path, PathBuf};

use crate::config::TmuxSocket;

/// One unit file: its name and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub name: &'static str,
    pub text: String,
}

/// The unit files as shipped, in the order they are installed.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "ccf-tmux.service",
        include_str!("../systemd/ccf-tmux.service"),
    ),
    (
        "ccf-setup.service",
        include_str!("../systemd/ccf-setup.service"),
    ),
    (
        "ccf-check-quota.service",
        include_str!("../systemd/ccf-check-quota.service"),
    ),
    (
        "ccf-check-quota.timer",
        include_str!("../systemd/ccf-check-quota.timer"),
    ),
    (
        "ccf-check-quota.path",
        include_str!("../systemd/ccf-check-quota.path"),
    ),
    (
        "ccf-dispatch.service",
        include_str!("../systemd/ccf-dispatch.service"),
    ),
    (
        "ccf-dispatch.timer",
        include_str!("../systemd/ccf-dispatch.timer"),
    ),
    (
        "ccf-dispatch.path",
        include_str!("../systemd/ccf-dispatch.path"),
    ),
    (
        "ccf-janitor.service",
        include_str!("../systemd/ccf-janitor.service"),
    ),
    (
        "ccf-janitor.timer",
        include_str!("../systemd/ccf-janitor.timer"),
    ),
];

/// The names of every unit shipped, for asking the user manager about them.
pub fn names() -> Vec<&'static str> {
    TEMPLATES.iter().map(|(n, _)| *n).collect()
}

/// The units an installation enables: what starts everything else.
pub const ENABLED: &[&str] = &[
    "ccf-setup.service",
    "ccf-check-quota.timer",
    "ccf-check-quota.path",
    "ccf-dispatch.timer",
    "ccf-dispatch.path",
    "ccf-janitor.timer",
];

/// The tmux server's unit: enabled like the others, but never stopped by ccf.
pub const TMUX_UNIT: &str = "ccf-tmux.service";

/// The defaults the shipped files name, replaced by [`render`].
const DEFAULT_CCF: &str = "%h/.cargo/bin/ccf";
const DEFAULT_CONFIG: &str = "%h/.config/ccf/config.yaml";
const DEFAULT_SPOOL: &str = "PathChanged=%h/.local/state/ccf/spool";
const DEFAULT_INBOX: &str = "PathChanged=%h/agent-queue/inbox";
const DEFAULT_WRITABLE: &str = "ReadWritePaths=%h -/tmp/tmux-%U";
const DEFAULT_TMUX: &str = "exec tmux start-server";
const PRIVATE_USERS: &str = "\nPrivateUsers=yes\n";
/// The line of the shipped services that the rendered ones replace with the level.
const SANDBOX_COMMENT: &str = "# Sandbox: ";

/// How much of the shipped sandbox the services carry, strongest first. `ccf systemd
/// install` measures which one this host's user manager applies and ccf works under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum SandboxLevel {
    /// Every setting shipped: namespaces (a user namespace for an ordinary user),
    /// capabilities and the system-call filter.
    Full,
    /// What needs no namespace: seccomp filters, no new privileges, address families.
    Basic,
    /// No sandbox at all.
    #[value(name = "none")]
    Off,
}

impl SandboxLevel {
    pub const ALL: [SandboxLevel; 3] = [SandboxLevel::Full, SandboxLevel::Basic, SandboxLevel::Off];

    pub fn name(self) -> &'static str {
        match self {
            SandboxLevel::Full => "full",
            SandboxLevel::Basic => "basic",
            SandboxLevel::Off => "none",
        }
    }

    /// The next level down (`none` stays `none`).
    #[must_use]
    pub fn weaker(self) -> SandboxLevel {
        match self {
            SandboxLevel::Full => SandboxLevel::Basic,
            SandboxLevel::Basic | SandboxLevel::Off => SandboxLevel::Off,
        }
    }

    /// Whether a sandbox setting stays in the services at this level.
    fn keeps(self, key: &str) -> bool {
        match self {
            SandboxLevel::Full => true,
            SandboxLevel::Basic => BASIC.contains(&key),
            SandboxLevel::Off => false,
        }
    }

    /// The level an installed unit's text names (see [`render`]).
    pub fn of_unit(text: &str) -> Option<SandboxLevel> {
        let rest = text.lines().find_map(|l| l.strip_prefix(LEVEL_LINE))?;
        let name = rest.split_whitespace().next()?;
        SandboxLevel::ALL.into_iter().find(|l| l.name() == name)
    }
}

impl std::fmt::Display for SandboxLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every sandbox setting the shipped services carry. `UMask=` is not one of them: it
/// makes ccf's files private at every level.
pub const SANDBOX_KEYS: &[&str] = &[
    "PrivateUsers",
    "ProtectSystem",
    "ReadWritePaths",
    "PrivateMounts",
    "NoNewPrivileges",
    "CapabilityBoundingSet",
    "PrivateDevices",
    "DevicePolicy",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectClock",
    "ProtectHostname",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "RestrictAddressFamilies",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "KeyringMode",
    "RemoveIPC",
];

/// The settings an unprivileged user manager applies without a namespace: each is a
/// seccomp filter or a plain process attribute (measured on systemd 252: each starts
/// alone where `PrivateUsers=` cannot, and `/proc/self/status` shows it applied).
const BASIC: &[&str] = &[
    "NoNewPrivileges",
    "SystemCallFilter",
    "SystemCallArchitectures",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "KeyringMode",
];

/// The first words of the line that records the level in a rendered service.
const LEVEL_LINE: &str = "# ccf sandbox level: ";

/// What one installation fills in. Paths are absolute.
#[derive(Debug, Clone)]
pub struct Installation {
    pub ccf: PathBuf,
    pub config: PathBuf,
    /// `state_dir/spool`, watched by `ccf-check-quota.path`.
    pub spool: PathBuf,
    /// `queue_dir/inbox`, watched by `ccf-dispatch.path`.
    pub inbox: PathBuf,
    pub tmux: TmuxSocket,
    /// Directories outside `$HOME` that ccf writes (state, queue, account homes, the
    /// tmux socket's directory): made writable in the sandbox.
    pub writable: Vec<PathBuf>,
    /// Root's user manager applies the sandbox without a user namespace, and inside one
    /// the panes' `/proc/<pid>/environ` is unreadable: root gets `PrivateUsers=no`.
    pub root: bool,
    /// How much of the sandbox the services carry.
    pub sandbox: SandboxLevel,
}

/// Every unit with this installation's paths filled in.
pub fn render(inst: &Installation) -> Vec<Unit> {
    let ccf = exec_word(&inst.ccf);
    let config = exec_word(&inst.config);
    let writable: String = inst
        .writable
        .iter()
        .map(|p| [" ", &list_word(&format!("-{}", p.display()))].concat())
        .collect();
    let tmux = match &inst.tmux {
        TmuxSocket::Default => DEFAULT_TMUX.to_string(),
        TmuxSocket::Name(n) => format!("exec tmux -L {} start-server", quoted_shell_word(n)),
        TmuxSocket::Path(p) => format!(
            "exec tmux -S {} start-server",
            quoted_shell_word(&p.display().to_string())
        ),
    };
    TEMPLATES
        .iter()
        .map(|&(name, template)| {
            let mut text = template
                .replace(DEFAULT_CCF, &ccf)
                .replace(DEFAULT_CONFIG, &config)
                .replace(
                    DEFAULT_SPOOL,
                    &format!("PathChanged={}", specifiers(&inst.spool)),
                )
                .replace(
                    DEFAULT_INBOX,
                    &format!("PathChanged={}", specifiers(&inst.inbox)),
                )
                .replace(DEFAULT_WRITABLE, &format!("{DEFAULT_WRITABLE}{writable}"))
                .replace(DEFAULT_TMUX, &tmux);
            if inst.root {
                text = text.replace(PRIVATE_USERS, "\nPrivateUsers=no\n");
            }
            Unit {
                name,
                text: with_sandbox(&text, inst.sandbox),
            }
        })
        .collect()
}

/// A service's text with only the sandbox settings `level` keeps, and a line that says
/// which level it is. Units without a sandbox (the timers, the tmux server) are as given.
fn with_sandbox(text: &str, level: SandboxLevel) -> String {
    if !text.contains(SANDBOX_COMMENT) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_comment = false;
    for line in text.split_inclusive('\n') {
        if line.starts_with(SANDBOX_COMMENT) {
            in_comment = true;
            out.push_str(LEVEL_LINE);
            out.push_str(level.name());
            out.push_str(
                " (what `ccf systemd install` measured this host's user\n\
                 # manager applies and ccf works under; `ccf systemd install --sandbox` sets it)\n",
            );
            continue;
        }
        if in_comment && line.starts_with('#') {
            continue;
        }
        in_comment = false;
        if sandbox_key(line).is_some_and(|k| !level.keeps(k)) {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// The sandbox setting a unit line sets, if it is one.
fn sandbox_key(line: &str) -> Option<&'static str> {
    let key = line.split_once('=')?.0.trim();
    SANDBOX_KEYS.iter().copied().find(|k| *k == key)
}

/// The sandbox settings of a rendered service, `Key=value` each, for a transient unit
/// that tries them (`systemd-run -p`). Specifiers are the caller's to expand.
pub fn sandbox_properties(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| sandbox_key(l).is_some() || l.starts_with("UMask="))
        .map(str::to_string)
        .collect()
}

/// `%` starts a specifier in unit files.
fn specifiers(p: &Path) -> String {
    p.display().to_string().replace('%', "%%")
}

/// One word of an `Exec*=` line: specifiers and `$` escaped, quoted when needed.
fn exec_word(p: &Path) -> String {
    let s = p
        .display()
        .to_string()
        .replace('%', "%%")
        .replace('$', "$$");
    if s.chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'))
    {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s
    }
}

/// One word of a space-separated list setting such as `ReadWritePaths=`.
fn list_word(s: &str) -> String {
    let s = s.replace('%', "%%");
    if s.chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'))
    {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s
    }
}

/// A word for the shell inside `ccf-tmux.service`'s double-quoted `-c` argument: single
/// quotes for the shell, then escaped for systemd's double quotes.
fn quoted_shell_word(s: &str) -> String {
    let shell = format!("'{}'", s.replace('\'', "'\\''"));
    shell
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst() -> Installation {
        Installation {
            ccf: "/opt/ccf/bin/ccf".into(),
            config: "/home/op/.config/ccf/config.yaml".into(),
            spool: "/home/op/.local/state/ccf/spool".into(),
            inbox: "/srv/queue/inbox".into(),
            tmux: TmuxSocket::Default,
            writable: vec!["/srv/queue".into()],
            root: false,
            sandbox: SandboxLevel::Full,
        }
    }

    fn unit<'a>(units: &'a [Unit], name: &str) -> &'a str {
        &units.iter().find(|u| u.name == name).unwrap().text
    }

    #[test]
    fn every_default_path_is_replaced_by_the_installation_s() {
        let units = render(&inst());
        for u in &units {
            for default in [DEFAULT_CCF, DEFAULT_CONFIG, DEFAULT_SPOOL, DEFAULT_INBOX] {
                assert!(!u.text.contains(default), "{} keeps {default}", u.name);
            }
        }
        assert!(unit(&units, "ccf-janitor.service").contains(
            "ExecStart=/opt/ccf/bin/ccf --config /home/op/.config/ccf/config.yaml janitor\n"
        ));
        assert!(
            unit(&units, "ccf-check-quota.path")
                .contains("PathChanged=/home/op/.local/state/ccf/spool\n")
        );
        assert!(unit(&units, "ccf-dispatch.path").contains("PathChanged=/srv/queue/inbox\n"));
        assert!(
            unit(&units, "ccf-dispatch.service")
                .contains("ReadWritePaths=%h -/tmp/tmux-%U -/srv/queue\n")
        );
    }

    #[test]
    fn the_setup_service_runs_ensure_symlinks_before_validate() {
        let units = render(&inst());
        let text = unit(&units, "ccf-setup.service");
        let ensure = text.find("config.yaml ensure-symlinks\n").unwrap();
        let validate = text.find("config.yaml validate\n").unwrap();
        assert!(ensure < validate);
    }

    #[test]
    fn paths_with_spaces_percent_and_dollar_are_escaped() {
        let mut i = inst();
        i.ccf = "/opt/my tools/ccf".into();
        i.config = "/etc/ccf/100%$x.yaml".into();
        i.writable = vec!["/srv/a queue".into()];
        let units = render(&i);
        assert!(
            unit(&units, "ccf-janitor.service").contains(
                "ExecStart=\"/opt/my tools/ccf\" --config /etc/ccf/100%%$$x.yaml janitor\n"
            )
        );
        assert!(unit(&units, "ccf-janitor.service").contains(" \"-/srv/a queue\"\n"));
    }

    #[test]
    fn the_tmux_unit_names_the_configured_socket() {
        let mut i = inst();
        i.tmux = TmuxSocket::Name("ccf".into());
        assert!(
            unit(&render(&i), TMUX_UNIT)
                .contains("\"exec tmux -L 'ccf' start-server \\\\; set-option -g exit-empty off\"")
        );
        i.tmux = TmuxSocket::Path("/run/user/1000/it's".into());
        assert!(
            unit(&render(&i), TMUX_UNIT).contains("exec tmux -S '/run/user/1000/it'\\\\''s' start")
        );
    }

    #[test]
    fn root_gets_no_user_namespace_and_others_do() {
        let mut i = inst();
        assert!(unit(&render(&i), "ccf-check-quota.service").contains("\nPrivateUsers=yes\n"));
        i.root = true;
        let units = render(&i);
        assert!(unit(&units, "ccf-check-quota.service").contains("\nPrivateUsers=no\n"));
        assert!(units.iter().all(|u| !u.text.contains(PRIVATE_USERS)));
    }

    fn keys(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .filter(|k| SANDBOX_KEYS.contains(k))
            .collect()
    }

    #[test]
    fn each_level_keeps_exactly_its_settings_and_names_itself() {
        let mut i = inst();
        for level in SandboxLevel::ALL {
            i.sandbox = level;
            let units = render(&i);
            let text = unit(&units, "ccf-check-quota.service");
            let kept = keys(text);
            match level {
                SandboxLevel::Full => assert_eq!(kept.len(), SANDBOX_KEYS.len(), "{text}"),
                SandboxLevel::Basic => {
                    assert_eq!(kept.len(), BASIC.len(), "{text}");
                    assert!(kept.iter().all(|k| BASIC.contains(k)), "{kept:?}");
                }
                SandboxLevel::Off => assert!(kept.is_empty(), "{kept:?}"),
            }
            assert!(
                text.contains("\nUMask=0077\n"),
                "files stay private at {level}"
            );
            assert_eq!(SandboxLevel::of_unit(text), Some(level));
            assert!(!text.contains(SANDBOX_COMMENT), "{text}");
            assert!(text.contains("ExecStart="), "{text}");
            // Timers and the tmux server carry no sandbox and no level.
            assert_eq!(
                SandboxLevel::of_unit(unit(&units, "ccf-check-quota.timer")),
                None
            );
            assert_eq!(SandboxLevel::of_unit(unit(&units, TMUX_UNIT)), None);
        }
    }

    #[test]
    fn the_properties_of_a_level_are_its_sandbox_lines() {
        let mut i = inst();
        i.sandbox = SandboxLevel::Basic;
        let units = render(&i);
        let props = sandbox_properties(unit(&units, "ccf-check-quota.service"));
        assert!(
            props.contains(&"NoNewPrivileges=yes".to_string()),
            "{props:?}"
        );
        assert!(props.contains(&"UMask=0077".to_string()), "{props:?}");
        assert_eq!(props.len(), BASIC.len() + 1, "{props:?}");
    }

    #[test]
    fn every_enabled_unit_is_shipped() {
        for name in ENABLED.iter().chain([&TMUX_UNIT]) {
            assert!(TEMPLATES.iter().any(|(n, _)| n == name), "{name}");
        }
    }
}
