//! `ccf install-hooks`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::InstallHooksArgs;
use crate::context::Ctx;

pub fn run(_ctx: &Ctx, _args: &InstallHooksArgs) -> Result<ExitCode> {
    super::not_implemented("install-hooks")
}
