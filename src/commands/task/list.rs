//! `ccf task list [--json]`: every task in the four directories. The inbox in the order
//! dispatch starts it (and why dispatch would reject a file), `running/` as `status`
//! shows it, `done/` and `failed/` oldest first with the result's (or the reason's)
//! first line. A read: no lock, like `status`.

use std::process::ExitCode;

use anyhow::Result;
use jiff::Timestamp;
use serde::Serialize;

use crate::context::Ctx;
use crate::human::printable;
use crate::tasks::bookkeeping::CANCELLED;
use crate::tasks::facts;
use crate::tasks::queue::{DONE, FAILED, INBOX, Queue, RUNNING};
use crate::tasks::record::{TaskResult, first_line};

/// One task as `task list --json` shows it. Field names are a documented contract: add,
/// never rename.
#[derive(Debug, Serialize)]
struct TaskEntry {
    name: String,
    /// The directory: `inbox`, `running`, `done` or `failed`.
    queue: &'static str,
    /// `queued` (inbox); `running`, `finished` or `waiting` (running/, as in `status`);
    /// `done`; `failed` or `cancelled` (failed/).
    state: &'static str,
    /// Queued (inbox), last launched (running/), settled (done/, failed/).
    since: Option<Timestamp>,
    age_secs: Option<i64>,
    /// The front matter's, for an inbox task.
    priority: Option<i64>,
    session: Option<String>,
    account: Option<String>,
    session_id: Option<String>,
    attempt: Option<u32>,
    wait_reason: Option<crate::tasks::record::WaitReason>,
    wait_until: Option<Timestamp>,
    /// done/: the result's first line; failed/: the reason's; inbox: why dispatch would
    /// reject the file.
    summary: Option<String>,
    /// The line for people.
    #[serde(skip)]
    line: String,
}

impl TaskEntry {
    fn new(name: String, queue: &'static str, state: &'static str) -> TaskEntry {
        TaskEntry {
            name,
            queue,
            state,
            since: None,
            age_secs: None,
            priority: None,
            session: None,
            account: None,
            session_id: None,
            attempt: None,
            wait_reason: None,
            wait_until: None,
            summary: None,
            line: String::new(),
        }
    }
}

pub fn run(ctx: &Ctx, json: bool) -> Result<ExitCode> {
    let queue = Queue::new(&ctx.config.dispatcher.queue_dir);
    let entries = entries(ctx, &queue)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        print!("{}", render(&entries));
    }
    Ok(ExitCode::SUCCESS)
}

fn entries(ctx: &Ctx, queue: &Queue) -> Result<Vec<TaskEntry>> {
    let age = |t: Timestamp| ctx.now.as_second() - t.as_second();
    let mut inbox: Vec<TaskEntry> = queue
        .inbox()?
        .into_iter()
        .map(|w| {
            let vetted = facts::vet(ctx, &queue.task_path(INBOX, &w.name));
            let mut e = TaskEntry::new(w.name, INBOX, "queued");
            e.since = Some(w.queued_at);
            e.age_secs = Some(age(w.queued_at));
            match vetted {
                Ok(v) => {
                    let p = v.task.meta.priority.unwrap_or(0);
                    e.priority = Some(p);
                    e.line = format!("priority {p}, queued {}", ago(e.age_secs));
                }
                Err(why) => {
                    e.line = format!("queued {}; dispatch will reject it: {why}", ago(e.age_secs));
                    e.summary = Some(why);
                }
            }
            e
        })
        .collect();
    // Dispatch's order: priority, higher first; then oldest; then name.
    inbox.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.since.cmp(&b.since))
            .then(a.name.cmp(&b.name))
    });
    let mut out = inbox;
    out.extend(
        crate::commands::status::running_views(queue, ctx.now)
            .into_iter()
            .map(|t| {
                let line = crate::commands::status::running_words(&t);
                let mut e = TaskEntry::new(t.task, RUNNING, t.state);
                e.line = line;
                e.since = t.launched_at;
                e.age_secs = t.age_secs;
                e.session = t.session;
                e.account = t.account;
                e.session_id = t.session_id;
                e.attempt = t.attempt;
                e.wait_reason = t.wait_reason;
                e.wait_until = t.wait_until;
                e
            }),
    );
    for which in [DONE, FAILED] {
        for f in queue.finished(which)? {
            let result = f.result.and_then(Result::ok);
            let summary = if which == DONE {
                result
                    .as_ref()
                    .and_then(|r| r.result.as_deref())
                    .map(|t| first_line(t).to_string())
            } else {
                f.reason
                    .clone()
                    .or_else(|| result.as_ref().map(TaskResult::failure_reason))
            };
            let state = match (which, &summary) {
                (DONE, _) => "done",
                (_, Some(s)) if s.starts_with(CANCELLED) => "cancelled",
                _ => "failed",
            };
            let mut e = TaskEntry::new(f.name, which, state);
            e.since = Some(f.finished_at);
            e.age_secs = Some(age(f.finished_at));
            e.line = format!(
                "{}{}",
                ago(e.age_secs),
                summary
                    .as_ref()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default()
            );
            e.summary = summary;
            if let Some(r) = result {
                e.account = Some(r.account);
                e.session_id = Some(r.session_id);
                e.attempt = Some(r.attempt);
            }
            out.push(e);
        }
    }
    Ok(out)
}

/// The list for people: a heading per directory with its count, a line per task.
fn render(entries: &[TaskEntry]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    for which in [INBOX, RUNNING, DONE, FAILED] {
        let these: Vec<&TaskEntry> = entries.iter().filter(|e| e.queue == which).collect();
        let _ = writeln!(o, "{which} ({})", these.len());
        for e in these {
            let _ = writeln!(o, "  {:<24} {}", printable(&e.name), printable(&e.line));
        }
    }
    o
}

/// `3m ago`, from an age in seconds.
fn ago(secs: Option<i64>) -> String {
    secs.map_or_else(
        || "at an unknown time".into(),
        |s| {
            let d = std::time::Duration::from_secs(s.max(0).unsigned_abs());
            format!("{} ago", crate::human::duration(d))
        },
    )
}
