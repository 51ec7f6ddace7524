//! The command line: clap structs whose doc comments are the `--help` text.
//!
//! This module only describes the command line; `main` turns it into a run and each
//! subcommand lives in `commands/<name>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;

/// Completes an account name from the config, found as a run finds it (`$CCF_CONFIG`,
/// XDG, /etc); none, or a broken one, offers nothing rather than an error in the middle
/// of a command line.
fn accounts() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
            return Vec::new();
        };
        let env = |k: &str| std::env::var(k).ok();
        crate::config::locate(None, &env)
            .ok()
            .and_then(|path| crate::config::load(&path, &home).ok())
            .map(|c| {
                c.accounts
                    .iter()
                    .map(|a| clap_complete::CompletionCandidate::new(&a.name))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Keep Claude Code sessions in tmux working across Claude accounts.
///
/// ccf is a set of one-shot commands run by systemd timers and path units: it notices
/// when the active account hits its usage limit, moves every managed session to another
/// account with its conversation, moves back after the reset, dispatches queued tasks
/// to the autonomous pool and tells the operator what happened.
#[derive(Debug, Parser)]
#[command(name = "ccf", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Configuration file [default: $`CCF_CONFIG`, else $`XDG_CONFIG_HOME/ccf/config.yaml`,
    /// else /etc/ccf/config.yaml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Say more on stderr (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Say only what went wrong
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One detection pass over every managed session; swaps when a limit is confirmed
    /// and returns to a higher-priority account when its reset has passed
    CheckQuota(DryRun),
    /// Move every managed session to another account now
    Swap(SwapArgs),
    /// Finish or undo an interrupted swap; else undo the last swap
    Rollback(DryRun),
    /// Create missing shared links and targets; report divergent ones with the fix
    EnsureSymlinks(EnsureSymlinksArgs),
    /// Check config, account homes, shared links, tmux and state; report every problem
    Validate,
    /// Start queued tasks on free autonomous sessions
    Dispatch(DryRun),
    /// Finish or time out tasks, keep the pool at `min`, prune old finished tasks
    Janitor(DryRun),
    /// Show accounts and their usage, link, sessions, tasks, the last swap and health
    Status(StatusArgs),
    /// What happened, newest last, with a summary per account; `--svg` draws the timeline
    History(HistoryArgs),
    /// Classify a pane capture and explain why check-quota would or would not swap
    Detect(DetectArgs),
    /// Claude Code hook entry points (JSON on stdin; always exit 0)
    Hook(HookArgs),
    /// Install ccf's hooks into each account's settings.json (merging, idempotent); --uninstall removes them
    InstallHooks(InstallHooksArgs),
    /// Run one claimed task in this pane and record its result (started by dispatch)
    RunTask(RunTaskArgs),
    /// Send notifications: `notify test [CHANNEL]` checks the setup
    Notify(NotifyArgs),
    /// List accounts; take one out of rotation or put it back
    Account(AccountArgs),
    /// Queue a task, list the queue, cancel a task or retry a failed one
    Task(TaskArgs),
    /// Install or remove ccf's systemd user units
    Systemd(SystemdArgs),
    /// Print crontab lines for hosts without a user systemd
    Cron,
    /// Print shell completions
    Completions(CompletionsArgs),
    /// Print the man page (roff)
    Man,
    /// Write a starting config from the account homes, tmux server and sessions found here
    Init(InitArgs),
    /// The configuration file: `config example` prints the documented example
    Config(ConfigArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Print the config instead of writing it
    #[arg(long)]
    pub stdout: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print config.example.yaml: every key with its default and what it does
    Example,
}

#[derive(Debug, Args)]
pub struct DryRun {
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct SwapArgs {
    /// Account to move to [default: the highest-priority available account]
    #[arg(long, value_name = "ACCOUNT", add = accounts())]
    pub to: Option<String>,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Move onto an account ccf holds as exhausted (its limit is lifted: clears the mark)
    #[arg(long)]
    pub force: bool,
    /// While another ccf run holds the state lock, wait for it (at most DURATION, 1m when
    /// given alone) instead of exiting 75; the default when stdin is a terminal
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "1m", require_equals = true)]
    pub wait: Option<humantime::Duration>,
    /// Exit 75 at once when another ccf run holds the state lock, even at a terminal
    #[arg(long, conflicts_with = "wait")]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct EnsureSymlinksArgs {
    /// Only this account's home
    #[arg(long, value_name = "NAME", add = accounts())]
    pub account: Option<String>,
    /// Print what would be created and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[expect(
    clippy::struct_excessive_bools,
    reason = "independent command-line flags, as clap reads them"
)]
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON (stable; documented in the README)
    #[arg(long)]
    pub json: bool,
    /// Exit 3 when ccf is degraded or a swap is unfinished
    #[arg(long)]
    pub check: bool,
    /// One short line for tmux's status-right (`#(ccf status --tmux)`): the active
    /// account, its usage, a countdown, `!` marks. Reads only the state and usage files
    #[arg(long, conflicts_with_all = ["json", "check", "prometheus", "fleet"])]
    pub tmux: bool,
    /// Metrics for `node_exporter`'s textfile collector: to stdout, or replacing FILE
    /// atomically (a `*.prom` file in the collector's directory)
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        default_missing_value = "-",
        require_equals = true,
        conflicts_with = "json"
    )]
    pub prometheus: Option<PathBuf>,
    /// Read etcd and show every host of the fleet and the accounts' shared state
    #[arg(long, conflicts_with = "check")]
    pub fleet: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How far back to look
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub since: humantime::Duration,
    /// Only what concerns this account
    #[arg(long, value_name = "ACCOUNT", add = accounts())]
    pub account: Option<String>,
    /// The events and the summary as one JSON document
    #[arg(long)]
    pub json: bool,
    /// Draw the timeline into FILE (SVG): a row per account, active and exhausted, the
    /// parked spans and the swaps
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Pane capture to classify [default: stdin]
    pub file: Option<PathBuf>,
    /// The instant to resolve reset times against [default: now]
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Zone for reset times printed without one [default: the config's, else the system's]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Print the verdict as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[arg(value_enum)]
    pub event: HookEvent,
    /// statusline: after recording, run this command (the operator's own status line)
    /// with the same input and print its output; ccf's line if it fails or hangs
    #[arg(long, value_name = "COMMAND", allow_hyphen_values = true)]
    pub then: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookEvent {
    /// `SessionStart`: record the session id, cwd, transcript and pane
    SessionStart,
    /// `StopFailure`: record the API error that ended a turn
    StopFailure,
    /// `UserPromptSubmit`: record that a turn started (a swap never relaunches it then)
    PromptSubmit,
    /// `Stop`: record that a turn ended
    Stop,
    /// Status line: record rate-limit usage and print a short status
    Statusline,
}

