//! `ccf detect`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DetectArgs;
use crate::context::Ctx;

pub fn run(_ctx: &Ctx, _args: &DetectArgs) -> Result<ExitCode> {
    super::not_implemented("detect")
}
