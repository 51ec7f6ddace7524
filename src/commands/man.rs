//! `ccf man`: the man page (roff), generated from the clap definitions.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

pub fn run() -> Result<ExitCode> {
    use std::io::Write as _;
    std::io::stdout()
        .write_all(&render())
        .context("failed to write the man page")?;
    Ok(ExitCode::SUCCESS)
}

/// The man page; `man/ccf.1` in the repository holds the same bytes. clap's sections,
/// except that the commands are listed here (`clap_mangen` would name a `ccf-<command>(1)`
/// page per command, which no one installs), then EXIT STATUS, ENVIRONMENT, FILES and
/// EXAMPLES.
pub fn render() -> Vec<u8> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    let done = |r: std::io::Result<()>| r.expect("rendering into memory cannot fail");
    done(man.render_title(&mut out));
    done(man.render_name_section(&mut out));
    done(man.render_synopsis_section(&mut out));
    done(man.render_description_section(&mut out));
    done(man.render_options_section(&mut out));
    out.extend_from_slice(commands(&cmd).as_bytes());
    out.extend_from_slice(EXTRA.as_bytes());
    done(man.render_version_section(&mut out));
    out
}

/// `.SH COMMANDS`: every command (and each of its own subcommands) with what it does,
/// then its arguments and options, each with its help.
fn commands(cmd: &clap::Command) -> String {
    use std::fmt::Write as _;
    let mut roff = String::from(".SH COMMANDS\n");
    let mut item = |name: &str, sub: &clap::Command| {
        let _ = writeln!(roff, ".TP\n\\fB{}\\fR", escape(name));
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            roff.push_str(&escape(&about.to_string()));
            roff.push('\n');
        }
        let args: Vec<&clap::Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .collect();
        if !args.is_empty() {
            roff.push_str(".RS\n");
            for a in args {
                let _ = writeln!(roff, ".TP\n{}", arg_synopsis(a));
                if let Some(help) = a.get_long_help().or(a.get_help()) {
                    roff.push_str(&escape(&help.to_string()));
                    roff.push('\n');
                }
            }
            roff.push_str(".RE\n");
        }
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("ccf {}", sub.get_name());
        if sub.has_subcommands() {
            for inner in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
                item(&format!("{name} {}", inner.get_name()), inner);
            }
        } else {
            item(&name, sub);
        }
    }
    roff
}

/// `\fB--to\fR \fIACCOUNT\fR`, `\fB-q\fR, \fB--quiet\fR`, `\fIFILE\fR`: how an
/// argument is written.
fn arg_synopsis(a: &clap::Arg) -> String {
    let value = a
        .get_value_names()
        .map(|v| {
            v.iter()
                .map(|n| format!("\\fI{}\\fR", escape(n)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|_| a.get_action().takes_values());
    if a.is_positional() {
        return value.unwrap_or_else(|| format!("\\fI{}\\fR", escape(a.get_id().as_str())));
    }
    let mut names = Vec::new();
    if let Some(s) = a.get_short() {
        names.push(format!("\\fB\\-{s}\\fR"));
    }
    if let Some(l) = a.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", escape(l)));
    }
    let mut out = names.join(", ");
    if let Some(v) = value {
        let optional = a.get_num_args().is_some_and(|n| n.min_values() == 0);
        let eq = if a.is_require_equals_set() { "=" } else { " " };
        if optional {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("[{eq}{v}]"));
        } else {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{eq}{v}"));
        }
    }
    out
}

/// Text made safe for roff: backslashes and hyphens escaped, no line starting a request.
fn escape(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with(['.', '\'']) {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sections clap knows nothing of; README.md holds the same facts at more length.
const EXTRA: &str = r#".SH "EXIT STATUS"
.TP
0
ok
.TP
1
failure (the message says what)
.TP
2
usage error
.TP
3
problems found: \fBvalidate\fR, \fBstatus \-\-check\fR (a failed ccf unit, no tmux server, every account exhausted or needing a login, sessions a swap could not relaunch, a stale last check, degraded, an unfinished swap), \fBsystemd install\fR when ccf\-setup.service failed
.TP
75
another ccf run holds the state lock (EX_TEMPFAIL; the units treat it as success)
.TP
78
bad configuration (EX_CONFIG): every problem is listed with its line and column
.SH ENVIRONMENT
.TP
\fBCCF_CONFIG\fR
the configuration file, when \fB\-\-config\fR is not given
.TP
\fBXDG_CONFIG_HOME\fR
where the configuration (\fIccf/config.yaml\fR) and the systemd user units (\fIsystemd/user\fR) are looked for; default \fI~/.config\fR
.TP
\fBXDG_STATE_HOME\fR
the default \fIstate_dir\fR is \fI$XDG_STATE_HOME/ccf\fR; default \fI~/.local/state\fR
.TP
\fBJOURNAL_STREAM\fR
set by systemd when stderr is the journal: diagnostics then carry <N> priority prefixes
.TP
\fBTZDIR\fR
where time zones are read from; default \fI/usr/share/zoneinfo\fR
.SH FILES
.TP
\fI$XDG_CONFIG_HOME/ccf/config.yaml\fR, \fI/etc/ccf/config.yaml\fR
the configuration, when neither \fB\-\-config\fR nor \fBCCF_CONFIG\fR names one; \fBccf init\fR writes the first, \fBccf config example\fR prints every key
.TP
\fIstate_dir/state.json\fR
what ccf knows: accounts, sessions, the swap journal, tasks (default \fIstate_dir\fR: \fI$XDG_STATE_HOME/ccf\fR, \fI~/.local/state/ccf\fR)
.TP
\fIstate_dir/state.lock\fR
held by every run that changes the state
.TP
\fIstate_dir/spool/\fR, \fIstate_dir/usage/\fR, \fIstate_dir/turns/\fR
what Claude Code's hooks write, without the lock
.TP
\fIstate_dir/last\-check\fR
its mtime is the time of the last check\-quota pass that changed nothing else
.TP
\fI~/.claude\fR
the link ccf points at the active account's home (\fBclaude_link\fR)
.TP
\fIqueue_dir/inbox/\fR, \fIrunning/\fR, \fIdone/\fR, \fIfailed/\fR
the task queue (\fBdispatcher.queue_dir\fR, default \fI~/agent\-queue\fR)
.SH EXAMPLES
.TP
\fBccf init\fR
write a first configuration from the account homes, tmux server and sessions found here
.TP
\fBccf validate\fR
check the configuration, the account homes, the shared links and tmux
.TP
\fBccf check\-quota \-\-dry\-run\fR
say what each session shows and what a pass would do, changing nothing
.TP
\fBccf swap \-\-to compte2\fR
move every managed session to compte2 now
.TP
\fBccf account disable compte2 \-\-reason "billing"\fR
keep ccf off compte2 until \fBccf account enable compte2\fR
.TP
\fBccf task add \-\-project ~/src/app \-\-priority 5 fix\-login.md\fR
queue a task; \fBccf task list\fR shows it, \fBccf task cancel fix\-login\fR stops it
.TP
\fBccf status \-\-check\fR
exit 3 when something needs the operator
.TP
\fBccf systemd install\fR
install and start the user units
"#;
