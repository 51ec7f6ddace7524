//! What the fleet keeps in etcd: the key layout under `fleet.prefix`, the value of each
//! key (JSON with a `version`), and the reading of one range into a [`View`] that keeps
//! only what is well-formed, current and plausible.
//!
//! Layout (`P` = the prefix; `v1` is the layout's version, so a later layout can live
//! beside this one while hosts are upgraded):
//! - `P/v1/limit/<account>`: [`Limit`], the latest known exhaustion of the account,
//!   under a lease that ends a margin after its reset;
//! - `P/v1/auth/<account>`: [`Auth`], the latest authentication state a host saw;
//! - `P/v1/hosts/<host>`: [`Heartbeat`], under a lease, rewritten by every check.
//!
//! Everything read here was written by another machine: a value that does not parse,
//! that a newer ccf wrote, or that claims a reset further away than any Claude quota
//! runs is ignored with a line naming its key, and no text from it is ever run.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::detect::Scope;
use crate::state::Source;

/// The value schema this ccf writes and the newest it reads.
pub const VERSION: u32 = 1;

/// The longest a Claude quota runs (the weekly one) plus a day: a reset further away is
/// not a reset but a mistake or an attack, and is ignored.
pub const MAX_AHEAD: std::time::Duration = std::time::Duration::from_secs(8 * 86_400);

/// The key range ccf reads: everything of this layout.
pub fn root(prefix: &str) -> String {
    format!("{prefix}/v1/")
}

pub fn limit_key(prefix: &str, account: &str) -> String {
    format!("{prefix}/v1/limit/{account}")
}

pub fn auth_key(prefix: &str, account: &str) -> String {
    format!("{prefix}/v1/auth/{account}")
}

pub fn host_key(prefix: &str, host: &str) -> String {
    format!("{prefix}/v1/hosts/{host}")
}

/// Who saw a piece of knowledge first, where and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub host: String,
    /// How the host saw it (`pane`, `spool`, `statusline`); `null` for what no source
    /// observes (a login that works again: its credentials changed).
    #[serde(default)]
    pub source: Option<Source>,
    pub at: Timestamp,
}

/// An account's exhaustion as the fleet knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    pub version: u32,
    pub account: String,
    pub until: Timestamp,
    #[serde(default)]
    pub scope: Option<Scope>,
    pub seen: Seen,
}

/// An account's authentication state as the last host to change it saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Auth {
    pub version: u32,
    pub account: String,
    pub failed: bool,
    pub seen: Seen,
}

/// A host's word about itself, rewritten by each of its checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub version: u32,
    pub host: String,
    /// Its last check-quota.
    pub at: Timestamp,
    pub active: Option<String>,
    /// Managed sessions per account.
    #[serde(default)]
    pub sessions: BTreeMap<String, u32>,
    /// The ccf version it runs.
    #[serde(default)]
    pub ccf: String,
    /// Its configured accounts by name (the fleet's identity of an account), in its
    /// priority order: `validate` checks the hosts agree.
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// One key as the range returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct Kv {
    pub key: String,
    pub value: Vec<u8>,
    pub mod_revision: i64,
}

/// The fleet's knowledge after one read, cleaned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// By account: the fleet's limit on it that has not reset yet.
    pub limits: BTreeMap<String, Limit>,
    pub auth: BTreeMap<String, Auth>,
    /// By host name.
    pub hosts: BTreeMap<String, Heartbeat>,
    /// Each key's revision as read (0 = absent), for the forward-only writes.
    pub revisions: BTreeMap<String, i64>,
    /// A line per value that was ignored, naming its key.
    pub ignored: Vec<String>,
}

impl View {
    /// The revision of `key` as this run read it (0: it did not exist).
    pub fn revision(&self, key: &str) -> i64 {
        self.revisions.get(key).copied().unwrap_or(0)
    }
}

/// Reads one range under `prefix` into a view at `now`.
pub fn parse(prefix: &str, kvs: &[Kv], now: Timestamp) -> View {
    let mut view = View::default();
    let root = root(prefix);
    for kv in kvs {
        view.revisions.insert(kv.key.clone(), kv.mod_revision);
        let shown = crate::human::printable(&kv.key).into_owned();
        let Some(rest) = kv.key.strip_prefix(&root) else {
            continue;
        };
        let Some((kind, name)) = rest.split_once('/') else {
            continue;
        };
        let ignore = |why: String| format!("fleet: ignored {shown}: {why}");
        let parsed = match kind {
            "limit" => read::<Limit>(&kv.value).and_then(|l| {
                if l.account != name {
                    return Err(format!("it names account {:?}", l.account));
                }
                plausible(l.until, now)?;
                Ok(Some(Entry::Limit(l)))
            }),
            "auth" => read::<Auth>(&kv.value).and_then(|a| {
                if a.account == name {
                    Ok(Some(Entry::Auth(a)))
                } else {
                    Err(format!("it names account {:?}", a.account))
                }
            }),
            "hosts" => read::<Heartbeat>(&kv.value).and_then(|h| {
                if h.host == name {
                    Ok(Some(Entry::Host(h)))
                } else {
                    Err(format!("it names host {:?}", h.host))
                }
            }),
            // A kind a later ccf of this layout may add: not ours to judge.
            _ => Ok(None),
        };
        match parsed {
            Ok(Some(Entry::Limit(l))) if l.until > now => {
                view.limits.insert(name.to_string(), l);
            }
            Ok(Some(Entry::Auth(a))) => {
                view.auth.insert(name.to_string(), a);
            }
            Ok(Some(Entry::Host(h))) => {
                view.hosts.insert(name.to_string(), h);
            }
            Ok(_) => {}
            Err(why) => view.ignored.push(ignore(why)),
        }
    }
    view
}

