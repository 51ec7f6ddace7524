//! `ccf systemd`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::SystemdArgs;
use crate::context::Ctx;

pub fn run(_ctx: &Ctx, _args: &SystemdArgs) -> Result<ExitCode> {
    super::not_implemented("systemd")
}
