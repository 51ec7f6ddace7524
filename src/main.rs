//! ccf: keeps Claude Code sessions in tmux working across Claude accounts.
//!
//! `main` parses the command line, runs it, prints the error chain and maps it to the
//! exit-code table (`ccf::exit`).

use std::process::ExitCode;

use clap::Parser;

use ccf::cli::Cli;
use ccf::{app, exit, log};

fn main() -> ExitCode {
    // A completion request from the shell script of `ccf completions`: answers and exits.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .var(ccf::commands::completions::VAR)
        .complete();
    let cli = Cli::parse();
    log::set_verbosity(if cli.quiet { 0 } else { 1 + cli.verbose });
    match app::run(cli) {
        Ok(code) => code,
        Err(err) => {
            log::error(&format!("{err:#}"));
            exit::code_for(&err)
        }
    }
}
