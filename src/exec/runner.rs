//! [`Runner`]: circuits executed through the router — isolation chosen per job, failures
//! retried on the next eligible backend with backoff, every attempt recorded as telemetry and
//! fed back to the router.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Check, execute_and_record, execute_watched};
use crate::backend::{Backend, BackendKind, CircuitFacts, Outcome, Registry, RunSpec};
use crate::features::{Feature, Features};
use crate::route::{Constraints, Job, Recommendation, RouteError, Router};
use crate::telemetry::{ExecutionRecord, Status, TelemetryError, TelemetryWriter, host_name};

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum IsolationPolicy {
    /// Always in an executor process (a timeout or a crash kills only the child).
    Always,
    /// Always in this process (no timeout can be enforced).
    Never,
    /// In this process when the job is predicted far below its timeout and memory limit,
    /// otherwise in an executor process.
    Auto {
        /// The upper end of the 90% latency interval times this must stay within the timeout.
        margin: f64,
        /// Largest dense state (16 B × 2^qubits) run in-process on a dense simulator, bytes.
        max_in_process_bytes: f64,
        /// Largest predicted failure risk run in-process.
        max_risk: f64,
    },
}

impl Default for IsolationPolicy {
    fn default() -> Self {
        IsolationPolicy::Auto {
            margin: 10.0,
            max_in_process_bytes: (1u64 << 30) as f64,
            max_risk: 0.05,
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Wall-clock limit of each attempt in an executor process.
    pub timeout: Duration,
    /// Seed of every run.
    pub seed: u64,
    /// Label of this run in telemetry.
    pub run_id: String,
    /// In-process or isolated.
    pub isolation: IsolationPolicy,
    /// A backend whose predicted time is reported beside each job, for comparison.
    pub baseline: Option<String>,
}

/// One attempt of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// Backend.
    pub backend: String,
    /// Whether it ran in an executor process.
    pub isolated: bool,
    /// How it ended.
    pub status: Status,
    /// Predicted wall time, ms.
    pub predicted_ms: f64,
    /// Predicted cost.
    pub predicted_cost: f64,
    /// Wall time of the simulation, ms (the timeout for a timeout).
    pub wall_ms: Option<f64>,
    /// Time around the execution beyond the simulation itself, ms (process round trip,
    /// serialisation).
    pub overhead_ms: f64,
    /// Cost under the backend's price.
    pub cost: Option<f64>,
    /// What went wrong.
    pub error: Option<String>,
}

/// What happened to one job.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    /// The job's name.
    pub name: String,
    /// The first recommendation (the router's choice before any fallback).
    pub recommendation: Option<Recommendation>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
    /// The result of the successful attempt: counts (classical bit 0 rightmost, as Qiskit
    /// writes them), times, memory, fidelity and the engine's details.
    pub outcome: Option<Outcome>,
    /// Why no attempt succeeded.
    pub error: Option<String>,
    /// The baseline backend's predicted time for this circuit, ms.
    pub baseline_ms: Option<f64>,
}

impl JobReport {
    /// The successful attempt.
    pub fn success(&self) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.status == Status::Ok)
    }
}

/// Runs jobs through a router.
pub struct Runner<'a> {
    router: &'a Router,
    isolated: Option<&'a Registry>,
    writer: Option<&'a TelemetryWriter>,
    opts: RunOptions,
    host: String,
}

