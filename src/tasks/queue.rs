//! The queue directories and every move between them.
//!
//! `queue_dir/inbox/<stem>.md` waits; dispatch claims it by renaming it into `running/`
//! (under the state lock, so two runs never claim one task) and writes
//! `running/<stem>.run.json`; the wrapper adds `<stem>.pid` and, when claude exits,
//! `<stem>.result.json`. A finished task moves to `done/` or `failed/` keeping its stem,
//! with its result (and for a failure a one-line `<stem>.reason`) beside it. Dot-files
//! are never tasks (editors and `inbox/.name.tmp` writers use them).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use jiff::Timestamp;

use super::record::{TaskRecord, TaskResult};

pub const INBOX: &str = "inbox";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone)]
pub struct Queue {
    pub root: PathBuf,
}

/// A task file waiting in `inbox/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub name: String,
    pub queued_at: Timestamp,
}

/// A task file in `running/`, with what lies beside it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub name: String,
    /// `None`: no record (a dispatch died between claim and record); `Err`: unreadable.
    pub record: Option<Result<TaskRecord, String>>,
    pub result: Option<Result<TaskResult, String>>,
    pub pid: Option<u32>,
}

/// A task in `done/` or `failed/`.
#[derive(Debug, Clone)]
pub struct Finished {
    pub name: String,
    /// When it was settled (its file's mtime, set then).
    pub finished_at: Timestamp,
    /// The first line of `<stem>.reason` (a failed task).
    pub reason: Option<String>,
    pub result: Option<Result<TaskResult, String>>,
}

/// Whether `name` can be a task file name: `<something>.md`, not a dot-file, no `/`.
#[expect(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "task files end in .md exactly; anything else in the inbox is not a task"
)]
pub fn is_task_name(name: &str) -> bool {
    name.len() > 3 && name.ends_with(".md") && !name.starts_with('.') && !name.contains('/')
}

/// The stem of a task file name (`fix-login` for `fix-login.md`).
pub fn stem(name: &str) -> &str {
    name.strip_suffix(".md").unwrap_or(name)
}

impl Queue {
    pub fn new(root: &Path) -> Queue {
        Queue {
            root: root.to_path_buf(),
        }
    }

    pub fn dir(&self, which: &str) -> PathBuf {
        self.root.join(which)
    }

    /// Creates the four directories (0700) when missing.
    pub fn ensure(&self) -> Result<()> {
        for d in [INBOX, RUNNING, DONE, FAILED] {
            crate::fsutil::ensure_private_dir(&self.dir(d))?;
        }
        Ok(())
    }

    pub fn task_path(&self, which: &str, name: &str) -> PathBuf {
        self.dir(which).join(name)
    }

    pub fn record_path(&self, name: &str) -> PathBuf {
        self.dir(RUNNING).join(format!("{}.run.json", stem(name)))
    }

    pub fn result_path(&self, name: &str) -> PathBuf {
        self.dir(RUNNING)
            .join(format!("{}.result.json", stem(name)))
    }

    pub fn pid_path(&self, name: &str) -> PathBuf {
        self.dir(RUNNING).join(format!("{}.pid", stem(name)))
    }

    /// The task files in `inbox/`, unsorted. Names that are not UTF-8 cannot be passed
    /// on safely: they are logged and left.
    pub fn inbox(&self) -> Result<Vec<Waiting>> {
        Ok(task_files(&self.dir(INBOX))?
            .into_iter()
            .map(|(name, mtime)| Waiting {
                name,
                queued_at: to_timestamp(mtime),
            })
            .collect())
    }

    /// How many tasks `which` holds: the files the dispatcher would take for tasks (what
    /// `status` counts must be what the queue sees).
    pub fn count(&self, which: &str) -> usize {
        task_files(&self.dir(which)).map_or(0, |t| t.len())
    }

