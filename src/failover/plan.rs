//! The pure half of a swap: facts about accounts and sessions in, decisions out.
//!
//! Nothing here reads the clock, the file system or tmux: the target account, which
//! sessions are relaunched and which follow the link by themselves, the exact argv of
//! a relaunch, the return to a higher-priority account and the lines `--dry-run`
//! prints are all decided from values the caller gathered.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};

use crate::config::SessionKind;
use crate::notify::Event;
use crate::state::IdSource;
use crate::tmux::Launch;

pub use crate::claude::is_session_id;

/// The constant script that runs a relaunched claude: `set -m` gives claude its own
/// process group in the foreground (so `#{pane_current_command}` shows claude, not
/// `sh`), and the operator's shell takes the pane over when claude exits, instead of
/// the tmux session vanishing with it. Its arguments are `"$@"`: never parsed as code.
pub const RELAUNCH_SCRIPT: &str = r#"set -m; "$@"; exec "${SHELL:-/bin/sh}""#;

/// What is known about one managed session before a swap.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent observations of a pane, not a state machine"
)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFacts {
    pub name: String,
    pub kind: Option<SessionKind>,
    /// Whether the tmux session exists.
    pub exists: bool,
    /// Whether its pane runs claude now.
    pub claude: bool,
    /// Whether its pane sits at a shell (claude exited): only then may a relaunch
    /// replace what runs there.
    pub at_shell: bool,
    /// The account it runs on (or last ran on, when claude is not running).
    pub account: Option<String>,
    /// Whether claude has an explicit `CLAUDE_CONFIG_DIR` (else it follows `~/.claude`).
    pub pinned: bool,
    /// Whether the pane shows a limit (or login/billing) screen as its latest word.
    pub blocked: bool,
    /// Whether a turn is running (the hooks say so, else the pane's footer; a task
    /// session while its task runs): a relaunch now would kill it.
    pub busy: bool,
    /// Whether the state owes it a move (a deferred or failed one, see
    /// [`crate::state::PendingMove`]): it is moved to the target from wherever it runs.
    pub owed: bool,
    pub session_id: Option<String>,
    /// `launched`, `hook`, `transcript`, `argv`, `pane`.
    pub id_source: Option<IdSource>,
    pub cwd: Option<PathBuf>,
    /// `PATH` of the process in its pane. tmux gives a respawned pane the *client's*
    /// PATH (ccf's, under systemd a bare one), so a relaunch passes the session's own.
    pub path: Option<String>,
    /// The pid of its claude, to tell a relaunched claude from the one it replaced.
    pub pid: Option<u32>,
}

/// What a swap does with one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Relaunch it on the target with `--resume <id>` in `cwd` (it is idle, blocked, or
    /// at a shell).
    Relaunch { id: String, cwd: PathBuf },
    /// It follows the link (or is already on the target) and is blocked at a limit
    /// screen: type the resume prompt into the same process once the link points at the
    /// target; relaunch with `--resume` (when `fallback` names the id and cwd) only if
    /// the prompt does not take.
    Nudge { fallback: Option<(String, PathBuf)> },
    /// It runs on `~/.claude` and works: the flipped link carries it.
    Follow,
    /// It must be relaunched but its turn is running: left alone now, and owed the move
    /// once it is idle or blocked.
    Defer,
    /// It needs a relaunch that cannot be done (no id, no cwd): reported as failed.
    Stuck(String),
    /// Not concerned (another account, not running, nothing to resume).
    Leave,
}

/// Decides what a swap from `from` to `to` does with `s` (`from == to`: resume in place
/// the sessions that are blocked or whose claude exited, and make the moves owed).
///
/// A claude that follows the link — or is pinned to `to` itself — talks to `to` after the
/// flip without a restart: it is carried, and nudged when it is blocked. Only a claude
/// pinned elsewhere must be relaunched, and never while its turn runs.
pub fn decide(s: &SessionFacts, from: &str, to: &str) -> Move {
    if !s.exists || !(s.owed || s.account.as_deref() == Some(from)) {
        return Move::Leave;
    }
    let resume = || match (&s.session_id, &s.cwd) {
        (Some(id), Some(cwd)) => Move::Relaunch {
            id: id.clone(),
            cwd: cwd.clone(),
        },
        (None, _) => Move::Stuck("no session id known, so it cannot be resumed".into()),
        (Some(_), None) => Move::Stuck("its working directory is unknown".into()),
    };
    if !s.claude {
        return if s.at_shell && s.session_id.is_some() {
            resume()
        } else {
            Move::Leave
        };
    }
    let lands_on_target = !s.pinned || s.account.as_deref() == Some(to);
    if lands_on_target {
        if s.blocked {
            return Move::Nudge {
                fallback: s.session_id.clone().zip(s.cwd.clone()),
            };
        }
        // Moved by the flip itself; an owed move of a session now on the target is made.
        return if (from != to && !s.pinned) || s.owed {
            Move::Follow
        } else {
            Move::Leave
        };
    }
    if s.busy && !s.blocked {
        return Move::Defer;
    }
    resume()
}

