//! `ccf cron`.

use std::process::ExitCode;

use anyhow::Result;

use crate::context::Ctx;

pub fn run(_ctx: &Ctx) -> Result<ExitCode> {
    super::not_implemented("cron")
}
