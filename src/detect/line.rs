//! What one message line says: the shapes of Claude Code's limit, warning and error lines.
//!
//! A line is read from its head (the text after the TUI gutters), and a shape must begin
//! there, after at most an `Error:`/`API Error:` opener, a `Claude`/`Claude AI` subject or a
//! `<someone> failed:` report: text that merely contains a banner is a quotation.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::Regex;

use super::classify::{Scope, Verdict};
use super::reset::{ResetSpec, parse_reset};

/// What a message line said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// `Verdict::None` for messages that end an event without being one (other API errors,
    /// the context limit, a failed resume).
    pub verdict: Verdict,
    pub scope: Option<Scope>,
    pub reset: Option<ResetSpec>,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("invariant: detection patterns are valid regexes")
}

/// A teammate's or sub-agent's report of its own failure: `Teammate @x failed: …`,
/// `Agent terminated early due to an API error: …`, and both in one (2.1.330's
/// `Agent "<description>" failed: Agent terminated early due to an API error: …`). No
/// colon, separator or stray quote may come before the report's own colon (`src/x.rs:12:
/// …` is a grep hit); a name in double quotes is the only quoted text allowed. The
/// pattern's repetitions are unbounded (bounded ones nested inside each other built an
/// automaton of megabytes at every run's first use: most of a check-quota's time);
/// [`report_opener`] bounds the length instead.
static FAILED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)^(?:[a-z@](?:[^:·"`]|"[^":·`]+")*?\b(?:failed|(?:terminated|stopped|aborted)\b[^:·"`]*?)\s*:\s*){1,2}"#,
    )
});

/// The longest report opener taken (`Agent "<a task description>" failed: Agent
/// terminated early due to an API error: `): longer is prose, not a report.
const MAX_OPENER: usize = 240;

/// Where the report's own words begin in `head`, after a [`FAILED`] opener, if it has one.
fn report_opener(head: &str) -> Option<usize> {
    let lower = head.to_lowercase();
    if !head.contains(':')
        || !["failed", "terminated", "stopped", "aborted"]
            .iter()
            .any(|w| lower.contains(w))
    {
        return None;
    }
    FAILED
        .find(head)
        .map(|m| m.end())
        .filter(|&end| end <= MAX_OPENER)
}

/// A first clause that reports a state change (`Lower-priority mode ended · `).
static ENDED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^[a-z][a-z -]{0,40}?\b(?:ended|stopped|paused)\s*·\s*(?P<rest>you(?:'ve|\s+have)\s)")
});

/// Whether a line is a sub-agent's or teammate's failure report (see [`FAILED`]): such a
/// line under a tool call is the account speaking, not the tool's output.
pub fn is_report(head: &str) -> bool {
    report_opener(head).is_some_and(|end| read(&head[end..]).is_some())
}

/// After a limit, the clause that says work goes on elsewhere: an automatic fallback to
/// another model or to usage credits is not a wall (`Opus limit reached · now using Sonnet`).
static FALLBACK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:[·,;—-]|\band\b)\s*(?:claude\s+is\s+)?(?:now\s+using|now\s+on|continuing\s+(?:on|with)|switched\s+to|switching\s+to|falling\s+back\s+to|fell\s+back\s+to)\b|\bthen\s+(?:on\s+)?(?:usage\s+credits|extra\s+usage)\b",
    )
});

