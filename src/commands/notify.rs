//! `ccf notify`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::NotifyArgs;
use crate::context::Ctx;

pub fn run(_ctx: &Ctx, _args: &NotifyArgs) -> Result<ExitCode> {
    super::not_implemented("notify")
}
