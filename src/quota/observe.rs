//! Pure readings of single records: what a `StopFailure` means, which scope a rate-limit
//! type names, a banner's identity, the status line's figures over the threshold.

use jiff::Timestamp;

use super::{Observation, Source};
use crate::detect::{Scope, Verdict};
use crate::spool::Statusline;

/// The verdict of a `StopFailure` hook record. Claude Code reports every 429 as
/// `rate_limit`: an API-key rejection and a server-side throttle too. Only the
/// transcript's quota row (`quota_row`), or the banner's own words (`said`), make it the
/// account's usage limit; a `rate_limit` whose words say nothing counts as one.
pub fn stop_failure_verdict(
    error: Option<&str>,
    quota_row: bool,
    said: Option<Verdict>,
) -> Verdict {
    match error {
        Some("rate_limit") if quota_row => Verdict::Limit,
        Some("rate_limit") => match said {
            None | Some(Verdict::None) => Verdict::Limit,
            Some(v) => v,
        },
        Some("authentication_failed") => Verdict::Auth,
        Some("billing_error") => Verdict::Billing,
        Some("overloaded" | "server_error" | "api_error" | "timeout") => Verdict::ServerError,
        _ => Verdict::None,
    }
}

/// Why a `StopFailure` does not count, if it does not: it happened before the session's
/// last relaunch. A sub-agent's failure counts like the main agent's: it ran on the same
/// account (a sub-agent stopped by the 5-hour limit is the account's limit).
pub fn stop_failure_stale(at: Option<Timestamp>, launched: Option<Timestamp>) -> Option<String> {
    match (at, launched) {
        (Some(at), Some(l)) if at < l => {
            Some("it happened before the session's last relaunch".into())
        }
        _ => None,
    }
}

/// The scope of the transcript's (or a hook's) `rateLimitType`.
pub fn scope_of_type(t: &str) -> Scope {
    match t {
        "five_hour" => Scope::FiveHour,
        "seven_day" => Scope::Weekly,
        "seven_day_opus" => Scope::OpusWeekly,
        _ => Scope::Other,
    }
}

/// A banner's identity across re-renders: its letters and digits only.
pub fn fingerprint(matched: &str) -> String {
    matched
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase()
}

/// How old status-line figures may be and still say something about now.
const USAGE_FRESH_SECS: i64 = 600;

/// The status line's figures at or over `threshold` percent, as limits on `account`.
pub fn usage_limits(
    u: &Statusline,
    account: &str,
    threshold: f64,
    now: Timestamp,
) -> Vec<Observation> {
    if u.origin
        .at
        .is_none_or(|at| now.duration_since(at).as_secs() > USAGE_FRESH_SECS)
    {
        return Vec::new();
    }
    [
        (u.five_hour_used, u.five_hour_resets_at, Scope::FiveHour),
        (u.seven_day_used, u.seven_day_resets_at, Scope::Weekly),
    ]
    .into_iter()
    .filter_map(|(used, resets, scope)| {
        let used = used.filter(|p| *p >= threshold)?;
        Some(Observation {
            session: None,
            account: account.to_string(),
            source: Source::Statusline,
            verdict: Verdict::Limit,
            scope: Some(scope),
            resets_at: resets.and_then(|s| Timestamp::from_second(s).ok()),
            matched: Some(format!("{scope} at {used:.0}% (threshold {threshold}%)")),
            stale: None,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_is_the_accounts_limit_only_when_nothing_says_otherwise() {
        let v = stop_failure_verdict;
        assert_eq!(
            v(Some("rate_limit"), true, Some(Verdict::Throttle)),
            Verdict::Limit
        );
        assert_eq!(v(Some("rate_limit"), false, None), Verdict::Limit);
        assert_eq!(
            v(Some("rate_limit"), false, Some(Verdict::None)),
            Verdict::Limit
        );
        assert_eq!(
            v(Some("rate_limit"), false, Some(Verdict::Throttle)),
            Verdict::Throttle
        );
        assert_eq!(v(Some("authentication_failed"), false, None), Verdict::Auth);
        assert_eq!(v(Some("billing_error"), false, None), Verdict::Billing);
        for e in ["overloaded", "server_error", "api_error", "timeout"] {
            assert_eq!(
                v(Some(e), true, Some(Verdict::Limit)),
                Verdict::ServerError,
                "{e}"
            );
        }
        assert_eq!(v(Some("something_new"), false, None), Verdict::None);
        assert_eq!(v(None, false, Some(Verdict::Limit)), Verdict::None);
    }

    #[test]
    fn stale_failures_say_why() {
        let t = |s: &str| Some(s.parse::<Timestamp>().unwrap());
        assert_eq!(stop_failure_stale(None, None), None);
        let before = stop_failure_stale(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:01:00Z"));
        assert!(
            before
                .unwrap()
                .contains("before the session's last relaunch")
        );
        assert_eq!(
            stop_failure_stale(t("2026-01-01T00:02:00Z"), t("2026-01-01T00:01:00Z")),
            None
        );
        assert_eq!(stop_failure_stale(None, t("2026-01-01T00:01:00Z")), None);
    }

    #[test]
    fn rate_limit_types_map_onto_scopes_and_fingerprints_ignore_rendering() {
        assert_eq!(scope_of_type("five_hour"), Scope::FiveHour);
        assert_eq!(scope_of_type("seven_day"), Scope::Weekly);
        assert_eq!(scope_of_type("seven_day_opus"), Scope::OpusWeekly);
        assert_eq!(scope_of_type("overage"), Scope::Other);
        assert_eq!(
            fingerprint("⎿  You've hit your limit · resets 3pm"),
            fingerprint("You've hit your limit  ·  resets 3pm")
        );
    }

    #[test]
    fn only_fresh_figures_over_the_threshold_count() {
        let now: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        let mut u = Statusline {
            five_hour_used: Some(97.0),
            five_hour_resets_at: Some(now.as_second() + 3600),
            seven_day_used: Some(40.0),
            ..Statusline::default()
        };
        u.origin.at = Some(now);
        let obs = usage_limits(&u, "a", 95.0, now);
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].scope, Some(Scope::FiveHour));
        assert_eq!(
            obs[0].matched.as_deref(),
            Some("five_hour at 97% (threshold 95%)")
        );
        u.origin.at = Some(now - std::time::Duration::from_secs(601));
        assert!(usage_limits(&u, "a", 95.0, now).is_empty());
    }
}
