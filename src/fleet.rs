//! Several hosts sharing what they know about their accounts through etcd (`fleet:`).
//!
//! Shared knowledge, not shared control: each host keeps its own state, lock and
//! sessions. A check-quota run reads the fleet's view once ([`Link::open`]), adds the
//! other hosts' limits to its own observations (`merge::observations`), publishes its
//! own limits before it swaps ([`Link::publish`]) and leaves a heartbeat
//! ([`Link::heartbeat`]). When etcd cannot be had — down, no quorum, refused, garbage —
//! the run is a single host's, the fleet costs it at most `fleet.timeout`, and the
//! problem is logged when it changes ([`remember`]).
//!
//! `record.rs` is the key layout and value schema, `merge.rs` the pure rules,
//! `client.rs` the only code that talks to etcd.

pub mod client;
pub mod merge;
pub mod record;

use std::time::Duration;

use jiff::Timestamp;

use crate::config::Fleet;
use crate::log::Level;
use crate::quota::Decision;
use crate::state::{FleetMemory, PoolProblem, State};
use client::Client;
use record::View;

/// How long a heartbeat outlives its host's last check: long enough for `status --fleet`
/// to show a host whose timer stopped as late, short enough that a host taken out of the
/// fleet disappears from it by itself.
const HEARTBEAT_TTL: Duration = Duration::from_secs(10 * 60);

/// How long a published limit outlives its reset beyond `quota.return_margin`, so every
/// host has seen the reset pass before the key goes.
const LIMIT_MARGIN: Duration = Duration::from_secs(3600);

/// How long a published login state stays: a week, then hosts that still see the
/// failure publish it again.
const AUTH_TTL: Duration = Duration::from_secs(7 * 86_400);

/// One run's connection to the fleet.
pub struct Link {
    pub cfg: Fleet,
    client: Option<Client>,
    /// What the run's one read found; `None` when it failed.
    pub view: Option<View>,
    /// Why no client could be made (credentials, TLS files, a refused login).
    refused: Option<String>,
}

impl Link {
    /// Connects and reads the fleet's view once; `None` without `fleet:`.
    pub fn open(fleet: Option<&Fleet>, now: Timestamp) -> Option<Link> {
        let cfg = fleet?.clone();
        let mut link = Link {
            client: None,
            view: None,
            refused: None,
            cfg,
        };
        let started = std::time::Instant::now();
        match Client::connect(&link.cfg, &|k| std::env::var(k).ok()) {
            Ok(mut c) => {
                let connected = started.elapsed();
                if let Ok(kvs) = c.range(&record::root(&link.cfg.prefix)) {
                    link.view = Some(record::parse(&link.cfg.prefix, &kvs, now));
                }
                crate::log::debug(&format!(
                    "fleet: client ready in {connected:?}, read in {:?}",
                    started.elapsed().saturating_sub(connected)
                ));
                link.client = Some(c);
            }
            Err(why) => link.refused = Some(why),
        }
        Some(link)
    }

    /// Why the fleet could not be used this run (so far), if it could not: the read, or
    /// a later write (a user allowed to read but not to write is a problem too).
    pub fn problem(&self) -> Option<String> {
        match (&self.client, &self.view) {
            (Some(c), _) if c.down().is_some() => c.down().map(String::from),
            (_, Some(_)) => None,
            (Some(_), None) => Some("etcd did not answer".into()),
            (None, None) => Some(self.refused.clone().unwrap_or_default()),
        }
    }

