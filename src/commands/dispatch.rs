//! `ccf dispatch`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DryRun;
use crate::context::Ctx;

pub fn run(_ctx: &Ctx, _args: &DryRun) -> Result<ExitCode> {
    super::not_implemented("dispatch")
}
