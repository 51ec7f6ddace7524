//! The outbox: one JSON file per event in `state_dir/outbox/`, written by [`emit`] and
//! delivered by [`flush`] at the end of a run.
//!
//! A message is removed once every channel whose filter admits it has taken it (or
//! refused it for good); the file records which channels are done, so a message that
//! reached Telegram but not Resend is retried on Resend only. A failed send bumps the
//! attempts and sets the next try: the very next run, then backing off. A message that
//! cannot be delivered is dropped with a warning after `max_attempts` or `max_age`.
//!
//! Two runs must not send the same message twice: `flush` takes `outbox/.lock` without
//! waiting and leaves delivery to the run that holds it. It is not the state lock, so a
//! slow notification service never makes a swap or a poll find the state busy.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::channel::{self, Channel, Failure, Ready};
use super::event::{Event, Message};
use crate::context::Ctx;
use crate::{fsutil, log};

/// One queued message, as stored in its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub created_at: Timestamp,
    /// Failed delivery runs so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not before this; None = at the next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<Timestamp>,
    /// Channels finished with this message: `delivered`, or why they refused it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub done: BTreeMap<String, String>,
    /// The last (redacted) error per channel still to deliver.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
    pub event: Event,
}

/// The first retry waits for nothing but the next run; later ones wait 30 s, 1 min,
/// 2 min, … up to an hour, so a long outage costs a few requests an hour.
pub fn backoff(attempts: u32) -> Duration {
    const BASE: u64 = 30;
    const CAP: u64 = 3600;
    match attempts {
        0 | 1 => Duration::ZERO,
        n => Duration::from_secs(BASE.saturating_mul(1 << (n - 2).min(20)).min(CAP)),
    }
}

/// The bound on an undeliverable message.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_attempts: u32,
    pub max_age: Duration,
}

/// What to do with one message now.
#[derive(Debug, PartialEq)]
pub enum Plan<'c> {
    /// Every channel that wants it has it: remove the file.
    Done,
    /// Give up: the reason goes into the warning.
    Expired(String),
    /// Not due yet.
    Wait,
    /// Send on these channels.
    Send(Vec<&'c Channel<'c>>),
}

pub fn plan<'c>(
    record: &Record,
    channels: &'c [Channel<'c>],
    now: Timestamp,
    limits: Limits,
) -> Plan<'c> {
    let pending: Vec<&Channel> = channels
        .iter()
        .filter(|c| c.admits(record.event.kind()) && !record.done.contains_key(c.name))
        .collect();
    if pending.is_empty() {
        return Plan::Done;
    }
    let max_age = crate::clock::signed(limits.max_age);
    if now.duration_since(record.created_at) >= max_age {
        return Plan::Expired(format!(
            "older than {}",
            crate::human::duration(limits.max_age)
        ));
    }
    if record.attempts >= limits.max_attempts {
        return Plan::Expired(format!("{} attempts failed", record.attempts));
    }
    match record.next_at {
        Some(t) if t > now => Plan::Wait,
        _ => Plan::Send(pending),
    }
}

/// The most one run spends delivering notifications, and the bound on each request.
pub const DELIVERY_BUDGET: Duration = Duration::from_secs(3);

pub fn dir(ctx: &Ctx) -> PathBuf {
    ctx.config.state_dir.join("outbox")
}

/// Queues `event` for delivery. Never fails: a notification must not break a run.
/// Runs call the history's `emit`, which records the event and then calls this.
pub fn emit(ctx: &Ctx, event: &Event) {
    let dir = dir(ctx);
    let record = Record {
        created_at: ctx.now,
        attempts: 0,
        next_at: None,
        done: BTreeMap::new(),
        errors: BTreeMap::new(),
        event: event.clone(),
    };
    let result = fsutil::ensure_private_dir(&dir).and_then(|()| {
        let name = entry_name(ctx.now, next_seq(&dir, ctx.now), uuid::Uuid::new_v4());
        save(&dir.join(name), &record)
    });
    if let Err(e) = result {
        log::warn(&format!(
            "failed to queue a {} notification: {e:#}",
            event.kind()
        ));
    }
}

