//! Time, one way everywhere: the one read of the clock per run, and the arithmetic of
//! instants and configured durations.
//!
//! A configured duration can be anything the operator wrote (`100000y`): arithmetic
//! saturates at the ends of time rather than failing or wrapping, so a huge value means
//! "for ever", never "now".

use std::time::Duration;

use anyhow::{Context as _, Result};
use jiff::{SignedDuration, Timestamp};

/// The clock, read once per run (and again by a run that takes another pass). `CCF_NOW`
/// (RFC 3339) pins it: a test hook that lets the tests and the benchmark drive resets and
/// returns without waiting hours.
pub fn now() -> Result<Timestamp> {
    match std::env::var("CCF_NOW") {
        Ok(s) if !s.is_empty() => s
            .parse()
            .with_context(|| format!("CCF_NOW={s:?} is not an RFC 3339 instant")),
        #[expect(
            clippy::disallowed_methods,
            reason = "the one place that reads the clock"
        )]
        _ => Ok(Timestamp::now()),
    }
}

/// A configured duration as jiff's, saturating (a `std` duration can exceed jiff's range).
pub fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// `t + d`, the end of time when that overflows.
pub fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(signed(d)).unwrap_or(Timestamp::MAX)
}

/// `t - d`, the beginning of time when that overflows.
pub fn sub(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_sub(signed(d)).unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_saturate_instead_of_failing_or_meaning_now() {
        let t: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let forever = Duration::from_secs(u64::MAX);
        assert_eq!(signed(forever), SignedDuration::MAX);
        assert_eq!(add(t, forever), Timestamp::MAX);
        assert_eq!(sub(t, forever), Timestamp::MIN);
        let hour = Duration::from_secs(3600);
        assert_eq!(add(t, hour), "2026-12-01T01:00:00Z".parse().unwrap());
        assert_eq!(sub(t, hour), "2026-11-30T23:00:00Z".parse().unwrap());
        assert_eq!(add(Timestamp::MAX, hour), Timestamp::MAX);
    }
}
