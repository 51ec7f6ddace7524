//! The state file: the one source of truth between runs.
//!
//! `state_dir/state.json` holds what ccf knows about accounts, managed sessions, the swap
//! in progress (its journal) and the last swap. It is written atomically with mode 0600.
//! A file that does not parse, or that a newer ccf wrote, is never replaced: the run
//! stops, names the file and says how to recover. Every field has a default, so fields
//! added later read from older files; `version` changes only when a field's meaning does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::SessionKind;
use crate::detect::{Scope, Verdict};

/// The schema version this ccf writes and the newest it reads.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub version: u32,
    /// The account `claude_link` points at and new work starts on.
    pub active_account: Option<String>,
    pub accounts: BTreeMap<String, AccountState>,
    /// Managed sessions by tmux name.
    pub sessions: BTreeMap<String, SessionRecord>,
    /// The journal of an unfinished swap: present only while a swap runs or after a crash.
    pub swap: Option<SwapJournal>,
    pub last_swap: Option<SwapRecord>,
    /// Swaps finished (the link moved) since the state was created: monitoring's
    /// `ccf_swaps_total` counter.
    pub swaps_total: u64,
    /// After an automatic failover: the account to go back to, and from when.
    pub pending_return: Option<PendingReturn>,
    /// Set when ccf could not restore a consistent state; cleared by `rollback`.
    pub degraded: Option<Degraded>,
    /// Memory of check-quota between polls.
    pub quota: QuotaMemory,
    /// Since when every account has been exhausted or auth-failed (sessions parked).
    pub all_exhausted_since: Option<Timestamp>,
    /// When an alert was last sent, by key, so a standing problem is not re-sent every run.
    pub alerts: BTreeMap<String, Timestamp>,
    /// By session: its transcript's length when a swap last resumed it. While the
    /// transcript has not grown, a limit banner on its screen is the re-rendered history,
    /// not a new limit.
    pub resumed_len: BTreeMap<String, u64>,
    /// What dispatch last found wrong with the pool (tasks wait and no pool session exists
    /// or can be made), for `status`; `None` when all is well.
    pub pool_problem: Option<PoolProblem>,
    /// What check-quota last found wrong with the fleet (`fleet:`), so it is logged when
    /// it changes, not every run; absent on a single host.
    #[serde(
        skip_serializing_if = "FleetMemory::is_empty",
        deserialize_with = "lenient_memory"
    )]
    pub fleet: FleetMemory,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FleetMemory {
    /// Since when the fleet has been out of reach, and why; `None` while it answers.
    pub problem: Option<PoolProblem>,
    /// The lines of the values the last read ignored (each names its key).
    pub ignored: Vec<String>,
    /// The lease this host's heartbeat is under, reused while it has time left: a
    /// grant is a write to the cluster, and a run would make one for nothing.
    pub heartbeat_lease: Option<HeartbeatLease>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatLease {
    pub id: i64,
    pub granted_at: Timestamp,
}

impl FleetMemory {
    pub fn is_empty(&self) -> bool {
        self.problem.is_none() && self.ignored.is_empty() && self.heartbeat_lease.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolProblem {
    pub since: Timestamp,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountState {
    /// The account counts as exhausted until then.
    pub exhausted_until: Option<Timestamp>,
    /// Which quota's limit exhausted it.
    #[serde(deserialize_with = "lenient")]
    pub exhausted_scope: Option<Scope>,
    /// Set on an authentication failure; cleared by the operator (`ccf validate` shows it).
    pub auth_failed: bool,
    pub auth_failures: u32,
    #[serde(deserialize_with = "lenient")]
    pub last_signal: Option<Signal>,
    /// Set by `ccf account disable`: never a target until `ccf account enable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<Disabled>,
}

/// The operator's word that an account is out of rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disabled {
    pub since: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where a piece of evidence came from, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A hook record (`StopFailure`, `SessionStart`).
    Spool,
    /// A managed pane's screen.
    Pane,
    /// The status line's rate-limit figures.
    Statusline,
    /// Another host, through the fleet's shared store (`fleet:`).
    Fleet,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Spool => "spool",
            Source::Pane => "pane",
            Source::Statusline => "statusline",
            Source::Fleet => "fleet",
        })
    }
}