/// An outbox file's name: the run's clock in milliseconds, then the event's number
/// within that millisecond, then a random id. Names sort in the order the events
/// happened: the events of one run share its clock, and runs that emit are serialised
/// by the state lock.
fn entry_name(now: Timestamp, seq: u32, id: uuid::Uuid) -> String {
    format!("{:013}-{seq:06}-{}.json", now.as_millisecond(), id.simple())
}

/// The number of the next event at `now`: one past the highest already queued then.
fn next_seq(dir: &Path, now: Timestamp) -> u32 {
    let prefix = format!("{:013}-", now.as_millisecond());
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let rest = name.strip_prefix(&prefix)?;
                rest.split('-').next()?.parse::<u32>().ok()
            })
            .max()
            .map_or(0, |m| m + 1)
    })
}

fn save(path: &Path, record: &Record) -> anyhow::Result<()> {
    let json = serde_json::to_vec(record)?;
    fsutil::write_atomic(path, &json, 0o600)
}

/// Delivers the messages that are due. Logs what goes wrong; never fails.
pub fn flush(ctx: &Ctx) {
    flush_with(ctx, &|k| std::env::var(k).ok());
}

/// [`flush`] with the environment secrets are read from.
pub fn flush_with(ctx: &Ctx, env: &dyn Fn(&str) -> Option<String>) {
    let dir = dir(ctx);
    // The common case, an empty outbox, costs one directory read and nothing else.
    let files = queued(&dir);
    if files.is_empty() {
        return;
    }
    let Some(_lock) = try_lock(&dir) else {
        log::debug("another ccf run is delivering notifications");
        return;
    };
    let n = &ctx.config.notifications;
    let channels = channel::configured(n);
    let limits = Limits {
        max_attempts: n.max_attempts,
        max_age: n.max_age.0,
    };
    let mut run = Delivery::new(ctx, env);
    // A backlog on a slow but working service must not hold the run either: past a
    // small fixed budget (one check-quota under a 30 s timer must stay short), the rest
    // waits for the next run. Each request is bounded by it too (`Delivery::client`).
    let budget = n.timeout.0.min(DELIVERY_BUDGET);
    let started = std::time::Instant::now();
    for path in files {
        // Read again under the lock: another run may have delivered it meanwhile.
        let Some(mut record) = load(&path) else {
            continue;
        };
        match plan(&record, &channels, ctx.now, limits) {
            Plan::Done => remove(&path),
            Plan::Expired(why) => drop_message(&path, &record, &why),
            // Its channels hear nothing newer before it: events arrive in order.
            Plan::Wait => run.hold(&record, &channels),
            Plan::Send(_) if started.elapsed() >= budget => {
                log::info("notification time budget spent; the rest waits for the next run");
                break;
            }
            Plan::Send(list) => {
                if run.deliver(&mut record, &list) {
                    finish(&path, &record, &channels, limits);
                }
            }
        }
        if run.broken {
            break;
        }
    }
}

/// After a delivery attempt: remove, drop or rewrite the file.
fn finish(path: &Path, record: &Record, channels: &[Channel], limits: Limits) {
    let pending = channels
        .iter()
        .any(|c| c.admits(record.event.kind()) && !record.done.contains_key(c.name));
    if !pending {
        remove(path);
    } else if record.attempts >= limits.max_attempts {
        drop_message(
            path,
            record,
            &format!("{} attempts failed", record.attempts),
        );
    } else if let Err(e) = save(path, record) {
        log::warn(&format!("failed to update a queued notification: {e:#}"));
    }
}

/// The messages waiting, oldest first. Temp files and the lock start with a dot.
fn queued(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return vec![];
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
                && p.extension().is_some_and(|e| e == "json")
        })
        .collect();
    files.sort();
    files
}

fn try_lock(dir: &Path) -> Option<File> {
    let path = dir.join(".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path);
    match file.map(|f| f.try_lock().map(|()| f)) {
        Ok(Ok(f)) => Some(f),
        Ok(Err(TryLockError::WouldBlock)) => None,
        Ok(Err(TryLockError::Error(e))) | Err(e) => {
            log::warn(&format!("failed to lock {}: {e}", path.display()));
            None
        }
    }
}

/// The record in `path`; a file that is not a record is set aside (renamed
/// `.corrupt`) with a warning, so it is neither lost nor retried forever.
fn load(path: &Path) -> Option<Record> {
    if let Err(why) = fsutil::own_regular_file(path) {
        log::warn(&format!(
            "ignoring queued notification {}: {why}",
            path.display()
        ));
        return None;
    }
    let bytes = fsutil::read_bounded(path, 1 << 20).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(r) => Some(r),
        Err(e) => {
            let aside = path.with_extension("json.corrupt");
            let _ = fs::rename(path, &aside);
            log::warn(&format!(
                "set aside unreadable queued notification {}: {e}",
                aside.display()
            ));
            None
        }
    }
}

