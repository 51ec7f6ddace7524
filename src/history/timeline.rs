//! Pure: the history's lines → per account, when it was active and exhausted within a
//! window, with the window's counts (limits hit, swaps away and onto it), the spans when
//! every account was out (parked), and the swaps as marks. What `ccf history` sums up
//! and `--svg` draws.

use jiff::Timestamp;
use serde::Serialize;

use super::{Kept, Line, What};
use crate::notify::Event;

/// From one instant to a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Span {
    pub fn secs(self) -> i64 {
        self.to.as_second() - self.from.as_second()
    }
}

/// One account's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub account: String,
    pub active: Vec<Span>,
    pub exhausted: Vec<Span>,
    pub active_secs: i64,
    pub exhausted_secs: i64,
    /// Limits seen on it within the window.
    pub limits: usize,
    pub swaps_away: usize,
    pub swaps_onto: usize,
}

/// How a swap ended, as a mark on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    Swap,
    Return,
    Partial,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub at: Timestamp,
    pub kind: MarkKind,
    pub from: Option<String>,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub start: Timestamp,
    pub end: Timestamp,
    pub rows: Vec<Row>,
    /// When every account was out and the sessions were parked.
    pub parked: Vec<Span>,
    pub parked_secs: i64,
    pub marks: Vec<Mark>,
}

/// What walking the lines finds, before the window cuts it.
struct Walk {
    active: Vec<(String, Span)>,
    exhausted: Vec<(String, Span)>,
    parked: Vec<Span>,
    marks: Vec<Mark>,
}

/// Builds the window `[start, end]` from every line (those before `start` say who was
/// active and what was exhausted when it opened). The account active before the first
/// swap is that swap's `from`; with no swap at all, `active_now`.
pub fn build(
    lines: &[Line],
    accounts: &[String],
    active_now: &str,
    start: Timestamp,
    end: Timestamp,
) -> Timeline {
    let window = Span {
        from: start,
        to: end,
    };
    let walk = walk(lines, active_now, start, end);
    let in_window = |at: Timestamp| at >= start && at <= end;
    let of = |spans: &[(String, Span)], a: &str| {
        clip(
            spans.iter().filter(|(n, _)| n == a).map(|(_, s)| *s),
            window,
        )
    };
    let rows = accounts
        .iter()
        .map(|a| {
            let active = of(&walk.active, a);
            let exhausted = of(&walk.exhausted, a);
            let ends = walk
                .marks
                .iter()
                .filter(|m| m.kind != MarkKind::Failed && in_window(m.at));
            Row {
                account: a.clone(),
                active_secs: active.iter().map(|s| s.secs()).sum(),
                exhausted_secs: exhausted.iter().map(|s| s.secs()).sum(),
                active,
                exhausted,
                limits: lines
                    .iter()
                    .filter(|l| in_window(l.at))
                    .filter(|l| {
                        matches!(&l.what, What::Kept(Kept::LimitSeen { account, .. }) if account == a)
                    })
                    .count(),
                swaps_away: ends
                    .clone()
                    .filter(|m| m.from.as_deref() == Some(a.as_str()))
                    .count(),
                swaps_onto: ends.filter(|m| m.to == *a).count(),
            }
        })
        .collect();
    let parked = clip(walk.parked.into_iter(), window);
    Timeline {
        start,
        end,
        rows,
        parked_secs: parked.iter().map(|s| s.secs()).sum(),
        parked,
        marks: walk.marks.into_iter().filter(|m| in_window(m.at)).collect(),
    }
}

/// The lines in order: who was active when, each limit's span, the parked spans and the
/// swaps' ends.
fn walk(lines: &[Line], active_now: &str, start: Timestamp, end: Timestamp) -> Walk {
    let first_from = lines.iter().find_map(|l| match &l.what {
        What::Told(Event::SwapStarted { from, .. }) => Some(from.clone()),
        _ => None,
    });
    let mut current = first_from.unwrap_or_else(|| active_now.to_string());
    let mut since = lines.first().map_or(start, |l| l.at.min(start));
    let mut w = Walk {
        active: Vec::new(),
        exhausted: Vec::new(),
        parked: Vec::new(),
        marks: Vec::new(),
    };
    let mut parked_since: Option<Timestamp> = None;
    for l in lines {
        let end_of_swap = match &l.what {
            What::Told(Event::SwapDone { from, to, .. }) => {
                Some((MarkKind::Swap, Some(from.clone()), to.clone()))
            }
            What::Told(Event::SwapPartial { from, to, .. }) => {
                Some((MarkKind::Partial, Some(from.clone()), to.clone()))
            }
            What::Told(Event::Returned { to, from }) => Some((
                MarkKind::Return,
                Some(from.clone().unwrap_or_else(|| current.clone())),
                to.clone(),
            )),
            What::Told(Event::SwapFailed { from, to, .. }) => {
                w.marks.push(Mark {
                    at: l.at,
                    kind: MarkKind::Failed,
                    from: Some(from.clone()),
                    to: to.clone(),
                });
                None
            }
            What::Told(Event::AllExhausted { .. }) => {
                parked_since.get_or_insert(l.at);
                None
            }
            What::Told(Event::WorkResumed { .. }) => {
                if let Some(p) = parked_since.take() {
                    w.parked.push(Span { from: p, to: l.at });
                }
                None
            }
            What::Kept(Kept::LimitSeen { account, until, .. }) => {
                let span = Span {
                    from: l.at,
                    to: (*until).max(l.at),
                };
                w.exhausted.push((account.clone(), span));
                None
            }
            _ => None,
        };
        if let Some((kind, from, to)) = end_of_swap {
            if to != current {
                w.active.push((
                    current.clone(),
                    Span {
                        from: since,
                        to: l.at,
                    },
                ));
                since = l.at;
                current.clone_from(&to);
            }
            if let Some(p) = parked_since.take() {
                w.parked.push(Span { from: p, to: l.at });
            }
            w.marks.push(Mark {
                at: l.at,
                kind,
                from,
                to,
            });
        }
    }
    w.active.push((
        current,
        Span {
            from: since,
            to: end,
        },
    ));
    if let Some(p) = parked_since {
        w.parked.push(Span { from: p, to: end });
    }
    w
}