    /// The task files in `running/` with their record, result and pid.
    pub fn claimed(&self) -> Result<Vec<Claimed>> {
        let mut out = Vec::new();
        for (name, _) in task_files(&self.dir(RUNNING))? {
            let record = read_json(&self.record_path(&name));
            let result = read_json(&self.result_path(&name));
            let pid = fs::read_to_string(self.pid_path(&name))
                .ok()
                .and_then(|s| s.trim().parse().ok());
            out.push(Claimed {
                name,
                record,
                result,
                pid,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Moves `inbox/<name>` into `running/`. `false` when `running/` already holds a
    /// task of that name (it stays in the inbox until that one is finished).
    pub fn claim(&self, name: &str) -> Result<bool> {
        let to = self.task_path(RUNNING, name);
        if to.exists() {
            return Ok(false);
        }
        let from = self.task_path(INBOX, name);
        fs::rename(&from, &to)
            .with_context(|| format!("failed to claim {} into {}", from.display(), to.display()))?;
        Ok(true)
    }

    pub fn read_record(&self, name: &str) -> Result<TaskRecord> {
        let path = self.record_path(name);
        match read_json(&path) {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => anyhow::bail!("{e}"),
            None => anyhow::bail!("task {name} has no record {}", path.display()),
        }
    }

    pub fn write_record(&self, record: &TaskRecord) -> Result<()> {
        write_json(&self.record_path(&record.task), record)
    }

    pub fn write_result(&self, result: &TaskResult) -> Result<()> {
        write_json(&self.result_path(&result.task), result)
    }

    /// Removes the result and pid of a run, keeping the task and its record (a task
    /// that waits to run again).
    pub fn clear_run(&self, name: &str) -> Result<()> {
        remove_if_present(&self.result_path(name))?;
        remove_if_present(&self.pid_path(name))
    }

    /// Puts a claimed task back into `inbox/` and forgets its run. When the inbox meanwhile
    /// got a new file of that name, the old one comes back under a free name.
    pub fn requeue(&self, name: &str) -> Result<String> {
        let back = free_name(&self.dir(INBOX), stem(name), &[".md"]);
        let to = self.task_path(INBOX, &back);
        let from = self.task_path(RUNNING, name);
        fs::rename(&from, &to).with_context(|| {
            format!("failed to move {} back to {}", from.display(), to.display())
        })?;
        self.clear_run(name)?;
        remove_if_present(&self.record_path(name))?;
        Ok(back)
    }

    /// Moves a claimed task, with its result, to `done/` or `failed/` under its own stem
    /// when free (else `<stem>~2`, …), writes `reason` beside it when given, and touches
    /// the task so pruning counts from its end. Returns the task's new path.
    pub fn finish(
        &self,
        name: &str,
        which: &str,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<PathBuf> {
        let from = self.task_path(RUNNING, name);
        self.settle(&from, name, which, reason, true, now)
    }

    /// Moves an inbox file that can never run to `failed/` with its reason.
    pub fn reject(&self, name: &str, reason: &str, now: Timestamp) -> Result<PathBuf> {
        let from = self.task_path(INBOX, name);
        self.settle(&from, name, FAILED, Some(reason), false, now)
    }

    /// The directory holding a task file of that name, if one does (a link or a FIFO
    /// counts: it is not followed).
    pub fn locate(&self, name: &str) -> Option<&'static str> {
        [INBOX, RUNNING, DONE, FAILED]
            .into_iter()
            .find(|d| fs::symlink_metadata(self.task_path(d, name)).is_ok())
    }

    /// Writes a new task into `inbox/` in one step: a dot-file beside the inbox (in the
    /// queue's root, so the inbox's path unit sees no half-written file and no second
    /// event; in the inbox itself when the root is another file system) is written,
    /// synced, then renamed to `inbox/<name>` without replacing anything there.
    pub fn add(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        use std::io::Write as _;
        use std::os::unix::fs::MetadataExt as _;
        let inbox = self.dir(INBOX);
        let same_fs = |a: &Path, b: &Path| matches!((fs::metadata(a), fs::metadata(b)), (Ok(x), Ok(y)) if x.dev() == y.dev());
        let tmp_dir = if same_fs(&self.root, &inbox) {
            self.root.clone()
        } else {
            inbox.clone()
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", stem(name)))
            .suffix(".tmp")
            .tempfile_in(&tmp_dir)
            .with_context(|| format!("failed to create a temp file in {}", tmp_dir.display()))?;
        tmp.write_all(bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .with_context(|| format!("failed to write {}", tmp.path().display()))?;
        let to = inbox.join(name);
        // Closed before it moves: closing it in the inbox would be a second event.
        let tmp = tmp.into_temp_path();
        tmp.persist_noclobber(&to).map_err(|e| {
            let why = if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow::anyhow!("a task named {name} appeared in inbox/ meanwhile")
            } else {
                anyhow::Error::new(e.error)
            };
            why.context(format!("failed to move the new task to {}", to.display()))
        })?;
        crate::fsutil::sync_dir(&inbox)?;
        Ok(to)
    }

    /// Puts a task from `failed/` back into `inbox/` (one rename: one event for the
    /// path unit), queued as of `now`, and removes its reason and result. `false` when
    /// the inbox or `running/` holds a task of that name (nothing moves).
    pub fn retry(&self, name: &str, now: Timestamp) -> Result<bool> {
        if [INBOX, RUNNING]
            .iter()
            .any(|d| fs::symlink_metadata(self.task_path(d, name)).is_ok())
        {
            return Ok(false);
        }
        let from = self.task_path(FAILED, name);
        let to = self.task_path(INBOX, name);
        crate::fsutil::ensure_private_dir(&self.dir(INBOX))?;
        // Touched before it moves: in the inbox, that would be a second event.
        touch(&from, now);
        fs::rename(&from, &to)
            .with_context(|| format!("failed to move {} to {}", from.display(), to.display()))?;
        crate::fsutil::sync_dir(&self.dir(INBOX))?;
        let failed = self.dir(FAILED);
        remove_if_present(&failed.join(format!("{}.reason", stem(name))))?;
        remove_if_present(&failed.join(format!("{}.result.json", stem(name))))?;
        Ok(true)
    }

    /// The tasks in `done/` or `failed/`, oldest end first, each with its reason's first
    /// line and its result.
    pub fn finished(&self, which: &str) -> Result<Vec<Finished>> {
        let dir = self.dir(which);
        let mut out: Vec<Finished> = task_files(&dir)?
            .into_iter()
            .map(|(name, mtime)| {
                let s = stem(&name).to_string();
                let reason = crate::fsutil::read_bounded(&dir.join(format!("{s}.reason")), 4096)
                    .ok()
                    .map(|b| super::record::first_line(&String::from_utf8_lossy(&b)).to_string());
                Finished {
                    result: read_json(&dir.join(format!("{s}.result.json"))),
                    finished_at: to_timestamp(mtime),
                    reason,
                    name,
                }
            })
            .collect();
        out.sort_by(|a, b| (a.finished_at, &a.name).cmp(&(b.finished_at, &b.name)));
        Ok(out)
    }

    /// Settles a task into `which`, crash-safe: the reason and a hard link of the result
    /// go in first, then the task file (the commit point), then what is left in
    /// `running/` goes. A run killed before the task file moved leaves it claimed, and
    /// the next settle reuses the same name, over its own leftovers; killed after, it
    /// leaves only `running/` files without a task, which [`Queue::sweep`] removes.
    fn settle(
        &self,
        from: &Path,
        name: &str,
        which: &str,
        reason: Option<&str>,
        claimed: bool,
        now: Timestamp,
    ) -> Result<PathBuf> {
        let dir = self.dir(which);
        crate::fsutil::ensure_private_dir(&dir)?;
        // Only a task file makes a name taken: a result or reason without one is what a
        // killed settle of this very task left.
        let s = free_name(&dir, stem(name), &[".md"]);
        let s = stem(&s).to_string();
        let to = dir.join(format!("{s}.md"));
        let reason_path = dir.join(format!("{s}.reason"));
        match reason {
            Some(r) => {
                crate::fsutil::write_atomic(&reason_path, format!("{r}\n").as_bytes(), 0o600)?;
            }
            None => remove_if_present(&reason_path)?,
        }
        crate::fault::point("settle-reason");
        let dest = dir.join(format!("{s}.result.json"));
        remove_if_present(&dest)?;
        if claimed {
            let result = self.result_path(name);
            if result.exists() {
                fs::hard_link(&result, &dest).with_context(|| {
                    format!("failed to link {} to {}", result.display(), dest.display())
                })?;
            }
        }
        crate::fault::point("settle-result");
        fs::rename(from, &to)
            .with_context(|| format!("failed to move {} to {}", from.display(), to.display()))?;
        touch(&to, now);
        crate::fault::point("settle-task");
        if claimed {
            self.forget_run(name)?;
        }
        crate::fsutil::sync_dir(&dir)?;
        Ok(to)
    }

    /// Removes the result, record and pid of a run whose task file left `running/`.
    fn forget_run(&self, name: &str) -> Result<()> {
        remove_if_present(&self.result_path(name))?;
        remove_if_present(&self.record_path(name))?;
        remove_if_present(&self.pid_path(name))
    }

    /// Removes what a run killed mid-settle left in `running/`: results, records and
    /// pids whose task file is gone (it is in `done/` or `failed/`). Returns the stems.
    pub fn sweep(&self) -> Result<Vec<String>> {
        let dir = self.dir(RUNNING);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut gone = Vec::new();
        for e in entries.filter_map(Result::ok) {
            let file = e.file_name();
            let Some(file) = file.to_str() else { continue };
            let Some(s) = [".result.json", ".run.json", ".pid"]
                .iter()
                .find_map(|suffix| file.strip_suffix(suffix))
            else {
                continue;
            };
            let task = format!("{s}.md");
            if !dir.join(&task).exists() && !gone.contains(&s.to_string()) {
                self.forget_run(&task)?;
                gone.push(s.to_string());
            }
        }
        Ok(gone)
    }

    /// Files in `done/` and `failed/` whose task finished before `cutoff`, grouped by
    /// task: a task's result and reason go with it.
    pub fn prunable(&self, cutoff: Timestamp) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for which in [DONE, FAILED] {
            let dir = self.dir(which);
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            let files: Vec<(String, Timestamp)> = entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let meta = e.metadata().ok()?;
                    let mtime = to_timestamp(meta.modified().ok()?);
                    (!name.starts_with('.') && meta.is_file()).then_some((name, mtime))
                })
                .collect();
            for (name, mtime) in &files {
                // A task's files go when its .md goes; a file without a task by its own age.
                let owner = [".result.json", ".reason"]
                    .iter()
                    .find_map(|suf| name.strip_suffix(suf))
                    .map(|s| format!("{s}.md"));
                let age_of = match &owner {
                    Some(md) => files
                        .iter()
                        .find(|(n, _)| n == md)
                        .map_or(*mtime, |(_, t)| *t),
                    None => *mtime,
                };
                if age_of < cutoff {
                    out.push(dir.join(name));
                }
            }
        }
        out.sort();
        out
    }
}

/// Non-dot regular files ending in `.md`, with their mtime.
fn task_files(dir: &Path) -> Result<Vec<(String, SystemTime)>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("failed to list {}", dir.display())),
    };
    let mut out = Vec::new();
    for e in entries.filter_map(Result::ok) {
        let raw = e.file_name();
        let Some(name) = raw.to_str() else {
            crate::log::warn(&format!(
                "{}: the file name is not UTF-8; rename it to queue it",
                e.path().display()
            ));
            continue;
        };
        if !is_task_name(name) {
            continue;
        }
        // Not followed: a symlink (or a FIFO, a device) is listed as what it is, and
        // vetting rejects it without opening it.
        let Ok(meta) = fs::symlink_metadata(e.path()) else {
            continue;
        };
        if !meta.is_dir() {
            out.push((
                name.to_string(),
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            ));
        }
    }
    Ok(out)
}

