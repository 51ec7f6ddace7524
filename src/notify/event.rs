//! The events ccf tells the operator about, and the words it uses for them: a subject
//! that says what happened, then a few short lines meant for a phone screen.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// What happened. The `kind` names are the ones a channel's `events` filter lists
/// (`config::schema::EVENTS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    SwapStarted {
        from: String,
        to: String,
        reason: String,
        /// The session and line that triggered the swap, when one did.
        trigger: Option<String>,
        sessions: Vec<String>,
    },
    SwapDone {
        from: String,
        to: String,
        reason: String,
        moved: Vec<String>,
        failed: Vec<String>,
    },
    /// The swap did not take: cancelled, or no session that needed a relaunch got one.
    SwapFailed {
        from: String,
        to: String,
        error: String,
        /// The sessions left not running on `to`, when that is how it failed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        failed: Vec<String>,
    },
    /// The link moved and some sessions with it, but not all of them.
    SwapPartial {
        from: String,
        to: String,
        reason: String,
        moved: Vec<String>,
        failed: Vec<String>,
    },
    Degraded {
        reason: String,
    },
    AllExhausted {
        until: Option<Timestamp>,
    },
    WorkResumed {
        account: String,
    },
    Returned {
        to: String,
        /// The account left (absent in events queued before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    NeedsLogin {
        account: String,
    },
    PoolEmpty {
        detail: String,
    },
    TaskFailed {
        task: String,
        reason: String,
    },
    TaskTimedOut {
        task: String,
    },
    Test,
}

impl Event {
    /// The serde tag: the name a channel's `events` filter uses.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::SwapStarted { .. } => "swap_started",
            Event::SwapDone { .. } => "swap_done",
            Event::SwapFailed { .. } => "swap_failed",
            Event::SwapPartial { .. } => "swap_partial",
            Event::Degraded { .. } => "degraded",
            Event::AllExhausted { .. } => "all_exhausted",
            Event::WorkResumed { .. } => "work_resumed",
            Event::Returned { .. } => "returned",
            Event::NeedsLogin { .. } => "needs_login",
            Event::PoolEmpty { .. } => "pool_empty",
            Event::TaskFailed { .. } => "task_failed",
            Event::TaskTimedOut { .. } => "task_timed_out",
            Event::Test => "test",
        }
    }
}

/// One event rendered for delivery; every channel sends the same words.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: &'static str,
    /// One line that says what happened (the email subject, the first line elsewhere).
    pub subject: String,
    /// The subject, the details, then the host and time.
    pub text: String,
    pub at: Timestamp,
    pub host: String,
    /// The event itself, for machines (the webhook's `details`).
    pub details: serde_json::Value,
}

/// Names listed in a message before "and N more".
const MAX_NAMES: usize = 8;
/// Characters of a quoted line or error kept in a message.
const MAX_QUOTE: usize = 300;

