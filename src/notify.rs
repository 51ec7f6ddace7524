//! Notifications: the events ccf tells the operator about, and the outbox they wait in.
//!
//! Callers [`emit`] an event *after* the state is saved; `emit` only writes the event
//! into `state_dir/outbox/` (atomic, never fails the caller). [`flush`] — run at the
//! end of every command — delivers what is due. A dead notification service therefore
//! delays a message and changes nothing else.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::context::Ctx;

/// What happened. The `kind` names are the ones a channel's `events` filter lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    SwapStarted {
        from: String,
        to: String,
        reason: String,
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
    SwapFailed {
        from: String,
        to: String,
        error: String,
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

/// Queues `event` for delivery. Never fails: a notification must not break a run.
pub fn emit(ctx: &Ctx, event: &Event) {
    let dir = ctx.config.state_dir.join("outbox");
    let record = serde_json::json!({ "created_at": ctx.now, "attempts": 0, "event": event });
    let name = format!(
        "{}-{}.json",
        ctx.now.as_millisecond(),
        uuid::Uuid::new_v4().simple()
    );
    let result = crate::fsutil::create_private_dir(&dir).and_then(|()| {
        crate::fsutil::write_atomic(&dir.join(name), record.to_string().as_bytes(), 0o600)
    });
    if let Err(e) = result {
        crate::log::warn(&format!("failed to queue a notification: {e:#}"));
    }
}

/// Delivers due messages from the outbox. (Delivery lands with the notifications issue.)
pub fn flush(_ctx: &Ctx) {}
