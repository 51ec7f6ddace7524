//! `ccf task add [--project DIR] [--priority N] [--timeout D] [--name N] [--dry-run]
//! [FILE|-]`: a new task in `inbox/`, whole, in one step.
//!
//! The file (or stdin) is checked as dispatch checks it — front matter, project,
//! account — after the options are written into its front matter, so what dispatch
//! would reject is refused here and nothing is written. Without options the bytes are
//! queued as given. No lock: the command only adds a file, as an operator may by hand,
//! and the last step never replaces a task that is there (`Queue::add`).

use std::io::{IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};

use crate::cli::TaskAddArgs;
use crate::context::Ctx;
use crate::tasks::facts;
use crate::tasks::frontmatter::{self, Options};
use crate::tasks::queue::{self, INBOX, Queue};

pub fn run(ctx: &Ctx, args: &TaskAddArgs) -> Result<ExitCode> {
    let file = args.file.as_deref().filter(|f| *f != Path::new("-"));
    let (bytes, from) = read(file)?;
    let refuse = |e: String| anyhow!("{from} cannot run: {e}; nothing was queued");
    let options = options(args)?;
    let bytes = if options.is_empty() {
        frontmatter::parse(&bytes).map(|_| bytes)
    } else {
        frontmatter::with_options(&bytes, &options)
    }
    .map_err(refuse)?;
    let vetted = facts::vet_bytes(ctx, &bytes).map_err(refuse)?;
    let queue = Queue::new(&ctx.config.dispatcher.queue_dir);
    let name = name(&queue, args.name.as_deref(), file, &vetted.task.prompt)?;
    let to = queue.task_path(INBOX, &name);
    let what = format!(
        "{name} (priority {}, timeout {}, in {})",
        vetted.task.meta.priority.unwrap_or(0),
        crate::human::duration(vetted.timeout),
        vetted.cwd.display()
    );
    if args.dry_run {
        println!("would queue {what} as {}", to.display());
        return Ok(ExitCode::SUCCESS);
    }
    queue.ensure()?;
    let to = queue.add(&name, &bytes)?;
    println!("queued {what} as {}", to.display());
    Ok(ExitCode::SUCCESS)
}

/// The task's bytes from `file`, else stdin, and how to name where they came from. At
/// most one byte over the limit is read: a huge input costs nothing.
fn read(file: Option<&Path>) -> Result<(Vec<u8>, String)> {
    let limit = frontmatter::MAX_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    let from = match file {
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                crate::log::notice("reading the task from stdin; end it with Ctrl-D");
            }
            stdin
                .lock()
                .take(limit)
                .read_to_end(&mut bytes)
                .context("failed to read the task from stdin")?;
            "the task on stdin".to_string()
        }
        Some(path) => {
            let f = std::fs::File::open(path)
                .with_context(|| format!("failed to open {}", path.display()))?;
            if f.metadata().is_ok_and(|m| m.is_dir()) {
                bail!("{} is a directory, not a task file", path.display());
            }
            f.take(limit)
                .read_to_end(&mut bytes)
                .with_context(|| format!("failed to read {}", path.display()))?;
            path.display().to_string()
        }
    };
    if bytes.len() > frontmatter::MAX_BYTES {
        bail!(
            "{from} is over the limit of {} bytes (1 MiB); nothing was queued",
            frontmatter::MAX_BYTES
        );
    }
    Ok((bytes, from))
}

/// The command line's options as the front matter writes them; a relative `--project`
/// is taken from the current directory (dispatch accepts only absolute or `~/` ones).
fn options(args: &TaskAddArgs) -> Result<Options> {
    let project = match &args.project {
        None => None,
        Some(p) => {
            let p = if p.is_absolute() || p.starts_with("~") {
                p.clone()
            } else {
                let here = std::env::current_dir()
                    .context("failed to read the current directory for --project")?;
                here.join(p).components().collect::<PathBuf>()
            };
            Some(
                p.to_str()
                    .with_context(|| format!("--project {} is not UTF-8", p.display()))?
                    .to_string(),
            )
        }
    };
    Ok(Options {
        project,
        priority: args.priority,
        timeout: args
            .timeout
            .map(|d| humantime::format_duration(d).to_string()),
    })
}