/// The spans cut to `window`, empty ones dropped, overlapping ones merged, in order.
fn clip(spans: impl Iterator<Item = Span>, window: Span) -> Vec<Span> {
    let mut cut: Vec<Span> = spans
        .map(|s| Span {
            from: s.from.max(window.from),
            to: s.to.min(window.to),
        })
        .filter(|s| s.from < s.to)
        .collect();
    cut.sort_by_key(|s| s.from);
    let mut out: Vec<Span> = Vec::new();
    for s in cut {
        match out.last_mut() {
            Some(last) if s.from <= last.to => last.to = last.to.max(s.to),
            _ => out.push(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        format!("2026-12-02T{s}:00Z").parse().unwrap()
    }

    fn line(at: &str, what: What) -> Line {
        Line { at: t(at), what }
    }

    fn started(at: &str, from: &str, to: &str) -> Line {
        line(
            at,
            What::Told(Event::SwapStarted {
                from: from.into(),
                to: to.into(),
                reason: "usage limit".into(),
                trigger: None,
                sessions: vec![],
            }),
        )
    }

    fn done(at: &str, from: &str, to: &str) -> Line {
        line(
            at,
            What::Told(Event::SwapDone {
                from: from.into(),
                to: to.into(),
                reason: "usage limit".into(),
                moved: vec![],
                failed: vec![],
            }),
        )
    }

    fn limit(at: &str, account: &str, until: &str) -> Line {
        line(
            at,
            What::Kept(Kept::LimitSeen {
                account: account.into(),
                until: t(until),
                scope: None,
            }),
        )
    }

    fn span(from: &str, to: &str) -> Span {
        Span {
            from: t(from),
            to: t(to),
        }
    }

    fn accounts() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn a_limit_a_swap_and_the_return_make_each_accounts_spans_and_counts() {
        let lines = [
            limit("10:00", "a", "12:00"),
            started("10:00", "a", "b"),
            done("10:01", "a", "b"),
            started("12:05", "b", "a"),
            line(
                "12:06",
                What::Told(Event::Returned {
                    to: "a".into(),
                    from: None,
                }),
            ),
        ];
        let tl = build(&lines, &accounts(), "a", t("09:00"), t("13:00"));
        let a = &tl.rows[0];
        assert_eq!(a.active, [span("09:00", "10:01"), span("12:06", "13:00")]);
        assert_eq!(a.exhausted, [span("10:00", "12:00")]);
        assert_eq!((a.limits, a.swaps_away, a.swaps_onto), (1, 1, 1));
        assert_eq!(a.exhausted_secs, 7200);
        let b = &tl.rows[1];
        assert_eq!(b.active, [span("10:01", "12:06")]);
        assert_eq!((b.limits, b.swaps_away, b.swaps_onto), (0, 1, 1));
        assert_eq!(
            tl.marks.iter().map(|m| m.kind).collect::<Vec<_>>(),
            [MarkKind::Swap, MarkKind::Return]
        );
        assert_eq!(tl.marks[1].from.as_deref(), Some("b"));
    }

    #[test]
    fn the_window_cuts_spans_and_counts_only_what_falls_inside() {
        let lines = [
            limit("08:00", "a", "11:00"),
            started("08:00", "a", "b"),
            done("08:01", "a", "b"),
        ];
        let tl = build(&lines, &accounts(), "b", t("10:00"), t("12:00"));
        assert_eq!(tl.rows[0].exhausted, [span("10:00", "11:00")]);
        assert!(tl.rows[0].active.is_empty());
        assert_eq!(tl.rows[0].limits, 0);
        assert_eq!(tl.rows[1].active, [span("10:00", "12:00")]);
        assert!(tl.marks.is_empty());
    }

    #[test]
    fn parked_lasts_from_every_account_out_to_the_work_resuming() {
        let lines = [
            line("10:00", What::Told(Event::AllExhausted { until: None })),
            done("11:30", "b", "a"),
            line(
                "11:30",
                What::Told(Event::WorkResumed {
                    account: "a".into(),
                }),
            ),
            line("12:00", What::Told(Event::AllExhausted { until: None })),
        ];
        let tl = build(&lines, &accounts(), "a", t("09:00"), t("13:00"));
        assert_eq!(tl.parked, [span("10:00", "11:30"), span("12:00", "13:00")]);
        assert_eq!(tl.parked_secs, 2 * 3600 + 30 * 60);
    }

    #[test]
    fn with_no_event_the_active_account_now_was_active_all_along() {
        let tl = build(&[], &accounts(), "b", t("09:00"), t("13:00"));
        assert!(tl.rows[0].active.is_empty());
        assert_eq!(tl.rows[1].active, [span("09:00", "13:00")]);
    }

    #[test]
    fn overlapping_limits_merge() {
        let lines = [limit("10:00", "a", "12:00"), limit("11:00", "a", "14:00")];
        let tl = build(&lines, &accounts(), "a", t("09:00"), t("15:00"));
        assert_eq!(tl.rows[0].exhausted, [span("10:00", "14:00")]);
        assert_eq!(tl.rows[0].limits, 2);
    }
}
