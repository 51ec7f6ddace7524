//! ccf: keeps Claude Code sessions in tmux working across Claude accounts.
//!
//! The binary (`main.rs`) only parses the command line and maps errors to exit codes;
//! everything else is here, so benchmarks and fuzz targets can reach it too. See
//! ARCHITECTURE.md for the map.

pub mod app;
pub mod claude;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod context;
pub mod detect;
pub mod exit;
pub mod failover;
pub mod fault;
pub mod fleet;
pub mod fsutil;
pub mod history;
pub mod human;
pub mod links;
pub mod lock;
pub mod log;
pub mod mutation;
pub mod notify;
pub mod procfs;
pub mod quota;
pub mod secret;
pub mod spool;
pub mod state;
pub mod statusline_chain;
pub mod tasks;
pub mod tmux;
pub mod turns;
pub mod units;
pub mod usage;
pub mod user_manager;
pub mod world;

#[cfg(test)]
mod structure_tests;