/// `stem` + the first of `""`, `~2`, `~3`, … for which no `stem + suffix` exists in
/// `dir`; returned with `.md`.
fn free_name(dir: &Path, stem: &str, suffixes: &[&str]) -> String {
    let taken = |s: &str| {
        suffixes
            .iter()
            .any(|suf| dir.join(format!("{s}{suf}")).exists())
    };
    let mut candidate = stem.to_string();
    let mut n = 2;
    while taken(&candidate) {
        candidate = format!("{stem}~{n}");
        n += 1;
    }
    format!("{candidate}.md")
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<Result<T, String>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(format!("cannot read {}: {e}", path.display()))),
    };
    Some(
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} does not parse: {e}", path.display())),
    )
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).context("failed to serialize a task file")?;
    bytes.push(b'\n');
    crate::fsutil::write_atomic(path, &bytes, 0o600)
}

pub fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("failed to remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Sets a file's mtime to the wall clock; failing only delays its pruning.
/// Sets `path`'s mtime to `now` (the run's clock); never through a symlink (it would
/// touch the target).
fn touch(path: &Path, now: Timestamp) {
    if fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) {
        return;
    }
    let _ = fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::from(now)));
}

fn to_timestamp(t: SystemTime) -> Timestamp {
    Timestamp::try_from(t).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_of_the_files_the_queue_would_take() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        q.ensure().unwrap();
        for name in [
            "a.md",
            "b.md",
            ".hidden.md",
            ".x.tmp",
            "notes.txt",
            "c.md.tmp",
        ] {
            fs::write(q.task_path(INBOX, name), "go").unwrap();
        }
        fs::create_dir(q.task_path(INBOX, "dir.md")).unwrap();
        let listed: Vec<String> = q.inbox().unwrap().into_iter().map(|w| w.name).collect();
        assert_eq!(q.count(INBOX), 2, "{listed:?}");
        assert_eq!(listed.len(), q.count(INBOX));
        assert_eq!(q.count(DONE), 0);
    }

    #[test]
    fn a_finished_task_keeps_its_stem_and_a_second_one_of_that_name_gets_a_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        q.ensure().unwrap();
        for round in 0..2 {
            fs::write(q.task_path(INBOX, "fix.md"), "go").unwrap();
            assert!(q.claim("fix.md").unwrap());
            fs::write(q.result_path("fix.md"), "{}").unwrap();
            let to = q
                .finish(
                    "fix.md",
                    DONE,
                    None,
                    Timestamp::from_second(1_800_000_000).unwrap(),
                )
                .unwrap();
            let want = if round == 0 { "fix.md" } else { "fix~2.md" };
            assert_eq!(to, q.dir(DONE).join(want));
        }
        let mut names: Vec<String> = fs::read_dir(q.dir(DONE))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["fix.md", "fix.result.json", "fix~2.md", "fix~2.result.json"]
        );
        assert_eq!(fs::read_dir(q.dir(RUNNING)).unwrap().count(), 0);
    }

    #[test]
    fn a_claim_never_replaces_a_running_task_of_the_same_name() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        q.ensure().unwrap();
        fs::write(q.task_path(RUNNING, "t.md"), "old").unwrap();
        fs::write(q.task_path(INBOX, "t.md"), "new").unwrap();
        assert!(!q.claim("t.md").unwrap());
        assert_eq!(
            fs::read_to_string(q.task_path(RUNNING, "t.md")).unwrap(),
            "old"
        );
        assert_eq!(q.requeue("t.md").unwrap(), "t~2.md");
    }

    #[test]
    fn an_added_task_never_replaces_one_in_the_inbox_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        q.ensure().unwrap();
        assert_eq!(q.add("t.md", b"first").unwrap(), q.task_path(INBOX, "t.md"));
        let err = format!("{:#}", q.add("t.md", b"second").unwrap_err());
        assert!(
            err.contains("a task named t.md appeared in inbox/ meanwhile"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(q.task_path(INBOX, "t.md")).unwrap(),
            "first"
        );
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [DONE, FAILED, INBOX, RUNNING]);
        assert_eq!(q.locate("t.md"), Some(INBOX));
        assert_eq!(q.locate("u.md"), None);
    }

    #[test]
    fn dot_files_and_other_extensions_are_not_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        q.ensure().unwrap();
        for n in [".t.md.tmp", ".hidden.md", "notes.txt", "real.md"] {
            fs::write(q.task_path(INBOX, n), "x").unwrap();
        }
        let names: Vec<String> = q.inbox().unwrap().into_iter().map(|w| w.name).collect();
        assert_eq!(names, ["real.md"]);
    }
}
