//! Property tests of the pure detection code: the classifier and the reset-time parser
//! and resolver on arbitrary and hostile text, arbitrary dates and zones, and a `now`
//! anywhere from 1970 to 2100 (DST transitions included).
//!
//! Seeded (`CCF_FUZZ_SEED`, default fixed) and bounded, so CI runs the same cases every
//! time in a few seconds; `CCF_FUZZ_CASES=N` runs N cases per property for a longer hunt.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use super::reset::parse_reset;
use super::{ResetError, ResetSpec, Verdict, classify, lookup_zone, resolve_reset};

/// The proptest configuration every property here uses: fixed seed, no persistence
/// files, `cases` unless `CCF_FUZZ_CASES` asks for more.
fn config(cases: u32) -> Config {
    let env_u64 = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    Config {
        cases: env_u64("CCF_FUZZ_CASES").map_or(cases, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        rng_seed: RngSeed::Fixed(env_u64("CCF_FUZZ_SEED").unwrap_or(0x00cc_f008)),
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

const GRACE: i64 = 5 * 60;

/// Each error sentence the patterns know on its own (the words of `line`'s gate).
const ERROR_SENTENCES: &[&str] = &[
    "Request timed out",
    "Connection refused",
    "Unable to connect to API",
    "fetch failed",
    "socket hang up",
    "Overloaded",
    "Internal server error",
    "Service unavailable",
    "Bad gateway",
    "Gateway timeout",
    "Invalid API key",
    "OAuth token revoked",
    "Not logged in",
    "Login expired",
    "Your session has expired",
    "Authentication required",
    "Your ANTHROPIC_API_KEY belongs to a disabled organization",
    "Your apiKeyHelper failed",
    "This organization has been disabled",
    "Repeated 529 Overloaded errors",
    "AWS authentication failed",
    "Invalid auth token",
    "Connection lost",
    "Opus is experiencing high load",
    "Extra usage is required for long context",
    "Failed to authenticate",
    "Your organization does not have access to Claude",
    "Your credit balance is too low",
    "Server is temporarily limiting requests",
    "Rate limited",
    "Too many requests",
    "No conversation found with session ID: x",
    "Prompt is too long",
    "429 {",
    "500 (",
    "503 Service",
    "Your seat type doesn't include usage credits",
    "Your org is out of usage",
    "monthly budget",
    "now using Sonnet",
    "{\"type\":\"rate_limit_event\",\"rate_limit_info\":{\"status\":\"rejected\"}}",
];

/// Pieces of Claude Code's screens: gutters, ANSI, banners and their parts, look-alike
/// characters, tool output and replies.
fn fragment() -> impl Strategy<Value = String> {
    let pieces: Vec<&'static str> = vec![
        "● ",
        "⏺ ",
        "⎿  ",
        "> ",
        "❯ ",
        "✻ ",
        "✶ ",
        "⚠ ",
        "  ",
        "    ",
        "│ ",
        "╭───╮",
        "─────",
        "\x1b[31m",
        "\x1b[0m",
        "\x1b[38;5;246m",
        "\x1b]8;;https://x\x07",
        "\x1b]0;t",
        "\x1b[2K",
        "\x1b",
        "\u{9b}1m",
        "\r",
        "\t",
        "\u{0}",
        "You've hit your limit",
        "You’ve hit your 5-hour limit",
        "5-hour limit reached",
        "Claude AI usage limit reached",
        "Usage limit reached",
        "weekly limit",
        "Opus limit",
        "You're out of extra usage",
        "limit reached|1750708800",
        "|99999999999",
        " · resets 4:16am",
        " ∙ resets 3pm (America/New_York)",
        " · resets Oct 31, 9am",
        " resets Sep 15 at 7pm (Asia/Calcutta)",
        " resets 23:59",
        " resets Feb 29",
        "(Mars/Olympus)",
        "(UTC)",
        " · /upgrade to Max",
        " · /rate-limit-options",
        "API Error: 500 {\"type\":\"error\"}",
        "API Error: 529 overloaded",
        "Request rejected (429)",
        "not your usage limit",
        "Please run /login",
        "OAuth token has expired",
        "Credit balance is too low",
        "Approaching usage limit",
        "You've used 90% of your weekly limit",
        "Teammate @x failed: ",
        "Error: ",
        "Bash(grep -rn limit src)",
        "Read 3 files (ctrl+o to expand)",
        "src/x.rs:42: ",
        "Baked for 2m 4s",
        "retrying in 14s",
        "Automatic continue cancelled",
        "Hello, here is the plan.",
        "é",
        "日本",
        "\u{200b}",
        "\u{fe0f}",
        "🙂",
        "\u{a0}",
        "9",
        "12",
        ":",
        "·",
        " ",
        "\n",
        "\n\n",
    ];
    let pieces: Vec<&'static str> = pieces
        .into_iter()
        .chain(ERROR_SENTENCES.iter().copied())
        .collect();
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(pieces).prop_map(str::to_owned),
            1 => any::<char>().prop_map(String::from),
        ],
        0..24,
    )
    .prop_map(|v| v.concat())
}

