//! `ccf run-task <name>`: the wrapper dispatch starts in a pool pane for one task.
//!
//! It takes no lock and may run for hours. It reads the record dispatch wrote
//! (`running/<stem>.run.json`), runs `claude -p` in the task's project with the prompt on
//! stdin (never on a command line, never through a shell), shows the conversation in the
//! pane, and writes `running/<stem>.result.json` atomically when claude exits: that file,
//! not the screen, is how ccf knows the task ended. A run that ends on a usage limit also
//! leaves a `stop_failure` record in the hook spool, so check-quota learns of the limit.
//! Inside tmux it then replaces itself with an interactive shell, so the pane stays, at a
//! shell: free for the next task, with the output still on screen.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;

use crate::cli::RunTaskArgs;
use crate::context::Ctx;
use crate::spool::{self, Origin, Record, StopFailure};
use crate::tasks::frontmatter;
use crate::tasks::plan::{self, CLAUDE_CHILD_VARS};
use crate::tasks::queue::{self, Queue};
use crate::tasks::record::{Outcome, TaskRecord, TaskResult};
use crate::tasks::stream::Summary;

/// What a resumed task is told: the conversation it continues holds the task itself.
pub const CONTINUE_PROMPT: &str =
    "A usage limit interrupted you. Continue the task from where you stopped.";

/// How many of claude's last stderr lines a failed result keeps.
const STDERR_TAIL: usize = 20;

pub fn run(ctx: &Ctx, args: &RunTaskArgs) -> Result<ExitCode> {
    let outcome = run_task(ctx, &args.task);
    if std::env::var_os("TMUX_PANE").is_none() {
        return outcome.map(|()| ExitCode::SUCCESS);
    }
    // The shell replaces this process, so `main` never gets to print the error: print it
    // here, once, and only hand back its exit code should the shell fail to start.
    if let Err(e) = &outcome {
        crate::log::error(&format!("{e:#}"));
    }
    exec_shell();
    Ok(outcome.map_or_else(|e| crate::exit::code_for(&e), |()| ExitCode::SUCCESS))
}

fn run_task(ctx: &Ctx, name: &str) -> Result<()> {
    if !queue::is_task_name(name) {
        bail!("{name:?} is not a task file name in running/ (like fix-login.md)");
    }
    let queue = Queue::new(&ctx.config.dispatcher.queue_dir);
    // First of all, so janitor can tell this pane still runs the wrapper.
    crate::fsutil::write_atomic(
        &queue.pid_path(name),
        std::process::id().to_string().as_bytes(),
        0o600,
    )?;
    let record = queue.read_record(name)?;
    let path = queue.task_path(queue::RUNNING, name);
    let bytes =
        std::fs::read(&path).with_context(|| format!("failed to read {}", path.display()))?;
    let task = frontmatter::parse(&bytes)
        .map_err(|e| anyhow::anyhow!("task {} cannot run: {e}", path.display()))?;
    let prompt = if record.resume {
        CONTINUE_PROMPT.to_string()
    } else {
        task.prompt
    };
    println!(
        "[ccf] task {name}, attempt {}: {} session {} on account {} in {}",
        record.attempt,
        if record.resume {
            "resuming"
        } else {
            "starting"
        },
        record.session_id,
        record.account,
        record.cwd.display()
    );
    let result = converse(ctx, &record, &prompt);
    // The spool first: once the result exists janitor may act on it, and check-quota
    // should know of the limit by then.
    if result.outcome == Outcome::Limit {
        report_limit(ctx, &record, &result);
    }
    queue.write_result(&result)?;
    println!(
        "[ccf] task {name}: {} after {} — result in {}",
        match result.outcome {
            Outcome::Success => "done".to_string(),
            Outcome::Limit => "stopped on a usage limit; ccf resumes it later".to_string(),
            Outcome::Failed => format!("failed ({})", result.failure_reason()),
        },
        crate::human::duration(std::time::Duration::from_secs(result.duration_ms / 1000)),
        queue.result_path(name).display()
    );
    Ok(())
}

/// The argv after the program: print mode, ccf's session id, the stream format.
pub fn claude_args(ctx: &Ctx, record: &TaskRecord) -> Vec<String> {
    let mut args: Vec<String> = vec!["-p".into()];
    args.push(
        if record.resume {
            "--resume"
        } else {
            "--session-id"
        }
        .into(),
    );
    args.push(record.session_id.clone());
    args.extend(["--output-format", "stream-json", "--verbose"].map(String::from));
    if let Some(m) = &record.model {
        args.extend(["--model".to_string(), m.clone()]);
    }
    args.extend(ctx.config.claude.args.iter().cloned());
    args
}