/// `{"type":"rate_limit_event","rate_limit_info":{"status":…,"resetsAt":…,"rateLimitType":…}}`,
/// a `stream-json` line of `claude -p` shown in a pane.
static RATE_LIMIT_EVENT: LazyLock<Regex> =
    LazyLock::new(|| re(r#"^\{\s*"type"\s*:\s*"rate_limit_event""#));
static JSON_STATUS: LazyLock<Regex> = LazyLock::new(|| re(r#""status"\s*:\s*"(?P<v>[a-z_]+)""#));
static JSON_RESETS_AT: LazyLock<Regex> =
    LazyLock::new(|| re(r#""resetsAt"\s*:\s*(?P<v>\d{9,11})\b"#));
static JSON_TYPE: LazyLock<Regex> =
    LazyLock::new(|| re(r#""rateLimitType"\s*:\s*"(?P<v>[a-z_]+)""#));

/// The openers a limit or warning shape may follow.
const OPENER: &str = r"(?i)^(?:(?:api\s+)?error\s*:?\s*)?(?:claude(?:\s+ai)?(?:\s+code)?\s+)?";

/// The words that may name a limit (`5-hour`, `Opus weekly`, `monthly spend`, `org's usage`).
/// It starts with a word character, so a diff's `-`/`+` or a bullet cannot open it.
/// ASCII classes: the text is folded first, and Unicode `\w` under a bounded repetition
/// makes each pattern cost milliseconds to compile on every run.
const WHAT: &str = r"(?P<what>(?:[A-Za-z0-9_][A-Za-z0-9_'./ -]{0,39}?)?)";

static LIMIT_SHAPES: LazyLock<[Regex; 5]> = LazyLock::new(|| {
    [
        // You've hit your (5-hour|weekly|Opus|session|monthly spend|…) limit (or budget)
        re(&format!(
            r"{OPENER}you(?:'ve|\s+have)?\s+(?:hit|reached|exceeded|used\s+up|run\s+out\s+of)\s+(?:your|the)\s+{WHAT}\s*(?:limits?|budget)\b"
        )),
        // (5-hour|Opus weekly|Claude AI usage|…) limit reached
        re(&format!(
            r"{OPENER}{WHAT}\s*limits?\s+(?:reached|exceeded|hit)\b"
        )),
        // You're out of extra usage / Your org is out of usage
        re(&format!(
            r"{OPENER}(?:you(?:'re|\s+are)\s+|(?P<org>your\s+(?:org|organization|team|group)(?:'s)?\s+is\s+))?out\s+of\s+(?P<what>extra\s+usage|usage\s+credits|usage|credits?)\b"
        )),
        // Your group's usage limit is set to $0
        re(&format!(
            r"{OPENER}(?:your\s+)?{WHAT}\s*limit\s+is\s+(?:set\s+to\s+)?\$0\b"
        )),
        // Your seat type doesn't include usage credits
        re(&format!(
            r"{OPENER}your\s+(?P<what>(?:seat|plan)(?:\s+type)?)\s+does(?:n't|\s+not)\s+include\b"
        )),
    ]
});

static WARNING_SHAPES: LazyLock<[Regex; 3]> = LazyLock::new(|| {
    [
        // You're now using extra usage / Now using usage credits for Opus: past a limit, on
        // something that still works.
        re(&format!(
            r"{OPENER}(?:you(?:'re|\s+are)\s+)?now\s+using\s+(?P<what>(?:your\s+)?(?:extra\s+usage|usage\s+credits|credits|usage\s+allocation)|[A-Z][A-Za-z0-9 .]{{0,30}})"
        )),
        // Approaching (Opus|weekly|…) (usage) limit
        re(&format!(
            r"{OPENER}(?:you(?:'re|\s+are)\s+)?(?:approaching|nearing|near|close\s+to)\s+(?:your\s+|the\s+)?{WHAT}\s*limit\b"
        )),
        // You've used 90% of your weekly limit
        re(&format!(
            r"{OPENER}you(?:'ve|\s+have)\s+used\s+(?:\d{{1,3}}\s*%|most)\s+of\s+(?:your\s+|the\s+)?{WHAT}\s*limit\b"
        )),
    ]
});

/// `your session limit`, `Your Opus limit`: a limit named inside a notice.
static LIMIT_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\byour\s+(?P<what>[a-z0-9-]+(?:\s+[a-z0-9-]+)?)\s+limit\b"));

/// Limits that are not the account's quota: the conversation's or the request's own.
static NOT_QUOTA: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:context|tokens?|length|turns?|size|file|output|recursion|depth)\b")
});

static RATE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\brate\b"));

/// Fast mode (a faster tier of the same model) has its own limit; reaching it pauses
/// fast mode and the turn goes on at normal speed.
static FAST: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bfast\b"));

/// How an error line begins: an `API Error`/`Error` opener, a bare status with a payload,
/// a raw error object, or one of the error sentences Claude Code prints on their own.
static ERROR_OPENER: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r#"(?i)^(?:(?:api\s+)?error\b|[1-5]\d\d\s*[{(]|\{\s*"type"\s*:\s*"error""#,
        r"|request\s+timed\s+out|connection\s+(?:error|refused|reset)|unable\s+to\s+connect",
        r"|fetch\s+failed|socket\s+hang\s+up|overloaded|internal\s+server\s+error",
        r"|service\s+unavailable|bad\s+gateway|gateway\s+time-?out",
        r"|invalid\s+api\s+key|oauth\s+token|(?:please\s+)?run\s+/login|not\s+logged\s+in",
        r"|login\s+(?:expired|reached)|(?:your\s+)?session\s+(?:has\s+)?expired|authentication\s+required",
        r"|your\s+(?:anthropic_api_key|apikeyhelper)|this\s+organization\s+has\s+been\s+disabled",
        r"|[1-5]\d\d\s+(?:internal|overloaded|service|bad\s+gateway|gateway|server)|repeated\s+5\d\d",
        r"|(?:[a-z]+\s+){0,2}authentication\s+failed|invalid\s+auth\s+token|connection\s+lost",
        r"|[a-z0-9]+\s+is\s+experiencing\s+high\s+load",
        r"|(?:extra\s+usage|usage\s+credits)\s+(?:is\s+|are\s+)?required",
        r"|failed\s+to\s+authenticate|authentication\s+(?:error|failed)",
        r"|your\s+organization\s+(?:has\s+disabled|does\s+not\s+have\s+access)",
        r"|(?:your\s+)?credit\s+balance|server\s+is\s+temporarily\s+limiting",
        r"|request\s+rejected|rate\s+limited|too\s+many\s+requests",
        r"|no\s+conversation\s+found|prompt\s+is\s+too\s+long)",
    ))
});

/// The HTTP status of an error line, where Claude Code puts it.
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r#"(?i)^(?:(?:api\s+)?error\s*:?\s*\(?\s*)?(?P<a>[1-5]\d\d)\b"#,
        r#"|\brejected\s*\((?P<b>[1-5]\d\d)\)|"status"\s*:\s*(?P<c>[1-5]\d\d)\b"#,
    ))
});

