//! `ccf completions SHELL`: the shell's completion script. It asks ccf itself at each
//! `<TAB>` (`CCF_COMPLETE=<shell> ccf -- <words>`), so completions follow the installed
//! binary and can list what only the config knows: `swap --to <TAB>` offers the
//! configured accounts.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap_complete::env::EnvCompleter;

use crate::cli::Shell;

/// The variable that turns a run of ccf into a completion request.
pub const VAR: &str = "CCF_COMPLETE";

pub fn run(shell: Shell) -> Result<ExitCode> {
    let mut out = std::io::stdout();
    let shell: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
    };
    // `ccf` by name: the script finds whichever ccf is on PATH when it completes.
    shell
        .write_registration(VAR, "ccf", "ccf", "ccf", &mut out)
        .context("failed to write the completion script")?;
    Ok(ExitCode::SUCCESS)
}
