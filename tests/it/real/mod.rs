//! The real-client tier: the pinned real Claude Code runs in the private tmux server
//! against the loopback API stand-in, and ccf (the built binary) detects, fails over,
//! resumes, hooks and runs tasks on it. Skipped loudly when the client cannot be
//! installed, except in CI (`CI=true`), where that fails.

mod carry;
mod detection;
mod failover;
mod hooks;
mod tasks;