static BILLING: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)credit\s+balance\s+(?:is\s+)?too\s+low|insufficient\s+credit"));

static AUTH: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)authentication_error|permission_error|oauth\s+token\s+(?:has\s+)?(?:expired|revoked)",
        r"|token\s+has\s+been\s+revoked|invalid\s+(?:api|x-api)[\s-]key|run\s+/login",
        r"|not\s+logged\s+in|failed\s+to\s+authenticate|authentication\s+failed",
        r"|organization\s+has\s+disabled|does\s+not\s+have\s+access\s+to\s+claude",
        r"|organization\s+has\s+been\s+disabled|belongs\s+to\s+a\s+disabled\s+organization",
        r"|login\s+(?:expired|reached\s+its\s+time\s+limit)|session\s+(?:has\s+)?expired",
        r"|apikeyhelper|authentication\s+required|invalid\s+auth\s+token",
    ))
});

static SERVER: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)overloaded|\bapi_error\b|internal\s+server\s+error|timed\s+out|\btimeout\b",
        r"|econnreset|econnrefused|etimedout|epipe|enotfound|eai_again|socket\s+hang\s+up",
        r"|connection\s+(?:error|refused|reset)|unable\s+to\s+connect|fetch\s+failed",
        r"|network\s+error|bad\s+gateway|service\s+unavailable|gateway\s+time-?out",
        r"|server\s+error|server-side\s+issue|mid-response|connection\s+(?:lost|to\s+the\s+api\s+was\s+lost)",
        r"|response\s+(?:stopped|stalled|never\s+arrived|stream\s+was\s+malformed)|never\s+arrived",
        r"|went\s+to\s+sleep|at\s+capacity|high\s+load|temporary\s+network\s+issue",
        // The runtime's own names for a reply it could not read (a stream cut off inside
        // its HTTP framing): `InvalidHTTPResponse fetching "…"`.
        r"|invalidhttpresponse|malformed_http_response|\bunexpected\s+eof\b",
    ))
});

