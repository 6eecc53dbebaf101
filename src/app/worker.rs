//! `qroute worker`: a Redis Streams worker over the configured backends, recording every
//! execution as telemetry.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

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
