//! `qroute worker`.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;
use qroute::app::render;
use qroute::app::worker::WorkerParams;

pub(crate) fn run(
    args: &WorkerParams,
    config: &qroute::config::Config,
) -> anyhow::Result<ExitCode> {
    qroute::app::logging::init();
    let w = args.assemble(config)?;
    let stop = w.stop.clone();
    ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
        .context("cannot install the signal handler")?;
    eprintln!("{}", render::worker_started(&w.options, &args.queue.redis));
    let done = w.run()?;
    eprintln!("{}", render::worker_stopped(&done));
    Ok(ExitCode::SUCCESS)
}
