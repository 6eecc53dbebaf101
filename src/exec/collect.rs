//! The full-information sweep behind `qroute collect`: every circuit on every backend, every
//! attempt recorded — ineligible and timed-out ones too.
//!
//! Jobs are `(circuit, backend, repetition)`, run in an order shuffled with the seed
//! ([`JobOrder`]: over the whole sweep, or circuit by circuit). A job's
//! id is `<circuit_id>:<backend>:<repetition>`; jobs whose id is already in the output
//! directory are skipped, so an interrupted sweep resumes where it stopped. After a timeout or
//! an ineligible answer the remaining repetitions of that circuit on that backend are not run;
//! after an attempt over [`LONG_RUN`], only [`CollectSpec::repeat_long`] of them are.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Check, execute_and_record};
use crate::backend::{Backend, Registry, RunSpec};
use crate::circuit::Circuit;
use crate::circuit::qasm::{ParseError, parse_file};
use crate::features::{Features, extract};
use crate::rng::Rng;
use crate::telemetry::{
    ExecutionRecord, Status, TelemetryError, TelemetryWriter, WriterOptions, host_name, read_dir,
};
use crate::time::now_us;

/// The order a sweep runs its jobs in. Either way every (circuit, backend)'s first attempt
/// comes before its second, so a timeout is known before a repetition would be spent on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum JobOrder {
    /// First attempts of the whole sweep in a shuffled order, then second attempts, and so
    /// on: a host that slows down for a while slows a random sample of jobs, but the runs of
    /// one circuit lie hours apart.
    Shuffled,
    /// Circuits in a shuffled order; each circuit's attempts run together, every backend's
    /// first (in a shuffled order), then every backend's second. A circuit's backends are
    /// then timed under the same host speed, so which is fastest is measured under like
    /// conditions (`qroute telemetry summary` reports how far the runs agree).
    #[default]
    ByCircuit,
}

/// Every `(circuit, backend, repetition)` job in `order`, shuffled with `seed`.
fn job_order(
    circuits: usize,
    backends: usize,
    repeat: u32,
    order: JobOrder,
    seed: u64,
) -> Vec<(usize, usize, u32)> {
    let mut rng = Rng::new(seed);
    let mut jobs = Vec::with_capacity(circuits * backends * repeat as usize);
    match order {
        JobOrder::Shuffled => {
            for ci in 0..circuits {
                for bi in 0..backends {
                    jobs.extend((0..repeat).map(|rep| (ci, bi, rep)));
                }
            }
            // Shuffle, then a stable sort by repetition: first attempts before second ones.
            rng.shuffle(&mut jobs);
            jobs.sort_by_key(|&(_, _, rep)| rep);
        }
        JobOrder::ByCircuit => {
            let mut cs: Vec<usize> = (0..circuits).collect();
            rng.shuffle(&mut cs);
            let mut bs: Vec<usize> = (0..backends).collect();
            for ci in cs {
                for rep in 0..repeat {
                    rng.shuffle(&mut bs);
                    jobs.extend(bs.iter().map(|&bi| (ci, bi, rep)));
                }
            }
        }
    }
    jobs
}

/// What to sweep.
#[derive(Debug, Clone)]
pub struct CollectSpec {
    /// Circuit files.
    pub circuits: Vec<PathBuf>,
    /// Backend names (all of the registry's when empty).
    pub backends: Vec<String>,
    /// Attempts per (circuit, backend).
    pub repeat: u32,
    /// Attempts per (circuit, backend) once one of them took [`LONG_RUN`] or more (at most
    /// `repeat`): a long run's time scatters less, and it is most of a sweep's time.
    pub repeat_long: u32,
    /// Shots per attempt.
    pub shots: u64,
    /// Timeout per attempt.
    pub timeout: Duration,
    /// Threads per attempt.
    pub threads: usize,
    /// Seed of the order and of every run.
    pub seed: u64,
    /// Order of the jobs.
    pub order: JobOrder,
    /// How often the host's speed is measured again ([`super::calibration`]); `None`: not
    /// measured, and rows carry none.
    pub calibrate_every: Option<Duration>,
    /// Telemetry directory.
    pub out: PathBuf,
}