/// The outcome of choosing a target account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Account(String),
    /// Every other account is exhausted or auth-failed.
    NoneAvailable,
}

/// A swap asked for an account the config does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no account named {name}; known: {}", known.join(", "))]
pub struct UnknownAccount {
    pub name: String,
    pub known: Vec<String>,
}

/// The target: the requested account (which must exist), else the first account in
/// priority order that is available and is not `from`.
pub fn pick_target(
    order: &[String],
    from: &str,
    requested: Option<&str>,
    available: impl Fn(&str) -> bool,
) -> Result<Pick, UnknownAccount> {
    if let Some(r) = requested {
        if !order.iter().any(|a| a == r) {
            return Err(UnknownAccount {
                name: r.to_string(),
                known: order.to_vec(),
            });
        }
        return Ok(Pick::Account(r.to_string()));
    }
    Ok(order
        .iter()
        .find(|a| *a != from && available(a))
        .map_or(Pick::NoneAvailable, |a| Pick::Account(a.clone())))
}

/// The account to go back to, when one is due: while every account was exhausted, the
/// first whose reset (plus `margin`) has passed; after an automatic failover, once the
/// pending return is due, the highest-priority available account above the active one.
/// `until(a)` is `None` for an account that is available at all (not auth-failed) and
/// has no exhaustion, `Some(None)` for an auth-failed one.
pub fn due_return(
    order: &[String],
    active: &str,
    all_exhausted: bool,
    pending_not_before: Option<Timestamp>,
    until: impl Fn(&str) -> Option<Option<Timestamp>>,
    margin: SignedDuration,
    now: Timestamp,
) -> Option<String> {
    let ready = |a: &str| match until(a) {
        None => true,
        Some(None) => false,
        Some(Some(u)) => u.checked_add(margin).is_ok_and(|t| t <= now),
    };
    if all_exhausted {
        return order.iter().find(|a| ready(a)).cloned();
    }
    if pending_not_before.is_some_and(|t| t <= now) {
        return order
            .iter()
            .take_while(|a| *a != active)
            .find(|a| ready(a))
            .cloned();
    }
    None
}

/// Whether `a` comes before `b` in priority order.
pub fn outranks(order: &[String], a: &str, b: &str) -> bool {
    let pos = |x: &str| order.iter().position(|o| o == x).unwrap_or(usize::MAX);
    pos(a) < pos(b)
}

/// What a relaunch runs: the constant script (see [`RELAUNCH_SCRIPT`]) around
/// `env -u <Claude's session variables> -u CLAUDE_CONFIG_DIR [CLAUDE_CONFIG_DIR=<home>]
/// <claude> <args> --resume <id>`, in the session's own `cwd`, with `claude.env` in the
/// pane's environment. No shell ever reads the argv.
///
/// `pin: None` runs it on `~/.claude`, which the swap has just pointed at the target:
/// the next swap then carries it with no restart. A pin is only for a config without
/// `claude_link`, where the account's home is the only way to reach it.
pub fn launch(
    command: &str,
    claude_args: &[String],
    extra_env: &[(String, String)],
    path: Option<&str>,
    pin: Option<&Path>,
    id: &str,
    cwd: &Path,
) -> Launch {
    let mut argv: Vec<String> = vec![
        "sh".into(),
        "-c".into(),
        RELAUNCH_SCRIPT.into(),
        "ccf-relaunch".into(),
    ];
    argv.extend(crate::claude::clean_env_argv());
    if let Some(home) = pin {
        argv.push(format!("CLAUDE_CONFIG_DIR={}", home.display()));
    }
    if let Some(p) = path {
        argv.push(format!("PATH={p}"));
    }
    argv.push(command.into());
    argv.extend(claude_args.iter().cloned());
    argv.extend(["--resume".to_string(), id.to_string()]);
    // `claude.env` (tokens, often) goes through tmux's environment for the pane: on the
    // argv, the relaunch's `sh` would show it in /proc to every local user for as long
    // as claude runs.
    Launch {
        argv,
        cwd: cwd.to_path_buf(),
        env: extra_env.to_vec(),
    }
}

