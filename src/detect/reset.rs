//! Reset times: reading them out of a banner, and resolving them to an instant.

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use regex::Regex;
use serde::Serialize;

use super::zone::lookup_zone;

/// A reset time as the text gave it, not yet tied to a day or a zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetSpec {
    /// Seconds since the epoch (`…limit reached|1750708800`): exact.
    Epoch(i64),
    /// A wall-clock time and/or a date, with the zone named in parentheses if any.
    Clock {
        /// `(month, day)` when the text named a date (`Oct 24`, `Jul 31, 2am`).
        month_day: Option<(i8, i8)>,
        /// `(hour 0–23, minute)` when the text named a time; a date alone means midnight.
        time: Option<(i8, i8)>,
        /// The IANA zone in parentheses (`(America/New_York)`), as written.
        zone: Option<String>,
    },
    /// A weekday and a time (`resets Mon 12:00am`): the next such day.
    Weekday {
        /// 1 = Monday … 7 = Sunday.
        weekday: i8,
        /// `(hour 0–23, minute)`; none means midnight.
        time: Option<(i8, i8)>,
        zone: Option<String>,
    },
    /// A full date and time (`resets 2026-08-09 00:00 UTC`, as gateways write it): exact
    /// once the zone is known.
    DateTime {
        /// `(year, month, day)`.
        date: (i16, i8, i8),
        /// `(hour 0–23, minute)`.
        time: (i8, i8),
        /// `UTC` or the IANA zone in parentheses.
        zone: Option<String>,
    },
}

/// Why a reset time could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResetError {
    /// The zone is in neither the system database nor the legacy-name table.
    #[error("unknown time zone {0:?}")]
    UnknownZone(String),
    /// The date or time does not exist (or is out of range).
    #[error("invalid reset time: {0}")]
    Invalid(String),
}

/// Banners round the reset to the minute, so a time this far back is the reset happening
/// now, not the same time tomorrow.
const ROUNDING_GRACE_SECONDS: i64 = 5 * 60;

static EPOCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\|\s*(\d{9,11})\b").expect("invariant: the epoch pattern is a valid regex")
});

