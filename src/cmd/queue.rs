//! `qroute worker` and `qroute queue status`, and the `--redis` plumbing of `run` and `serve`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use qroute::backend::{Isolation, Registry};
use qroute::config::Config;
use qroute::display::{Align, table};
use qroute::queue::{QueueConfig, QueueParams, Worker, WorkerOptions, remote_registry, status};
use qroute::telemetry::{TelemetryWriter, WriterOptions};

/// Where the queue is.
#[derive(Args, Debug, Clone)]
pub(crate) struct QueueArgs {
    /// Redis URL, e.g. redis://127.0.0.1:6379 (or rediss:// for TLS).
    #[arg(long, env = "QROUTE_REDIS")]
    pub(crate) redis: String,
    /// Prefix of every Redis key (separate queues on one Redis).
    #[arg(long, default_value = "qroute")]
    pub(crate) queue_prefix: String,
}

impl QueueArgs {
    fn params(&self) -> QueueParams {
        let mut p = QueueParams::new(&self.redis);
        p.prefix = self.queue_prefix.clone();
        p
    }
}

/// `--redis` of `run` and `serve`: route to the queue instead of running here.
#[derive(Args, Debug, Clone)]
pub(crate) struct RedisArgs {
    /// Redis URL: enqueue each job on its backend's stream for `qroute worker`s instead of
    /// running it here (e.g. redis://127.0.0.1:6379).
    #[arg(long, env = "QROUTE_REDIS")]
    pub(crate) redis: Option<String>,
    /// Prefix of every Redis key (with --redis).
    #[arg(long, default_value = "qroute")]
    pub(crate) queue_prefix: String,
    /// Jobs a backend's stream may hold (with --redis); beyond it another backend is tried.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) max_queue_len: u64,
    /// How long to wait for a job's result (with --redis), seconds.
    #[arg(long, default_value_t = 3600.0)]
    pub(crate) result_wait: f64,
}

impl RedisArgs {
    /// The checked queue settings, when --redis is given.
    pub(crate) fn check(&self) -> anyhow::Result<Option<QueueConfig>> {
        let Some(url) = &self.redis else {
            return Ok(None);
        };
        let mut p = QueueParams::new(url);
        p.prefix = self.queue_prefix.clone();
        p.max_len = self.max_queue_len;
        p.result_wait =
            super::route::seconds("--result-wait", Some(self.result_wait))?.unwrap_or_default();
        Ok(Some(p.check()?))
    }
}