impl Message {
    pub fn new(event: &Event, at: Timestamp, host: &str, zone: &TimeZone) -> Message {
        let (subject, lines) = words(event, zone);
        let subject = format!("ccf: {subject}");
        let mut text = subject.clone();
        for l in lines {
            text.push('\n');
            text.push_str(&l);
        }
        let _ = write!(text, "\n{host} · {}", when(at, zone));
        Message {
            kind: event.kind(),
            subject,
            text,
            at,
            host: host.to_string(),
            details: serde_json::to_value(event).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// The subject (without the `ccf: ` prefix) and the detail lines of an event.
fn words(event: &Event, zone: &TimeZone) -> (String, Vec<String>) {
    match event {
        Event::SwapStarted {
            from,
            to,
            reason,
            trigger,
            sessions,
        } => {
            let mut lines = vec![format!("sessions: {}", names(sessions))];
            if let Some(t) = trigger {
                lines.insert(0, format!("trigger: {}", clip(t)));
            }
            (format!("swapping {from} → {to} ({reason})"), lines)
        }
        Event::SwapDone {
            from,
            to,
            reason,
            moved,
            failed,
        } => {
            let mut lines = vec![format!("moved {}: {}", moved.len(), names(moved))];
            if !failed.is_empty() {
                lines.push(format!("FAILED {}: {}", failed.len(), names(failed)));
            }
            (format!("swapped {from} → {to} ({reason})"), lines)
        }
        Event::SwapFailed {
            from, to, error, ..
        } => (
            format!("swap {from} → {to} FAILED"),
            vec![clip(error), "see: ccf status".into()],
        ),
        Event::SwapPartial {
            from,
            to,
            reason,
            moved,
            failed,
        } => (
            format!(
                "swapped {from} → {to} ({reason}); NOT relaunched: {}",
                names(failed)
            ),
            vec![
                format!("moved {}: {}", moved.len(), names(moved)),
                format!("FAILED {}: {}", failed.len(), names(failed)),
                format!("fix the cause, then: ccf swap --to {to}"),
            ],
        ),
        Event::Degraded { reason } => (
            "degraded, swaps are stopped".into(),
            vec![clip(reason), "fix it, then: ccf rollback".into()],
        ),
        Event::AllExhausted { until } => {
            let subject = match until {
                Some(t) => format!("all accounts exhausted until {}", when(*t, zone)),
                None => "all accounts exhausted".into(),
            };
            (subject, vec!["work waits for the first reset".into()])
        }
        Event::WorkResumed { account } => (format!("work resumed on {account}"), vec![]),
        Event::Returned { to, .. } => (format!("returned to {to}"), vec![]),
        Event::NeedsLogin { account } => (
            format!("{account} needs a login"),
            vec![format!(
                "its credentials were refused; log in again with CLAUDE_CONFIG_DIR set to {account}'s home"
            )],
        ),
        Event::PoolEmpty { detail } => ("no session can take work".into(), vec![clip(detail)]),
        Event::TaskFailed { task, reason } => (format!("task {task} failed"), vec![clip(reason)]),
        Event::TaskTimedOut { task } => (format!("task {task} timed out"), vec![]),
        Event::Test => (
            "test message".into(),
            vec!["if you read this, ccf can reach you here".into()],
        ),
    }
}

fn when(t: Timestamp, zone: &TimeZone) -> String {
    crate::human::local(t, zone)
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        return "none".into();
    }
    let shown = list[..list.len().min(MAX_NAMES)].join(", ");
    match list.len().saturating_sub(MAX_NAMES) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// One line, at most [`MAX_QUOTE`] characters: pane lines and errors can be long.
fn clip(s: &str) -> String {
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= MAX_QUOTE {
        one
    } else {
        let mut cut: String = one.chars().take(MAX_QUOTE - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(event: &Event) -> Message {
        Message::new(
            event,
            "2026-03-01T14:05:00Z".parse().unwrap(),
            "box",
            &TimeZone::UTC,
        )
    }

    #[test]
    fn kind_is_the_serde_tag_and_a_known_filter_name() {
        let all = [
            Event::SwapStarted {
                from: "a".into(),
                to: "b".into(),
                reason: "r".into(),
                trigger: None,
                sessions: vec![],
            },
            Event::SwapDone {
                from: "a".into(),
                to: "b".into(),
                reason: "r".into(),
                moved: vec![],
                failed: vec![],
            },
            Event::SwapFailed {
                from: "a".into(),
                to: "b".into(),
                error: "e".into(),
                failed: vec!["s".into()],
            },
            Event::SwapPartial {
                from: "a".into(),
                to: "b".into(),
                reason: "r".into(),
                moved: vec!["m".into()],
                failed: vec!["s".into()],
            },
            Event::Degraded { reason: "r".into() },
            Event::AllExhausted { until: None },
            Event::WorkResumed {
                account: "a".into(),
            },
            Event::Returned {
                to: "a".into(),
                from: Some("b".into()),
            },
            Event::NeedsLogin {
                account: "a".into(),
            },
            Event::PoolEmpty { detail: "d".into() },
            Event::TaskFailed {
                task: "t".into(),
                reason: "r".into(),
            },
            Event::TaskTimedOut { task: "t".into() },
            Event::Test,
        ];
        assert_eq!(all.len(), crate::config::schema::EVENTS.len());
        for e in &all {
            let tag = serde_json::to_value(e).unwrap()["kind"].clone();
            assert_eq!(tag, e.kind(), "{e:?}");
            assert!(crate::config::schema::EVENTS.contains(&e.kind()));
        }
    }

    #[test]
    fn a_swap_says_who_why_and_which_sessions_in_a_few_lines() {
        let m = msg(&Event::SwapDone {
            from: "compte1".into(),
            to: "compte2".into(),
            reason: "usage limit".into(),
            moved: vec!["ccl-1-a".into(), "ccl-auto-11".into()],
            failed: vec!["ccl-auto-12".into()],
        });
        assert_eq!(m.subject, "ccf: swapped compte1 → compte2 (usage limit)");
        assert_eq!(
            m.text,
            "ccf: swapped compte1 → compte2 (usage limit)\nmoved 2: ccl-1-a, ccl-auto-11\nFAILED 1: ccl-auto-12\nbox · 2026-03-01 14:05 UTC"
        );
        assert_eq!(m.kind, "swap_done");
        assert_eq!(m.details["moved"][1], "ccl-auto-11");
    }

    #[test]
    fn long_lists_and_long_lines_are_cut_for_a_phone() {
        let sessions: Vec<String> = (11..31).map(|i| format!("ccl-auto-{i}")).collect();
        let m = msg(&Event::SwapStarted {
            from: "a".into(),
            to: "b".into(),
            reason: "usage limit".into(),
            trigger: Some(format!("ccl-auto-11: {}\n", "x".repeat(1000))),
            sessions,
        });
        assert!(m.text.contains("ccl-auto-18 and 12 more"), "{}", m.text);
        assert!(!m.text.contains("ccl-auto-19"), "{}", m.text);
        let trigger = m.text.lines().nth(1).unwrap();
        assert!(
            trigger.starts_with("trigger: ccl-auto-11: xxx"),
            "{trigger}"
        );
        assert_eq!(trigger.chars().count(), "trigger: ".len() + MAX_QUOTE);
        assert_eq!(m.text.lines().count(), 4);
    }

    #[test]
    fn exhaustion_says_until_when_in_the_configured_zone() {
        let m = Message::new(
            &Event::AllExhausted {
                until: Some("2026-03-01T17:00:00Z".parse().unwrap()),
            },
            "2026-03-01T14:05:00Z".parse().unwrap(),
            "box",
            &TimeZone::get("Europe/Paris").unwrap(),
        );
        assert_eq!(
            m.subject,
            "ccf: all accounts exhausted until 2026-03-01 18:00 CET"
        );
    }
}