/// `resets 2026-08-09 00:00 UTC`, `resets 2026-11-01 01:30 (America/New_York)`.
static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\bresets?\s+(?:(?:at|on)\s+)?(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})",
        r"(?:[ T](?P<h>\d{1,2}):(?P<mi>\d{2})(?::\d{2})?)?",
        r"\s*(?:(?P<utc>UTC|GMT|Z)\b|\((?P<zone>[A-Za-z][A-Za-z0-9_+\-/]*)\))?",
    ))
    .expect("invariant: the date-time pattern is a valid regex")
});

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `resets 3pm`, `reset at 4:20am`, `resets Oct 31, 9am`, `resets Sep 15 at 7pm`,
/// `resets Oct 24`, `continue automatically at 4:16am`, each with an optional `(Zone)`.
static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b(?:resets?|automatically|try again)\s+(?:(?:at|on)\s+)?",
        r"(?:(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+",
        r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\b(?:\s*,\s*|\s+at\s+|\s+)?",
        r"|(?P<wd>mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?(?:\s*,\s*|\s+at\s+|\s+))?",
        r"(?:(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?\s*(?P<ap>[ap]\.?m\.?)(?:\b|$)",
        r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})\b)?",
        r"(?:\s*\((?P<zone>[A-Za-z][A-Za-z0-9_+\-/]*)\))?",
    ))
    .expect("invariant: the clock pattern is a valid regex")
});

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Reads the reset time out of one (normalised) message line, if it names one.
pub fn parse_reset(text: &str) -> Option<ResetSpec> {
    if let Some(c) = EPOCH.captures(text) {
        return c[1].parse().ok().map(ResetSpec::Epoch);
    }
    if let Some(c) = DATE_TIME.captures(text) {
        let num = |n: &str| c.name(n).and_then(|m| m.as_str().parse::<i16>().ok());
        let (year, month, day) = (num("y")?, num("mo")?, num("d")?);
        let (hour, minute) = (num("h").unwrap_or(0), num("mi").unwrap_or(0));
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        let zone = c
            .name("zone")
            .map(|z| z.as_str().to_owned())
            .or_else(|| c.name("utc").map(|_| "UTC".to_owned()));
        #[expect(clippy::cast_possible_truncation, reason = "checked ranges above")]
        return Some(ResetSpec::DateTime {
            date: (year, month as i8, day as i8),
            time: (hour as i8, minute as i8),
            zone,
        });
    }
    CLOCK.captures_iter(text).find_map(|c| {
        let month_day = match (c.name("mon"), c.name("day")) {
            (Some(mon), Some(day)) => {
                let mon = mon.as_str().to_ascii_lowercase();
                let month = MONTHS.iter().position(|m| *m == mon)?;
                let day: i8 = day.as_str().parse().ok()?;
                if !(1..=31).contains(&day) {
                    return None;
                }
                Some((i8::try_from(month + 1).ok()?, day))
            }
            _ => None,
        };
        let time = if let Some(h) = c.name("h") {
            let hour: i8 = h.as_str().parse().ok()?;
            let minute: i8 = c.name("mi").map_or(Some(0), |m| m.as_str().parse().ok())?;
            if !(1..=12).contains(&hour) || minute > 59 {
                return None;
            }
            // 12am is midnight and 12pm is noon.
            let pm = c.name("ap")?.as_str().starts_with(['p', 'P']);
            Some((hour % 12 + if pm { 12 } else { 0 }, minute))
        } else if let (Some(h), Some(m)) = (c.name("h24"), c.name("m24")) {
            let hour: i8 = h.as_str().parse().ok()?;
            let minute: i8 = m.as_str().parse().ok()?;
            if hour > 23 || minute > 59 {
                return None;
            }
            Some((hour, minute))
        } else {
            None
        };
        let zone = c.name("zone").map(|z| z.as_str().to_owned());
        if let Some(wd) = c.name("wd") {
            let wd = wd.as_str().to_ascii_lowercase();
            let weekday = WEEKDAYS.iter().position(|d| *d == wd)?;
            return Some(ResetSpec::Weekday {
                weekday: i8::try_from(weekday + 1).ok()?,
                time,
                zone,
            });
        }
        if month_day.is_none() && time.is_none() {
            return None;
        }
        Some(ResetSpec::Clock {
            month_day,
            time,
            zone,
        })
    })
}

/// The instant `spec` names: the next such wall-clock time after `now` in the spec's zone
/// (else `default_zone`), DST-correct (a time in a spring-forward gap moves forward, a
/// repeated time takes its first occurrence). A time up to five minutes back counts as now:
/// banners round to the minute.
pub fn resolve_reset(
    spec: &ResetSpec,
    now: Timestamp,
    default_zone: &TimeZone,
) -> Result<Timestamp, ResetError> {
    let zone_of = |zone: Option<&str>| match zone {
        Some(name) => lookup_zone(name),
        None => Ok(default_zone.clone()),
    };
    let (month_day, time, zone) = match spec {
        ResetSpec::Epoch(seconds) => {
            return Timestamp::from_second(*seconds)
                .map_err(|e| ResetError::Invalid(format!("epoch {seconds}: {e}")));
        }
        ResetSpec::DateTime { date, time, zone } => {
            let tz = zone_of(zone.as_deref())?;
            let invalid = |e: jiff::Error| ResetError::Invalid(format!("{date:?} {time:?}: {e}"));
            let at =
                DateTime::new(date.0, date.1, date.2, time.0, time.1, 0, 0).map_err(invalid)?;
            return tz.to_ambiguous_timestamp(at).compatible().map_err(invalid);
        }
        ResetSpec::Weekday {
            weekday,
            time,
            zone,
        } => return resolve_weekday(*weekday, *time, &zone_of(zone.as_deref())?, now),
        ResetSpec::Clock {
            month_day,
            time,
            zone,
        } => (*month_day, *time, zone.as_deref()),
    };
    let tz = zone_of(zone)?;
    let (hour, minute) = time.unwrap_or((0, 0));
    let clock = Time::new(hour, minute, 0, 0)
        .map_err(|e| ResetError::Invalid(format!("{hour}:{minute:02}: {e}")))?;
    let today = now.to_zoned(tz.clone()).date();
    let not_passed = |at: Timestamp| now.as_second() - at.as_second() <= ROUNDING_GRACE_SECONDS;
    // The first occurrence of the wall-clock time on `date` that has not passed: a time
    // repeated at fall back happens twice, and the second one may still be ahead when the
    // first is behind (1:30am seen at 1:10am, after the clocks went back).
    let at = |date: Date| -> Result<Option<Timestamp>, ResetError> {
        let ambiguous = tz.to_ambiguous_timestamp(DateTime::from_parts(date, clock));
        let invalid = |e: jiff::Error| ResetError::Invalid(format!("{date} {clock}: {e}"));
        let first = ambiguous.compatible().map_err(invalid)?;
        let second = ambiguous.later().map_err(invalid)?;
        Ok([first, second].into_iter().find(|t| not_passed(*t)))
    };
    if let Some((month, day)) = month_day {
        // A date without a year: this year's, else the next year that has it (Feb 29).
        for year in today.year()..=today.year().saturating_add(8) {
            let Ok(date) = Date::new(year, month, day) else {
                continue;
            };
            if let Some(instant) = at(date)? {
                return Ok(instant);
            }
        }
        return Err(ResetError::Invalid(format!("no date {month:02}-{day:02}")));
    }
    if let Some(instant) = at(today)? {
        return Ok(instant);
    }
    let tomorrow = today
        .tomorrow()
        .map_err(|e| ResetError::Invalid(format!("day after {today}: {e}")))?;
    at(tomorrow)?.ok_or_else(|| ResetError::Invalid(format!("{tomorrow} {clock} has passed")))
}

