//! Property tests of the parsers that read files and stdin: the config loader, the state
//! loader, task front matter, and the hook's JSON through the real binary. No input
//! panics; every error is a message that names its file; what is valid round-trips.
//!
//! Seeded (`CCF_FUZZ_SEED`, default fixed) and bounded (`CCF_FUZZ_CASES` raises the count
//! for a longer hunt), so CI runs the same cases every time. The classifier and the
//! reset-time parser are fuzzed beside them, in `src/detect/fuzz_tests.rs`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use ccf::state::State;
use ccf::tasks::frontmatter;

use crate::support::Sandbox;

fn config(cases: u32) -> Config {
    let env_u64 = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    Config {
        cases: env_u64("CCF_FUZZ_CASES").map_or(cases, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        rng_seed: RngSeed::Fixed(env_u64("CCF_FUZZ_SEED").unwrap_or(0x00cc_f008)),
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    }
}

const EXAMPLE: &str = include_str!("../../config.example.yaml");
const CONFIG_PATH: &str = "/fuzz/ccf.yaml";

fn parse_config(text: &str) -> Result<ccf::config::Config, String> {
    ccf::config::parse(Path::new(CONFIG_PATH), text, Path::new("/home/op"))
        .map_err(|e| e.to_string())
}

/// YAML-ish pieces: keys of the schema, indentation, flow syntax, odd scalars.
fn yaml_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "accounts:",
            "  - name: a",
            "    home: ~/h",
            "pool:",
            "  autonomous:",
            "prefix: x",
            "min: 3",
            "max: 1",
            "quota:",
            "cooldown: 5m",
            "cooldown: -1s",
            "capture_lines: 0",
            "state_dir: ~",
            "tmux: {socket_name: a, socket_path: /s}",
            "timezone: Mars/X",
            "notifications:",
            "  webhook: {url: 'ftp://x'}",
            "headers: {a: [1]}",
            "dedicated:",
            "- {name: 'a:b', project: ~/p}",
            "&a [*a]",
            "*a",
            "!!binary aGk=",
            "? [a]: b",
            "{",
            "[",
            "]",
            "}",
            "- ",
            ": ",
            "'",
            "\"",
            "\\",
            "#",
            "|",
            ">",
            "~",
            "null",
            "1e400",
            "-9223372036854775809",
            "0x1F",
            "yes",
            "\t",
            "\n",
            "\r\n",
            "\u{feff}",
            "é",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,12}",
        any::<char>().prop_map(String::from),
    ]
}

/// One edit of a valid file.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Insert(usize, String),
    ReplaceValue(usize, String),
    Indent(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        at.prop_map(Edit::DeleteLine),
        at.prop_map(Edit::DuplicateLine),
        (at, any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (at, yaml_piece()).prop_map(|(a, p)| Edit::Insert(a, p)),
        (at, yaml_piece()).prop_map(|(a, p)| Edit::ReplaceValue(a, p)),
        (at, 0usize..9).prop_map(|(a, n)| Edit::Indent(a, n)),
        at.prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for e in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match e {
            Edit::DeleteLine(i) => {
                lines.remove(i % n);
            }
            Edit::DuplicateLine(i) => lines.insert(i % n, lines[i % n].clone()),
            Edit::SwapLines(a, b) => lines.swap(a % n, b % n),
            Edit::Insert(i, p) => {
                let line = &mut lines[i % n];
                let at = line
                    .char_indices()
                    .map(|(k, _)| k)
                    .nth(i % (line.chars().count() + 1));
                line.insert_str(at.unwrap_or(line.len()), p);
            }
            Edit::ReplaceValue(i, p) => {
                let line = &mut lines[i % n];
                if let Some(k) = line.find(':') {
                    line.truncate(k + 1);
                    line.push(' ');
                    line.push_str(p);
                }
            }
            Edit::Indent(i, k) => {
                lines[i % n] = format!("{}{}", " ".repeat(*k), lines[i % n].trim_start());
            }
            Edit::Truncate(i) => lines.truncate(1 + i % n),
        }
    }
    lines.join("\n")
}

