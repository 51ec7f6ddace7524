//! A pane capture to a verdict: which message is the latest word on the account.
//!
//! The capture is read top to bottom as Claude Code's TUI draws it: blocks opened by a
//! glyph (`●` item, `⎿` result, `>`/`❯` prompt, `✻` status, `⚠` notice) and continued by
//! indented lines. Prompts, tool output and the assistant's own prose are quotations. The
//! bottom-most message decides, unless an assistant reply came after it.

use serde::{Deserialize, Serialize};

use super::line::{Hit, is_report, read};
use super::reset::ResetSpec;
use super::text::{Gutter, split, strip_ansi};

/// What the latest message says about the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A usage limit is reached (5-hour/session, weekly, Opus, extra usage, spend).
    Limit,
    /// A limit is near: no swap.
    Warning,
    /// A 429 that is not the account's quota: no swap.
    Throttle,
    /// 5xx, overloaded, timeouts, connection errors: never a swap.
    ServerError,
    /// The account cannot be used until the operator logs in.
    Auth,
    /// The API-key account has no credit left.
    Billing,
    /// Nothing about the account, or the event is over.
    None,
}

impl Verdict {
    /// Whether a pane whose latest word is this is stopped: its turn failed and the
    /// session waits for the operator (or for ccf's resume prompt).
    pub fn stops_work(self) -> bool {
        matches!(self, Verdict::Limit | Verdict::Auth | Verdict::Billing)
    }
}

/// Which quota a limit (or warning) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    FiveHour,
    Weekly,
    OpusWeekly,
    Other,
}

/// The scope's name as the state file and the logs spell it.
impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scope::FiveHour => "five_hour",
            Scope::Weekly => "weekly",
            Scope::OpusWeekly => "opus_weekly",
            Scope::Other => "other",
        })
    }
}

/// The outcome of [`classify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    pub verdict: Verdict,
    pub scope: Option<Scope>,
    /// The reset as written, from the event's most specific line.
    pub reset: Option<ResetSpec>,
    /// The deciding line, ANSI-stripped and trimmed.
    pub matched: Option<String>,
    /// The deciding line's 0-based index in the input.
    pub line: Option<usize>,
}

impl Detection {
    fn none() -> Self {
        Self {
            verdict: Verdict::None,
            scope: None,
            reset: None,
            matched: None,
            line: None,
        }
    }
}

/// The block a line belongs to, which tells whether its text can be a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Lines at the top level (footer, shell, a banner printed on its own).
    Top,
    /// An assistant reply: its continuation lines are the assistant's prose.
    Reply,
    /// A tool call (`● Bash(…)`): its first `⎿` is the tool's output.
    ToolCall,
    /// A tool's output: quotation, however it begins.
    ToolOutput,
    /// A `⎿` line that is not tool output: an error, a banner, a command's answer.
    Result,
    /// The user's prompt: quotation.
    Prompt,
    /// A notice (`⚠`, `✻`, or a `●` line that is itself a message).
    Notice,
}

/// A message line found in the capture.
struct Event {
    index: usize,
    hit: Hit,
    shown: String,
}

impl Event {
    /// How much the line says: an exact epoch beats a zoned time beats a bare time; a scope
    /// adds to either.
    fn rank(&self) -> u8 {
        let reset = match &self.hit.reset {
            Some(ResetSpec::Epoch(_) | ResetSpec::DateTime { zone: Some(_), .. }) => 3,
            Some(
                ResetSpec::Clock { zone: Some(_), .. } | ResetSpec::Weekday { zone: Some(_), .. },
            ) => 2,
            Some(
                ResetSpec::Clock { zone: None, .. }
                | ResetSpec::Weekday { zone: None, .. }
                | ResetSpec::DateTime { zone: None, .. },
            ) => 1,
            None => 0,
        };
        reset * 2 + u8::from(self.hit.scope.is_some())
    }
}

/// `● Bash(…)`, `● mcp__x__y (MCP)(…)`, `● Read 3 files (ctrl+o to expand)`.
fn is_tool_call(head: &str) -> bool {
    let name_len = head
        .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
        .unwrap_or(head.len());
    let after = head[name_len..].trim_start_matches(" (MCP)");
    (name_len > 0 && after.starts_with('(')) || head.contains(" to expand)")
}

/// Two lines of one event never disagree on the reset; a different time is an older event.
fn compatible(a: Option<&ResetSpec>, b: Option<&ResetSpec>) -> bool {
    fn same<T: PartialEq>(x: Option<&T>, y: Option<&T>) -> bool {
        x.is_none() || y.is_none() || x == y
    }
    match (a, b) {
        (Some(ResetSpec::Epoch(x)), Some(ResetSpec::Epoch(y))) => x == y,
        (
            Some(ResetSpec::Clock {
                month_day: d1,
                time: t1,
                zone: z1,
            }),
            Some(ResetSpec::Clock {
                month_day: d2,
                time: t2,
                zone: z2,
            }),
        ) => {
            let (z1, z2) = (
                z1.as_deref().map(str::to_ascii_lowercase),
                z2.as_deref().map(str::to_ascii_lowercase),
            );
            same(d1.as_ref(), d2.as_ref())
                && same(t1.as_ref(), t2.as_ref())
                && same(z1.as_ref(), z2.as_ref())
        }
        _ => true,
    }
}

