//! A batch of jobs routed and run by a pool of threads, stopped between jobs by a flag (a
//! Ctrl-C handler sets it), reporting each job as it starts and ends.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use std::path::{Path, PathBuf};

use super::AppError;
use super::params::{RouteParams, RunParams};
use super::router::Executors;
use crate::circuit::qasm::{ParseError, ParseWarning};
use crate::config::Config;
use crate::exec::{JobReport, Runner};
use crate::route::Constraints;
use crate::route::Job;
use crate::route::RouterStats;
use crate::telemetry::TelemetryError;

/// What a batch reports while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// The circuit files were read ([`BatchParams::run`] only): this many runs will be made,
    /// and these files did not parse (they are left out).
    Loaded {
        /// Runs to make: one per job, two with a baseline (each `Finished` once).
        runs: usize,
        /// The files that did not parse.
        errors: &'a [ParseError],
        /// What parsed but is worth a warning.
        warnings: &'a [ParseWarning],
    },
    /// A job was taken by a thread.
    Started(&'a Job),
    /// A job ended (ran, or failed on every backend tried).
    Finished(&'a JobReport),
}

/// The reports of a batch.
#[derive(Debug)]
pub struct Batch {
    /// One per job that ran, in the jobs' order.
    pub reports: Vec<JobReport>,
    /// Jobs not run because the stop flag was set.
    pub not_run: usize,
}

/// Runs `jobs` with `runner` on `threads` threads (1: one by one, in order), until all ran or
/// `stop` is set; a job running when it is set finishes. A telemetry write failure stops the
/// batch and is returned: a run whose record is lost would be measured for nothing.
pub fn run(
    runner: &Runner<'_>,
    jobs: &[Job],
    constraints: &Constraints,
    threads: usize,
    stop: &AtomicBool,
    progress: impl Fn(Event<'_>) + Sync,
) -> Result<Batch, TelemetryError> {
    let slots = for_each(jobs.len(), threads, stop, |n| {
        progress(Event::Started(&jobs[n]));
        let report = runner.run(n, &jobs[n], constraints)?;
        progress(Event::Finished(&report));
        Ok(report)
    })?;
    let reports: Vec<JobReport> = slots.into_iter().flatten().collect();
    Ok(Batch {
        not_run: jobs.len() - reports.len(),
        reports,
    })
}

/// Route each circuit, run it, and record every attempt as telemetry.
///
/// Prints per circuit the backend, where it ran (in this process when predicted far below
/// its timeout and memory, else in an executor process), predicted and actual time and cost,
/// then a summary against prism-auto as the model predicts it (or, with `--baseline`, as
/// measured by running the batch there too). A failed or timed-out
/// attempt is retried on the next eligible backend (bounded, with backoff); a backend failing
/// repeatedly is skipped by its circuit breaker. Ctrl-C stops after the running circuit and
/// flushes the telemetry.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct BatchParams {
    /// The circuits and their constraints.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub route: RouteParams,
    /// How they run.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub run: RunParams,
    /// Also run the batch on this backend alone (e.g. prism-auto), recorded like the routed
    /// runs, and compare measured times; circuits it cannot take are left out of the
    /// comparison and counted.
    #[cfg_attr(feature = "cli", arg(long, value_name = "BACKEND"))]
    pub baseline: Option<String>,
    /// Write each circuit's result (counts, backend, times, cost, attempts) to
    /// `DIR/<file stem>.json` as soon as it ends (a crash keeps those written).
    #[cfg_attr(feature = "cli", arg(long, value_name = "DIR"))]
    pub results: Option<PathBuf>,
}

/// Where `--results` writes each job's report: `<stem>.json`, with `-2`, `-3`, ... after the
/// stem for a name already taken, in job order.
pub fn result_files(dir: &Path, jobs: &[Job]) -> std::collections::HashMap<String, PathBuf> {
    let mut taken = std::collections::HashSet::new();
    let mut out = std::collections::HashMap::new();
    for job in jobs {
        let stem = Path::new(&job.name)
            .file_stem()
            .map_or("circuit".into(), |s| s.to_string_lossy().into_owned());
        let mut name = format!("{stem}.json");
        let mut k = 2;
        while !taken.insert(name.clone()) {
            name = format!("{stem}-{k}.json");
            k += 1;
        }
        out.insert(job.name.clone(), dir.join(name));
    }
    out
}

/// Writes `report` to `path` through a temporary file and a rename: a reader never sees half
/// a result.
fn write_result(path: &Path, report: &JobReport) -> Result<(), AppError> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(report)
        .map_err(|e| AppError::io("write", path, std::io::Error::other(e.to_string())))?;
    std::fs::write(&tmp, text).map_err(|e| AppError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| AppError::io("write", path, e))
}