/// A valid configuration's chosen values, to write as YAML and read back.
#[derive(Debug, Clone)]
struct Chosen {
    accounts: Vec<String>,
    prefix: String,
    start_index: u32,
    min: u32,
    max: u32,
    dedicated: Vec<String>,
    cooldown_minutes: u64,
    capture_lines: u32,
    confirm_polls: u32,
}

fn chosen() -> impl Strategy<Value = Chosen> {
    (
        prop::collection::btree_set("[a-z][a-z0-9_-]{0,10}", 1..5),
        "[a-z]{1,6}-",
        0u32..1000,
        0u32..20,
        0u32..20,
        prop::collection::btree_set("ded[0-9]?-[a-z0-9_-]{1,10}", 0..4),
        (0u64..600, 1u32..2000, 1u32..10),
    )
        .prop_map(
            |(
                accounts,
                prefix,
                start_index,
                a,
                b,
                dedicated,
                (cooldown_minutes, capture_lines, confirm_polls),
            )| Chosen {
                accounts: accounts.into_iter().collect(),
                prefix,
                start_index,
                min: a.min(b),
                max: a.max(b),
                dedicated: dedicated.into_iter().collect(),
                cooldown_minutes,
                capture_lines,
                confirm_polls,
            },
        )
}

fn render(c: &Chosen) -> String {
    use std::fmt::Write as _;
    let mut s = String::from("accounts:\n");
    for a in &c.accounts {
        let _ = writeln!(s, "  - name: {a}\n    home: ~/.claude-{a}");
    }
    let _ = writeln!(
        s,
        "pool:\n  autonomous:\n    prefix: \"{}\"\n    start_index: {}\n    min: {}\n    max: {}\n    workdir: ~/work\n  dedicated:",
        c.prefix, c.start_index, c.min, c.max
    );
    for d in &c.dedicated {
        let _ = writeln!(s, "    - {{name: {d}, project: ~/src/{d}}}");
    }
    if c.dedicated.is_empty() {
        s.push_str("    []\n");
    }
    let _ = writeln!(
        s,
        "quota:\n  cooldown: {}m\n  capture_lines: {}\n  confirm_polls: {}",
        c.cooldown_minutes, c.capture_lines, c.confirm_polls
    );
    s
}

/// A realistic state file, to mutate one value at a time.
const STATE: &str = r#"{
  "version": 1,
  "active_account": "compte1",
  "accounts": {"compte1": {"exhausted_until": "2026-03-10T15:00:00Z", "auth_failed": false, "auth_failures": 0},
               "compte2": {"exhausted_until": null, "auth_failed": true, "auth_failures": 2}},
  "sessions": {"ccl-1-proj": {"kind": "dedicated", "account": "compte1",
                              "session_id": "11111111-2222-4333-8444-555555555555",
                              "cwd": "/home/op/proj", "launched_at": "2026-03-10T12:00:00Z", "task": null}},
  "last_swap": {"from": "compte2", "to": "compte1", "at": "2026-03-10T12:00:00Z", "reason": "limit"},
  "pending_return": {"to": "compte2", "not_before": "2026-03-10T17:05:00Z"},
  "quota": {"confirm": {"ccl-auto-11": 1}, "acted": {"ccl-1-proj": "youvehit"}, "last_decision": null}
}"#;

/// Every path to a value in `v`, as keys and indices.
fn paths(v: &serde_json::Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                at.push(k.clone());
                paths(x, at, out);
                at.pop();
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(i.to_string());
                paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        any::<String>().prop_map(serde_json::Value::from),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!("9999-12-31T23:59:59Z")),
        Just(serde_json::json!("-009999-01-01T00:00:00Z")),
    ]
}

