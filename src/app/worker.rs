//! `qroute worker`: a Redis Streams worker over the configured backends, recording every
//! execution as telemetry.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::params::{QueueAt, seconds};
use crate::backend::{Availability, Isolation, Registry};
use crate::config::Config;
use crate::queue::{QueueConfig, Worker, WorkerOptions, WorkerStats};
use crate::telemetry::{TelemetryWriter, WriterOptions};

/// The backends a worker serves: the names given, or with `all` among them every configured
/// backend available here.
pub fn backends(registry: &Registry, names: &[String]) -> Vec<String> {
    if names.iter().any(|b| b == "all") {
        registry
            .iter()
            .filter(|b| matches!(b.availability(), Availability::Available))
            .map(|b| b.name().to_string())
            .collect()
    } else {
        names.to_vec()
    }
}

/// A worker ready to run, and its telemetry writer.
pub struct Assembled {
    /// The worker.
    pub worker: Worker,
    /// Set it to stop after the running jobs.
    pub stop: Arc<AtomicBool>,
    /// Its options, with the backends resolved.
    pub options: WorkerOptions,
    writer: Arc<TelemetryWriter>,
    telemetry: PathBuf,
}

/// What a worker did, and the rows its telemetry holds.
#[derive(Debug)]
pub struct Stopped {
    /// Its counts.
    pub stats: WorkerStats,
    /// Rows written.
    pub rows: u64,
    /// Where.
    pub telemetry: PathBuf,
}

/// A worker on `queue` over `config`'s backends in executor processes started as `exe`,
/// serving `opts.backends` (`all`: every available one), writing telemetry to `telemetry`.
pub fn assemble(
    config: &Config,
    exe: &Isolation,
    queue: QueueConfig,
    mut opts: WorkerOptions,
    telemetry: PathBuf,
) -> crate::Result<Assembled> {
    let registry = config.registry(exe)?;
    opts.backends = backends(&registry, &opts.backends);
    let writer = Arc::new(TelemetryWriter::open(&telemetry, WriterOptions::default())?);
    let worker = Worker::new(
        queue,
        Arc::new(registry),
        Some(writer.clone()),
        opts.clone(),
    )?;
    let stop = worker.stopper();
    Ok(Assembled {
        worker,
        stop,
        options: opts,
        writer,
        telemetry,
    })
}

impl Assembled {
    /// Serves until the stop flag is set, then flushes the telemetry.
    pub fn run(self) -> crate::Result<Stopped> {
        let result = self.worker.run();
        // The worker holds the writer too: released first, so that the count below is the
        // writer's final one (#28).
        drop(self.worker);
        let rows = match Arc::try_unwrap(self.writer) {
            Ok(w) => w.close()?.rows,
            Err(_) => 0,
        };
        Ok(Stopped {
            stats: result?,
            rows,
            telemetry: self.telemetry,
        })
    }
}

/// Serve backends' job streams on Redis: run each job in an executor process, write its
/// result, record telemetry.
///
/// One stream per backend (`qroute:jobs:<backend>`) read in the consumer group `workers`. A
/// job pending on a worker that stopped heartbeating is claimed by another after
/// --visibility-timeout; one delivered --max-deliveries times without a result goes to the
/// dead-letter stream `qroute:dead` with its last error. Results are written once per job id.
/// Ctrl-C or SIGTERM: no new jobs, running ones finish, telemetry flushed. Guide:
/// docs/distributed.md.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct WorkerParams {
    /// The queue.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub queue: QueueAt,
    /// Backends to serve, comma-separated (one stream each); `all` serves every configured
    /// backend available here.
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ',', required = true))]
    pub backends: Vec<String>,
    /// Jobs run at once.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1))]
    pub concurrency: usize,
    /// Telemetry directory for every execution.
    #[cfg_attr(feature = "cli", arg(long, default_value = "telemetry/worker"))]
    pub telemetry: PathBuf,
    /// Wall-clock limit of a job that gives none, and the most one may ask, seconds.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 600.0))]
    pub max_timeout: f64,
    /// Consumer name, unique among workers (default: host name and process id).
    #[cfg_attr(feature = "cli", arg(long))]
    pub name: Option<String>,
    /// A job pending on a worker silent this long is claimed by another, seconds.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 60.0))]
    pub visibility_timeout: f64,
    /// Deliveries of a job before it goes to the dead-letter stream.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 3))]
    pub max_deliveries: u32,
}

impl WorkerParams {
    /// The worker these settings describe, over `config`'s backends in executor processes
    /// of the running executable.
    pub fn assemble(&self, config: &Config) -> crate::Result<Assembled> {
        let mut p = self.queue.params();
        p.visibility_timeout = seconds("--visibility-timeout", self.visibility_timeout)?;
        p.max_deliveries = self.max_deliveries;
        let queue = p.check()?;
        let mut opts = WorkerOptions::new(self.backends.clone());
        opts.concurrency = self.concurrency;
        opts.max_timeout = seconds("--max-timeout", self.max_timeout)?;
        if let Some(n) = &self.name {
            opts.name = n.clone();
        }
        let exe = super::process_isolation()?;
        assemble(config, &exe, queue, opts, self.telemetry.clone())
    }
}
