//! File-system primitives that must not leave anything half-done: atomic writes and
//! atomic symlink replacement; and a bounded read of a file's end.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Writes `bytes` to `path` atomically: a temp file in the same directory, fsync,
/// rename over `path`, fsync the directory (which `tempfile`'s `persist` does not do).
/// Readers see the old content or the new, never a mix; the file gets `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = parent(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temp file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("failed to write {}", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("failed to rename a temp file over {}", path.display()))?;
    sync_dir(dir)
}

/// Makes a rename or creation in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("failed to sync directory {}", dir.display()))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// What is at a path, without following a final symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Missing,
    Symlink(PathBuf),
    Dir,
    File,
}

pub fn entry(path: &Path) -> io::Result<Entry> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Entry::Missing),
        Err(e) => Err(e),
        Ok(m) if m.file_type().is_symlink() => Ok(Entry::Symlink(fs::read_link(path)?)),
        Ok(m) if m.is_dir() => Ok(Entry::Dir),
        Ok(_) => Ok(Entry::File),
    }
}

/// Points the symlink `link` at `target` atomically: a new symlink under a temp name,
/// then `rename` over the old one, so `link` is never missing. Anything at `link` that is
/// not a symlink is an error and is left alone (rename over a directory fails anyway).
pub fn replace_symlink(link: &Path, target: &Path) -> Result<()> {
    match entry(link).with_context(|| format!("failed to inspect {}", link.display()))? {
        Entry::Missing | Entry::Symlink(_) => {}
        Entry::Dir => bail!(
            "{} is a real directory, not a symlink: move it aside (e.g. mv {0} {0}.pre-ccf) and run ccf ensure-symlinks",
            link.display()
        ),
        Entry::File => bail!(
            "{} is a regular file, not a symlink: move it aside",
            link.display()
        ),
    }
    let dir = parent(link);
    let name = link
        .file_name()
        .map_or_else(|| "link".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.ccf-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("failed to create symlink {}", tmp.display()))?;
    if let Err(e) = fs::rename(&tmp, link) {
        let _ = fs::remove_file(&tmp);
        return Err(e)
            .with_context(|| format!("failed to rename a new symlink over {}", link.display()));
    }
    sync_dir(dir)
}

/// Creates `dir` and its parents with mode 0700 for the directories it creates.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("failed to create directory {}", dir.display()))
}

/// Creates one of ccf's own directories (state, spool, usage, outbox, queue; parents
/// 0700) and makes sure no one else can write it: one others can write is tightened to
/// 0700, said on stderr; one another user owns is refused.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    create_private_dir(dir)?;
    tighten(dir)
}

/// [`ensure_private_dir`]'s check alone, for a directory that may not exist yet.
pub fn tighten(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let Ok(meta) = fs::metadata(dir) else {
        return Ok(());
    };
    if let Some(why) = loose(&meta) {
        if meta.uid() != own_uid() {
            anyhow::bail!(
                "{} {why}: ccf will not use a directory another user controls; fix its owner",
                dir.display()
            );
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("failed to tighten {}", dir.display()))?;
        crate::log::warn(&format!(
            "tightened {} to mode 700: it {why}",
            dir.display()
        ));
    }
    Ok(())
}

/// What makes a directory of ccf's unsafe: writable by others, or owned by another user.
pub fn loose(meta: &fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let mode = meta.mode() & 0o777;
    if meta.uid() != own_uid() {
        Some(format!("is owned by uid {}, not by you", meta.uid()))
    } else if mode & 0o022 != 0 {
        Some(format!("is writable by other users (mode {mode:o})"))
    } else {
        None
    }
}

/// Whether a file ccf reads as its own input (a spool or usage record, an outbox
/// message) is one: a regular file of this user's, not a link. `Err` says why not.
pub fn own_regular_file(path: &Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if meta.file_type().is_symlink() {
        return Err("it is a symbolic link (never followed)".into());
    }
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.uid() != own_uid() {
        return Err(format!("it is not owned by you (uid {})", meta.uid()));
    }
    Ok(())
}

/// The whole of the file at `path`, when it is a regular file (a link to one is
/// followed) of at most `max` bytes. A FIFO would block, `/dev/zero` never end, and a
/// huge file cost its size in memory: each is an error that says so.
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::other("it is not a regular file"));
    }
    let mut buf = Vec::new();
    File::open(path)?.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(io::Error::other(format!("it is over {max} bytes")));
    }
    Ok(buf)
}

/// How much of a transcript's end is read for its newest rows: an API-error row is
/// small, and a long conversation must not cost a whole read.
pub const TRANSCRIPT_TAIL: u64 = 64 << 10;

/// The last `max` bytes (at most) of the regular file at `path`, as lossy UTF-8 (e.g. a
/// transcript's newest rows); `None` for anything else. Transcript paths come from hook
/// input and the disk: opening a FIFO blocks until a writer comes, and `/dev/zero` never
/// ends, while Claude Code waits for the hook.
pub fn read_tail(path: &Path, max: u64) -> Option<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    if !fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max))).ok()?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// This process's uid: the owner of its own `/proc` entry (no libc call needed).
pub fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "the test makes a FIFO with mkfifo"
    )]
    fn read_tail_reads_only_the_end_of_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.jsonl");
        fs::write(&file, "0123456789").unwrap();
        assert_eq!(read_tail(&file, 4).unwrap(), "6789");
        assert_eq!(read_tail(&file, 100).unwrap(), "0123456789");
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert_eq!(read_tail(&fifo, 4), None, "a FIFO would block");
        assert_eq!(
            read_tail(Path::new("/dev/zero"), 4),
            None,
            "a device never ends"
        );
        assert_eq!(read_tail(dir.path(), 4), None);
    }

    #[test]
    fn write_atomic_replaces_content_and_sets_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    #[test]
    fn replace_symlink_flips_a_link_and_refuses_a_real_directory() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join(".claude");
        replace_symlink(&link, Path::new("/a")).unwrap();
        replace_symlink(&link, Path::new("/b")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("/b"));
        let real = dir.path().join("real");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("keep"), "x").unwrap();
        let err = replace_symlink(&real, Path::new("/a"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a real directory"), "{err}");
        assert!(real.join("keep").exists());
    }
}
