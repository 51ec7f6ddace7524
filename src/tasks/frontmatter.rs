//! A task file: optional YAML front matter between `---` lines, then the prompt.
//!
//! Pure: bytes in, [`Task`] or the reason the file can never run out. What needs the
//! world (does `project` exist, is `account` configured) is checked by the caller.

use std::path::PathBuf;

use serde::Deserialize;

use crate::config::schema::Dur;

/// Task files larger than this are refused (1 MiB).
pub const MAX_BYTES: usize = 1 << 20;

/// The options a task's front matter may set. Unknown keys are errors.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Working directory (absolute or `~/…`); default: the pool's `workdir`.
    pub project: Option<PathBuf>,
    /// Kill the task after this long; default: `dispatcher.task_timeout`.
    pub timeout: Option<Dur>,
    /// Higher runs first; default 0.
    pub priority: Option<i64>,
    /// `claude --model`.
    pub model: Option<String>,
    /// Run only on this account.
    pub account: Option<String>,
    /// Times a timed-out task is started again; default: `dispatcher.retries`.
    pub retries: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub meta: Meta,
    /// Everything after the front matter, verbatim.
    pub prompt: String,
}

/// Reads a task file's bytes. The error is a sentence fragment naming the problem.
pub fn parse(bytes: &[u8]) -> Result<Task, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "the file is {} bytes, over the limit of {MAX_BYTES} (1 MiB)",
            bytes.len()
        ));
    }
    // A byte-order mark (some editors write one) would hide the front matter's `---`.
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "the file is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    let (meta, prompt) = split(text)?;
    if let Some(m) = &meta.model
        && (m.is_empty() || m.starts_with('-') || m.chars().any(char::is_whitespace))
    {
        return Err(format!("model {m:?} is not a model name"));
    }
    if prompt.trim().is_empty() {
        return Err("the prompt is empty".into());
    }
    Ok(Task {
        meta,
        prompt: prompt.to_string(),
    })
}

/// Splits off the front matter: it opens with a first line that is exactly `---` and
/// ends at the next such line.
fn split(text: &str) -> Result<(Meta, &str), String> {
    match sections(text)? {
        (None, prompt) => Ok((Meta::default(), prompt)),
        (Some(yaml), prompt) => Ok((meta(yaml)?, prompt)),
    }
}

/// The front matter's YAML text (`None`: the file has none) and the prompt after it.
fn sections(text: &str) -> Result<(Option<&str>, &str), String> {
    let Some(body) = strip_fence(text) else {
        return Ok((None, text));
    };
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']).trim_end() == "---" {
            return Ok((Some(&body[..offset]), &body[offset + line.len()..]));
        }
        offset += line.len();
    }
    Err("the front matter opened by --- on line 1 is never closed by a --- line".into())
}

/// Options set from outside the file (`ccf task add --project/--priority/--timeout`),
/// each as the front matter writes it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Options {
    pub project: Option<String>,
    pub priority: Option<i64>,
    pub timeout: Option<String>,
}

impl Options {
    pub fn is_empty(&self) -> bool {
        *self == Options::default()
    }
}

/// The task file `bytes` with `options` set in its front matter (added, or replacing the
/// file's own value of that key; the other keys keep their order and values, comments
/// go), the prompt untouched. The result is parsed again, so what comes out is a task
/// [`parse`] accepts.
pub fn with_options(bytes: &[u8], options: &Options) -> Result<Vec<u8>, String> {
    use serde_yaml::{Mapping, Value};
    parse(bytes)?;
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let (yaml, prompt) = sections(text)?;
    let mut map = match yaml.map(serde_yaml::from_str::<Value>).transpose() {
        Ok(None | Some(Value::Null)) => Mapping::new(),
        Ok(Some(Value::Mapping(m))) => m,
        Ok(Some(_)) => return Err("front matter: it is not a mapping of keys".into()),
        Err(e) => return Err(format!("front matter: {}", shift(&e))),
    };
    let mut set = |key: &str, value: Value| {
        map.insert(Value::String(key.into()), value);
    };
    if let Some(p) = &options.project {
        set("project", Value::String(p.clone()));
    }
    if let Some(n) = options.priority {
        set("priority", Value::Number(n.into()));
    }
    if let Some(t) = &options.timeout {
        set("timeout", Value::String(t.clone()));
    }
    let yaml = serde_yaml::to_string(&Value::Mapping(map))
        .map_err(|e| format!("front matter: cannot be written: {e}"))?;
    let out = format!("---\n{yaml}---\n{prompt}").into_bytes();
    parse(&out)?;
    Ok(out)
}

