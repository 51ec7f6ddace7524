//! The exit-code contract, and the typed errors that map onto it.
//!
//! The table is part of the CLI contract (README "Exit codes"): codes are added, never
//! renumbered. Every error that should not exit 1 is one of the variants of [`Exit`], so
//! `main` can find it anywhere in an `anyhow` chain.

use std::process::ExitCode;

/// Exit codes, as documented in the README.
pub mod code {
    /// Everything went as asked.
    pub const OK: u8 = 0;
    /// The command failed; the message says what.
    pub const FAILURE: u8 = 1;
    /// The command line was wrong (clap uses the same code).
    pub const USAGE: u8 = 2;
    /// `validate` found problems; `status --check` found ccf degraded.
    pub const PROBLEMS: u8 = 3;
    /// Another ccf run holds the state lock (`EX_TEMPFAIL`); timers must not queue.
    pub const LOCKED: u8 = 75;
    /// The configuration cannot be used (`EX_CONFIG`).
    pub const CONFIG: u8 = 78;
}

/// An outcome that is not a plain failure.
#[derive(Debug, thiserror::Error)]
pub enum Exit {
    /// Problems were found and already reported on stdout.
    #[error("{0}")]
    Problems(String),
    /// The state lock is held by another run.
    #[error("another ccf run holds {path}; try again later")]
    Locked { path: String },
    /// The configuration is unusable; the message lists every problem.
    #[error("{0}")]
    Config(String),
}

impl Exit {
    pub fn code(&self) -> u8 {
        match self {
            Exit::Problems(_) => code::PROBLEMS,
            Exit::Locked { .. } => code::LOCKED,
            Exit::Config(_) => code::CONFIG,
        }
    }
}

/// The exit code for an error chain: the first [`Exit`] in it decides, else failure.
pub fn code_for(err: &anyhow::Error) -> ExitCode {
    let code = err
        .chain()
        .find_map(|e| e.downcast_ref::<Exit>())
        .map_or(code::FAILURE, Exit::code);
    ExitCode::from(code)
}
