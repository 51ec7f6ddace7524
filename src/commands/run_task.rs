//! `ccf run-task`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::RunTaskArgs;
use crate::context::Ctx;

pub fn run(_ctx: &Ctx, _args: &RunTaskArgs) -> Result<ExitCode> {
    super::not_implemented("run-task")
}