/// An error that says itself it will pass (`Authentication error · This may be a
/// temporary network issue`): not the account's fault.
static TRANSIENT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)temporary\s+network\s+issue|network\s+issue,\s+please\s+try\s+again")
});

static THROTTLE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)rate_limit_error|rate\s+limit|too\s+many\s+requests|request\s+rejected",
        r"|long\s+context|\b1m\s+context|(?:usage\s+credits|extra\s+usage)\s+(?:is\s+|are\s+)?required",
        r"|temporarily\s+limiting",
    ))
});

/// Words of which every shape below needs one (lowercased, whitespace runs as one space):
/// a line with none of them says nothing, and is told so without running a pattern. Most
/// lines of a pane are such lines, and the patterns are compiled on first use, so a
/// check-quota of working panes compiles none. `gate_never_drops_a_hit` (`fuzz_tests`)
/// holds this list to the patterns.
const GATE_WORDS: &[&str] = &[
    "limit",
    "budget",
    "out of",
    "include",
    "now using",
    "rate_limit_event",
    "error",
    "timed out",
    "connect",
    "fetch failed",
    "socket",
    "overloaded",
    "server",
    "unavailable",
    "gateway",
    "internal",
    "service",
    "api key",
    "oauth",
    "login",
    "logged in",
    "expired",
    "authenticat",
    "auth token",
    "anthropic_api_key",
    "apikeyhelper",
    "organization",
    "repeated",
    "high load",
    "required",
    "credit",
    "rejected",
    "rate limited",
    "too many",
    "no conversation",
    "too long",
];

/// `429 {…`, `500 (…`: a status with its payload, the one error opener without a word.
fn has_status_payload(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(2)).any(|i| {
        (b'1'..=b'5').contains(&b[i])
            && b[i + 1].is_ascii_digit()
            && b[i + 2].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && b[i + 3..]
                .iter()
                .find(|c| !c.is_ascii_whitespace())
                .is_some_and(|c| matches!(c, b'{' | b'('))
    })
}

/// Whether `head` may say something: it holds a [`GATE_WORDS`] word or a status payload.
pub(super) fn passes_gate(head: &str) -> bool {
    // One automaton for every word (ASCII case folded: the words are ASCII), compiled
    // once; per line it is one scan instead of a `contains` per word over a lowered copy.
    static GATE: LazyLock<AhoCorasick> = LazyLock::new(|| {
        // A contiguous NFA: its build is a fraction of a DFA's, and a run scans a few
        // thousand short lines, so the build is what costs.
        AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .ascii_case_insensitive(true)
            .build(GATE_WORDS)
            .expect("invariant: the gate words build an automaton")
    });
    // The words hold single spaces; only a line with another run of whitespace needs the
    // copy that makes each run one space.
    let found = if head.contains(|c: char| c.is_whitespace() && c != ' ') || head.contains("  ") {
        GATE.is_match(&head.split_whitespace().collect::<Vec<_>>().join(" "))
    } else {
        GATE.is_match(head)
    };
    found || has_status_payload(head)
}

/// Reads one line's head. `None` means the line says nothing about the account.
pub fn read(head: &str) -> Option<Hit> {
    if !passes_gate(head) {
        return None;
    }
    read_ungated(head)
}

