//! The API error at the end of a Claude Code transcript (`.jsonl`), with its exact reset.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the newest API-error row of a transcript tail says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLimit {
    /// `quotaLimits.resetsAt`, seconds since the epoch: the exact reset.
    pub resets_at: Option<i64>,
    /// `quotaLimits.rateLimitType` (`five_hour`, `seven_day`, …).
    pub rate_limit_type: Option<String>,
    /// The row's `error` kind (`rate_limit`, `overloaded`, …).
    pub error: Option<String>,
    /// The text Claude Code showed for it (the banner).
    pub text: Option<String>,
}

/// Finds the newest row with `"isApiErrorMessage": true` in the last lines of a transcript.
/// A normal assistant row after it means the error is over (`None`); rows that do not
/// parse (the first line of a tail is often cut) are skipped.
pub fn last_api_error(tail: &str) -> Option<TranscriptLimit> {
    for line in tail.lines().rev() {
        let Ok(row) = serde_json::from_str::<Value>(line.trim()) else {
            continue;
        };
        if row.get("isApiErrorMessage").and_then(Value::as_bool) == Some(true) {
            return Some(read_error_row(&row));
        }
        if row.get("type").and_then(Value::as_str) == Some("assistant") {
            return None;
        }
    }
    None
}

fn read_error_row(row: &Value) -> TranscriptLimit {
    // Seen at the top level; also accepted inside `message` in case a version moves it.
    let quota = row
        .get("quotaLimits")
        .or_else(|| row.pointer("/message/quotaLimits"))
        .filter(|q| q.is_object());
    let resets_at = quota.and_then(|q| q.get("resetsAt")).and_then(|v| {
        // Some writers store the epoch as a float; a reset needs no sub-second part.
        #[expect(clippy::cast_possible_truncation, reason = "epoch seconds fit in i64")]
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    });
    let rate_limit_type = quota
        .and_then(|q| q.get("rateLimitType"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let error = row.get("error").and_then(|e| match e {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    });
    TranscriptLimit {
        resets_at,
        rate_limit_type,
        error,
        text: message_text(row),
    }
}

/// The text of an assistant row: `message.content` as a string or as text blocks.
fn message_text(row: &Value) -> Option<String> {
    match row.pointer("/message/content")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(blocks) => {
            let texts: Vec<&str> = blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT_ROW: &str = r#"{"type":"assistant","isApiErrorMessage":true,"error":"rate_limit","apiErrorStatus":429,"quotaLimits":{"status":"rejected","resetsAt":1788303000,"rateLimitType":"five_hour"},"message":{"role":"assistant","model":"<synthetic>","content":[{"type":"text","text":"You've hit your session limit · resets 4:16am (UTC)"}]}}"#;
    const USER_ROW: &str = r#"{"type":"user","message":{"role":"user","content":"continue"}}"#;
    const REPLY_ROW: &str = r#"{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"Hello"}]}}"#;

    #[test]
    fn a_limit_row_gives_its_exact_reset_and_type() {
        let tail = format!("{REPLY_ROW}\n{USER_ROW}\n{LIMIT_ROW}\n");
        let got = last_api_error(&tail).expect("an error row");
        assert_eq!(got.resets_at, Some(1_788_303_000));
        assert_eq!(got.rate_limit_type.as_deref(), Some("five_hour"));
        assert_eq!(got.error.as_deref(), Some("rate_limit"));
        assert_eq!(
            got.text.as_deref(),
            Some("You've hit your session limit · resets 4:16am (UTC)")
        );
    }

    #[test]
    fn a_user_row_after_the_error_does_not_end_it() {
        let tail = format!("{LIMIT_ROW}\n{USER_ROW}\n");
        assert!(last_api_error(&tail).is_some());
    }

    #[test]
    fn a_later_assistant_reply_means_the_error_is_over() {
        let tail = format!("{LIMIT_ROW}\n{USER_ROW}\n{REPLY_ROW}\n");
        assert_eq!(last_api_error(&tail), None);
    }

    #[test]
    fn a_cut_first_line_and_blank_lines_are_skipped() {
        let tail = format!("ssage\":{{\"role\n\n{LIMIT_ROW}\n\n");
        assert!(last_api_error(&tail).is_some());
    }

    #[test]
    fn a_float_reset_and_an_error_without_quota_are_read() {
        let row = r#"{"type":"assistant","isApiErrorMessage":true,"error":"overloaded","message":{"content":"API Error: 529 Overloaded"}}"#;
        let got = last_api_error(row).expect("an error row");
        assert_eq!(got.resets_at, None);
        assert_eq!(got.error.as_deref(), Some("overloaded"));
        assert_eq!(got.text.as_deref(), Some("API Error: 529 Overloaded"));
        let row = r#"{"type":"assistant","isApiErrorMessage":true,"quotaLimits":{"resetsAt":1788303000.0}}"#;
        assert_eq!(
            last_api_error(row).and_then(|l| l.resets_at),
            Some(1_788_303_000)
        );
    }

    #[test]
    fn a_tail_without_an_error_row_has_none() {
        assert_eq!(last_api_error(&format!("{USER_ROW}\n")), None);
        assert_eq!(last_api_error(""), None);
    }
}
