//! `ccf completions SHELL`: shell completions generated from the clap definitions.

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, Shell};

pub fn run(shell: Shell) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout();
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "ccf", &mut out);
    Ok(ExitCode::SUCCESS)
}
