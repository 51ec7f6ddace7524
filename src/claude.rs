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
}