/// The next `weekday` at `time` in `tz` that has not passed (banners' grace included).
fn resolve_weekday(
    weekday: i8,
    time: Option<(i8, i8)>,
    tz: &TimeZone,
    now: Timestamp,
) -> Result<Timestamp, ResetError> {
    let (hour, minute) = time.unwrap_or((0, 0));
    let clock = Time::new(hour, minute, 0, 0)
        .map_err(|e| ResetError::Invalid(format!("{hour}:{minute:02}: {e}")))?;
    let mut date = now.to_zoned(tz.clone()).date();
    for _ in 0..=7 {
        if date.weekday().to_monday_one_offset() == weekday {
            let at = tz
                .to_ambiguous_timestamp(DateTime::from_parts(date, clock))
                .compatible()
                .map_err(|e| ResetError::Invalid(format!("{date} {clock}: {e}")))?;
            if now.as_second() - at.as_second() <= ROUNDING_GRACE_SECONDS {
                return Ok(at);
            }
        }
        date = date
            .tomorrow()
            .map_err(|e| ResetError::Invalid(format!("day after {date}: {e}")))?;
    }
    Err(ResetError::Invalid(format!("no weekday {weekday} ahead")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamps are valid")
    }

    fn zone(name: &str) -> TimeZone {
        lookup_zone(name).expect("test zones exist")
    }

    fn clock(month_day: Option<(i8, i8)>, time: Option<(i8, i8)>, zone: Option<&str>) -> ResetSpec {
        ResetSpec::Clock {
            month_day,
            time,
            zone: zone.map(str::to_owned),
        }
    }

    fn resolve(text: &str, now: &str, default: &str) -> Timestamp {
        let spec = parse_reset(text).expect("the text names a reset");
        resolve_reset(&spec, ts(now), &zone(default)).expect("the reset resolves")
    }

    #[test]
    fn every_written_form_parses() {
        let cases = [
            ("resets 3pm", clock(None, Some((15, 0)), None)),
            ("resets 4:20am", clock(None, Some((4, 20)), None)),
            ("resets 12:30am", clock(None, Some((0, 30)), None)),
            ("resets 12pm", clock(None, Some((12, 0)), None)),
            ("resets Oct 24", clock(Some((10, 24)), None, None)),
            (
                "resets Oct 31, 9am",
                clock(Some((10, 31)), Some((9, 0)), None),
            ),
            (
                "resets Dec 2, 7pm",
                clock(Some((12, 2)), Some((19, 0)), None),
            ),
            (
                "resets Sep 15 at 7pm",
                clock(Some((9, 15)), Some((19, 0)), None),
            ),
            (
                "reset at 3pm (America/Bogota).",
                clock(None, Some((15, 0)), Some("America/Bogota")),
            ),
            (
                "resets 2pm (Pacific/Auckland) · /upgrade",
                clock(None, Some((14, 0)), Some("Pacific/Auckland")),
            ),
            (
                "continue automatically at 4:16am",
                clock(None, Some((4, 16)), None),
            ),
            ("resets 14:30", clock(None, Some((14, 30)), None)),
            ("limit reached|1750708800", ResetSpec::Epoch(1_750_708_800)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_reset(text), Some(want), "{text}");
        }
    }

    #[test]
    fn a_relative_or_missing_time_is_not_a_reset() {
        assert_eq!(parse_reset("resets in 6d"), None);
        assert_eq!(parse_reset("You've hit your limit"), None);
        assert_eq!(parse_reset("resets 13pm"), None);
    }

    #[test]
    fn a_time_in_a_named_zone_resolves_to_the_next_instant() {
        // The corpus's worked example (anthropics/claude-code#22946).
        let got = resolve(
            "resets 10pm (America/New_York)",
            "2026-01-30T20:00:00Z",
            "UTC",
        );
        assert_eq!(got, ts("2026-01-31T03:00:00Z"));
    }

    #[test]
    fn a_date_and_time_resolve_in_the_current_year() {
        let got = resolve(
            "resets Jul 31, 2am (UTC)",
            "2026-07-28T10:00:00Z",
            "Europe/Paris",
        );
        assert_eq!(got, ts("2026-07-31T02:00:00Z"));
    }

    #[test]
    fn a_time_without_a_zone_uses_the_default_zone() {
        let got = resolve("resets 12:30am", "2025-08-10T20:00:00Z", "Europe/Paris");
        assert_eq!(got, ts("2025-08-10T22:30:00Z"));
    }

    #[test]
    fn an_epoch_is_taken_as_is() {
        let got = resolve(
            "Claude AI usage limit reached|1750708800",
            "2020-01-01T00:00:00Z",
            "UTC",
        );
        assert_eq!(got, ts("2025-06-23T20:00:00Z"));
    }

    #[test]
    fn a_time_already_past_today_is_tomorrow() {
        let got = resolve("resets 3pm (UTC)", "2026-03-01T16:00:00Z", "UTC");
        assert_eq!(got, ts("2026-03-02T15:00:00Z"));
    }

    #[test]
    fn a_time_a_few_minutes_back_is_now_not_tomorrow() {
        let got = resolve("resets 4:16am (UTC)", "2026-03-01T04:19:30Z", "UTC");
        assert_eq!(got, ts("2026-03-01T04:16:00Z"));
        let got = resolve("resets 4:16am (UTC)", "2026-03-01T04:16:40Z", "UTC");
        assert_eq!(got, ts("2026-03-01T04:16:00Z"));
    }

    #[test]
    fn a_time_more_than_five_minutes_back_is_tomorrow() {
        let got = resolve("resets 4:16am (UTC)", "2026-03-01T04:22:00Z", "UTC");
        assert_eq!(got, ts("2026-03-02T04:16:00Z"));
    }

    #[test]
    fn a_reset_across_the_spring_forward_change_keeps_the_wall_clock() {
        // New York springs forward on 2026-03-08 at 2am: 3pm that day is UTC-4.
        let got = resolve(
            "resets 3pm (America/New_York)",
            "2026-03-08T05:00:00Z",
            "UTC",
        );
        assert_eq!(got, ts("2026-03-08T19:00:00Z"));
        // The day before, 3pm is still UTC-5.
        let got = resolve(
            "resets 3pm (America/New_York)",
            "2026-03-07T05:00:00Z",
            "UTC",
        );
        assert_eq!(got, ts("2026-03-07T20:00:00Z"));
    }

    #[test]
    fn a_reset_in_the_spring_forward_gap_moves_forward() {
        // 2:30am does not exist in New York on 2026-03-08: compatible gives 3:30am EDT.
        let got = resolve(
            "resets 2:30am (America/New_York)",
            "2026-03-08T05:00:00Z",
            "UTC",
        );
        assert_eq!(got, ts("2026-03-08T07:30:00Z"));
    }

    #[test]
    fn a_repeated_time_at_fall_back_takes_its_first_occurrence() {
        // 1:30am happens twice in New York on 2026-11-01: first at UTC-4.
        let got = resolve(
            "resets 1:30am (America/New_York)",
            "2026-11-01T04:00:00Z",
            "UTC",
        );
        assert_eq!(got, ts("2026-11-01T05:30:00Z"));
    }

    #[test]
    fn a_repeated_time_seen_between_its_two_occurrences_is_the_second_not_tomorrow() {
        // 06:10Z is 1:10am EST, after the clocks went back: 1:30am EST is 20 minutes on.
        let got = resolve(
            "resets 1:30am (America/New_York)",
            "2026-11-01T06:10:00Z",
            "UTC",
        );
        assert_eq!(got, ts("2026-11-01T06:30:00Z"));
    }

    #[test]
    fn a_midnight_repeated_by_a_fall_back_at_midnight_is_never_in_the_past() {
        // St. John's went back at 00:01 on 1987-10-25: midnight came twice, at 02:30Z and
        // 03:30Z. Seen at 02:35:01Z, the reset is the second one (found by the fuzzer).
        let got = resolve("resets 12am", "1987-10-25T02:35:01Z", "America/St_Johns");
        assert_eq!(got, ts("1987-10-25T03:30:00Z"));
    }

    #[test]
    fn a_reset_the_day_after_fall_back_uses_winter_time() {
        let got = resolve(
            "resets Nov 1, 9am (America/New_York)",
            "2026-10-31T12:00:00Z",
            "UTC",
        );
        assert_eq!(got, ts("2026-11-01T14:00:00Z"));
    }

    #[test]
    fn a_paris_reset_across_the_summer_change_uses_summer_time() {
        // Paris moves to UTC+2 on 2026-03-29 at 2am.
        let got = resolve("resets 9am", "2026-03-28T20:00:00Z", "Europe/Paris");
        assert_eq!(got, ts("2026-03-29T07:00:00Z"));
        let got = resolve("resets 9am", "2026-10-24T20:00:00Z", "Europe/Paris");
        assert_eq!(got, ts("2026-10-25T08:00:00Z"));
    }

    #[test]
    fn a_january_date_seen_in_december_is_next_year() {
        let got = resolve("resets Jan 2, 3am (UTC)", "2026-12-30T10:00:00Z", "UTC");
        assert_eq!(got, ts("2027-01-02T03:00:00Z"));
    }

    #[test]
    fn a_time_only_reset_late_on_new_years_eve_is_next_year() {
        let got = resolve("resets 1am (UTC)", "2026-12-31T23:00:00Z", "UTC");
        assert_eq!(got, ts("2027-01-01T01:00:00Z"));
    }

    #[test]
    fn a_date_without_a_time_is_midnight() {
        // anthropics/claude-code#10333: `Opus weekly limit reached ∙ resets Oct 24`.
        let got = resolve(
            "resets Oct 24",
            "2025-10-20T12:00:00Z",
            "America/Los_Angeles",
        );
        assert_eq!(got, ts("2025-10-24T07:00:00Z"));
    }

    #[test]
    fn february_29_waits_for_a_leap_year() {
        let got = resolve("resets Feb 29, 1am (UTC)", "2026-03-01T00:00:00Z", "UTC");
        assert_eq!(got, ts("2028-02-29T01:00:00Z"));
    }

    #[test]
    fn an_unknown_zone_is_reported_not_guessed() {
        let spec = parse_reset("resets 3pm (Mars/Olympus_Mons)").expect("parses");
        let got = resolve_reset(&spec, ts("2026-01-01T00:00:00Z"), &TimeZone::UTC);
        assert_eq!(
            got,
            Err(ResetError::UnknownZone("Mars/Olympus_Mons".into()))
        );
    }

    #[test]
    fn a_legacy_zone_name_resolves_like_its_canonical_name() {
        let got = resolve(
            "resets 1:30am (Asia/Calcutta)",
            "2026-02-01T12:00:00Z",
            "UTC",
        );
        assert_eq!(got, ts("2026-02-01T20:00:00Z"));
    }
}