/// Progress events for a progress bar.
#[derive(Debug, Clone)]
pub enum Progress {
    /// The sweep is planned: jobs to run, and jobs already in the directory.
    Planned {
        /// Jobs to run now.
        todo: usize,
        /// Jobs skipped because they were recorded before.
        done_before: usize,
    },
    /// One job finished.
    Job {
        /// Circuit file.
        circuit: String,
        /// Backend.
        backend: String,
        /// How it ended.
        status: Status,
    },
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectSummary {
    /// Attempts recorded now, by status: ok, failed, timeout, ineligible.
    pub ok: u64,
    /// Failed attempts.
    pub failed: u64,
    /// Timed-out attempts.
    pub timeout: u64,
    /// Ineligible attempts.
    pub ineligible: u64,
    /// Jobs skipped because a repetition before them timed out or was ineligible.
    pub skipped: u64,
    /// Jobs skipped because `repeat_long` attempts before them were long runs.
    pub skipped_long: u64,
    /// Jobs found already recorded.
    pub done_before: u64,
    /// Jobs not run because the sweep was interrupted.
    pub interrupted: u64,
    /// Files that could not be parsed, with the error.
    pub bad_circuits: Vec<String>,
    /// Files skipped because an earlier file holds the same circuit (same canonical id).
    pub duplicates: u64,
}

/// Most repetitions per circuit and backend.
pub const MAX_REPEAT: u32 = 1000;

/// An attempt this long makes its (circuit, backend) a long run ([`CollectSpec::repeat_long`]).
pub const LONG_RUN: Duration = Duration::from_secs(1);

/// A sweep that could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// The telemetry directory or writer failed.
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    /// A count of the spec over its bound (shots, threads, repetitions).
    #[error(transparent)]
    OverBound(#[from] crate::bounds::OverBound),
    /// A backend name that the registry does not have.
    #[error("unknown backend `{name}` (configured: {known})")]
    UnknownBackend {
        /// The name.
        name: String,
        /// Names that exist.
        known: String,
    },
}

struct Loaded {
    path: PathBuf,
    circuit: Circuit,
    features: Features,
    id: String,
    source: Option<String>,
    family: Option<String>,
}

/// Runs the sweep, writing to `spec.out`, until done or until `stop` is set (then the rows so
/// far are flushed and the summary says how many jobs were left).
pub fn collect(
    spec: &CollectSpec,
    registry: &Registry,
    stop: &AtomicBool,
    mut progress: impl FnMut(Progress),
) -> Result<CollectSummary, CollectError> {
    // Jobs are allocated per (circuit, backend, repetition): the counts are bounded first.
    crate::bounds::at_most("repetitions", spec.repeat.into(), MAX_REPEAT.into())?;
    crate::bounds::shots(spec.shots)?;
    crate::bounds::threads(spec.threads)?;
    let mut summary = CollectSummary::default();
    let backends: Vec<&std::sync::Arc<dyn Backend>> = if spec.backends.is_empty() {
        registry.iter().collect()
    } else {
        spec.backends
            .iter()
            .map(|n| {
                registry.get(n).ok_or_else(|| CollectError::UnknownBackend {
                    name: n.clone(),
                    known: registry.names(),
                })
            })
            .collect::<Result<_, _>>()?
    };
    let mut circuits: Vec<Loaded> = Vec::new();
    for path in &spec.circuits {
        match parse_file(path) {
            Ok(circuit) => {
                // The same circuit under two names is one circuit: it is run once.
                let id = circuit.id().to_string();
                if circuits.iter().any(|c| c.id == id) {
                    summary.duplicates += 1;
                    continue;
                }
                let (source, family) = crate::circuit::files::corpus_tags(path);
                circuits.push(Loaded {
                    path: path.clone(),
                    id,
                    features: extract(&circuit),
                    circuit,
                    source,
                    family,
                });
            }
            Err(e) => summary.bad_circuits.push(ParseError::to_string(&e)),
        }
    }
    std::fs::create_dir_all(&spec.out).map_err(|e| TelemetryError::Io {
        path: spec.out.clone(),
        error: e,
    })?;
    let existing = read_dir(&spec.out)?.records;
    let recorded: HashSet<&str> = existing.iter().map(|r| r.job_id.as_str()).collect();
    let mut jobs = job_order(
        circuits.len(),
        backends.len(),
        spec.repeat,
        spec.order,
        spec.seed,
    );
    let key = |(ci, bi, rep): (usize, usize, u32)| {
        format!("{}:{}:{rep}", circuits[ci].id, backends[bi].name())
    };
    let before = jobs.len();
    jobs.retain(|&j| !recorded.contains(key(j).as_str()));
    summary.done_before = (before - jobs.len()) as u64;
    // A (circuit, backend) whose earlier attempt timed out or was ineligible is not repeated;
    // one with an attempt of LONG_RUN or more gets `repeat_long` attempts.
    let is_long = |r: &ExecutionRecord| {
        r.status != Status::Ineligible
            && r.wall_ms
                .is_some_and(|ms| ms >= LONG_RUN.as_secs_f64() * 1e3)
    };
    let mut dead: HashSet<(usize, usize)> = HashSet::new();
    let mut long: HashSet<(usize, usize)> = HashSet::new();
    for r in &existing {
        let ci = circuits.iter().position(|c| c.id == r.circuit_id);
        let bi = backends.iter().position(|b| b.name() == r.backend);
        let Some(pair) = ci.zip(bi) else { continue };
        if matches!(r.status, Status::Timeout | Status::Ineligible) {
            dead.insert(pair);
        }
        if is_long(r) {
            long.insert(pair);
        }
    }
    progress(Progress::Planned {
        todo: jobs.len(),
        done_before: summary.done_before as usize,
    });
    let writer = TelemetryWriter::open(
        &spec.out,
        WriterOptions {
            batch_rows: 64,
            flush_interval: Duration::from_secs(1),
            ..WriterOptions::default()
        },
    )?;
    let run_id = format!("collect-{}-{}", host_name(), now_us());
    let host = host_name();
    let mut calibration = spec
        .calibrate_every
        .map(super::calibration::HostCalibration::new);
    for (n, &(ci, bi, rep)) in jobs.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            summary.interrupted = (jobs.len() - n) as u64;
            break;
        }
        if dead.contains(&(ci, bi)) {
            summary.skipped += 1;
            continue;
        }
        // Repetitions run in order (`job_order`), so `rep` attempts came before this one.
        if rep >= spec.repeat_long && long.contains(&(ci, bi)) {
            summary.skipped_long += 1;
            continue;
        }
        let c = &circuits[ci];
        let b = backends[bi];
        let run = RunSpec {
            shots: spec.shots,
            seed: spec.seed ^ ((ci as u64) << 32) ^ ((bi as u64) << 16) ^ rep as u64,
            memory_budget: None,
            threads: spec.threads,
            timeout: Some(spec.timeout),
            cutoff: None,
            options: Default::default(),
        };
        // Measured between jobs, never beside one.
        let host_calibration_ms = calibration.as_mut().map(|c| c.current());
        let base = ExecutionRecord {
            circuit_name: c.path.display().to_string(),
            source: c.source.clone(),
            family: c.family.clone(),
            host_calibration_ms,
            ..ExecutionRecord::attempt(
                run_id.clone(),
                key((ci, bi, rep)),
                c.id.clone(),
                c.features.clone(),
                b.name(),
            )
        };
        let done = execute_and_record(
            b.as_ref(),
            &c.circuit,
            &c.features,
            &run,
            Check::First,
            base,
            &host,
        );
        let rec = done.record;
        // Ctrl-C in a terminal (or `timeout -s INT`) signals the whole process group, so the
        // executor of the attempt in flight dies with the sweep's stop: that is no outcome of
        // the circuit. It is left unrecorded, and a rerun runs it again.
        if stop.load(Ordering::Relaxed) && rec.status == Status::Failed {
            summary.interrupted = (jobs.len() - n) as u64;
            break;
        }
        match rec.status {
            Status::Ok => summary.ok += 1,
            // A sweep runs every attempt to its timeout (execute_and_record never hedges).
            Status::Timeout | Status::Hedged => summary.timeout += 1,
            Status::Ineligible => summary.ineligible += 1,
            Status::Failed => summary.failed += 1,
        }
        if is_long(&rec) {
            long.insert((ci, bi));
        }
        if matches!(rec.status, Status::Timeout | Status::Ineligible) {
            dead.insert((ci, bi));
        }
        progress(Progress::Job {
            circuit: c.path.display().to_string(),
            backend: b.name().to_string(),
            status: rec.status,
        });
        writer.write(&rec)?;
    }
    writer.close()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_orders_hold_every_job_once_and_first_attempts_first() {
        for order in [JobOrder::Shuffled, JobOrder::ByCircuit] {
            let jobs = job_order(7, 4, 3, order, 11);
            let mut sorted = jobs.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), 7 * 4 * 3, "{order:?}");
            for (i, &(ci, bi, rep)) in jobs.iter().enumerate() {
                if rep > 0 {
                    let first = jobs.iter().position(|&j| j == (ci, bi, rep - 1)).unwrap();
                    assert!(
                        first < i,
                        "{order:?}: {:?} before its previous attempt",
                        jobs[i]
                    );
                }
            }
            assert_eq!(jobs, job_order(7, 4, 3, order, 11), "seeded");
            assert_ne!(
                jobs,
                job_order(7, 4, 3, order, 12),
                "another seed, another order"
            );
        }
    }

    #[test]
    fn by_circuit_keeps_a_circuits_attempts_together() {
        let jobs = job_order(5, 3, 2, JobOrder::ByCircuit, 3);
        for block in jobs.chunks(3 * 2) {
            assert!(block.iter().all(|j| j.0 == block[0].0), "{block:?}");
        }
        // The shuffled order spreads them over the sweep.
        let spread = job_order(5, 3, 2, JobOrder::Shuffled, 3);
        assert!(spread.chunks(6).any(|b| b.iter().any(|j| j.0 != b[0].0)));
    }
}
