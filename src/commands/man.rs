//! `ccf man`: the man page (roff), generated from the clap definitions.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

pub fn run() -> Result<ExitCode> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .context("failed to write the man page")?;
    Ok(ExitCode::SUCCESS)
}