/// One line per step and session, for `--dry-run` and the log.
pub fn describe(
    from: &str,
    to: &str,
    link: Option<(&Path, &Path)>,
    moves: &[(SessionFacts, Move)],
) -> Vec<String> {
    let mut lines = Vec::new();
    if from == to {
        lines.push(format!(
            "resume on {to}: relaunch the sessions that stopped"
        ));
    } else {
        lines.push(format!("swap {from} -> {to}"));
        if let Some((l, home)) = link {
            lines.push(format!("flip {} -> {}", l.display(), home.display()));
        }
        lines.push(format!("ensure the shared links of {to}"));
    }
    for (s, m) in moves {
        let id = s.session_id.as_deref().unwrap_or("-");
        let entry = match m {
            Move::Relaunch { cwd, .. } => format!(
                "relaunch {} on {to} with --resume {id} in {} (id from {})",
                s.name,
                cwd.display(),
                s.id_source
                    .map_or_else(|| "?".to_string(), |s| s.to_string())
            ),
            Move::Follow => format!("{} follows the link to {to} (session {id})", s.name),
            Move::Nudge { .. } => format!(
                "{} follows the link to {to} and is stopped at a limit: type the resume prompt into it (session {id})",
                s.name
            ),
            Move::Defer => format!(
                "defer {}: its turn is running; it moves to {to} once idle (session {id})",
                s.name
            ),
            Move::Stuck(why) => format!("cannot move {}: {why}", s.name),
            Move::Leave => continue,
        };
        lines.push(entry);
    }
    if from != to {
        lines.push(format!("set the active account to {to}"));
    }
    lines
}

/// How a swap ended, for its announcement.
#[derive(Debug, Clone, Copy)]
pub struct Finished<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub reason: &'a str,
    /// `swap` or `rollback`: the operator asked, so it is a swap, never a "return".
    pub by_operator: bool,
    /// It went back to the account a pending return named.
    pub returned: bool,
    /// Sessions parked with every account out go on again.
    pub resumed: bool,
}