fn strip_fence(text: &str) -> Option<&str> {
    let first = text.split_inclusive('\n').next()?;
    (first.trim_end_matches(['\n', '\r']).trim_end() == "---" && first.ends_with('\n'))
        .then(|| &text[first.len()..])
}

fn meta(yaml: &str) -> Result<Meta, String> {
    let value: serde_yaml::Value =
        serde_yaml::from_str(yaml).map_err(|e| format!("front matter: {}", shift(&e)))?;
    if value.is_null() {
        return Ok(Meta::default());
    }
    // Parsed again from the text, so errors name the key and the line.
    serde_yaml::from_str(yaml).map_err(|e| format!("front matter: {}", shift(&e)))
}

/// serde counts lines from the front matter's first line; the file's is one more.
fn shift(e: &serde_yaml::Error) -> String {
    let msg = e.to_string();
    match (e.location(), msg.rfind(" at line ")) {
        (Some(loc), Some(i)) => format!(
            "{} at line {} of the file",
            crate::config::for_people(&msg[..i]),
            loc.line() + 1
        ),
        _ => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_does_not_hide_the_front_matter() {
        let t = parse("\u{feff}---\npriority: 5\n---\ndo it\n".as_bytes()).unwrap();
        assert_eq!(t.meta.priority, Some(5));
        assert_eq!(t.prompt, "do it\n");
    }

    #[test]
    fn a_file_without_front_matter_is_all_prompt() {
        let t = parse(b"fix the login\n---\nnot front matter\n").unwrap();
        assert_eq!(t.meta, Meta::default());
        assert_eq!(t.prompt, "fix the login\n---\nnot front matter\n");
    }

    #[test]
    fn front_matter_sets_options_and_the_rest_is_the_prompt_verbatim() {
        let t = parse(
            b"---\nproject: ~/src/app\ntimeout: 30m\npriority: 5\nmodel: opus\naccount: compte2\nretries: 1\n---\n  do it; $(now)\n",
        )
        .unwrap();
        assert_eq!(t.meta.project, Some(PathBuf::from("~/src/app")));
        assert_eq!(t.meta.timeout.unwrap().0.as_secs(), 1800);
        assert_eq!(t.meta.priority, Some(5));
        assert_eq!(t.meta.model.as_deref(), Some("opus"));
        assert_eq!(t.meta.account.as_deref(), Some("compte2"));
        assert_eq!(t.meta.retries, Some(1));
        assert_eq!(t.prompt, "  do it; $(now)\n");
    }

    #[test]
    fn empty_front_matter_and_crlf_fences_are_accepted() {
        assert_eq!(parse(b"---\n---\nhi").unwrap().prompt, "hi");
        let t = parse(b"---\r\npriority: 2\r\n---\r\nhi\r\n").unwrap();
        assert_eq!((t.meta.priority, t.prompt.as_str()), (Some(2), "hi\r\n"));
        assert_eq!(
            parse(b"---\n# nothing\n---\nhi").unwrap().meta,
            Meta::default()
        );
    }

    #[test]
    fn options_are_added_to_the_front_matter_or_replace_its_own_and_the_prompt_stays_verbatim() {
        let options = Options {
            project: Some("/srv/app".into()),
            priority: Some(-3),
            timeout: Some("1h 30m".into()),
        };
        let out = with_options(b"fix it\n---\nnot front matter\n", &options).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "---\nproject: /srv/app\npriority: -3\ntimeout: 1h 30m\n---\nfix it\n---\nnot front matter\n"
        );
        let out = with_options(
            b"---\nmodel: opus # mine\npriority: 1\n---\n  do it\r\n",
            &Options {
                priority: Some(7),
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "---\nmodel: opus\npriority: 7\n---\n  do it\r\n"
        );
        assert_eq!(parse(&out).unwrap().meta.priority, Some(7));
        let odd = Options {
            project: Some("~/a: b # c".into()),
            ..Options::default()
        };
        let t = parse(&with_options(b"---\n---\nhi", &odd).unwrap()).unwrap();
        assert_eq!(t.meta.project, Some(PathBuf::from("~/a: b # c")));
        assert_eq!(t.prompt, "hi");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 500,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x00cc_f018),
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        /// Whatever file dispatch accepts, options give a file dispatch accepts, with the
        /// options set, every other key as it was and the prompt byte for byte.
        #[test]
        fn options_keep_every_runnable_file_runnable_and_its_prompt_verbatim(
            keys in proptest::sample::subsequence(
                vec!["project: ~/a", "priority: 2", "timeout: 5m", "model: opus", "account: x", "retries: 1", "# note"],
                0..=7,
            ),
            fenced in proptest::bool::ANY,
            prompt in "(---\r?\n|[ -~\n\r\t\u{e9}\u{2014}]){0,60}",
            priority in proptest::option::of(proptest::num::i64::ANY),
            project in proptest::option::of("[~/][ -~]{0,20}"),
        ) {
            let text = if fenced {
                format!("---\n{}\n---\n{prompt}", keys.join("\n"))
            } else {
                prompt.clone()
            };
            let Ok(before) = parse(text.as_bytes()) else { return Ok(()) };
            let options = Options { project: project.clone(), priority, timeout: None };
            let after = parse(&with_options(text.as_bytes(), &options).unwrap()).unwrap();
            proptest::prop_assert_eq!(&after.prompt, &before.prompt);
            proptest::prop_assert_eq!(after.meta.priority, priority.or(before.meta.priority));
            proptest::prop_assert_eq!(
                after.meta.project,
                project.map(PathBuf::from).or(before.meta.project)
            );
            proptest::prop_assert_eq!(after.meta.timeout, before.meta.timeout);
            proptest::prop_assert_eq!(after.meta.model, before.meta.model);
            proptest::prop_assert_eq!(after.meta.account, before.meta.account);
            proptest::prop_assert_eq!(after.meta.retries, before.meta.retries);
        }
    }

    #[test]
    fn options_never_rescue_a_file_that_cannot_run() {
        let options = Options {
            priority: Some(1),
            ..Options::default()
        };
        assert!(
            with_options(b"---\nprojet: /x\n---\nhi", &options)
                .unwrap_err()
                .contains("unknown field `projet`")
        );
        assert!(
            with_options(b"---\n---\n", &options)
                .unwrap_err()
                .contains("prompt is empty")
        );
        let bad_timeout = Options {
            timeout: Some("soon".into()),
            ..Options::default()
        };
        assert!(
            with_options(b"hi", &bad_timeout)
                .unwrap_err()
                .contains("invalid duration")
        );
    }

    #[test]
    fn every_bad_file_names_its_problem() {
        let cases: &[(&[u8], &str)] = &[
            (b"---\nprojet: /x\n---\nhi", "unknown field `projet`"),
            (
                b"---\npriority: high\n---\nhi",
                "priority: invalid type: string \"high\", expected a whole number at line 2",
            ),
            (
                b"---\nretries: -1\n---\nhi",
                "retries: invalid type: integer `-1`, expected a whole number (0 or more)",
            ),
            (b"---\ntimeout: soon\n---\nhi", "invalid duration"),
            (b"---\nproject: [\n---\nhi", "front matter"),
            (b"---\nproject: /x\nhi", "never closed"),
            (b"\xff\xfehello", "not UTF-8"),
            (b"---\n---\n  \n", "prompt is empty"),
            (b"---\nmodel: --evil\n---\nhi", "not a model name"),
        ];
        for (bytes, want) in cases {
            let err = parse(bytes).unwrap_err();
            assert!(
                err.contains(want),
                "{:?}: {err}",
                String::from_utf8_lossy(bytes)
            );
        }
        let big = vec![b'a'; MAX_BYTES + 1];
        assert!(parse(&big).unwrap_err().contains("over the limit"));
    }
}
