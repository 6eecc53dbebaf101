//! `qroute executor` (hidden): the executor protocol on stdin/stdout, started by qroute.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use qroute::backend::Backend;
use qroute::backend::registry::builtin;
use qroute::config::default_price;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Address-space cap of this process, bytes.
    #[arg(long)]
    memory_cap: Option<u64>,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if let Some(cap) = args.memory_cap {
        rlimit::setrlimit(rlimit::Resource::AS, cap, cap).context("cannot set the memory cap")?;
    }
    let resolve = |name: &str| -> Option<Arc<dyn Backend>> { builtin(name, default_price()) };
    qroute::backend::process::serve(resolve, std::io::stdin().lock(), std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