/// A whole capture made of fragment lines.
fn capture() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..30).prop_map(|lines| lines.join("\n"))
}

/// A banner that begins a line when it is a message.
fn banner() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "You've hit your limit · resets 3pm (UTC)",
        "You’ve hit your 5-hour limit ∙ resets 4:16am",
        "5-hour limit reached · resets 2pm (Pacific/Auckland)",
        "Claude AI usage limit reached|1750708800",
        "Usage limit reached · limit resets 4:16am",
        "Weekly limit reached ∙ resets Oct 9, 10am",
        "Opus weekly limit reached · resets Oct 31, 9am",
        "You're out of extra usage · resets 3pm",
        "Claude usage limit reached. Your limit will reset at 3pm (America/Bogota).",
        "API Error: Claude AI usage limit reached|1750708800",
    ])
    .prop_map(str::to_owned)
}

/// Text that puts a banner in the middle of a line: a grep hit, code, a diff, a path.
fn quoting_prefix() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9_/]{0,20}\\.(rs|md|py|txt|log)",
        1u32..99_999,
        prop::sample::select(vec![
            ":",
            ":  // ",
            ":    \"",
            ": let msg = \"",
            ":# ",
            "-",
            ":+ ",
            "- ",
        ]),
    )
        .prop_map(|(path, line, sep)| format!("{path}:{line}{sep}"))
}

/// Instants from 1970 to 2100.
fn instant() -> impl Strategy<Value = Timestamp> {
    (0i64..4_102_444_800).prop_map(|s| Timestamp::from_second(s).expect("in range"))
}

const ZONES: [&str; 12] = [
    "UTC",
    "America/New_York",
    "Europe/Paris",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Asia/Kolkata",
    "America/Santiago",
    "Africa/Casablanca",
    "America/St_Johns",
    "Asia/Calcutta",
];

/// An instant within a few hours of one of `zone`'s transitions in `year` (DST changes,
/// Apia's skipped day), or any instant that year when the zone has none.
fn near_transition(zone: &TimeZone, year: i16, offset: i64, pick: usize) -> Timestamp {
    let start = jiff::civil::date(year, 1, 1)
        .to_zoned(zone.clone())
        .expect("Jan 1 exists")
        .timestamp();
    let transitions: Vec<Timestamp> = zone
        .following(start)
        .take_while(|t| t.timestamp().as_second() < start.as_second() + 366 * 86_400)
        .map(|t| t.timestamp())
        .collect();
    let base = if transitions.is_empty() {
        start
    } else {
        transitions[pick % transitions.len()]
    };
    Timestamp::from_second(base.as_second() + offset).expect("in range")
}

fn clock_spec() -> impl Strategy<Value = ResetSpec> {
    (
        prop::option::of((1i8..=12, 1i8..=31)),
        prop::option::of((0i8..=23, 0i8..=59)),
        prop::option::of(prop::sample::select(ZONES.to_vec()).prop_map(str::to_owned)),
    )
        .prop_map(|(month_day, time, zone)| ResetSpec::Clock {
            month_day,
            time,
            zone,
        })
}

/// How far ahead a resolved reset may be: tomorrow's time (plus a DST hour, or Apia's
/// skipped day), or a date up to eight years on (Feb 29).
fn horizon(spec: &ResetSpec) -> i64 {
    match spec {
        ResetSpec::Clock {
            month_day: Some(_), ..
        } => 9 * 366 * 86_400,
        _ => 2 * 86_400 + 3_600,
    }
}