/// Where ccf learnt a session's id, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdSource {
    /// ccf chose it: `--session-id` of a launch or `--resume` of a relaunch.
    Launched,
    /// A `SessionStart` hook record of the pane.
    Hook,
    /// Claude Code's own `<home>/sessions/<pid>.json`.
    Claude,
    /// The transcript the pane's claude writes.
    Transcript,
    /// The claude process's `--session-id`/`--resume`.
    Argv,
    /// A `--resume <id>` line on the pane.
    Pane,
}

impl std::fmt::Display for IdSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IdSource::Launched => "launched",
            IdSource::Hook => "hook",
            IdSource::Claude => "claude",
            IdSource::Transcript => "transcript",
            IdSource::Argv => "argv",
            IdSource::Pane => "pane",
        })
    }
}

/// An optional field that reads as `None` when the file holds a value this ccf does not
/// know (an older or newer ccf, a hand edit): one unknown word must not make the whole
/// state unreadable, and the field is re-learnt on the next run.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

/// The fleet's memory, or an empty one when the file holds a shape this ccf does not
/// know: it is only what to log and a lease to reuse, re-learnt on the next run.
fn lenient_memory<'de, D>(d: D) -> Result<FleetMemory, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// One piece of evidence about an account, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub at: Timestamp,
    pub source: Source,
    pub verdict: Verdict,
    pub session: Option<String>,
    pub matched: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub kind: SessionKind,
    /// The account the session's claude runs on.
    pub account: Option<String>,
    pub session_id: Option<String>,
    /// Where the session id came from.
    #[serde(default, deserialize_with = "lenient")]
    pub id_source: Option<IdSource>,
    pub cwd: Option<PathBuf>,
    /// When ccf last (re)launched claude there; banners older than this are stale.
    pub launched_at: Option<Timestamp>,
    /// The task file (in `running/`) the session works on.
    #[serde(default)]
    pub task: Option<String>,
    /// A move to the active account that a swap could not make yet: the session was
    /// busy (deferred) or its relaunch failed. check-quota and `swap --to <active>` make
    /// it once the session is idle or blocked.
    #[serde(default, deserialize_with = "lenient")]
    pub pending_move: Option<PendingMove>,
}

/// A session's move that is still owed (see [`SessionRecord::pending_move`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMove {
    pub why: MoveWhy,
    /// The account it is to run on.
    pub to: String,
    pub since: Timestamp,
    /// What stopped it, for people (the relaunch error with the pane's last lines).
    #[serde(default)]
    pub detail: String,
    /// How many swaps in a row failed to relaunch it (check-quota stops retrying after a
    /// few; `swap --to <active>` always tries).
    #[serde(default)]
    pub attempts: u32,
}

/// Why a session's move is still owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveWhy {
    /// Its turn was running: relaunching would have killed it.
    Deferred,
    /// Its relaunch failed.
    Failed,
}

impl std::fmt::Display for MoveWhy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MoveWhy::Deferred => "deferred",
            MoveWhy::Failed => "failed",
        })
    }
}

impl SessionRecord {
    /// A record of a session of `kind` that nothing is known about yet.
    pub fn new(kind: SessionKind) -> SessionRecord {
        SessionRecord {
            kind,
            account: None,
            session_id: None,
            id_source: None,
            cwd: None,
            launched_at: None,
            task: None,
            pending_move: None,
        }
    }
}

