//! The first pass of loading: YAML into [`schema::File`], collecting every unknown key
//! and type error with its line. serde stops at the first error, so each offending
//! entry is blanked out and the parse goes on, up to [`MAX_PROBLEMS`].

use super::schema;

/// How many problems of a config's keys and types are reported at once.
pub const MAX_PROBLEMS: usize = 50;

/// Deserializes, collecting every unknown key and type error with its position.
pub fn parse_typed(text: &str) -> Result<schema::File, Vec<String>> {
    let mut work: Vec<String> = text.lines().map(str::to_string).collect();
    let mut problems = Vec::new();
    let mut blanked: Vec<String> = Vec::new();
    // Each round blanks one entry, so the number of lines bounds the rounds.
    for _ in 0..=work.len() {
        let err = match serde_yaml::from_str::<schema::File>(&work.join("\n")) {
            Ok(file) if problems.is_empty() => return Ok(file),
            Ok(_) => return Err(problems),
            Err(e) => e,
        };
        let msg = for_people(&strip_location(&err.to_string()));
        // A required key we blanked ourselves is not news to the operator.
        if msg.contains("missing field") && blanked.iter().any(|k| msg.contains(&format!("`{k}`")))
        {
            return Err(problems);
        }
        let Some(loc) = err.location() else {
            problems.push(msg);
            return Err(problems);
        };
        problems.push(format!(
            "line {} column {}: {msg}",
            loc.line(),
            loc.column()
        ));
        // Each round parses the whole file again: past a screenful of problems, stop
        // (a generated file with 20 000 of them took 84 s), and say there may be more.
        if problems.len() >= MAX_PROBLEMS {
            problems.push(format!(
                "… stopped after {MAX_PROBLEMS} problems: fix these, then run ccf validate again"
            ));
            return Err(problems);
        }
        let recoverable = [
            "unknown field",
            "invalid type",
            "invalid value",
            "invalid duration",
        ]
        .iter()
        .any(|k| msg.contains(k));
        match recoverable
            .then(|| blank_entry(&mut work, loc.line() - 1))
            .flatten()
        {
            Some(key) => blanked.push(key),
            None => return Err(problems),
        }
    }
    Err(problems)
}

/// Drops the location `serde_yaml` appends, since we print it in front.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Replaces the Rust type a serde error says it expected (`u32`, `struct Tmux`, `path
/// string`) with what the value is called in YAML; the rest of `msg` is kept.
pub fn for_people(msg: &str) -> String {
    const EXPECTED: &str = ", expected ";
    let Some(i) = msg.rfind(EXPECTED) else {
        return msg.to_string();
    };
    let (head, rust) = (&msg[..i], &msg[i + EXPECTED.len()..]);
    let yaml = match rust {
        "u8" | "u16" | "u32" | "u64" => "a whole number (0 or more)",
        "i8" | "i16" | "i32" | "i64" => "a whole number",
        "f32" | "f64" => "a number",
        "path string" => "a path",
        _ if rust.starts_with("struct ") => "a map",
        _ => return msg.to_string(),
    };
    format!("{head}{EXPECTED}{yaml}")
}

/// Comments out the block-style entry at `line` and its more-indented children; returns
/// its key, or `None` when the line is not a simple `key: …` entry we can safely remove.
fn blank_entry(lines: &mut [String], line: usize) -> Option<String> {
    let text = lines.get(line)?.clone();
    let indent = text.len() - text.trim_start().len();
    let body = text.trim_start().trim_start_matches("- ");
    let key = body.split(':').next()?.trim();
    if key.is_empty() || key.contains(['{', '[', ' ', '#']) || !body.contains(':') {
        return None;
    }
    lines[line] = "#".to_string();
    for l in lines.iter_mut().skip(line + 1) {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if l.len() - t.len() <= indent {
            break;
        }
        *l = "#".to_string();
    }
    Some(key.to_string())
}
