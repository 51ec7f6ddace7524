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
            Unit { name, text }
        })
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

    #[test]
    fn every_enabled_unit_is_shipped() {
        for name in ENABLED.iter().chain([&TMUX_UNIT]) {
            assert!(TEMPLATES.iter().any(|(n, _)| n == name), "{name}");
        }
    }
}