/// The journal of a swap: saved before each step, so a killed run can be finished or
/// undone by the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapJournal {
    pub from: String,
    pub to: String,
    pub step: SwapStep,
    pub started_at: Timestamp,
    pub reason: String,
    #[serde(default, deserialize_with = "lenient")]
    pub trigger: Option<Trigger>,
    /// Where `claude_link` pointed before the flip (to undo it).
    #[serde(default)]
    pub link_before: Option<PathBuf>,
    /// Whether an operator asked for this swap (`swap --to`), which cancels returns.
    #[serde(default)]
    pub manual: bool,
    pub sessions: Vec<SwapSession>,
    /// What to mark the account left behind with when the swap finishes.
    #[serde(default)]
    pub exhausted_until: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient")]
    pub exhausted_scope: Option<Scope>,
    #[serde(default)]
    pub auth_failed: bool,
    /// Whether this swap undoes the previous one (`ccf rollback`).
    #[serde(default)]
    pub rollback: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapStep {
    Planned,
    LinkFlipped,
    SymlinksEnsured,
    Relaunching,
    Finishing,
}

impl SwapStep {
    /// The step's name for people, as the fault points spell it (`link-flipped`); the
    /// state file keeps serde's `link_flipped`.
    pub fn name(self) -> &'static str {
        match self {
            SwapStep::Planned => "planned",
            SwapStep::LinkFlipped => "link-flipped",
            SwapStep::SymlinksEnsured => "symlinks-ensured",
            SwapStep::Relaunching => "relaunching",
            SwapStep::Finishing => "finishing",
        }
    }
}

impl std::fmt::Display for SwapStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts of one journal entry, each read back after a crash"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapSession {
    pub name: String,
    pub session_id: Option<String>,
    pub cwd: Option<PathBuf>,
    /// Whether the session must be relaunched (else it follows the link by itself).
    pub relaunch: bool,
    /// The account it ran on before the swap (where an undo sends it back).
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub kind: Option<SessionKind>,
    /// `PATH` of the process that ran in its pane, for the relaunch.
    #[serde(default)]
    pub path: Option<String>,
    /// The pid of the claude it replaces (a claude with another pid was relaunched).
    #[serde(default)]
    pub pid: Option<u32>,
    /// It was stopped at a limit (or login) screen: its turn failed, so after the
    /// relaunch ccf types `claude.resume_prompt` to carry on.
    #[serde(default)]
    pub blocked: bool,
    /// It follows the link and was blocked: the resume prompt is typed into the same
    /// process after the flip; a relaunch is the fallback when that does not take.
    #[serde(default)]
    pub in_place: bool,
    /// Its turn was running: left alone, and owed a move (`pending_move`) once idle.
    #[serde(default)]
    pub deferred: bool,
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub error: Option<String>,
}