    /// Publishes this pass's own limits and auth failures, each only when it moves the
    /// fleet's knowledge forward. Returns lines to log.
    pub fn publish(
        &mut self,
        d: &Decision,
        relogged: &[String],
        margin: Duration,
        now: Timestamp,
    ) -> Vec<(Level, String)> {
        let (Some(client), Some(view)) = (self.client.as_mut(), self.view.as_mut()) else {
            return Vec::new();
        };
        let (limits, auth) = merge::to_publish(d, relogged, &self.cfg.host, now);
        let mut lines = Vec::new();
        for l in limits {
            if !merge::forward_limit(view.limits.get(&l.account), &l, now) {
                continue;
            }
            let key = record::limit_key(&self.cfg.prefix, &l.account);
            // `return_margin` is what the operator wrote (`100000y` is "for ever"):
            // saturate, and the client caps a lease at what etcd grants.
            let ttl = Duration::try_from(l.until.duration_since(now))
                .unwrap_or_default()
                .saturating_add(margin)
                .saturating_add(LIMIT_MARGIN);
            let value = serde_json::to_vec(&l).expect("a limit record serializes");
            let written = write_forward(client, &key, &value, ttl, view.revision(&key), |cur| {
                let cur: Option<record::Limit> = serde_json::from_slice(cur).ok();
                merge::forward_limit(cur.as_ref(), &l, now)
            });
            match written {
                Ok(true) => {
                    lines.push((
                        Level::Notice,
                        format!(
                            "fleet: published the limit on {} until {}",
                            l.account, l.until
                        ),
                    ));
                    // A later pass of this run has nothing new to say about it.
                    view.limits.insert(l.account.clone(), l);
                }
                Ok(false) => {}
                Err(e) => lines.push((
                    Level::Warning,
                    format!("fleet: failed to publish the limit on {}: {e}", l.account),
                )),
            }
        }
        for a in auth {
            if !merge::forward_auth(view.auth.get(&a.account), &a) {
                continue;
            }
            let key = record::auth_key(&self.cfg.prefix, &a.account);
            let value = serde_json::to_vec(&a).expect("an auth record serializes");
            let written =
                write_forward(client, &key, &value, AUTH_TTL, view.revision(&key), |cur| {
                    let cur: Option<record::Auth> = serde_json::from_slice(cur).ok();
                    merge::forward_auth(cur.as_ref(), &a)
                });
            match written {
                Ok(true) => {
                    view.auth.insert(a.account.clone(), a);
                }
                Ok(false) => {}
                Err(e) => lines.push((
                    Level::Warning,
                    format!(
                        "fleet: failed to publish the auth failure of {}: {e}",
                        a.account
                    ),
                )),
            }
        }
        lines
    }

    /// Writes this host's heartbeat (after its check), under the lease `state` keeps
    /// while it is young enough, else a new one (kept in `state` for the next run).
    pub fn heartbeat(
        &mut self,
        state: &mut State,
        accounts: &[String],
        active: &str,
        now: Timestamp,
    ) -> Result<(), String> {
        let Some(client) = self.client.as_mut().filter(|_| self.view.is_some()) else {
            return Ok(());
        };
        let hb = merge::heartbeat(state, &self.cfg.host, accounts, active, now);
        let value = serde_json::to_vec(&hb).expect("a heartbeat serializes");
        let key = record::host_key(&self.cfg.prefix, &self.cfg.host);
        if let Some(id) = reusable(state.fleet.heartbeat_lease.as_ref(), now) {
            // An error that is not the cluster's (the lease expired early: a clock
            // pinned, a cluster restored) falls through to a new lease.
            match client.put(&key, &value, id) {
                Ok(()) => return Ok(()),
                Err(e) if client.down().is_some() => return Err(e),
                Err(_) => {}
            }
        }
        let id = client.grant(HEARTBEAT_TTL)?;
        state.fleet.heartbeat_lease = Some(crate::state::HeartbeatLease {
            id,
            granted_at: now,
        });
        client.put(&key, &value, id)
    }

    /// The cluster's members (for `validate`).
    pub fn members(&mut self) -> Result<Vec<(String, Vec<String>)>, String> {
        match self.client.as_mut() {
            Some(c) => c.members(),
            None => Err(self.problem().unwrap_or_default()),
        }
    }
}

/// The heartbeat lease to reuse at `now`: one granted less than half its time ago, so
/// the heartbeat it carries outlives the next few checks.
fn reusable(lease: Option<&crate::state::HeartbeatLease>, now: Timestamp) -> Option<i64> {
    lease
        .filter(|l| l.granted_at <= now && now < crate::clock::add(l.granted_at, HEARTBEAT_TTL / 2))
        .map(|l| l.id)
}