enum Entry {
    Limit(Limit),
    Auth(Auth),
    Host(Heartbeat),
}

/// A value of this layout: JSON of the expected shape, of a version this ccf reads.
fn read<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    let version = v.get("version").and_then(serde_json::Value::as_u64);
    match version {
        Some(n) if n > u64::from(VERSION) => {
            return Err(format!(
                "written by a newer ccf (version {n}; this one reads {VERSION})"
            ));
        }
        Some(_) => {}
        None => return Err("no version".into()),
    }
    serde_json::from_value(v).map_err(|e| format!("not a fleet record ({e})"))
}

/// A reset no quota could have: further than [`MAX_AHEAD`] from `now`.
fn plausible(until: Timestamp, now: Timestamp) -> Result<(), String> {
    if until > crate::clock::add(now, MAX_AHEAD) {
        Err(format!(
            "its reset {until} is more than {} away",
            crate::human::duration(MAX_AHEAD)
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn kv(key: &str, value: &str) -> Kv {
        Kv {
            key: key.into(),
            value: value.as_bytes().to_vec(),
            mod_revision: 7,
        }
    }

    fn limit(account: &str, until: &str) -> String {
        format!(
            r#"{{"version":1,"account":"{account}","until":"{until}","scope":"five_hour","seen":{{"host":"h1","source":"pane","at":"2026-03-01T11:59:00Z"}}}}"#
        )
    }

    #[test]
    fn a_current_limit_is_read_with_its_revision() {
        let v = parse(
            "/ccf",
            &[kv("/ccf/v1/limit/a", &limit("a", "2026-03-01T13:00:00Z"))],
            now(),
        );
        assert_eq!(v.limits["a"].until.to_string(), "2026-03-01T13:00:00Z");
        assert_eq!(v.limits["a"].seen.host, "h1");
        assert_eq!(v.revision("/ccf/v1/limit/a"), 7);
        assert_eq!(v.revision("/ccf/v1/limit/b"), 0);
        assert!(v.ignored.is_empty());
    }

    #[test]
    fn a_reset_that_has_passed_is_no_limit_and_no_complaint() {
        let v = parse(
            "/ccf",
            &[kv("/ccf/v1/limit/a", &limit("a", "2026-03-01T11:00:00Z"))],
            now(),
        );
        assert!(v.limits.is_empty() && v.ignored.is_empty());
    }

    #[test]
    fn garbage_a_newer_version_a_far_reset_and_a_misnamed_value_are_ignored_by_key() {
        let newer = limit("a", "2026-03-01T13:00:00Z").replace("\"version\":1", "\"version\":9");
        let v = parse(
            "/ccf",
            &[
                kv("/ccf/v1/limit/a", "{not json"),
                kv("/ccf/v1/limit/b", &newer),
                kv("/ccf/v1/limit/c", &limit("c", "2031-01-01T00:00:00Z")),
                kv("/ccf/v1/limit/d", &limit("a", "2026-03-01T13:00:00Z")),
                kv("/ccf/v1/hosts/h\x1b[2J", r#"{"version":1}"#),
                kv("/ccf/v1/limit/e", r#"{"until":"2026-03-01T13:00:00Z"}"#),
            ],
            now(),
        );
        assert!(v.limits.is_empty() && v.hosts.is_empty(), "{v:?}");
        let lines = v.ignored.join("\n");
        for want in [
            "ignored /ccf/v1/limit/a: not JSON",
            "ignored /ccf/v1/limit/b: written by a newer ccf (version 9",
            "ignored /ccf/v1/limit/c: its reset 2031-01-01T00:00:00Z is more than 8d away",
            "ignored /ccf/v1/limit/d: it names account \"a\"",
            "ignored /ccf/v1/limit/e: no version",
        ] {
            assert!(lines.contains(want), "{want} in\n{lines}");
        }
        assert!(!lines.contains('\x1b'), "a key is shown escaped: {lines}");
    }

    #[test]
    fn heartbeats_are_read_by_host_and_other_kinds_are_left_alone() {
        let hb = r#"{"version":1,"host":"h2","at":"2026-03-01T11:59:30Z","active":"b","sessions":{"b":3}}"#;
        let v = parse(
            "/ccf",
            &[
                kv("/ccf/v1/hosts/h2", hb),
                kv("/ccf/v1/later-kind/x", "anything"),
            ],
            now(),
        );
        assert_eq!(v.hosts["h2"].active.as_deref(), Some("b"));
        assert_eq!(v.hosts["h2"].sessions["b"], 3);
        assert!(v.ignored.is_empty());
    }
}
