//! What ccf knows of Claude Code's own conventions: the variables it sets for its
//! children, and where an account home keeps a session's transcript and the record of a
//! running process. Every path into an account home that ccf reads is built here.

use std::path::{Path, PathBuf};

/// Variables Claude Code sets for its own children. A claude started with one of them
/// set refuses to run or believes it is a sub-process; tmux's server environment often
/// carries them (the server was started from inside a Claude session), so nothing ccf
/// starts keeps them. `CLAUDE_CONFIG_DIR` is not among them: it is what ccf decides.
pub const CHILD_VARS: &[&str] = &[
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SESSION_ID",
    "CLAUDE_CODE_SSE_PORT",
];

/// `env -u VAR …` for every child variable and `CLAUDE_CONFIG_DIR`: the start of the argv
/// of a claude that ccf launches, before the `CLAUDE_CONFIG_DIR=` it chooses (if any).
/// No shell reads it.
pub fn clean_env_argv() -> Vec<String> {
    let mut argv = vec!["env".to_string()];
    for v in CHILD_VARS.iter().chain(&["CLAUDE_CONFIG_DIR"]) {
        argv.extend(["-u".to_string(), (*v).to_string()]);
    }
    argv
}

/// Claude Code's project directory name for a cwd: every character that is not an ASCII
/// letter or digit becomes `-`.
pub fn slug(cwd: &Path) -> String {
    cwd.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Where an account home keeps the transcripts of sessions started in `cwd`.
pub fn projects_dir(home: &Path, cwd: &Path) -> PathBuf {
    home.join("projects").join(slug(cwd))
}

/// The transcript of session `id`, started in `cwd`, on the account at `home`.
pub fn transcript(home: &Path, cwd: &Path, id: &str) -> PathBuf {
    projects_dir(home, cwd).join(format!("{id}.jsonl"))
}

/// Claude Code's record of a running process, `<home>/sessions/<pid>.json`.
pub fn process_record(home: &Path, pid: u32) -> PathBuf {
    home.join("sessions").join(format!("{pid}.json"))
}

/// Whether `text` is a UUID as Claude Code writes session ids (lowercase hex, dashed).
pub fn is_session_id(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Makes sure a claude on `~/.claude` notices that the link moved from `from` to `to`:
/// Claude Code 2.1.330 re-reads `.credentials.json` only when its mtime differs from the
/// one it read last, and file times have the kernel's coarse resolution (a few ms), so
/// two homes written together (a script's logins, a restore, `cp -a`) can share one. Only
/// then is `to`'s file touched (its mtime set to `now`; the content is not changed).
pub fn distinguish_credentials(
    from: &Path,
    to: &Path,
    now: std::time::SystemTime,
) -> std::io::Result<bool> {
    let (a, b) = (from.join(".credentials.json"), to.join(".credentials.json"));
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(&a), std::fs::metadata(&b)) else {
        return Ok(false);
    };
    if ma.modified()? != mb.modified()? {
        return Ok(false);
    }
    std::fs::File::options()
        .write(true)
        .open(&b)?
        .set_modified(now)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slug_replaces_every_non_alphanumeric_character() {
        assert_eq!(
            slug(Path::new("/home/op/my_proj.v2")),
            "-home-op-my-proj-v2"
        );
        assert_eq!(
            transcript(Path::new("/h"), Path::new("/w/p"), "id"),
            PathBuf::from("/h/projects/-w-p/id.jsonl")
        );
    }

    #[test]
    fn a_launched_claude_sheds_every_child_variable_and_the_config_dir() {
        let argv = clean_env_argv();
        assert_eq!(argv[0], "env");
        let unset: Vec<&str> = argv[1..]
            .chunks(2)
            .map(|w| {
                assert_eq!(w[0], "-u");
                w[1].as_str()
            })
            .collect();
        assert_eq!(unset.len(), CHILD_VARS.len() + 1);
        assert!(unset.contains(&"CLAUDE_CONFIG_DIR") && unset.contains(&"CLAUDECODE"));
    }

    #[test]
    fn credentials_that_share_an_mtime_are_told_apart_and_others_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for d in [&a, &b] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join(".credentials.json"), "{}").unwrap();
        }
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        for d in [&a, &b] {
            std::fs::File::options()
                .write(true)
                .open(d.join(".credentials.json"))
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        let now = t + std::time::Duration::from_secs(60);
        assert!(distinguish_credentials(&a, &b, now).unwrap());
        let mtime = |d: &Path| {
            std::fs::metadata(d.join(".credentials.json"))
                .unwrap()
                .modified()
                .unwrap()
        };
        assert_eq!(mtime(&b), now);
        assert_eq!(
            std::fs::read_to_string(b.join(".credentials.json")).unwrap(),
            "{}"
        );
        // Different already: nothing is touched.
        assert!(!distinguish_credentials(&a, &b, now + std::time::Duration::from_secs(1)).unwrap());
        assert_eq!(mtime(&b), now);
    }
}
