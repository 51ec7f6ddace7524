//! `ccf config example`: the documented example configuration, embedded in the binary so
//! an operator who installed with `cargo install` has it without the source tree.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{ConfigAction, ConfigArgs};

pub fn run(args: &ConfigArgs) -> Result<ExitCode> {
    match args.action {
        ConfigAction::Example => {
            std::io::stdout()
                .write_all(crate::config::EXAMPLE.as_bytes())
                .context("failed to print the example")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
