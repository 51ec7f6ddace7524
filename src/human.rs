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