/// What made check-quota swap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    pub session: Option<String>,
    pub source: Source,
    pub matched: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapRecord {
    pub from: String,
    pub to: String,
    pub at: Timestamp,
    pub reason: String,
    #[serde(default, deserialize_with = "lenient")]
    pub trigger: Option<Trigger>,
    #[serde(default)]
    pub manual: bool,
    #[serde(default)]
    pub moved: Vec<String>,
    /// Busy sessions it left alone, owed a move.
    #[serde(default)]
    pub deferred: Vec<String>,
    #[serde(default)]
    pub failed: Vec<String>,
    /// Set when this swap undid the previous one, so a second `rollback` finds nothing.
    #[serde(default)]
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingReturn {
    pub to: String,
    /// Not before this instant (the account's reset plus `return_margin`).
    pub not_before: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Degraded {
    pub since: Timestamp,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaMemory {
    /// Consecutive polls that saw a limit without a reset time, by session.
    pub confirm: BTreeMap<String, u32>,
    /// Per session, the fingerprint of the limit banner already acted on: when a
    /// relaunched session re-shows it in its history, it is not a new limit.
    pub acted: BTreeMap<String, String>,
    /// The last line logged per session, so a standing verdict is logged once.
    pub last_seen: BTreeMap<String, String>,
    /// The decision of the last check-quota run, for `status`.
    pub last_decision: Option<String>,
    pub last_check: Option<Timestamp>,
}

/// `state_dir/last-check`, whose mtime is the time of the last check-quota pass that
/// learnt nothing else (that pass does not rewrite `state.json`). Losing it to a crash
/// only makes the last check look older.
const CHECK_STAMP: &str = "last-check";

/// Records a check-quota pass at `now` in the stamp's mtime: no fsync, no rename.
pub fn stamp_check(state_dir: &Path, now: Timestamp) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_dir.join(CHECK_STAMP);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .and_then(|f| f.set_modified(now.into()))
        .with_context(|| format!("failed to stamp {}", path.display()))
}

/// When check-quota last ran: the later of the state's `last_check` and the stamp.
pub fn last_check(state: &State, state_dir: &Path) -> Option<Timestamp> {
    let stamp = std::fs::metadata(state_dir.join(CHECK_STAMP))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| Timestamp::try_from(t).ok());
    state.quota.last_check.max(stamp)
}

impl State {
    pub fn new() -> State {
        State {
            version: VERSION,
            ..State::default()
        }
    }

    /// Reads `path`; a missing file is a fresh state. A corrupt or newer file is an error
    /// that names it and leaves it untouched.
    pub fn load(path: &Path) -> Result<State> {
        /// A state of thousands of sessions is a few MiB.
        const MAX_STATE: u64 = 64 << 20;
        // Never through a link: another user's link would make ccf read (and its save
        // replace) what it points at.
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            bail!(
                "state {} is a symbolic link, and ccf never follows one in state_dir: put the file itself there",
                path.display()
            );
        }
        // A FIFO or a device at `state.json` must not hang the run under the lock.
        let bytes = match crate::fsutil::read_bounded(path, MAX_STATE) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("failed to read state {}", path.display()));
            }
        };
        let recover = format!(
            "the file was left as it is; repair it by hand, or move it aside (mv {0} {0}.bad) to start from a fresh state (ccf then re-learns sessions from tmux)",
            path.display()
        );
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("state {} is corrupt: {e}; {recover}", path.display()))?;
        // `[]`, `null`, `"x"` would deserialize (every field has a default) into a fresh
        // state and silently forget everything: only an object is ccf's state.
        if !value.is_object() {
            bail!(
                "state {} is corrupt: it is not a JSON object; {recover}",
                path.display()
            );
        }
        let version = value
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if version > u64::from(VERSION) {
            bail!(
                "state {} has version {version}, newer than this ccf reads ({VERSION}); upgrade ccf, or move the file aside",
                path.display()
            );
        }
        let mut state: State = serde_json::from_value(value)
            .map_err(|e| anyhow::anyhow!("state {} is corrupt: {e}; {recover}", path.display()))?;
        state.version = VERSION;
        Ok(state)
    }

    /// Writes the state atomically (mode 0600).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).context("failed to serialize the state")?;
        bytes.push(b'\n');
        crate::fsutil::write_atomic(path, &bytes, 0o600)
            .with_context(|| format!("failed to save state {}", path.display()))
    }

    /// The record of session `name`, created empty (of `kind`) when there is none.
    pub fn session_mut(&mut self, name: &str, kind: SessionKind) -> &mut SessionRecord {
        self.sessions
            .entry(name.to_string())
            .or_insert_with(|| SessionRecord::new(kind))
    }

    pub fn account_mut(&mut self, name: &str) -> &mut AccountState {
        self.accounts.entry(name.to_string()).or_default()
    }

    /// Whether sessions may be moved onto `account` at `now`: available and not disabled.
    pub fn is_target(&self, account: &str, now: Timestamp) -> bool {
        self.is_available(account, now)
            && self
                .accounts
                .get(account)
                .is_none_or(|a| a.disabled.is_none())
    }

    /// Whether `account` can take work at `now`: not auth-failed and not exhausted.
    pub fn is_available(&self, account: &str, now: Timestamp) -> bool {
        self.accounts
            .get(account)
            .is_none_or(|a| !a.auth_failed && a.exhausted_until.is_none_or(|until| until <= now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_account_is_available_but_no_target_and_its_mark_round_trips() {
        let now: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let mut s = State::new();
        s.account_mut("b").disabled = Some(Disabled {
            since: now,
            reason: Some("billing".into()),
        });
        assert!(s.is_available("b", now));
        assert!(!s.is_target("b", now));
        assert!(s.is_target("a", now));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        s.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), s);
        // An account never disabled writes no `disabled` key (older readers see nothing new).
        assert!(
            !std::fs::read_to_string(&path)
                .unwrap()
                .contains("\"disabled\": null")
        );
    }

    #[test]
    fn the_check_stamp_is_read_as_the_later_last_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State::new();
        let earlier: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let later: Timestamp = "2026-03-01T10:00:30Z".parse().unwrap();
        assert_eq!(last_check(&s, dir.path()), None);
        s.quota.last_check = Some(earlier);
        assert_eq!(last_check(&s, dir.path()), Some(earlier));
        stamp_check(dir.path(), later).unwrap();
        assert_eq!(last_check(&s, dir.path()), Some(later));
        s.quota.last_check = Some("2026-03-01T10:01:00Z".parse().unwrap());
        assert_eq!(last_check(&s, dir.path()), s.quota.last_check);
    }

    #[test]
    fn a_fleet_memory_of_an_unknown_shape_reads_as_empty_and_a_single_host_writes_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(
            &path,
            r#"{"version": 1, "fleet": {"heartbeat_lease": {"id": "x"}}}"#,
        )
        .unwrap();
        let s = State::load(&path).unwrap();
        assert!(s.fleet.is_empty());
        s.save(&path).unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("fleet"));
    }

    #[test]
    fn a_state_that_is_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("elsewhere.json");
        State::new().save(&real).unwrap();
        let path = dir.path().join("state.json");
        std::os::unix::fs::symlink(&real, &path).unwrap();
        let err = State::load(&path).unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
    }

    #[test]
    fn a_state_that_is_not_an_object_is_corrupt_not_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for text in ["[]", "null", "\"x\"", "3"] {
            std::fs::write(&path, text).unwrap();
            let err = State::load(&path).unwrap_err().to_string();
            assert!(err.contains("is not a JSON object"), "{text}: {err}");
        }
    }

    #[test]
    fn a_saved_state_loads_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::new();
        s.active_account = Some("a".into());
        s.account_mut("b").exhausted_until = Some("2026-01-01T00:00:00Z".parse().unwrap());
        s.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), s);
    }

    #[test]
    fn names_for_people_are_the_state_file_names_in_kebab_case() {
        use SwapStep::{Finishing, LinkFlipped, Planned, Relaunching, SymlinksEnsured};
        for step in [
            Planned,
            LinkFlipped,
            SymlinksEnsured,
            Relaunching,
            Finishing,
        ] {
            let stored = serde_json::to_value(step).unwrap();
            assert_eq!(step.to_string().replace('-', "_"), stored, "{step}");
        }
        for kind in [SessionKind::Autonomous, SessionKind::Dedicated] {
            assert_eq!(kind.name(), serde_json::to_value(kind).unwrap());
        }
    }

    #[test]
    fn a_corrupt_state_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{\"version\": 1, ").unwrap();
        let err = State::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("is corrupt") && err.contains("state.json"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"version\": 1, ");
    }

    #[test]
    fn a_newer_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{\"version\": 99}").unwrap();
        let err = State::load(&path).unwrap_err().to_string();
        assert!(err.contains("version 99, newer"), "{err}");
    }
}
