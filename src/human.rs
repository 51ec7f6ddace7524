//! Values written for people, one way everywhere: durations (`3d 10h`, `1m 30s`) and
//! counted nouns (`1 problem`, `4 problems`).

use std::time::Duration;

/// `d` in days, hours, minutes and seconds, largest first, zero units left out:
/// `3d 10h`, `1m 30s`, `0s`. A part of a second is dropped, except in a duration under
/// one second (`500ms`). The config accepts what this writes.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return match d.as_millis() {
            0 => "0s".to_string(),
            ms => format!("{ms}ms"),
        };
    }
    let parts: Vec<String> = [
        (secs / 86_400, "d"),
        (secs / 3_600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, unit)| format!("{n}{unit}"))
    .collect();
    parts.join(" ")
}

/// An instant for people in full, in `zone`: `2026-12-24 09:00 CET`.
pub fn local(t: jiff::Timestamp, zone: &jiff::tz::TimeZone) -> String {
    t.to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// An instant for people, in `zone`, as short as `now` allows: `16:05 CET` the same day,
/// `Fri 09:00 CET` within the week ahead or behind, `2026-12-24 09:00 CET` beyond.
pub fn instant(t: jiff::Timestamp, now: jiff::Timestamp, zone: &jiff::tz::TimeZone) -> String {
    let at = t.to_zoned(zone.clone());
    let today = now.to_zoned(zone.clone()).date();
    let days = (at.date() - today).get_days().abs();
    let format = match days {
        0 => "%H:%M %Z",
        1..=6 => "%a %H:%M %Z",
        _ => "%Y-%m-%d %H:%M %Z",
    };
    at.strftime(format).to_string()
}

/// The time from `now` to `t` for people, whole minutes: `in 2h 13m`, `3m ago`,
/// `now` under a minute either way.
pub fn relative(t: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let secs = t.as_second() - now.as_second();
    let minutes = secs.unsigned_abs() / 60;
    if minutes == 0 {
        return "now".to_string();
    }
    let span = duration(Duration::from_secs(minutes * 60));
    if secs > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// `n` and the noun, plural unless `n` is 1: `1 problem`, `0 problems`, `4 problems`.
/// Only for nouns whose plural adds an `s`.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Text from outside (a pane, a hook message, a server's answer) made safe to print or
/// log on one line: every control character is written as an escape (`\n`, `\u{1b}`), so
/// it can neither forge a log line nor move the cursor or clear the screen.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_is_days_hours_minutes_and_seconds_without_the_zero_ones() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (90, "1m 30s"),
            (3_600, "1h"),
            (3 * 86_400 + 10 * 3_600, "3d 10h"),
            (86_400 + 61, "1d 1m 1s"),
            (30 * 86_400, "30d"),
        ];
        for (secs, want) in cases {
            assert_eq!(duration(Duration::from_secs(secs)), want, "{secs} s");
        }
        assert_eq!(duration(Duration::from_millis(500)), "500ms");
        assert_eq!(duration(Duration::from_millis(1_500)), "1s");
    }

    #[test]
    fn a_written_duration_parses_back_as_a_config_value() {
        for secs in [1, 59, 61, 3_599, 86_399, 86_401, 7 * 86_400 + 3_723] {
            let d = Duration::from_secs(secs);
            assert_eq!(humantime::parse_duration(&duration(d)).unwrap(), d);
        }
    }

    #[test]
    fn an_instant_is_as_short_as_its_distance_from_now_allows() {
        let zone = jiff::tz::TimeZone::UTC;
        let now: jiff::Timestamp = "2026-12-02T14:00:00Z".parse().unwrap();
        let at = |s: &str| instant(s.parse().unwrap(), now, &zone);
        assert_eq!(at("2026-12-02T16:05:00Z"), "16:05 UTC");
        assert_eq!(at("2026-12-04T09:00:00Z"), "Fri 09:00 UTC");
        assert_eq!(at("2026-11-30T09:00:00Z"), "Mon 09:00 UTC");
        assert_eq!(at("2026-12-24T09:00:00Z"), "2026-12-24 09:00 UTC");
    }

    #[test]
    fn a_relative_time_says_in_or_ago_in_whole_minutes() {
        let now: jiff::Timestamp = "2026-12-02T14:00:00Z".parse().unwrap();
        let rel = |s: &str| relative(s.parse().unwrap(), now);
        assert_eq!(rel("2026-12-02T16:13:30Z"), "in 2h 13m");
        assert_eq!(rel("2026-12-02T13:57:00Z"), "3m ago");
        assert_eq!(rel("2026-12-02T14:00:40Z"), "now");
    }

    #[test]
    fn a_count_is_singular_only_for_one() {
        assert_eq!(count(0, "problem"), "0 problems");
        assert_eq!(count(1, "problem"), "1 problem");
        assert_eq!(count(4, "problem"), "4 problems");
    }

    #[test]
    fn control_characters_from_outside_are_escaped() {
        assert_eq!(printable("plain · text"), "plain · text");
        assert_eq!(
            printable("a\u{1b}[2J\nforged: line\r"),
            "a\\u{1b}[2J\\nforged: line\\r"
        );
    }
}