#[derive(Debug, Args)]
pub struct InstallHooksArgs {
    /// Only this account's settings.json
    #[arg(long, value_name = "NAME", add = accounts())]
    pub account: Option<String>,
    /// Print the changes and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Remove ccf's hooks and give the operator's own status line back
    #[arg(long)]
    pub uninstall: bool,
}

#[derive(Debug, Args)]
pub struct RunTaskArgs {
    /// The task's file name in running/
    pub task: String,
}

#[derive(Debug, Args)]
pub struct AccountArgs {
    #[command(subcommand)]
    pub action: AccountAction,
}

#[derive(Debug, Subcommand)]
pub enum AccountAction {
    /// Each configured account: active, disabled, exhausted, needs login
    List {
        /// One JSON array
        #[arg(long)]
        json: bool,
    },
    /// Never move sessions onto ACCOUNT (nor return to it) until it is enabled; the
    /// sessions already on it stay
    Disable {
        #[arg(value_name = "ACCOUNT", add = accounts())]
        name: String,
        /// Why, shown by `account list` and `status`
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Put ACCOUNT back in rotation
    Enable {
        #[arg(value_name = "ACCOUNT", add = accounts())]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct TaskArgs {
    #[command(subcommand)]
    pub action: TaskAction,
}

#[derive(Debug, Subcommand)]
pub enum TaskAction {
    /// Queue FILE (or stdin) in inbox/ in one step
    ///
    /// The options given are written into its front matter. A task dispatch would reject
    /// is refused, and nothing is written.
    Add(TaskAddArgs),
    /// The tasks in inbox/, running/ (session and age), done/ and failed/ (the result's
    /// first line)
    List {
        /// One JSON array (stable; documented in the README)
        #[arg(long)]
        json: bool,
    },
    /// Stop a task and put it in failed/ as cancelled
    ///
    /// A running task's claude is stopped and its pool session goes back to a shell, as
    /// after a timeout; a task in the inbox just moves.
    Cancel {
        /// The task's name, with or without `.md`
        name: String,
        /// Print what would be done and change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Put a task from failed/ back into the inbox
    Retry {
        /// The task's name, with or without `.md`
        name: String,
        /// Print what would be done and change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct TaskAddArgs {
    /// The task file: optional front matter, then the prompt [default: stdin, also `-`]
    #[arg(value_name = "FILE|-")]
    pub file: Option<PathBuf>,
    /// claude's working directory (a relative one is taken from here)
    /// [default: the file's `project`, else `pool.autonomous.workdir`]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Higher starts first [default: the file's `priority`, else 0]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority: Option<i64>,
    /// Stop the task after this long (30m, 2h) [default: the file's `timeout`, else
    /// `dispatcher.task_timeout`]
    #[arg(long, value_name = "DURATION", value_parser = task_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// The task's file name in the queue (`.md` is added) [default: FILE's name; from
    /// stdin, the prompt's first words]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Print what would be queued and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `--timeout`: a duration the front matter accepts, and more than zero.
fn task_timeout(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("a task needs more than 0s to run".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!(
            "invalid duration {text:?} ({e}); write e.g. 30s, 5m, 2h or 7d"
        )),
    }
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    #[command(subcommand)]
    pub action: NotifyAction,
}

#[derive(Debug, Subcommand)]
pub enum NotifyAction {
    /// Send a test message on every configured channel, or on one
    Test {
        /// telegram, resend or webhook
        channel: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct SystemdArgs {
    #[command(subcommand)]
    pub action: SystemdAction,
}

#[derive(Debug, Subcommand)]
pub enum SystemdAction {
    /// Write the units (binary and config paths filled in), reload, enable and start them
    Install(SystemdInstallArgs),
    /// Stop, disable and remove the units
    Uninstall(SystemdUninstallArgs),
    /// What `install` runs inside a transient unit to see whether ccf works under a
    /// sandbox level (not for people)
    #[command(hide = true)]
    CheckSandbox(CheckSandboxArgs),
}

#[derive(Debug, Args)]
pub struct SystemdInstallArgs {
    /// Unit directory [default: $`XDG_CONFIG_HOME/systemd/user`]
    #[arg(long, value_name = "DIR")]
    pub unit_dir: Option<PathBuf>,
    /// Print what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Install this sandbox level instead of the strongest one measured to work
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub sandbox: Option<crate::units::SandboxLevel>,
}

#[derive(Debug, Args)]
pub struct SystemdUninstallArgs {
    /// Unit directory [default: $`XDG_CONFIG_HOME/systemd/user`]
    #[arg(long, value_name = "DIR")]
    pub unit_dir: Option<PathBuf>,
    /// Print what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CheckSandboxArgs {
    /// A process of the operator's outside the sandbox, whose environment ccf must read
    #[arg(long, value_name = "PID")]
    pub environ_of: u32,
    /// Also reach the tmux server
    #[arg(long)]
    pub tmux: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}