fn remove(path: &Path) {
    if let Err(e) = fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        log::warn(&format!("failed to remove {}: {e}", path.display()));
    }
}

fn drop_message(path: &Path, record: &Record, why: &str) {
    let mut msg = format!(
        "dropped the {} notification of {}: {why}",
        record.event.kind(),
        record.created_at
    );
    for (channel, error) in &record.errors {
        let _ = write!(msg, "; {channel}: {error}");
    }
    log::warn(&msg);
    remove(path);
}

/// What one flush has learnt so far: the client, the channels' secrets, and the channels
/// that failed (tried once per run, so a dead service costs at most one timeout).
struct Delivery<'a> {
    ctx: &'a Ctx,
    env: &'a dyn Fn(&str) -> Option<String>,
    client: Option<reqwest::blocking::Client>,
    ready: BTreeMap<&'static str, Option<Ready<'a>>>,
    down: BTreeSet<&'static str>,
    host: Option<String>,
    zone: Option<TimeZone>,
    /// No client could be built: stop for this run.
    broken: bool,
}

impl<'a> Delivery<'a> {
    fn new(ctx: &'a Ctx, env: &'a dyn Fn(&str) -> Option<String>) -> Delivery<'a> {
        Delivery {
            ctx,
            env,
            client: None,
            ready: BTreeMap::new(),
            down: BTreeSet::new(),
            host: None,
            zone: None,
            broken: false,
        }
    }

    /// Keeps every channel `record` still waits for from getting newer messages in this
    /// run (as a transient failure does).
    fn hold(&mut self, record: &Record, channels: &[Channel<'a>]) {
        for c in channels {
            if c.admits(record.event.kind()) && !record.done.contains_key(c.name) {
                self.down.insert(c.name);
            }
        }
    }

    /// Sends `record` on the channels in `list` that are up; returns whether the record
    /// changed.
    fn deliver(&mut self, record: &mut Record, list: &[&Channel<'a>]) -> bool {
        let message = Message::new(
            &record.event,
            record.created_at,
            self.host.get_or_insert_with(host_name),
            self.zone.get_or_insert_with(|| self.ctx.zone()),
        );
        let mut changed = false;
        let mut failed = false;
        let mut wait = Duration::ZERO;
        for channel in list {
            if self.down.contains(channel.name) {
                continue;
            }
            let Some(client) = self.client() else {
                return changed;
            };
            let ready =
                self.ready
                    .entry(channel.name)
                    .or_insert_with(|| match channel.ready(self.env) {
                        Ok(r) => Some(r),
                        Err(u) => {
                            let msg = format!(
                                "{} notifications wait: its secret is unavailable: {}",
                                channel.name, u.why
                            );
                            if u.expected {
                                log::info(&msg);
                            } else {
                                log::warn(&msg);
                            }
                            None
                        }
                    });
            let Some(ready) = ready else {
                self.down.insert(channel.name);
                continue;
            };
            match ready.send(&client, &message) {
                Ok(()) => {
                    record.done.insert(channel.name.into(), "delivered".into());
                    record.errors.remove(channel.name);
                }
                Err(Failure::Refused { error }) => {
                    log::warn(&format!(
                        "{} refused the {} notification, which it will not get: {error}",
                        channel.name,
                        record.event.kind()
                    ));
                    record
                        .done
                        .insert(channel.name.into(), format!("refused: {error}"));
                    record.errors.remove(channel.name);
                }
                Err(Failure::Transient { error, retry_after }) => {
                    log::notice(&format!(
                        "{} is unreachable, notifications wait in the outbox: {error}",
                        channel.name
                    ));
                    self.down.insert(channel.name);
                    record.errors.insert(channel.name.into(), error);
                    wait = wait.max(retry_after.unwrap_or_default());
                    failed = true;
                }
            }
            changed = true;
        }
        if failed {
            record.attempts += 1;
            let delay = backoff(record.attempts).max(wait);
            record.next_at = Some(self.ctx.now.checked_add(delay).unwrap_or(Timestamp::MAX));
        }
        changed
    }

    fn client(&mut self) -> Option<reqwest::blocking::Client> {
        if self.client.is_none() && !self.broken {
            match channel::client(self.ctx.config.notifications.timeout.0.min(DELIVERY_BUDGET)) {
                Ok(c) => self.client = Some(c),
                Err(e) => {
                    log::warn(&format!(
                        "failed to set up HTTP for notifications: {}",
                        e.without_url()
                    ));
                    self.broken = true;
                }
            }
        }
        self.client.clone()
    }
}

/// This machine's name, for the messages (several hosts may report to one chat).
pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown host".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Notifications;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn record(attempts: u32, next_at: Option<&str>) -> Record {
        Record {
            created_at: ts("2026-03-01T12:00:00Z"),
            attempts,
            next_at: next_at.map(ts),
            done: BTreeMap::new(),
            errors: BTreeMap::new(),
            event: Event::Degraded { reason: "r".into() },
        }
    }

    const LIMITS: Limits = Limits {
        max_attempts: 5,
        max_age: Duration::from_secs(3600),
    };

    fn notifications() -> Notifications {
        serde_yaml::from_str(
            "telegram: {bot_token_env: T, chat_id: '1'}\nresend: {api_key_env: K, from: a@b, to: [c@d], events: [swap_done, degraded]}\nwebhook: {url: 'http://x', events: [swap_done]}\n",
        )
        .unwrap()
    }

    fn names(p: &Plan) -> Vec<&'static str> {
        match p {
            Plan::Send(list) => list.iter().map(|c| c.name).collect(),
            other => panic!("not a send: {other:?}"),
        }
    }

    #[test]
    fn the_first_retry_is_the_next_run_and_later_ones_back_off_to_an_hour() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), Duration::from_secs(30));
        assert_eq!(backoff(3), Duration::from_secs(60));
        assert_eq!(backoff(8), Duration::from_secs(1920));
        assert_eq!(backoff(9), Duration::from_secs(3600));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn a_message_goes_to_the_channels_whose_filter_admits_it_and_not_yet_done() {
        let n = notifications();
        let ch = channel::configured(&n);
        let now = ts("2026-03-01T12:01:00Z");
        let mut r = record(0, None);
        assert_eq!(names(&plan(&r, &ch, now, LIMITS)), ["telegram", "resend"]);
        r.done.insert("telegram".into(), "delivered".into());
        assert_eq!(names(&plan(&r, &ch, now, LIMITS)), ["resend"]);
        r.done.insert("resend".into(), "refused: HTTP 401".into());
        assert_eq!(plan(&r, &ch, now, LIMITS), Plan::Done);
        assert_eq!(
            plan(&r, &[], now, LIMITS),
            Plan::Done,
            "no channel: nothing to keep"
        );
    }

    #[test]
    fn a_message_waits_for_its_next_try_and_is_dropped_at_the_bound() {
        let n = notifications();
        let ch = channel::configured(&n);
        let now = ts("2026-03-01T12:30:00Z");
        assert_eq!(
            plan(&record(2, Some("2026-03-01T12:30:01Z")), &ch, now, LIMITS),
            Plan::Wait
        );
        assert_eq!(
            names(&plan(
                &record(2, Some("2026-03-01T12:30:00Z")),
                &ch,
                now,
                LIMITS
            ))
            .len(),
            2
        );
        assert_eq!(
            plan(&record(5, None), &ch, now, LIMITS),
            Plan::Expired("5 attempts failed".into())
        );
        assert_eq!(
            plan(&record(1, None), &ch, ts("2026-03-01T13:00:00Z"), LIMITS),
            Plan::Expired("older than 1h".into())
        );
    }

    #[test]
    fn a_record_reads_what_emit_wrote_before_delivery_fields_existed() {
        let r: Record = serde_json::from_str(
            r#"{"created_at":"2026-03-01T12:00:00Z","attempts":0,"event":{"kind":"test"}}"#,
        )
        .unwrap();
        assert_eq!(r.event, Event::Test);
        assert!(r.done.is_empty() && r.next_at.is_none());
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"created_at":"2026-03-01T12:00:00Z","attempts":0,"event":{"kind":"test"}}"#
        );
    }
}
