//! Claude Code's `-p --output-format stream-json --verbose` output, one JSON object a
//! line: what the wrapper shows in the pane, and the summary it records.
//!
//! Pure. Verified with Claude Code 2.1.330: the stream ends with a `result` event
//! (`subtype`, `is_error`, `result`, `session_id`); an account that is out of quota emits
//! `{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":…,
//! "rateLimitType":…}}` first. Unknown events and lines that are not JSON are tolerated.

use jiff::Timestamp;
use serde_json::Value;

use super::record::Limit;

/// What the stream said, so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub session_id: Option<String>,
    pub subtype: Option<String>,
    pub is_error: bool,
    pub result: Option<String>,
    pub limit: Option<Limit>,
}

impl Summary {
    /// Takes one line of output; returns what to show in the pane for it, if anything.
    pub fn feed(&mut self, line: &str) -> Option<String> {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            return (!line.trim().is_empty()).then(|| line.to_string());
        };
        if let Some(id) = v.get("session_id").and_then(Value::as_str) {
            self.session_id = Some(id.to_string());
        }
        match v.get("type").and_then(Value::as_str) {
            Some("system") if v.get("subtype").and_then(Value::as_str) == Some("init") => {
                Some(format!(
                    "[ccf] claude session {}",
                    self.session_id.as_deref().unwrap_or("?")
                ))
            }
            Some("assistant") => assistant_text(&v),
            Some("rate_limit_event") => {
                let info = v.get("rate_limit_info")?;
                if info.get("status").and_then(Value::as_str) != Some("rejected") {
                    return None;
                }
                let resets_at = info
                    .get("resetsAt")
                    .and_then(Value::as_i64)
                    .and_then(|s| Timestamp::from_second(s).ok());
                let kind = info
                    .get("rateLimitType")
                    .and_then(Value::as_str)
                    .map(String::from);
                let shown = format!(
                    "[ccf] usage limit reached ({}), resets {}",
                    kind.as_deref().unwrap_or("unknown"),
                    resets_at.map_or_else(|| "at an unknown time".into(), |t| t.to_string())
                );
                self.limit = Some(Limit { resets_at, kind });
                Some(shown)
            }
            Some("result") => {
                self.subtype = v.get("subtype").and_then(Value::as_str).map(String::from);
                self.is_error = v.get("is_error").and_then(Value::as_bool).unwrap_or(false);
                self.result = v.get("result").and_then(Value::as_str).map(String::from);
                None
            }
            _ => None,
        }
    }
}

/// The text blocks of an assistant message, and a line per tool call.
fn assistant_text(v: &Value) -> Option<String> {
    let content = v.pointer("/message/content")?.as_array()?;
    let parts: Vec<String> = content
        .iter()
        .filter_map(|c| match c.get("type").and_then(Value::as_str) {
            Some("text") => c.get("text").and_then(Value::as_str).map(String::from),
            Some("tool_use") => Some(format!(
                "[tool] {}",
                c.get("name").and_then(Value::as_str).unwrap_or("?")
            )),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successful_stream_shows_text_and_keeps_the_result() {
        let mut s = Summary::default();
        let lines = [
            r#"{"type":"system","subtype":"init","session_id":"abc","cwd":"/w"}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"text","text":"hello"},{"type":"tool_use","name":"Bash"}]},"session_id":"abc"}"#,
            r#"{"type":"result","subtype":"success","is_error":false,"result":"done.","session_id":"abc"}"#,
        ];
        let shown: Vec<String> = lines.iter().filter_map(|l| s.feed(l)).collect();
        assert_eq!(
            shown,
            vec!["[ccf] claude session abc", "hello\n[tool] Bash"]
        );
        assert_eq!(s.result.as_deref(), Some("done."));
        assert_eq!(s.subtype.as_deref(), Some("success"));
        assert!(!s.is_error && s.limit.is_none());
    }

    #[test]
    fn a_rejected_rate_limit_event_is_a_limit_and_an_allowed_one_is_not() {
        let mut s = Summary::default();
        s.feed(r#"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":1}}"#);
        assert!(s.limit.is_none());
        s.feed(r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1750708800,"rateLimitType":"five_hour"}}"#);
        let l = s.limit.unwrap();
        assert_eq!(
            l.resets_at,
            Some(Timestamp::from_second(1_750_708_800).unwrap())
        );
        assert_eq!(l.kind.as_deref(), Some("five_hour"));
    }

    #[test]
    fn lines_that_are_not_json_are_shown_as_they_are() {
        let mut s = Summary::default();
        assert_eq!(s.feed("plain words").as_deref(), Some("plain words"));
        assert_eq!(s.feed("  "), None);
    }
}
