//! Facts about processes read from `/proc`: a pane's environment and start time.

use std::path::Path;

/// The environment of process `pid` (`/proc/<pid>/environ`), to see which account a
/// claude was pinned to by `CLAUDE_CONFIG_DIR`; `None` when it cannot be read.
pub fn process_environ(pid: u32) -> Option<Vec<(String, String)>> {
    let raw = std::fs::read(Path::new("/proc").join(pid.to_string()).join("environ")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter_map(|kv| {
                let s = String::from_utf8_lossy(kv);
                let (k, v) = s.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect(),
    )
}

/// When process `pid` started, in seconds since the Unix epoch, from the start time in
/// `/proc/<pid>/stat` (clock ticks since boot) and `btime` in `/proc/stat`. A banner
/// captured in a session whose claude started after the banner's event is stale.
pub fn process_start(pid: u32) -> Option<i64> {
    let stat =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let ticks: i64 = rest.split(' ').nth(19)?.parse().ok()?;
    let btime: i64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
    Some(btime + ticks / clock_ticks())
}

/// `sysconf(_SC_CLK_TCK)`; 100 on every Linux this runs on (fixed by the kernel ABI for
/// `/proc`), and reading it would need libc.
fn clock_ticks() -> i64 {
    100
}

/// The direct children of `pid`, to find the claude under a pane's shell.
pub fn children(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The full argv of `pid`, to read the `--session-id`/`--resume` a claude was started with.
pub fn process_argv(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// The working directory of `pid`: where a claude's conversation lives.
pub fn process_cwd(pid: u32) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/cwd")).ok()
}

/// The basename of `argv[0]` of `pid`.
pub fn command_name(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv0 = raw.split(|b| *b == 0).next()?;
    let s = String::from_utf8_lossy(argv0);
    Some(s.rsplit('/').next().unwrap_or(&s).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_start_time_and_an_environment() {
        let me = std::process::id();
        let start = process_start(me).unwrap();
        let now = crate::clock::now().unwrap().as_second();
        assert!(start <= now + 1 && start > 1_600_000_000);
        assert!(
            process_environ(me)
                .unwrap()
                .iter()
                .any(|(k, _)| k == "PATH")
        );
    }
}