proptest! {
    #![proptest_config(config(2000))]

    /// The gate in front of the patterns never changes what a line reads as.
    #[test]
    fn gate_never_drops_a_hit(line in fragment()) {
        let head = super::text::split(&line).head;
        prop_assert_eq!(super::line::read(&head), super::line::read_ungated(&head));
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn the_classifier_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = classify(&text);
    }

    #[test]
    fn the_classifier_never_panics_on_arbitrary_bytes_read_lossily(
        bytes in prop::collection::vec(any::<u8>(), 0..2048)
    ) {
        let _ = classify(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn the_classifier_never_panics_on_screen_fragments_and_its_line_is_in_the_input(
        text in capture()
    ) {
        let got = classify(&text);
        if let Some(i) = got.line {
            prop_assert!(i < text.lines().count(), "{got:?}");
        }
        if got.verdict != Verdict::None {
            prop_assert!(got.matched.is_some() && got.line.is_some(), "{got:?}");
        }
    }

    #[test]
    fn a_later_assistant_reply_ends_whatever_the_screen_said(text in capture()) {
        let replied = format!("{text}\n● Here is the summary of the change you asked for.");
        let got = classify(&replied);
        prop_assert_eq!(got.verdict, Verdict::None, "{:?} -> {:?}", replied, got);
    }

    #[test]
    fn a_limit_banner_quoted_mid_line_is_never_a_limit(
        prefix in quoting_prefix(),
        banner in banner(),
        gutter in prop::sample::select(vec!["", "  ", "  ⎿  ", "│ "]),
    ) {
        let line = format!("{gutter}{prefix}{banner}");
        let got = classify(&line);
        prop_assert_ne!(got.verdict, Verdict::Limit, "{:?} -> {:?}", line, got);
        // The same hit as a grep result under a tool call.
        let screen = format!("● Bash(grep -rn limit src)\n  ⎿  {prefix}{banner}\n     {prefix}{banner}");
        let got = classify(&screen);
        prop_assert_ne!(got.verdict, Verdict::Limit, "{:?} -> {:?}", screen, got);
    }

    #[test]
    fn the_reset_parser_never_panics_and_reads_valid_fields(text in any::<String>()) {
        check_parsed(parse_reset(&text).as_ref())?;
    }

    #[test]
    fn the_reset_parser_reads_valid_fields_from_screen_fragments(text in fragment()) {
        check_parsed(parse_reset(&text).as_ref())?;
    }

    #[test]
    fn a_resolved_reset_is_never_more_than_the_grace_before_now(
        spec in clock_spec(),
        now in instant(),
        default in prop::sample::select(ZONES.to_vec()),
    ) {
        check_resolved(&spec, now, default)?;
    }

    #[test]
    fn a_reset_resolves_forward_across_dst_transitions(
        spec in clock_spec(),
        zone in prop::sample::select(ZONES.to_vec()),
        year in 1971i16..2100,
        offset in -4 * 3600i64..4 * 3600,
        pick in 0usize..8,
    ) {
        let tz = lookup_zone(zone).expect("the listed zones exist");
        let now = near_transition(&tz, year, offset, pick);
        check_resolved(&spec, now, zone)?;
    }

    #[test]
    fn out_of_range_fields_and_epochs_are_errors_not_panics(
        month_day in prop::option::of((any::<i8>(), any::<i8>())),
        time in prop::option::of((any::<i8>(), any::<i8>())),
        epoch in any::<i64>(),
        now in instant(),
    ) {
        let spec = ResetSpec::Clock { month_day, time, zone: None };
        if let Ok(at) = resolve_reset(&spec, now, &TimeZone::UTC) {
            prop_assert!(at.as_second() >= now.as_second() - GRACE);
        }
        let _ = resolve_reset(&ResetSpec::Epoch(epoch), now, &TimeZone::UTC);
    }

    #[test]
    fn an_unknown_zone_is_an_error_naming_it(
        name in "Nowhere/[A-Za-z_]{1,20}",
        time in (0i8..=23, 0i8..=59),
        now in instant(),
    ) {
        let spec = ResetSpec::Clock { month_day: None, time: Some(time), zone: Some(name.clone()) };
        prop_assert_eq!(
            resolve_reset(&spec, now, &TimeZone::UTC),
            Err(ResetError::UnknownZone(name))
        );
    }

    #[test]
    fn any_zone_name_is_looked_up_without_panicking(name in any::<String>()) {
        let _ = lookup_zone(&name);
    }
}

fn check_parsed(spec: Option<&ResetSpec>) -> Result<(), TestCaseError> {
    if let Some(ResetSpec::Clock {
        month_day, time, ..
    }) = spec
    {
        if let Some(&(m, d)) = month_day.as_ref() {
            prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d));
        }
        if let Some(&(h, mi)) = time.as_ref() {
            prop_assert!((0..=23).contains(&h) && (0..=59).contains(&mi));
        }
    }
    Ok(())
}

fn check_resolved(spec: &ResetSpec, now: Timestamp, default: &str) -> Result<(), TestCaseError> {
    let tz = lookup_zone(default).expect("the listed zones exist");
    match resolve_reset(spec, now, &tz) {
        Ok(at) => {
            let ahead = at.as_second() - now.as_second();
            prop_assert!(ahead >= -GRACE, "{spec:?} at {now} -> {at}");
            prop_assert!(ahead <= horizon(spec), "{spec:?} at {now} -> {at}");
        }
        // Only a date that never comes within the years searched (Feb 30) is an error.
        Err(e) => prop_assert!(
            matches!(
                spec,
                ResetSpec::Clock {
                    month_day: Some((_, 30 | 31)),
                    ..
                }
            ),
            "{spec:?} at {now}: {e}"
        ),
    }
    Ok(())
}