/// The events that announce a finished swap (its `swap_started` went out when it
/// began): what happened, and who asked. The table is in the README.
pub fn announcements(f: &Finished, moved: &[String], failed: &[String]) -> Vec<Event> {
    let mut events = Vec::new();
    let cross = f.from != f.to;
    if !failed.is_empty() && moved.is_empty() {
        events.push(Event::SwapFailed {
            from: f.from.into(),
            to: f.to.into(),
            error: format!(
                "no session could be relaunched on {}: {}",
                f.to,
                failed.join(", ")
            ),
            failed: failed.to_vec(),
        });
    } else if !failed.is_empty() {
        events.push(Event::SwapPartial {
            from: f.from.into(),
            to: f.to.into(),
            reason: f.reason.into(),
            moved: moved.to_vec(),
            failed: failed.to_vec(),
        });
    } else if cross && f.returned && !f.by_operator {
        events.push(Event::Returned {
            to: f.to.into(),
            from: Some(f.from.into()),
        });
    } else if cross {
        events.push(Event::SwapDone {
            from: f.from.into(),
            to: f.to.into(),
            reason: f.reason.into(),
            moved: moved.to_vec(),
            failed: Vec::new(),
        });
    }
    if f.resumed && !f.by_operator {
        events.push(Event::WorkResumed {
            account: f.to.into(),
        });
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b6e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

    fn facts(account: &str) -> SessionFacts {
        SessionFacts {
            name: "ccl-1-proj".into(),
            exists: true,
            claude: true,
            account: Some(account.into()),
            session_id: Some(ID.into()),
            cwd: Some("/p".into()),
            ..SessionFacts::default()
        }
    }

    fn order() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    fn pinned(account: &str) -> SessionFacts {
        SessionFacts {
            pinned: true,
            ..facts(account)
        }
    }

    #[test]
    fn a_working_session_on_the_link_follows_and_a_pinned_idle_one_is_relaunched() {
        assert_eq!(decide(&facts("a"), "a", "b"), Move::Follow);
        assert!(matches!(
            decide(&pinned("a"), "a", "b"),
            Move::Relaunch { ref id, .. } if id == ID
        ));
    }

    #[test]
    fn a_busy_session_is_never_relaunched() {
        let busy = SessionFacts {
            busy: true,
            ..pinned("a")
        };
        assert_eq!(decide(&busy, "a", "b"), Move::Defer);
        // On the link it is carried, busy or not.
        let carried = SessionFacts {
            busy: true,
            ..facts("a")
        };
        assert_eq!(decide(&carried, "a", "b"), Move::Follow);
        // Owed later, and still busy: still deferred; idle: relaunched.
        let owed = SessionFacts {
            owed: true,
            ..busy.clone()
        };
        assert_eq!(decide(&owed, "b", "b"), Move::Defer);
        let idle = SessionFacts {
            busy: false,
            ..owed
        };
        assert!(matches!(decide(&idle, "b", "b"), Move::Relaunch { .. }));
    }

    #[test]
    fn a_blocked_session_that_lands_on_the_target_is_nudged_in_place() {
        let s = SessionFacts {
            blocked: true,
            ..facts("a")
        };
        let nudge = Move::Nudge {
            fallback: Some((ID.into(), "/p".into())),
        };
        assert_eq!(decide(&s, "a", "b"), nudge);
        assert_eq!(decide(&s, "a", "a"), nudge);
        // Pinned to the account it resumes on: its token is good again.
        let p = SessionFacts {
            blocked: true,
            ..pinned("a")
        };
        assert_eq!(decide(&p, "a", "a"), nudge);
        // Pinned elsewhere: relaunched, busy-looking or not (it is at the wall).
        let elsewhere = SessionFacts { busy: true, ..p };
        assert!(matches!(
            decide(&elsewhere, "a", "b"),
            Move::Relaunch { .. }
        ));
    }

    #[test]
    fn an_owed_move_of_a_session_already_on_the_target_is_made_by_the_flip() {
        let owed = SessionFacts {
            owed: true,
            ..facts("b")
        };
        assert_eq!(decide(&owed, "b", "b"), Move::Follow);
        let not_owed = facts("c");
        assert_eq!(decide(&not_owed, "b", "b"), Move::Leave);
    }

    #[test]
    fn sessions_on_other_accounts_or_busy_with_something_else_are_left() {
        assert_eq!(decide(&facts("c"), "a", "b"), Move::Leave);
        let vim = SessionFacts {
            claude: false,
            at_shell: false,
            ..facts("a")
        };
        assert_eq!(decide(&vim, "a", "b"), Move::Leave);
        let shell = SessionFacts {
            claude: false,
            at_shell: true,
            ..facts("a")
        };
        assert!(matches!(decide(&shell, "a", "b"), Move::Relaunch { .. }));
    }

    #[test]
    fn resuming_in_place_leaves_working_sessions_alone() {
        assert_eq!(decide(&pinned("a"), "a", "a"), Move::Leave);
        assert_eq!(decide(&facts("a"), "a", "a"), Move::Leave);
    }

    #[test]
    fn a_session_to_relaunch_without_an_id_is_stuck() {
        let s = SessionFacts {
            blocked: true,
            session_id: None,
            ..pinned("a")
        };
        assert!(matches!(decide(&s, "a", "b"), Move::Stuck(_)));
    }

    #[test]
    fn the_target_is_the_first_available_other_account() {
        let o = order();
        assert_eq!(
            pick_target(&o, "a", None, |x| x != "b"),
            Ok(Pick::Account("c".into()))
        );
        assert_eq!(
            pick_target(&o, "a", None, |_| false),
            Ok(Pick::NoneAvailable)
        );
        assert_eq!(
            pick_target(&o, "a", Some("a"), |_| true),
            Ok(Pick::Account("a".into()))
        );
        assert!(pick_target(&o, "a", Some("zz"), |_| true).is_err());
    }

    #[test]
    fn a_return_is_due_only_after_reset_plus_margin() {
        let o = order();
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        let reset = t("2026-01-01T10:00:00Z");
        let until = |a: &str| (a == "a").then_some(Some(reset));
        let m = SignedDuration::from_mins(5);
        let due = |now, pending| due_return(&o, "b", false, pending, until, m, now);
        assert_eq!(
            due(t("2026-01-01T10:04:00Z"), Some(t("2026-01-01T10:05:00Z"))),
            None
        );
        assert_eq!(
            due(t("2026-01-01T10:05:00Z"), Some(t("2026-01-01T10:05:00Z"))),
            Some("a".into())
        );
        assert_eq!(due(t("2026-01-01T11:00:00Z"), None), None);
        // Parked: the first account whose reset passed, even the active one.
        let all = |a: &str| {
            Some(Some(if a == "b" {
                reset
            } else {
                t("2026-01-02T00:00:00Z")
            }))
        };
        assert_eq!(
            due_return(&o, "b", true, None, all, m, t("2026-01-01T10:06:00Z")),
            Some("b".into())
        );
    }

    #[test]
    fn a_relaunch_strips_claude_variables_and_pins_the_home_without_a_shell_reading_it() {
        let l = launch(
            "claude",
            &["--x".into()],
            &[("K".into(), "v w".into())],
            None,
            Some(Path::new("/h/b")),
            ID,
            Path::new("/p"),
        );
        let tail: Vec<&str> = l.argv[4..].iter().map(String::as_str).collect();
        assert_eq!(&tail[..3], &["env", "-u", "CLAUDECODE"]);
        assert!(tail.ends_with(&["CLAUDE_CONFIG_DIR=/h/b", "claude", "--x", "--resume", ID]));
        // claude.env goes through tmux's environment, never on the argv.
        assert_eq!(l.env, [("K".to_string(), "v w".to_string())]);
        assert!(!l.argv.iter().any(|a| a.contains("v w")));
        assert_eq!(l.argv[2], RELAUNCH_SCRIPT);
        assert_eq!(l.cwd, Path::new("/p"));
    }

    #[test]
    fn session_ids_are_uuids() {
        assert!(is_session_id(ID));
        assert!(!is_session_id("not-an-id; rm -rf /"));
    }

    fn finished(by_operator: bool, returned: bool, resumed: bool) -> Finished<'static> {
        Finished {
            from: "main",
            to: "spare",
            reason: "usage limit",
            by_operator,
            returned,
            resumed,
        }
    }

    fn kinds(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(Event::kind).collect()
    }

    #[test]
    fn a_swap_is_announced_by_what_happened_and_who_asked() {
        let s = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        let (moved, none) = (s(&["a", "b"]), s(&[]));
        // check-quota: done, a return, work resumed after every account was out.
        let f = finished(false, false, false);
        assert_eq!(kinds(&announcements(&f, &moved, &none)), ["swap_done"]);
        let f = finished(false, true, false);
        assert_eq!(kinds(&announcements(&f, &moved, &none)), ["returned"]);
        let f = finished(false, false, true);
        assert_eq!(
            kinds(&announcements(&f, &moved, &none)),
            ["swap_done", "work_resumed"]
        );
        // The operator's swap (or rollback) is a swap, whatever it lands on.
        for (returned, resumed) in [(true, false), (false, true), (true, true)] {
            let f = finished(true, returned, resumed);
            assert_eq!(kinds(&announcements(&f, &moved, &none)), ["swap_done"]);
        }
        // Sessions left behind: partial when some moved, failed when none did.
        let f = finished(true, false, false);
        let partial = announcements(&f, &s(&["a"]), &s(&["b"]));
        assert_eq!(kinds(&partial), ["swap_partial"]);
        let failed = announcements(&f, &none, &s(&["a", "b"]));
        assert_eq!(kinds(&failed), ["swap_failed"]);
        match &failed[0] {
            Event::SwapFailed { failed, error, .. } => {
                assert_eq!(failed, &s(&["a", "b"]));
                assert!(error.contains("a, b"), "{error}");
            }
            e => panic!("{e:?}"),
        }
        // The same account again: nothing crossed, nothing to announce.
        let mut f = finished(false, false, false);
        f.to = "main";
        assert!(announcements(&f, &moved, &none).is_empty());
    }
}