/// Claude Code's own `●` notices that are neither a message nor the assistant's reply,
/// e.g. `● Automatic continue cancelled · /rate-limit-options to wait again` (2.1.330,
/// after Esc at a limit): they must not end the event above them.
fn is_ui_notice(head: &str) -> bool {
    static NOTICE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^(?:automatic\s+continue|continuing\s+automatically|interrupted\b)|[·∙]\s*/[a-z][a-z-]*(?:\s|$)",
        )
        .expect("invariant: the notice pattern is a valid regex")
    });
    // Each alternative needs one of these; most bullets (replies, which often name a
    // path) have none: a command hint needs a separator and a slash.
    let lower = head.to_ascii_lowercase();
    (lower.starts_with("automatic")
        || lower.starts_with("continuing")
        || lower.starts_with("interrupted")
        || (head.contains(['·', '∙']) && head.contains('/')))
        && NOTICE.is_match(head)
}

/// Classifies a whole pane capture (many lines, ANSI allowed). Pure.
pub fn classify(text: &str) -> Detection {
    let mut events: Vec<Event> = Vec::new();
    let mut last_reply: Option<usize> = None;
    let mut block = Block::Top;
    // Below the input box (the rule that closes a prompt) is the client's footer and its
    // panels (2.1.330's agent list: `  ● main`, `  ◯ general-purpose … failed`): a bullet
    // there is not the conversation moving on.
    let mut below_input = false;
    for (index, raw) in text.lines().enumerate() {
        let line = split(raw);
        let hit = match line.gutter {
            Gutter::Blank => {
                // A rule closes the input box; a blank line keeps the block (paragraphs).
                if line.rule {
                    // The input box's bottom edge: a horizontal rule right under a prompt.
                    below_input |= block == Block::Prompt && line.shown.contains(['─', '━', '═']);
                    block = Block::Top;
                }
                None
            }
            // The footer's panels are indented; a bullet at the margin is the conversation.
            Gutter::Bullet if below_input && strip_ansi(raw).starts_with([' ', '\t']) => {
                block = Block::Notice;
                read(&line.head)
            }
            Gutter::Prompt => {
                block = Block::Prompt;
                None
            }
            Gutter::Bullet => {
                below_input = false;
                let hit = read(&line.head);
                if hit.is_some() || is_ui_notice(&line.head) {
                    block = Block::Notice;
                } else {
                    // Any other assistant item is the conversation moving on.
                    last_reply = Some(index);
                    block = if is_tool_call(&line.head) {
                        Block::ToolCall
                    } else {
                        Block::Reply
                    };
                }
                hit
            }
            // A sub-agent's failure report is the account speaking, not the tool's output.
            Gutter::Result if block == Block::ToolCall && is_report(&line.head) => {
                block = Block::Result;
                read(&line.head)
            }
            Gutter::Result if block == Block::ToolCall => {
                block = Block::ToolOutput;
                None
            }
            Gutter::Result => {
                block = Block::Result;
                read(&line.head)
            }
            Gutter::Status | Gutter::Notice => {
                block = Block::Notice;
                read(&line.head)
            }
            Gutter::Flush => {
                block = Block::Top;
                read(&line.head)
            }
            // A narrow pane wraps a banner's `(Zone/Name)` onto the next line.
            Gutter::Indented if wrapped_zone(&mut events, index, &line.head) => None,
            Gutter::Indented => match block {
                Block::Top | Block::Result | Block::Notice => read(&line.head),
                Block::Reply | Block::ToolCall | Block::ToolOutput | Block::Prompt => None,
            },
        };
        if let Some(hit) = hit {
            events.push(Event {
                index,
                hit,
                shown: line.shown,
            });
        }
    }
    decide(&events, last_reply)
}

/// If `head` is only `(Zone/Name)` right under an event whose clock reset has no zone,
/// gives that reset the zone and says so.
fn wrapped_zone(events: &mut [Event], index: usize, head: &str) -> bool {
    static ZONE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^\((?P<zone>[A-Za-z][A-Za-z0-9_+\-]*/[A-Za-z0-9_+\-/]+|UTC|GMT)\)")
            .expect("invariant: the wrapped-zone pattern is a valid regex")
    });
    if !head.starts_with('(') {
        return false;
    }
    let Some(c) = ZONE.captures(head) else {
        return false;
    };
    let Some(last) = events.last_mut().filter(|e| e.index + 1 == index) else {
        return false;
    };
    match &mut last.hit.reset {
        Some(ResetSpec::Clock { zone, .. } | ResetSpec::Weekday { zone, .. }) if zone.is_none() => {
            *zone = Some(c["zone"].to_owned());
            true
        }
        _ => false,
    }
}

/// The bottom-most event decides, gathered with the lines above that belong to it.
fn decide(events: &[Event], last_reply: Option<usize>) -> Detection {
    let Some(last) = events.last() else {
        return Detection::none();
    };
    if last_reply.is_some_and(|reply| reply > last.index) {
        return Detection::none();
    }
    let verdict = last.hit.verdict;
    let mut group: Vec<&Event> = vec![last];
    if verdict != Verdict::None {
        for event in events.iter().rev().skip(1) {
            let after_reply = last_reply.is_none_or(|reply| event.index > reply);
            if !after_reply
                || event.hit.verdict != verdict
                || !compatible(event.hit.reset.as_ref(), last.hit.reset.as_ref())
            {
                break;
            }
            group.push(event);
        }
    }
    // Most specific first; on a tie the lower (newer) line, which comes first in `group`.
    group.sort_by_key(|e| std::cmp::Reverse(e.rank()));
    let best = group[0];
    Detection {
        verdict,
        scope: group.iter().find_map(|e| e.hit.scope),
        reset: group.iter().find_map(|e| e.hit.reset.clone()),
        matched: Some(best.shown.clone()),
        line: Some(best.index),
    }
}
