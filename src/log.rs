//! Diagnostics on stderr: no timestamps (journald adds them), and a `<N>` syslog
//! priority prefix when stderr is the journal stream, so `journalctl -p warning` works.

use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

static VERBOSITY: AtomicU8 = AtomicU8::new(1);
static JOURNAL: OnceLock<bool> = OnceLock::new();

/// 0 = errors only (`-q`), 1 = warnings and notices, 2 = info (`-v`), 3 = debug (`-vv`).
pub fn set_verbosity(v: u8) {
    VERBOSITY.store(v, Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

fn wanted(level: Level) -> bool {
    let v = VERBOSITY.load(Ordering::Relaxed);
    match level {
        Level::Error => true,
        Level::Warning | Level::Notice => v >= 1,
        Level::Info => v >= 2,
        Level::Debug => v >= 3,
    }
}

/// Whether stderr is connected to journald (`$JOURNAL_STREAM` names stderr's device:inode).
fn to_journal() -> bool {
    *JOURNAL.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
            return false;
        };
        let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
            return false;
        };
        stream == format!("{}:{}", meta.dev(), meta.ino())
    })
}

pub fn emit(level: Level, msg: &str) {
    if !wanted(level) {
        return;
    }
    let prefix = if to_journal() {
        format!("<{}>", level as u8)
    } else {
        match level {
            Level::Error => "error: ".to_string(),
            Level::Warning => "warning: ".to_string(),
            _ => String::new(),
        }
    };
    let mut err = std::io::stderr().lock();
    // Each line gets the prefix; what is left of a control character in it (text from
    // outside: a pane, a hook, a server) is escaped and cannot move the terminal.
    for line in msg.lines() {
        let _ = writeln!(err, "{prefix}{}", crate::human::printable(line));
    }
}

pub fn error(msg: &str) {
    emit(Level::Error, msg);
}
pub fn warn(msg: &str) {
    emit(Level::Warning, msg);
}
pub fn notice(msg: &str) {
    emit(Level::Notice, msg);
}
pub fn info(msg: &str) {
    emit(Level::Info, msg);
}
pub fn debug(msg: &str) {
    emit(Level::Debug, msg);
}