fn load_state(dir: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = dir.join("state.json");
    std::fs::write(&path, bytes).unwrap();
    if let Err(e) = State::load(&path) {
        let msg = format!("{e:#}");
        prop_assert!(msg.contains(&path.display().to_string()), "{msg}");
        // Never replaced: the file is as it was.
        prop_assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn the_config_loader_never_panics_and_its_errors_name_the_file(text in any::<String>()) {
        if let Err(msg) = parse_config(&text) {
            prop_assert!(msg.starts_with(CONFIG_PATH), "{msg}");
        }
    }

    #[test]
    fn an_edited_example_config_loads_or_says_what_is_wrong(edits in prop::collection::vec(edit(), 1..6)) {
        let text = apply(EXAMPLE, &edits);
        if let Err(msg) = parse_config(&text) {
            prop_assert!(msg.starts_with(CONFIG_PATH) && msg.contains("problem"), "{msg}");
            prop_assert!(msg.lines().count() >= 2, "no problem listed: {msg}");
        }
    }

    #[test]
    fn a_valid_config_reads_back_what_was_written(c in chosen()) {
        let text = render(&c);
        let got = parse_config(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let names: Vec<&str> = got.accounts.iter().map(|a| a.name.as_str()).collect();
        prop_assert_eq!(names, c.accounts.iter().map(String::as_str).collect::<Vec<_>>());
        for a in &got.accounts {
            prop_assert_eq!(&a.home, &PathBuf::from(format!("/home/op/.claude-{}", a.name)));
        }
        prop_assert_eq!(&got.pool.prefix, &c.prefix);
        prop_assert_eq!((got.pool.start_index, got.pool.min, got.pool.max), (c.start_index, c.min, c.max));
        let dedicated: Vec<&str> = got.pool.dedicated.iter().map(|d| d.name.as_str()).collect();
        prop_assert_eq!(dedicated, c.dedicated.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(got.quota.cooldown.as_secs(), c.cooldown_minutes * 60);
        prop_assert_eq!((got.quota.capture_lines, got.quota.confirm_polls), (c.capture_lines, c.confirm_polls));
        prop_assert_eq!(got.pool_names().len(), c.max as usize);
    }

    #[test]
    fn the_state_loader_never_panics_on_bytes_and_names_the_file(
        bytes in prop::collection::vec(any::<u8>(), 0..512)
    ) {
        let dir = tempfile::tempdir().unwrap();
        load_state(dir.path(), &bytes)?;
    }

    #[test]
    fn a_state_with_one_value_changed_loads_or_names_the_file(
        pick in any::<usize>(),
        leaf in json_leaf(),
    ) {
        let mut v: serde_json::Value = serde_json::from_str(STATE).unwrap();
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        let path = &all[pick % all.len()];
        let mut slot = &mut v;
        for k in path {
            slot = match slot {
                serde_json::Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
                other => &mut other[k.as_str()],
            };
        }
        *slot = leaf;
        let dir = tempfile::tempdir().unwrap();
        load_state(dir.path(), &serde_json::to_vec(&v).unwrap())?;
    }

    #[test]
    fn task_front_matter_never_panics_and_errors_are_sentences(
        bytes in prop::collection::vec(any::<u8>(), 0..512)
    ) {
        if let Err(e) = frontmatter::parse(&bytes) {
            prop_assert!(!e.is_empty());
        }
    }

    #[test]
    fn task_front_matter_from_yaml_pieces_keeps_the_prompt_verbatim(
        yaml in prop::collection::vec(yaml_piece(), 0..8),
        prompt in "[^\u{0}]{0,40}",
    ) {
        let text = format!("---\n{}\n---\n{prompt}", yaml.join("\n"));
        match frontmatter::parse(text.as_bytes()) {
            Ok(task) => prop_assert!(text.ends_with(&task.prompt) && !task.prompt.trim().is_empty()),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn valid_task_front_matter_reads_back_what_was_written(
        priority in any::<i64>(),
        minutes in 1u64..10_000,
        model in "[a-z][a-z0-9.-]{0,20}",
        retries in any::<u32>(),
        prompt in "[a-zA-Z0-9][ -~]{0,60}",
    ) {
        let text = format!(
            "---\nproject: ~/src/app\ntimeout: {minutes}m\npriority: {priority}\nmodel: {model}\nretries: {retries}\n---\n{prompt}\n"
        );
        let task = frontmatter::parse(text.as_bytes()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(task.meta.priority, Some(priority));
        prop_assert_eq!(task.meta.timeout.map(|d| d.0.as_secs()), Some(minutes * 60));
        prop_assert_eq!(task.meta.model.as_deref(), Some(model.as_str()));
        prop_assert_eq!(task.meta.retries, Some(retries));
        prop_assert_eq!(task.prompt, format!("{prompt}\n"));
    }
}

/// Hook input: arbitrary bytes, or JSON objects with the fields Claude Code sends set to
/// odd values (paths that climb out, huge numbers, wrong types).
fn hook_input() -> impl Strategy<Value = Vec<u8>> {
    let odd = prop_oneof![
        json_leaf(),
        prop::sample::select(vec![
            "../../../../etc/passwd",
            "/etc/shadow",
            "/dev/zero",
            "/proc/self/mem",
            "",
            ".",
            "~",
            "/",
            "a\nb",
            "rate_limit",
            "overloaded",
            "authentication_failed",
        ])
        .prop_map(serde_json::Value::from),
    ];
    let fields = prop::collection::btree_map(
        prop::sample::select(vec![
            "session_id",
            "transcript_path",
            "cwd",
            "hook_event_name",
            "source",
            "error",
            "agent_id",
            "last_assistant_message",
            "rate_limits",
            "model",
        ]),
        odd,
        0..8,
    );
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        fields.prop_map(|m| serde_json::to_vec(&m).unwrap()),
        (any::<f64>(), any::<f64>(), any::<i64>()).prop_map(|(a, b, r)| {
            serde_json::to_vec(&serde_json::json!({
                "rate_limits": {"five_hour": {"used_percentage": a, "resets_at": r},
                                "seven_day": {"used_percentage": b, "resets_at": f64::from(u32::MAX) * 1e9}}
            }))
            .unwrap()
        }),
    ]
}

#[test]
fn any_hook_input_exits_0_and_writes_at_most_one_file_inside_state_dir() {
    let sb = Sandbox::new();
    let state = sb.path("state");
    let spool = state.join("spool");
    let count = |d: &Path| std::fs::read_dir(d).map_or(0, Iterator::count);
    let outside =
        |sb: &Sandbox| crate::hostile::snapshot(sb.home.parent().unwrap(), &[sb.path("state")]);
    let before = outside(&sb);
    let mut runner = proptest::test_runner::TestRunner::new(config(48));
    let events = prop::sample::select(vec!["session-start", "stop-failure", "statusline"]);
    let dirs = prop::sample::select(vec![
        "",
        "../../..",
        "/",
        "/tmp/../etc",
        "\u{1b}[2J",
        "a/b/../../..",
    ]);
    runner
        .run(&(events, dirs, hook_input()), |(event, dir, input)| {
            let spooled = count(&spool);
            let used = count(&state.join("usage"));
            // Input that is not a hook's is warned about and dropped; a panic is not
            // expected.
            let mut run = sb
                .ccf(&["hook", event])
                .stdin(input)
                .stdout_lacks("panicked")
                .stderr_may_have("warning: ccf hook: ");
            if !dir.is_empty() {
                run = run.env("CLAUDE_CONFIG_DIR", dir).env("TMUX_PANE", dir);
            }
            let done = run.run();
            prop_assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
            let new = (count(&spool) - spooled) + (count(&state.join("usage")) - used);
            prop_assert!(new <= 1, "{event}: {new} new files");
            Ok(())
        })
        .unwrap();
    assert_eq!(
        crate::hostile::changes(&before, &outside(&sb)),
        Vec::<String>::new(),
        "a hook wrote outside state_dir"
    );
}