/// Arguments of `qroute worker`.
#[derive(Args, Debug)]
pub(crate) struct WorkerArgs {
    #[command(flatten)]
    queue: QueueArgs,
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

/// Subcommands of `qroute queue`.
#[derive(Subcommand, Debug)]
pub(crate) enum QueueCommand {
    /// Backlog, pending jobs and live workers per backend; dead letters and counters.
    Status {
        #[command(flatten)]
        queue: QueueArgs,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

/// `qroute worker`.
pub(crate) fn worker_cmd(args: &WorkerArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let mut p = args.queue.params();
    p.visibility_timeout =
        super::route::seconds("--visibility-timeout", Some(args.visibility_timeout))?
            .unwrap_or_default();
    p.max_deliveries = args.max_deliveries;
    let queue = p.check()?;
    let registry = Registry::from_config(config, &super::process_isolation()?)?;
    let backends: Vec<String> = if args.backends.iter().any(|b| b == "all") {
        registry
            .iter()
            .filter(|b| matches!(b.availability(), qroute::backend::Availability::Available))
            .map(|b| b.name().to_string())
            .collect()
    } else {
        args.backends.clone()
    };
    let writer = Arc::new(
        TelemetryWriter::open(&args.telemetry, WriterOptions::default())
            .with_context(|| format!("cannot write telemetry to {}", args.telemetry.display()))?,
    );
    let mut opts = WorkerOptions::new(backends);
    opts.concurrency = args.concurrency;
    opts.max_timeout = super::route::seconds("--max-timeout", Some(args.max_timeout))?
        .unwrap_or(Duration::from_secs(600));
    if let Some(n) = &args.name {
        opts.name = n.clone();
    }
    let worker = Worker::new(
        queue.clone(),
        Arc::new(registry),
        Some(writer.clone()),
        opts.clone(),
    )?;
    let stop = worker.stopper();
    ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
        .context("cannot install the signal handler")?;
    eprintln!(
        "qroute worker {} serving {} on {} ({} at once); Ctrl-C or SIGTERM stops after the \
         running jobs",
        opts.name,
        opts.backends.join(", "),
        queue.params().url,
        opts.concurrency
    );
    let result = worker.run();
    // The worker holds the writer too: released first, so that the count below is the
    // writer's final one (#28).
    drop(worker);
    let wstats = match Arc::try_unwrap(writer) {
        Ok(w) => Some(w.close()?),
        Err(_) => None,
    };
    let stats = result?;
    eprintln!(
        "stopped: {} executed, {} results written ({} failed runs), {} duplicates, {} \
         reclaimed, {} dead-lettered; telemetry: {} row(s) in {}",
        stats.executed,
        stats.completed,
        stats.failed,
        stats.duplicates,
        stats.reclaimed,
        stats.dead,
        wstats.map_or(0, |w| w.rows),
        args.telemetry.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `qroute queue ...`.
pub(crate) fn queue_cmd(cmd: &QueueCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let QueueCommand::Status { queue, json } = cmd;
    let qc = queue.params().check()?;
    let registry = Registry::from_config(config, &Isolation::InProcess)?;
    let names: Vec<String> = registry.iter().map(|b| b.name().to_string()).collect();
    let s = status(&qc, &mut qc.connect(), &names)?;
    if *json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![vec![
        "backend".to_string(),
        "backlog".into(),
        "pending".into(),
        "workers".into(),
        "capacity".into(),
        "service".into(),
    ]];
    for b in &s.backends {
        rows.push(vec![
            b.backend.clone(),
            b.load.backlog.to_string(),
            b.load.pending.to_string(),
            b.workers.to_string(),
            b.load.capacity.to_string(),
            b.load
                .service_ms
                .map_or("-".into(), qroute::display::human_ms),
        ]);
    }
    out!("{}", table(&rows, Align::FirstLeft));
    outln!();
    for w in &s.workers {
        outln!(
            "worker {} on {}: {} ({} at once), {} executed, last heartbeat {} ms ago",
            w.name,
            w.host,
            w.backends.join(","),
            w.concurrency,
            w.executed,
            w.beat_age_ms
        );
    }
    let counters: Vec<String> = s.counters.iter().map(|(k, v)| format!("{k} {v}")).collect();
    outln!(
        "dead letters: {}; counters: {}",
        s.dead_letters,
        if counters.is_empty() {
            "none yet".into()
        } else {
            counters.join(", ")
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The registry of `run` and `serve` with `--redis`: the configured backends, each run
/// through the queue.
pub(crate) fn queued_registry(config: &Config, queue: &QueueConfig) -> anyhow::Result<Registry> {
    let local = Registry::from_config(config, &Isolation::InProcess)?;
    Ok(remote_registry(&local, queue))
}

/// The model set path's router over the queue, and the monitor feeding it the queue's load.
pub(crate) fn queued_router(
    model: &Path,
    config: &Config,
    config_path: Option<&Path>,
    queue: &QueueConfig,
) -> anyhow::Result<(Arc<qroute::route::Router>, qroute::queue::Monitor)> {
    let router = Arc::new(super::route::router_with(
        model,
        config,
        config_path,
        queued_registry(config, queue)?,
    )?);
    let monitor =
        qroute::queue::Monitor::start(queue.clone(), router.clone(), Duration::from_millis(250))
            .with_context(|| format!("cannot read the queue at {}", queue.params().url))?;
    Ok((router, monitor))
}
