//! Notifications: the events ccf tells the operator about, the outbox they wait in, and
//! the channels that deliver them (Telegram, Resend email, a JSON webhook).
//!
//! Callers [`emit`] an event *after* the state is saved; `emit` only writes the event
//! into `state_dir/outbox/` (atomic, never fails the caller). [`flush`] — run at the
//! end of every command — delivers what is due. A dead notification service therefore
//! delays a message and changes nothing else.

pub mod channel;
pub mod event;
pub mod outbox;

pub use event::{Event, Message};
pub use outbox::{emit, flush};