/// [`read`] without its gate (the fuzz tests compare the two).
pub(super) fn read_ungated(head: &str) -> Option<Hit> {
    let body = report_opener(head).map_or(head, |end| &head[end..]);
    // `<something> ended · you have reached your weekly usage limit`: a state change
    // whose reason is the limit.
    let ended = body.contains('·') && {
        let l = body.to_lowercase();
        ["ended", "stopped", "paused"].iter().any(|w| l.contains(w))
    };
    let body = ended
        .then(|| ENDED.captures(body))
        .flatten()
        .and_then(|c| c.name("rest"))
        .map_or(body, |m| &body[m.start()..]);
    let lower = body.to_lowercase();
    let hit = |verdict, scope| {
        Some(Hit {
            verdict,
            scope,
            reset: parse_reset(head),
        })
    };
    if RATE_LIMIT_EVENT.is_match(body) {
        return Some(rate_limit_event(body));
    }
    // "(not your usage limit)" is Claude Code telling a throttle apart from the quota.
    if lower.contains("not your usage limit") {
        return hit(Verdict::Throttle, None);
    }
    for shape in LIMIT_SHAPES.iter() {
        if let Some(c) = shape.captures(body) {
            let what = c.name("what").map_or("", |m| m.as_str());
            if NOT_QUOTA.is_match(what) {
                return hit(Verdict::None, None);
            }
            if RATE.is_match(what) {
                return hit(Verdict::Throttle, None);
            }
            // Fast mode's own limit pauses fast mode, and a fallback keeps working.
            if FAST.is_match(what) || FALLBACK.is_match(&body[c.get(0).map_or(0, |m| m.end())..]) {
                return hit(Verdict::Warning, scope_of(what));
            }
            let scope = if c.name("org").is_some() {
                Some(Scope::Other)
            } else {
                scope_of(what)
            };
            return hit(Verdict::Limit, scope);
        }
    }
    for shape in WARNING_SHAPES.iter() {
        if let Some(c) = shape.captures(body) {
            let what = c.name("what").map_or("", |m| m.as_str());
            if NOT_QUOTA.is_match(what) || RATE.is_match(what) {
                return None;
            }
            // The scope of a fallback notice is the limit it names (`· Your session limit resets …`).
            let scope = if lower.contains("now using") {
                LIMIT_NAME.captures(body).and_then(|n| scope_of(&n["what"]))
            } else {
                scope_of(what)
            };
            return hit(Verdict::Warning, scope);
        }
    }
    if ERROR_OPENER.is_match(body) {
        return hit(error_verdict(body), None);
    }
    None
}

/// The verdict of an API error line. The status decides first, so that a 500 whose payload
/// says "rate limit" stays a server error; then the payload's words.
fn error_verdict(body: &str) -> Verdict {
    let status = STATUS.captures(body).and_then(|c| {
        ["a", "b", "c"]
            .iter()
            .find_map(|n| c.name(n))
            .and_then(|m| m.as_str().parse::<u16>().ok())
    });
    match status {
        Some(500..=599) => return Verdict::ServerError,
        Some(401 | 403) => return Verdict::Auth,
        Some(402) => return Verdict::Billing,
        _ => {}
    }
    if BILLING.is_match(body) {
        Verdict::Billing
    } else if TRANSIENT.is_match(body) {
        Verdict::ServerError
    } else if AUTH.is_match(body) {
        Verdict::Auth
    } else if SERVER.is_match(body) {
        Verdict::ServerError
    } else if status == Some(429) || THROTTLE.is_match(body) {
        Verdict::Throttle
    } else {
        Verdict::None
    }
}