/// Runs claude once and says how it went; never fails (a claude that cannot start is a
/// failed result).
fn converse(ctx: &Ctx, record: &TaskRecord, prompt: &str) -> TaskResult {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut stderr_tail = Vec::new();
    let status = spawn_and_stream(ctx, record, prompt, &mut summary, &mut stderr_tail);
    let elapsed = started.elapsed();
    let (exit_code, signal, error) = match &status {
        Ok(s) => (s.code(), s.signal(), None),
        Err(e) => (None, None, Some(format!("{e:#}"))),
    };
    let success = exit_code == Some(0) && !summary.is_error;
    let outcome = if success {
        Outcome::Success
    } else if summary.limit.is_some() {
        Outcome::Limit
    } else {
        Outcome::Failed
    };
    TaskResult {
        task: record.task.clone(),
        outcome,
        session_id: record.session_id.clone(),
        account: record.account.clone(),
        attempt: record.attempt,
        resumed: record.resume,
        started_at: ctx.now,
        finished_at: plan::add(ctx.now, elapsed),
        duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        exit_code,
        signal,
        subtype: summary.subtype,
        is_error: summary.is_error,
        result: summary.result,
        limit: summary.limit,
        error,
        stderr_tail: if success { Vec::new() } else { stderr_tail },
    }
}

fn spawn_and_stream(
    ctx: &Ctx,
    record: &TaskRecord,
    prompt: &str,
    summary: &mut Summary,
    stderr_tail: &mut Vec<String>,
) -> Result<std::process::ExitStatus> {
    let program = &ctx.config.claude.command;
    let mut cmd = Command::new(program);
    cmd.args(claude_args(ctx, record))
        .current_dir(&record.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in CLAUDE_CHILD_VARS.iter().chain(&["CLAUDE_CONFIG_DIR"]) {
        cmd.env_remove(v);
    }
    cmd.envs(&ctx.config.claude.env);
    if let Some(dir) = &record.config_dir {
        cmd.env("CLAUDE_CONFIG_DIR", dir);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("failed to start {program} in {}", record.cwd.display()))?;
    let mut stdin = child.stdin.take().context("claude's stdin is not a pipe")?;
    let stdout = child
        .stdout
        .take()
        .context("claude's stdout is not a pipe")?;
    let stderr = child
        .stderr
        .take()
        .context("claude's stderr is not a pipe")?;
    let prompt = prompt.to_string();
    std::thread::scope(|s| {
        // The prompt goes in while the output comes out: neither side can block the other.
        s.spawn(move || {
            let _ = stdin.write_all(prompt.as_bytes());
        });
        s.spawn(|| {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                stderr_tail.push(line);
                if stderr_tail.len() > STDERR_TAIL {
                    stderr_tail.remove(0);
                }
            }
        });
        let mut out = std::io::stdout();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(text) = summary.feed(&line) {
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    });
    child.wait().context("failed to wait for claude")
}

/// Tells check-quota about the limit, as Claude Code's `StopFailure` hook would.
fn report_limit(ctx: &Ctx, record: &TaskRecord, result: &TaskResult) {
    let limit = result.limit.as_ref();
    let rec = Record::StopFailure(StopFailure {
        origin: Origin {
            at: Some(result.finished_at),
            session_id: Some(record.session_id.clone()),
            transcript_path: None,
            cwd: Some(record.cwd.clone()),
            tmux_pane: std::env::var("TMUX_PANE").ok(),
            claude_config_dir: record.config_dir.clone(),
            account: spool::account_now(&ctx.config, record.config_dir.as_deref()),
        },
        error: Some("rate_limit".into()),
        agent_id: None,
        last_assistant_message: result.result.clone(),
        resets_at: limit.and_then(|l| l.resets_at).map(Timestamp::as_second),
        rate_limit_type: limit.and_then(|l| l.kind.clone()),
    });
    if let Err(e) = spool::write(&ctx.config.spool_dir(), &rec, result.finished_at) {
        crate::log::warn(&format!(
            "failed to report the usage limit to check-quota: {e:#}"
        ));
    }
}

/// Replaces this process with an interactive shell in the pane (no command is given to
/// it). Returns only if that fails.
fn exec_shell() {
    let shell = std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    let mut cmd = Command::new(&shell);
    for v in CLAUDE_CHILD_VARS {
        cmd.env_remove(v);
    }
    let err = cmd.exec();
    crate::log::error(&format!("failed to start the shell {shell}: {err}"));
}
