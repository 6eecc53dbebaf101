//! `qroute worker`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;
use qroute::queue::WorkerOptions;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    queue: super::queue::QueueArgs,
    /// Backends to serve, comma-separated (one stream each); `all` serves every configured
    /// backend available here.
    #[arg(long, value_delimiter = ',', required = true)]
    backends: Vec<String>,
    /// Jobs run at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Telemetry directory for every execution.
    #[arg(long, default_value = "telemetry/worker")]
    telemetry: PathBuf,
    /// Wall-clock limit of a job that gives none, and the most one may ask, seconds.
    #[arg(long, default_value_t = 600.0)]
    max_timeout: f64,
    /// Consumer name, unique among workers (default: host name and process id).
    #[arg(long)]
    name: Option<String>,
    /// A job pending on a worker silent this long is claimed by another, seconds.
    #[arg(long, default_value_t = 60.0)]
    visibility_timeout: f64,
    /// Deliveries of a job before it goes to the dead-letter stream.
    #[arg(long, default_value_t = 3)]
    max_deliveries: u32,
}

pub(crate) fn run(args: &Args, config: &qroute::config::Config) -> anyhow::Result<ExitCode> {
    qroute::app::logging::init();
    let mut p = args.queue.params();
    p.visibility_timeout = super::seconds("--visibility-timeout", args.visibility_timeout)?;
    p.max_deliveries = args.max_deliveries;
    let queue = p.check()?;
    let url = queue.params().url.clone();
    let mut opts = WorkerOptions::new(args.backends.clone());
    opts.concurrency = args.concurrency;
    opts.max_timeout = super::seconds("--max-timeout", args.max_timeout)?;
    if let Some(n) = &args.name {
        opts.name = n.clone();
    }
    let exe = qroute::app::process_isolation()?;
    let w = qroute::app::worker::assemble(config, &exe, queue, opts, args.telemetry.clone())?;
    let stop = w.stop.clone();
    ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
        .context("cannot install the signal handler")?;
    eprintln!(
        "qroute worker {} serving {} on {url} ({} at once); Ctrl-C or SIGTERM stops after the \
         running jobs",
        w.options.name,
        w.options.backends.join(", "),
        w.options.concurrency
    );
    let done = w.run()?;
    let s = &done.stats;
    eprintln!(
        "stopped: {} executed, {} results written ({} failed runs), {} duplicates, {} \
         reclaimed, {} dead-lettered; telemetry: {} row(s) in {}",
        s.executed,
        s.completed,
        s.failed,
        s.duplicates,
        s.reclaimed,
        s.dead,
        done.rows,
        done.telemetry.display()
    );
    Ok(ExitCode::SUCCESS)
}