/// A write that only moves knowledge forward: put if the key is still at `revision`;
/// if someone wrote first, put over theirs only if `still_forward` of what they wrote
/// (once: a third writer in between wins). `Ok(false)`: nothing written, the fleet knew.
fn write_forward(
    client: &mut Client,
    key: &str,
    value: &[u8],
    ttl: Duration,
    revision: i64,
    still_forward: impl Fn(&[u8]) -> bool,
) -> Result<bool, String> {
    let lease = client.grant(ttl)?;
    let mut revision = revision;
    for _ in 0..2 {
        match client.put_if(key, value, lease, revision)? {
            None => return Ok(true),
            Some(None) => revision = 0,
            Some(Some(cur)) if still_forward(&cur.value) => revision = cur.mod_revision,
            Some(Some(_)) => return Ok(false),
        }
    }
    Ok(false)
}

/// Takes one run's fleet outcome into the state's memory; returns the lines to log —
/// only what changed (a standing outage or bad value is not logged every 30 s).
pub fn remember(
    memory: &mut FleetMemory,
    problem: Option<String>,
    ignored: &[String],
    now: Timestamp,
) -> Vec<(Level, String)> {
    let mut lines = Vec::new();
    match (&memory.problem, problem) {
        (None, Some(detail)) => {
            lines.push((
                Level::Warning,
                format!("fleet: {detail}; working as a single host until it answers"),
            ));
            memory.problem = Some(PoolProblem { since: now, detail });
        }
        (Some(p), Some(detail)) if p.detail != detail => {
            lines.push((Level::Warning, format!("fleet: {detail}")));
            memory.problem = Some(PoolProblem {
                since: p.since,
                detail,
            });
        }
        (Some(p), None) => {
            lines.push((
                Level::Notice,
                format!("fleet: etcd answers again (out of reach since {})", p.since),
            ));
            memory.problem = None;
        }
        _ => {}
    }
    // A failed read says nothing about the values: keep the last read's.
    if memory.problem.is_none() {
        for line in ignored.iter().filter(|l| !memory.ignored.contains(l)) {
            lines.push((Level::Warning, line.clone()));
        }
        memory.ignored = ignored.to_vec();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn an_outage_is_logged_when_it_starts_changes_and_ends_not_every_run() {
        let mut m = FleetMemory::default();
        let first = remember(
            &mut m,
            Some("etcd unreachable: x".into()),
            &[],
            t("2026-03-01T12:00:00Z"),
        );
        assert_eq!(first.len(), 1);
        assert!(first[0].1.contains("working as a single host"));
        assert!(
            remember(
                &mut m,
                Some("etcd unreachable: x".into()),
                &[],
                t("2026-03-01T12:00:30Z")
            )
            .is_empty()
        );
        assert_eq!(m.problem.as_ref().unwrap().since, t("2026-03-01T12:00:00Z"));
        let changed = remember(
            &mut m,
            Some("etcd refused".into()),
            &[],
            t("2026-03-01T12:01:00Z"),
        );
        assert_eq!(changed.len(), 1);
        assert_eq!(m.problem.as_ref().unwrap().since, t("2026-03-01T12:00:00Z"));
        let back = remember(&mut m, None, &[], t("2026-03-01T12:02:00Z"));
        assert!(back[0].1.contains("answers again"));
        assert!(m.is_empty());
    }

    #[test]
    fn a_heartbeat_lease_is_reused_until_half_its_time_is_gone() {
        let lease = crate::state::HeartbeatLease {
            id: 7,
            granted_at: t("2026-03-01T12:00:00Z"),
        };
        assert_eq!(reusable(Some(&lease), t("2026-03-01T12:04:59Z")), Some(7));
        assert_eq!(reusable(Some(&lease), t("2026-03-01T12:05:00Z")), None);
        assert_eq!(
            reusable(Some(&lease), t("2026-03-01T11:59:00Z")),
            None,
            "clock went back"
        );
        assert_eq!(reusable(None, t("2026-03-01T12:00:00Z")), None);
    }

    #[test]
    fn an_ignored_value_is_logged_once_while_it_stays() {
        let mut m = FleetMemory::default();
        let bad = vec!["fleet: ignored /ccf/v1/limit/a: not JSON".to_string()];
        assert_eq!(
            remember(&mut m, None, &bad, t("2026-03-01T12:00:00Z")).len(),
            1
        );
        assert!(remember(&mut m, None, &bad, t("2026-03-01T12:00:30Z")).is_empty());
        assert!(remember(&mut m, None, &[], t("2026-03-01T12:01:00Z")).is_empty());
        assert!(m.is_empty());
    }
}
