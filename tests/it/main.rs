#![allow(
    clippy::disallowed_methods,
    reason = "a test harness starts programs and reads the clock; the rules are for ccf itself"
)]
//! The integration tests: one binary (Cargo.toml sets `autotests = false`). Each module
//! covers one capability against real programs: the built ccf, a private tmux server,
//! the fake claude, real files and symlinks.

mod accounts;
mod carry;
mod config_example;
mod detection;
mod failover;
mod faults;
mod fleet;
mod foundation;
mod fuzz;
mod history;
mod hostile;
mod init;
mod notify;
mod real;
mod statusline;
mod support;
mod systemd;
mod task_cli;
mod tasks;
mod tmux_boundary;
mod user_manager;
mod visibility;