/// The batch run again on one backend, for a measured comparison.
#[derive(Debug)]
pub struct Baseline {
    /// The backend's full name.
    pub backend: String,
    /// One report per job, as in the routed batch; a job the backend cannot take has no
    /// attempt and says why.
    pub batch: Batch,
}

/// A batch that ran, and what it was run with.
#[derive(Debug)]
pub struct Ran {
    /// The reports.
    pub batch: Batch,
    /// The files that did not parse.
    pub bad_files: Vec<ParseError>,
    /// Wall time of the whole batch.
    pub elapsed: std::time::Duration,
    /// Telemetry rows written here (none behind a queue: the workers record).
    pub rows: u64,
    /// The telemetry directory.
    pub telemetry: PathBuf,
    /// Whether the jobs ran behind the Redis queue.
    pub queued: bool,
    /// The model set's version.
    pub model_version: String,
    /// The router's counters after the batch.
    pub stats: RouterStats,
    /// The batch on the `--baseline` backend, when asked for.
    pub baseline: Option<Baseline>,
}

impl Ran {
    /// What `--format json` prints: every job's report (with its outcome), the router's
    /// counters, and the baseline's reports when there is one.
    pub fn to_json(&self) -> serde_json::Value {
        let baseline = self
            .baseline
            .as_ref()
            .map(|b| serde_json::json!({ "backend": b.backend, "jobs": b.batch.reports }));
        serde_json::json!({
            "jobs": self.batch.reports,
            "stats": self.stats,
            "baseline": baseline,
        })
    }

    /// Every file parsed, every job ran and succeeded, none was left by a stop.
    pub fn all_ok(&self) -> bool {
        let failed = self.batch.reports.iter().any(|r| r.success().is_none());
        self.bad_files.is_empty() && !failed && self.batch.not_run == 0
    }
}

