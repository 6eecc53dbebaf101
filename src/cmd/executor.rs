//! `qroute executor` (hidden): the executor protocol on stdin/stdout, started by qroute.

use std::process::ExitCode;

pub(crate) fn run(args: &qroute::app::params::ExecutorParams) -> anyhow::Result<ExitCode> {
    qroute::app::executor::serve_stdio(args.memory_cap)?;
    Ok(ExitCode::SUCCESS)
}