/// The task's file name: `--name`, else FILE's, each refused when a queue directory
/// holds it; from stdin without `--name`, the prompt's first words, made free with
/// `-2`, `-3`, … (the operator chose no name, so any free one will do).
fn name(queue: &Queue, given: Option<&str>, file: Option<&Path>, prompt: &str) -> Result<String> {
    let chosen = match (given, file) {
        (Some(n), _) => Some((n.to_string(), "--name")),
        (None, Some(f)) => {
            let stem = f.file_stem().and_then(|s| s.to_str()).with_context(|| {
                format!(
                    "{} has no UTF-8 file name; choose one with --name",
                    f.display()
                )
            })?;
            Some((stem.to_string(), "the file's name"))
        }
        (None, None) => None,
    };
    let Some((typed, source)) = chosen else {
        let base = slug(prompt);
        let mut name = format!("{base}.md");
        let mut n = 1;
        while queue.locate(&name).is_some() {
            n += 1;
            name = format!("{base}-{n}.md");
        }
        return Ok(name);
    };
    let name = if queue::is_task_name(&typed) {
        typed.clone()
    } else {
        format!("{typed}.md")
    };
    if !queue::is_task_name(&name) || name.chars().any(char::is_control) {
        bail!(
            "{typed:?} ({source}) cannot name a task: no `/`, no control character, not starting with `.`; choose one with --name"
        );
    }
    if let Some(d) = queue.locate(&name) {
        bail!(
            "a task named {name} is in {d}/ already ({}); choose another with --name",
            queue.task_path(d, &name).display()
        );
    }
    Ok(name)
}

/// A file name from a prompt: the first words of its first line, lower case, ASCII
/// letters and digits, joined by `-`, at most 40 characters; `task` when none.
fn slug(prompt: &str) -> String {
    let mut out = String::new();
    let first = prompt.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    for word in first
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() && out.len() + 1 + word.len() > 40 {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
        if out.len() >= 40 {
            out.truncate(40);
            break;
        }
    }
    if out.is_empty() { "task".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_names_its_task_by_its_first_words() {
        assert_eq!(
            slug("\n  \nFix the login page.\nThen run the tests."),
            "fix-the-login-page"
        );
        assert_eq!(
            slug("  --- Résumé: `cargo test` && commit $(now) ---"),
            "r-sum-cargo-test-commit-now"
        );
        assert_eq!(slug("été…"), "t");
        assert_eq!(slug("…"), "task");
        assert_eq!(slug(&"a".repeat(100)), "a".repeat(40));
        assert_eq!(
            slug("implement the whole thing carefully please now"),
            "implement-the-whole-thing-carefully"
        );
    }

    #[test]
    fn a_chosen_name_that_is_taken_is_refused_and_a_made_up_one_is_numbered() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        q.ensure().unwrap();
        std::fs::write(q.task_path(queue::DONE, "fix.md"), "x").unwrap();
        let err = name(&q, Some("fix"), None, "p").unwrap_err().to_string();
        assert!(
            err.contains("a task named fix.md is in done/ already"),
            "{err}"
        );
        let err = name(&q, None, Some(Path::new("/tmp/fix.md")), "p")
            .unwrap_err()
            .to_string();
        assert!(err.contains("in done/ already"), "{err}");
        assert_eq!(name(&q, None, None, "fix").unwrap(), "fix-2.md");
        assert_eq!(
            name(&q, None, Some(Path::new("notes.txt")), "p").unwrap(),
            "notes.md"
        );
        for bad in ["a/b", ".x", "a\nb"] {
            assert!(name(&q, Some(bad), None, "p").is_err(), "{bad:?}");
        }
    }
}
