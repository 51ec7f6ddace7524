//! `ccf swap`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::SwapArgs;
use crate::context::Ctx;

pub fn run(_ctx: &Ctx, _args: &SwapArgs) -> Result<ExitCode> {
    super::not_implemented("swap")
}
