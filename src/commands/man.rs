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

/// The man page; `man/ccf.1` in the repository holds the same bytes.
pub fn render() -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .expect("rendering into memory cannot fail");
    out
}
