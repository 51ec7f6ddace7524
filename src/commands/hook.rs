//! `ccf hook`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::HookArgs;
use crate::context::Ctx;

pub fn run(_ctx: &Ctx, _args: &HookArgs) -> Result<ExitCode> {
    super::not_implemented("hook")
}