impl BatchParams {
    /// `qroute run`: the circuit files loaded, each job routed and run, every attempt written
    /// to the telemetry directory (flushed and closed at the end, also when stopped). Here
    /// jobs run one by one; behind a queue up to `in_flight` wait on workers at once. A file
    /// that does not parse is reported by [`Event::Loaded`] and left out.
    pub fn run(
        &self,
        config: &Config,
        config_path: Option<&Path>,
        stop: &AtomicBool,
        progress: impl Fn(Event<'_>) + Sync,
    ) -> crate::Result<Ran> {
        let exec = &self.run.exec;
        let opts = exec.options("run")?;
        let constraints = self.route.constraints()?;
        let loaded = super::jobs::load(&self.route.files)?;
        let model = &self.route.circuit.model;
        let ex = Executors::build(model, config, config_path, exec.via()?, opts.isolation)?;
        // The baseline alone: every other backend excluded, so nothing falls back elsewhere.
        let baseline = match &self.baseline {
            None => None,
            Some(name) => {
                let registry = ex.router.registry();
                let Some(b) = registry.get(name) else {
                    return Err(AppError::UnknownBackend {
                        name: name.clone(),
                        configured: registry.names(),
                    }
                    .into());
                };
                let mut only = constraints.clone();
                only.exclude = registry
                    .iter()
                    .map(|x| x.name().to_string())
                    .filter(|x| x != b.name())
                    .collect();
                Some((b.name().to_string(), only))
            }
        };
        progress(Event::Loaded {
            runs: loaded.jobs.len() * (1 + usize::from(baseline.is_some())),
            errors: &loaded.errors,
            warnings: &loaded.warnings,
        });
        let writer = crate::telemetry::TelemetryWriter::open(&exec.telemetry, Default::default())?;
        let results = match &self.results {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| AppError::io("create", dir, e))?;
                result_files(dir, &loaded.jobs)
            }
            None => Default::default(),
        };
        // A result is written as its job ends; the first failure to write is returned.
        let write_failed: Mutex<Option<AppError>> = Mutex::new(None);
        let routed_progress = |e: Event<'_>| {
            if let Event::Finished(report) = &e
                && let Some(path) = results.get(&report.name)
                && let Err(err) = write_result(path, report)
            {
                write_failed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(err);
            }
            progress(e)
        };
        let runner = ex.runner(Some(&writer), opts);
        let started = std::time::Instant::now();
        let threads = if ex.queued { self.run.in_flight } else { 1 };
        let batch = run(
            &runner,
            &loaded.jobs,
            &constraints,
            threads,
            stop,
            routed_progress,
        );
        let elapsed = started.elapsed();
        let baseline = match (baseline, &batch) {
            (Some((backend, only)), Ok(_)) if !stop.load(Ordering::Relaxed) => Some(Baseline {
                backend,
                batch: run(&runner, &loaded.jobs, &only, threads, stop, &progress)?,
            }),
            _ => None,
        };
        let rows = writer.close()?.rows;
        if let Some(e) = write_failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e.into());
        }
        Ok(Ran {
            baseline,
            batch: batch?,
            bad_files: loaded.errors,
            elapsed,
            rows,
            telemetry: exec.telemetry.clone(),
            queued: ex.queued,
            model_version: ex.router.model_version(),
            stats: ex.router.stats(),
        })
    }
}

/// The one worker pool of qroute's batch work: `f(0..n)` on up to `threads` scoped threads
/// taking indices in order, until every index is done, `stop` is set, or one call fails (the
/// first error is returned and the others stop). Slot `i` holds `f(i)` when it ran.
pub fn for_each<T: Send, E: Send>(
    n: usize,
    threads: usize,
    stop: &AtomicBool,
    f: impl Fn(usize) -> Result<T, E> + Sync,
) -> Result<Vec<Option<T>>, E> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let failure: Mutex<Option<E>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, n.max(1)) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) && !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    match f(i) {
                        Ok(t) => *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(t),
                        Err(e) => {
                            failure
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                            failed.store(true, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(slots
        .into_iter()
        .map(|s| s.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_runs_once_in_its_slot() {
        let stop = AtomicBool::new(false);
        let out = for_each(100, 4, &stop, |i| Ok::<_, ()>(i * 2)).unwrap();
        assert_eq!(out, (0..100).map(|i| Some(i * 2)).collect::<Vec<_>>());
    }

    #[test]
    fn a_failure_stops_the_pool_and_is_returned() {
        let stop = AtomicBool::new(false);
        let ran = AtomicUsize::new(0);
        let r = for_each(1000, 1, &stop, |i| {
            ran.fetch_add(1, Ordering::Relaxed);
            if i == 3 { Err(i) } else { Ok(i) }
        });
        assert_eq!(r, Err(3));
        assert_eq!(
            ran.load(Ordering::Relaxed),
            4,
            "one thread stops at the failure"
        );
    }

    #[test]
    fn a_set_stop_flag_leaves_the_rest_unrun() {
        let stop = AtomicBool::new(false);
        let out = for_each(10, 1, &stop, |i| {
            if i == 4 {
                stop.store(true, Ordering::Relaxed);
            }
            Ok::<_, ()>(i)
        })
        .unwrap();
        assert_eq!(out.iter().flatten().count(), 5);
        assert!(out[5..].iter().all(Option::is_none));
    }
}
