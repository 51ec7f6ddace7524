//! Detection: what a Claude Code pane or transcript says about the account's quota.
//!
//! Everything here is pure (no I/O, no clock): the caller passes the text, `now` and the
//! default zone in. The public surface:
//!
//! - [`classify`]`(text) -> `[`Detection`]: a whole pane capture (ANSI and TUI gutters
//!   allowed) to a [`Verdict`] (`limit`, `warning`, `throttle`, `server_error`, `auth`,
//!   `billing`, `none`), an optional [`Scope`] (`five_hour`, `weekly`, `opus_weekly`,
//!   `other`), the unresolved [`ResetSpec`] the text gave, and the deciding line (its text,
//!   ANSI-stripped and trimmed, and its 0-based index).
//! - [`resolve_reset`]`(spec, now, default_zone)`: the instant a [`ResetSpec`] names, the
//!   next one after `now` (DST-correct, banners' minute rounding tolerated).
//! - [`lookup_zone`]`(name)`: an IANA zone from the system database, legacy names mapped.
//! - [`turn_running`]`(screen)`: whether the pane's footer says a turn is running.
//! - [`last_api_error`]`(tail) -> Option<`[`TranscriptLimit`]`>`: the API error that ends a
//!   transcript's tail, with `quotaLimits.resetsAt` when Claude Code recorded it.
//!
//! The rules (DESIGN.md §5) are built from shapes, not sentences: Claude Code rewords its
//! banners every few months. `classify.rs` walks the pane (blocks, quotations, event end),
//! `line.rs` decides what one line says, `reset.rs` reads and resolves reset times,
//! `zone.rs` finds zones, `text.rs` normalises terminal text, `transcript.rs` reads JSONL.

mod classify;
mod line;
mod reset;
mod text;
mod transcript;
mod turn;
mod zone;

#[cfg(test)]
mod catalogue_tests;
#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod fuzz_tests;

pub use classify::{Detection, Scope, Verdict, classify};
pub use reset::{ResetError, ResetSpec, resolve_reset};
pub use transcript::{TranscriptLimit, last_api_error};
pub use turn::turn_running;
pub use zone::lookup_zone;