/// A `rate_limit_event` line: `rejected` is a limit with its exact reset,
/// `allowed_warning` a warning, `allowed` nothing.
fn rate_limit_event(body: &str) -> Hit {
    let value = |re: &Regex| re.captures(body).map(|c| c["v"].to_owned());
    let verdict = match value(&JSON_STATUS).as_deref() {
        Some("rejected") => Verdict::Limit,
        Some("allowed_warning") => Verdict::Warning,
        _ => Verdict::None,
    };
    if verdict == Verdict::None {
        return Hit {
            verdict,
            scope: None,
            reset: None,
        };
    }
    let scope = value(&JSON_TYPE).map(|t| match t.as_str() {
        "five_hour" => Scope::FiveHour,
        "seven_day" | "seven_day_overage_included" => Scope::Weekly,
        t if t.starts_with("seven_day_") => Scope::OpusWeekly,
        _ => Scope::Other,
    });
    let reset = value(&JSON_RESETS_AT)
        .and_then(|v| v.parse().ok())
        .map(ResetSpec::Epoch);
    Hit {
        verdict,
        scope,
        reset,
    }
}

/// Which quota the words before "limit" name. Bare "usage" (or nothing) names none.
fn scope_of(what: &str) -> Option<Scope> {
    let w = what.to_lowercase();
    // A model's own (weekly) limit: Opus, and since 2.1.x Sonnet and Fable too.
    if ["opus", "sonnet", "fable", "haiku"]
        .iter()
        .any(|m| w.contains(m))
    {
        return Some(Scope::OpusWeekly);
    }
    if w.contains("week") || w.contains("7-day") || w.contains("seven") {
        return Some(Scope::Weekly);
    }
    if ["5-hour", "5 hour", "five", "session", "5h"]
        .iter()
        .any(|s| w.contains(s))
    {
        return Some(Scope::FiveHour);
    }
    let rest = w
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .any(|t| {
            !matches!(
                t,
                "usage" | "claude" | "ai" | "code" | "your" | "the" | "plan"
            )
        });
    rest.then_some(Scope::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_folds_case_and_whitespace_runs_and_passes_no_plain_line() {
        assert!(passes_gate("You are OUT\tOF  extra usage"));
        assert!(passes_gate("Usage LIMIT reached"));
        assert!(passes_gate("503 {\"type\":\"error\"}"));
        assert!(!passes_gate("Working on step 3: reading src/module_3.rs"));
        assert!(passes_gate("now\u{2003}using Sonnet"));
        assert!(!passes_gate("Baked for 2m 4s"));
    }

    fn verdict(head: &str) -> Option<Verdict> {
        read(head).map(|h| h.verdict)
    }

    #[test]
    fn a_banner_quoted_after_a_grep_location_is_not_a_message() {
        assert_eq!(
            verdict("src/x.rs:12: // You've hit your limit · resets 3pm"),
            None
        );
    }

    #[test]
    fn a_banner_in_a_diff_or_a_comment_or_a_string_is_not_a_message() {
        assert_eq!(verdict("+ You've hit your limit · resets 3pm"), None);
        assert_eq!(verdict("-   5-hour limit reached ∙ resets 2pm"), None);
        assert_eq!(verdict("// You've hit your session limit"), None);
        assert_eq!(
            verdict("\"Claude AI usage limit reached|1750708800\""),
            None
        );
        assert_eq!(verdict("12 +    You've hit your weekly limit"), None);
    }

    #[test]
    fn a_report_opener_is_short_and_prose_that_runs_on_to_failed_is_not_one() {
        let report = "Teammate @alice failed: You've hit your session limit · resets 3pm";
        assert_eq!(verdict(report), Some(Verdict::Limit));
        let prose = format!(
            "The build {} failed: You've hit your session limit · resets 3pm",
            "and then the retry and then the other step ".repeat(6)
        );
        assert!(prose.find("failed").unwrap() > MAX_OPENER);
        assert_eq!(verdict(&prose), None);
    }

    #[test]
    fn a_named_sub_agent_whose_run_ended_on_the_limit_is_a_limit() {
        // 2.1.330's screen when a background agent's request got the account's 429.
        let hit = read(concat!(
            r#"Agent "Stand-in subtask" failed: Agent terminated early due to an API error: "#,
            "You've hit your 5-hour limit · resets 5:51am (UTC) (error type rate_limit, HTTP 429)"
        ))
        .expect("a hit");
        assert_eq!(hit.verdict, Verdict::Limit);
        assert_eq!(hit.scope, Some(Scope::FiveHour));
        assert!(hit.reset.is_some());
        // A quoted banner is still a quotation, and so is a quote left open.
        assert_eq!(
            verdict(r#"echo "x" says: You've hit your session limit"#),
            None
        );
        assert_eq!(
            verdict(r#"Agent "x failed: You've hit your session limit"#),
            None
        );
    }

    #[test]
    fn a_reply_cut_inside_its_http_framing_is_a_server_error() {
        // 2.1.330 when a streamed reply's chunked body broke off.
        let line = r#"API Error: InvalidHTTPResponse fetching "http://127.0.0.1:43877/v1/messages?beta=true". For more information, pass `verbose: true` in the second argument to fetch()"#;
        assert_eq!(verdict(line), Some(Verdict::ServerError));
    }

    #[test]
    fn a_teammates_own_limit_is_a_limit() {
        let hit = read("Teammate @x failed: You've hit your session limit · resets 3pm (UTC)")
            .expect("a hit");
        assert_eq!(hit.verdict, Verdict::Limit);
        assert_eq!(hit.scope, Some(Scope::FiveHour));
    }

    #[test]
    fn a_500_whose_payload_mentions_rate_limit_is_a_server_error() {
        let line = r#"API Error: 500 {"type":"error","error":{"type":"api_error","message":"rate limit backend unavailable"}}"#;
        assert_eq!(verdict(line), Some(Verdict::ServerError));
    }

    #[test]
    fn an_overloaded_error_that_mentions_rate_limits_is_a_server_error() {
        let line = r#"API Error: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded; rate limited upstream"}}"#;
        assert_eq!(verdict(line), Some(Verdict::ServerError));
    }

    #[test]
    fn a_rate_limit_error_429_is_a_throttle() {
        // anthropics/claude-code#54698 (the payload behind a limit, shown on its own).
        let line = r#"Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account's rate limit. Please try again later."}}"#;
        assert_eq!(verdict(line), Some(Verdict::Throttle));
    }

    #[test]
    fn the_context_limit_is_not_a_usage_limit() {
        assert_eq!(
            verdict("Context limit reached · /compact or /clear to continue"),
            Some(Verdict::None)
        );
        assert_eq!(verdict("Approaching context limit"), None);
    }

    #[test]
    fn the_login_hint_under_a_banner_is_not_an_auth_failure() {
        assert_eq!(
            verdict("/login to switch to an API usage-billed account."),
            None
        );
    }

    #[test]
    fn a_percentage_used_notice_is_a_warning() {
        let hit = read("You've used 90% of your weekly limit · resets Oct 9, 8:59am").expect("hit");
        assert_eq!(hit.verdict, Verdict::Warning);
        assert_eq!(hit.scope, Some(Scope::Weekly));
    }

    #[test]
    fn reworded_limit_banners_are_still_limits() {
        for line in [
            "You have reached your usage limit · resets 9pm",
            "Session limit reached · resets 11pm (Europe/London)",
            "Claude Code usage limit exceeded",
            "Monthly spend limit reached",
            "You've used up your 5-hour limit",
        ] {
            assert_eq!(verdict(line), Some(Verdict::Limit), "{line}");
        }
    }

    #[test]
    fn scopes_follow_the_words_before_limit() {
        assert_eq!(scope_of(""), None);
        assert_eq!(scope_of("usage"), None);
        assert_eq!(scope_of("Claude AI usage"), None);
        assert_eq!(scope_of("5-hour"), Some(Scope::FiveHour));
        assert_eq!(scope_of("session"), Some(Scope::FiveHour));
        assert_eq!(scope_of("Opus weekly"), Some(Scope::OpusWeekly));
        assert_eq!(scope_of("weekly"), Some(Scope::Weekly));
        assert_eq!(scope_of("monthly spend"), Some(Scope::Other));
    }
}
