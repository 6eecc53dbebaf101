//! `qroute collect`: the full-information sweep, then compaction of what it wrote.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::params::{invalid, seconds};
use crate::backend::Registry;
use crate::exec::collect::{CollectSpec, CollectSummary, JobOrder, Progress, collect};
use crate::telemetry::TelemetryError;
use crate::telemetry::compact::{CompactOptions, CompactReport, compact};

/// What a sweep recorded, and how its files were merged.
#[derive(Debug)]
pub struct Collected {
    /// The sweep's counts.
    pub summary: CollectSummary,
    /// The compaction after it. A failed one loses nothing: the recorded files stay as
    /// written, and `qroute telemetry compact` merges them later.
    pub compaction: Result<CompactReport, TelemetryError>,
}

impl Collected {
    /// Every circuit parsed and the sweep was not stopped.
    pub fn all_ok(&self) -> bool {
        self.summary.bad_circuits.is_empty() && self.summary.interrupted == 0
    }
}

/// Runs the sweep of `spec` on `registry` until done or `stop` is set, then merges the files
/// of each date partition of `spec.out` into one (safe beside readers and other writers).
pub fn run(
    spec: &CollectSpec,
    registry: &Registry,
    stop: &AtomicBool,
    progress: impl FnMut(Progress),
) -> crate::Result<Collected> {
    let summary = collect(spec, registry, stop, progress)?;
    let compaction = compact(&spec.out, &CompactOptions::default());
    Ok(Collected {
        summary,
        compaction,
    })
}

/// Run every circuit on every backend and record each attempt as telemetry (Parquet).
///
/// A full-information sweep: ineligible and timed-out attempts are recorded too (a timeout
/// row carries the timeout). The order is seeded (see --order); a (circuit, backend) that
/// timed out or was refused is not repeated. Rerunning with the same arguments resumes:
/// attempts already in DIR are skipped. Ctrl-C stops after the running attempt, flushes what
/// was recorded and prints a summary. At the end the files of DIR are compacted (as `qroute
/// telemetry compact`). Columns: docs/telemetry.md.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct CollectParams {
    /// OpenQASM 2 files or directories (searched recursively for *.qasm).
    #[cfg_attr(feature = "cli", arg(required = true))]
    pub circuits: Vec<PathBuf>,
    /// Backends: `all`, or names separated by commas (see `qroute backends`).
    #[cfg_attr(feature = "cli", arg(long, default_value = "all"))]
    pub backends: String,
    /// Attempts per circuit and backend.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1))]
    pub repeat: u32,
    /// Attempts per circuit and backend once one took a second or more (at most --repeat;
    /// default: --repeat). A long run's time scatters less, and long runs are most of a
    /// sweep's time: `--repeat 3 --repeat-long 2` saves a third of it.
    #[cfg_attr(feature = "cli", arg(long, value_name = "N"))]
    pub repeat_long: Option<u32>,
    /// Shots per attempt.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1024))]
    pub shots: u64,
    /// Timeout per attempt, seconds.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 20.0))]
    pub timeout: f64,
    /// Threads per attempt.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1))]
    pub threads: usize,
    /// Seed of the order and of every run.
    #[cfg_attr(feature = "cli", arg(long, short = 's', default_value_t = 0))]
    pub seed: u64,
    /// `by-circuit`: one circuit at a time (circuits and backends in a seeded random
    /// order), all its backends and repetitions together, so they are timed under the
    /// same host speed; `shuffled`: first attempts of the whole sweep in a random order,
    /// then second attempts, so a circuit's runs lie far apart. On a host whose speed
    /// drifts, `by-circuit` measures which backend is fastest far more repeatably
    /// (docs/telemetry.md).
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value = "by-circuit"))]
    pub order: JobOrder,
    /// Time qroute's fixed calibration workload (about 0.15 s) before the first job and
    /// again after this many seconds, recording it with each row (`host_calibration_ms`:
    /// the host's speed, to put times from different days and hosts on one scale); 0: never.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 300.0))]
    pub calibrate_every: f64,
    /// Telemetry directory (created if missing).
    #[cfg_attr(feature = "cli", arg(long))]
    pub out: PathBuf,
}

impl CollectParams {
    /// `qroute collect`: the sweep over `config`'s backends in executor processes of the
    /// running executable, then compaction (see [`run`]).
    pub fn run(
        &self,
        config: &crate::config::Config,
        stop: &AtomicBool,
        progress: impl FnMut(Progress),
    ) -> crate::Result<Collected> {
        let spec = self.check()?;
        let registry = config.registry(&super::process_isolation()?)?;
        run(&spec, &registry, stop, progress)
    }

    /// The sweep: the circuit files found, the backends named, the numbers checked.
    pub fn check(&self) -> crate::Result<CollectSpec> {
        let timeout = seconds("--timeout", self.timeout)?;
        if self.repeat == 0 {
            return Err(invalid("--repeat", "must be at least 1"));
        }
        let repeat_long = self.repeat_long.unwrap_or(self.repeat);
        if !(1..=self.repeat).contains(&repeat_long) {
            return Err(invalid(
                "--repeat-long",
                format!("must be from 1 to --repeat ({})", self.repeat),
            ));
        }
        Ok(CollectSpec {
            circuits: crate::circuit::files::discover(&self.circuits)?,
            backends: if self.backends == "all" {
                Vec::new()
            } else {
                self.backends
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect()
            },
            repeat: self.repeat,
            repeat_long,
            shots: self.shots,
            timeout,
            threads: self.threads,
            seed: self.seed,
            order: self.order,
            calibrate_every: match self.calibrate_every {
                0.0 => None,
                every => Some(seconds("--calibrate-every", every)?),
            },
            out: self.out.clone(),
        })
    }
}
