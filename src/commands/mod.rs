//! One module per subcommand: gather facts, make a plan, apply it (`--dry-run` prints it).

pub mod account;
pub mod check_quota;
pub mod completions;
pub mod config;
pub mod cron;
pub mod detect;
pub mod dispatch;
pub mod ensure_symlinks;
pub mod history;
pub mod hook;
pub mod init;
pub mod install_hooks;
pub mod janitor;
pub mod man;
pub mod notify;
pub mod rollback;
pub mod run_task;
pub mod status;
pub mod swap;
pub mod systemd;
pub mod task;
pub mod validate;