impl<'a> Runner<'a> {
    /// The router it routes and falls back with.
    pub(super) fn router(&self) -> &'a Router {
        self.router
    }

    /// A runner executing in-process on the router's own backends, and in executor
    /// processes on `isolated` (backends of the same names); attempts are written to
    /// `writer` when given.
    pub fn new(
        router: &'a Router,
        isolated: Option<&'a Registry>,
        writer: Option<&'a TelemetryWriter>,
        opts: RunOptions,
    ) -> Runner<'a> {
        Runner {
            router,
            isolated,
            writer,
            opts,
            host: host_name(),
        }
    }

    fn place(&self, rec: &Recommendation, features: &Features) -> Option<&'a Arc<dyn Backend>> {
        let isolated = self.isolated.and_then(|r| r.get(&rec.backend));
        let local = self.router.registry().get(&rec.backend);
        let in_process = match self.opts.isolation {
            IsolationPolicy::Always => false,
            IsolationPolicy::Never => true,
            IsolationPolicy::Auto {
                margin,
                max_in_process_bytes,
                max_risk,
            } => {
                // Only dense simulators are bounded by the dense state; the others'
                // memory follows the time the model predicts.
                let dense = local.is_some_and(|b| {
                    matches!(
                        b.kind(),
                        BackendKind::Statevector
                            | BackendKind::Gpu
                            | BackendKind::PrismAuto
                            | BackendKind::Sparse
                            | BackendKind::Factored
                    )
                });
                rec.chosen.high_ms * margin <= self.opts.timeout.as_secs_f64() * 1e3
                    && (!dense || features[Feature::DenseMemoryBytes] <= max_in_process_bytes)
                    && rec.chosen.risk <= max_risk
            }
        };
        if in_process {
            local.or(isolated)
        } else {
            isolated.or(local)
        }
    }

    /// Routes and runs one job: on failure or timeout the next eligible backend is tried,
    /// after a backoff, up to `max_attempts` in all.
    pub fn run(
        &self,
        n: usize,
        job: &Job,
        constraints: &Constraints,
    ) -> Result<JobReport, TelemetryError> {
        self.run_from(n, job, constraints, None)
    }

    /// Runs one job on `backend` first (as a plan assigned it); on failure the router's
    /// fallback takes over as in [`Runner::run`].
    pub fn run_on(
        &self,
        n: usize,
        job: &Job,
        backend: &str,
        constraints: &Constraints,
    ) -> Result<JobReport, TelemetryError> {
        self.run_from(n, job, constraints, Some(backend))
    }

    fn run_from(
        &self,
        n: usize,
        job: &Job,
        constraints: &Constraints,
        planned: Option<&str>,
    ) -> Result<JobReport, TelemetryError> {
        let cfg = self.router.config();
        let submitted = Instant::now();
        let mut c = constraints.clone();
        let mut report = JobReport {
            name: job.name.clone(),
            recommendation: None,
            attempts: Vec::new(),
            outcome: None,
            error: None,
            baseline_ms: self.baseline(&job.features, &c),
        };
        let mut backoff = cfg.retry_backoff;
        let mut tried: Vec<String> = Vec::new();
        let mut hedges = 0u32;
        let mut pause = false;
        for attempt in 0..cfg.max_attempts + cfg.hedge.max {
            if attempt >= cfg.max_attempts + hedges {
                break;
            }
            // A planned job tries its planned backend first; when that cannot take it now
            // (e.g. its breaker is open), the router chooses freely.
            let planned_rec = match planned {
                Some(b) if attempt == 0 => {
                    let mut only = c.clone();
                    only.exclude.extend(
                        self.router
                            .registry()
                            .iter()
                            .map(|x| x.name().to_string())
                            .filter(|x| x != b),
                    );
                    self.router
                        .recommend_circuit(&job.circuit, &job.features, &only)
                        .ok()
                }
                _ => None,
            };
            let rec = match planned_rec.map_or_else(
                || {
                    self.router
                        .recommend_circuit(&job.circuit, &job.features, &c)
                },
                Ok,
            ) {
                Ok(r) => r,
                Err(RouteError::NoBackend { ineligible }) if attempt > 0 => {
                    report.error = Some(format!(
                        "no backend left to try: {}",
                        ineligible
                            .iter()
                            .map(|i| i.to_string())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                    break;
                }
                Err(e) => {
                    report.error = Some(e.to_string());
                    break;
                }
            };
            // The backoff gives a transient failure (a crash, an overloaded host) time to
            // pass. A hedge is no failure, and a refusal — the engine finding at run time that
            // it cannot take the circuit, e.g. the tensor network's contraction peak — is
            // final for that backend, which is excluded now: the next one starts at once.
            if pause {
                std::thread::sleep(backoff);
                backoff *= 2;
            }
            // Hedging: a cutoff when another family could take over.
            let registry = self.router.registry();
            let usable = |n: &str| !c.exclude.iter().any(|x| x == n) && registry.get(n).is_some();
            let cutoff = (hedges < cfg.hedge.max)
                .then(|| cfg.hedge.next(&rec, &rec.backend, &tried, usable))
                .flatten()
                .map(|_| Duration::from_secs_f64(cfg.hedge.cutoff_ms(&rec.chosen) / 1e3));
            let Some(backend) = self.place(&rec, &job.features) else {
                report.error = Some(format!(
                    "backend {} vanished from the registry",
                    rec.backend
                ));
                break;
            };
            let mut isolated = self
                .isolated
                .is_some_and(|r| r.get(&rec.backend).is_some_and(|b| Arc::ptr_eq(b, backend)))
                || backend.kind() == BackendKind::External;
            let mut spec: RunSpec = self.router.run_spec(&c);
            spec.seed = self.opts.seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let limit = self.opts.timeout.min(c.deadline.unwrap_or(Duration::MAX));
            let cut = cutoff.filter(|&k| k < limit);
            spec.timeout = Some(limit);
            let queue_wait = submitted.elapsed();
            let guard = self.router.begin(&rec);
            let base = self.record(n, attempt, job, &rec);
            let run = |b: &Arc<dyn Backend>, spec: &RunSpec, base| {
                let (circuit, features) = (&job.circuit, &job.features);
                execute_and_record(
                    b.as_ref(),
                    circuit,
                    features,
                    spec,
                    Check::Done,
                    base,
                    &self.host,
                )
            };
            let done = match cut {
                // An executor process is killed at the cutoff, here or on a worker.
                Some(k) if isolated || backend.records_remotely() => run(
                    backend,
                    &RunSpec {
                        cutoff: Some(k),
                        ..spec.clone()
                    },
                    base,
                ),
                // Here, the run is watched on a thread and left behind at the cutoff; when too
                // many are left behind, the job goes to a process after all.
                Some(k) => {
                    let (circuit, features) = (&job.circuit, &job.features);
                    let process = self.isolated.and_then(|r| r.get(&rec.backend));
                    match execute_watched(
                        backend,
                        circuit,
                        features,
                        &spec,
                        base.clone(),
                        &self.host,
                        k,
                    ) {
                        Some(done) => done,
                        None => match process {
                            Some(p) => {
                                isolated = true;
                                run(
                                    p,
                                    &RunSpec {
                                        cutoff: Some(k),
                                        ..spec.clone()
                                    },
                                    base,
                                )
                            }
                            None => run(backend, &spec, base),
                        },
                    }
                }
                None => run(backend, &spec, base),
            };
            drop(guard);
            let (mut row, result, elapsed) = (done.record, done.result, done.elapsed);
            row.queue_wait_ms = Some(queue_wait.as_secs_f64() * 1e3);
            // Stopped at the cutoff, not at the job's own limit: given up for another family.
            let hedged_last = row.status == Status::Hedged;
            if hedged_last {
                hedges += 1;
            }
            pause = matches!(row.status, Status::Failed | Status::Timeout);
            let mut a = Attempt {
                backend: rec.backend.clone(),
                isolated,
                status: row.status,
                predicted_ms: rec.chosen.latency_ms,
                predicted_cost: rec.chosen.cost,
                wall_ms: row.wall_ms,
                overhead_ms: 0.0,
                cost: row.cost,
                error: None,
            };
            let outcome = match result {
                Ok(out) => {
                    let wall = out.wall.as_secs_f64() * 1e3;
                    a.overhead_ms = (elapsed.as_secs_f64() * 1e3 - wall).max(0.0);
                    Some(out)
                }
                Err(e) => {
                    a.error = Some(e.to_string());
                    None
                }
            };
            if hedged_last {
                a.error = Some(format!(
                    "still running at its hedging cutoff of {:.0} ms: given up for another \
                     backend family",
                    cut.unwrap_or_default().as_secs_f64() * 1e3
                ));
            }
            self.router.observe(&row);
            if let Some(w) = self.writer.filter(|_| !backend.records_remotely()) {
                w.write(&row)?;
            }
            c.exclude.push(rec.backend.clone());
            tried.push(rec.backend.clone());
            if hedged_last {
                // The next run is of another family: its sibling would overrun too.
                let family = crate::route::hedge::family(&rec.backend);
                c.exclude.extend(
                    (registry.iter().map(|b| b.name()))
                        .filter(|n| crate::route::hedge::family(n) == family)
                        .map(str::to_string),
                );
            }
            if report.recommendation.is_none() {
                report.recommendation = Some(rec);
            }
            report.attempts.push(a);
            if let Some(out) = outcome {
                report.outcome = Some(out);
                report.error = None;
                return Ok(report);
            }
            report.error = report.attempts.last().and_then(|a| a.error.clone());
        }
        Ok(report)
    }

    /// The identity and routing fields of attempt `attempt` of job `n` on `rec`'s choice.
    fn record(&self, n: usize, attempt: u32, job: &Job, rec: &Recommendation) -> ExecutionRecord {
        ExecutionRecord {
            circuit_name: job.name.clone(),
            source: job.source.clone(),
            family: job.family.clone(),
            strategy: Some(rec.strategy.as_str().to_string()),
            predicted_ms: Some(rec.chosen.latency_ms),
            predicted_cost: Some(rec.chosen.cost),
            model_version: Some(rec.model_version.clone()),
            ..ExecutionRecord::attempt(
                self.opts.run_id.clone(),
                format!("{}/{n}/{attempt}", self.opts.run_id),
                job.circuit.id().to_string(),
                job.features.clone(),
                rec.backend.clone(),
            )
        }
    }

    /// The baseline backend's predicted time, when it could take the circuit.
    fn baseline(&self, features: &Features, c: &Constraints) -> Option<f64> {
        let name = self.opts.baseline.as_deref()?;
        let spec = self.router.run_spec(c);
        let b = self.router.registry().get(name)?;
        b.check(&CircuitFacts::from_features(features), &spec)
            .ok()?;
        self.router
            .predict_backend(name, features, spec.shots, spec.threads.max(1) as u32)
            .map(|p| p.latency_ms)
    }
}
