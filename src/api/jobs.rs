//! Asynchronous execution behind `POST /v1/jobs`: a bounded queue, worker threads that route
//! and run each job through a [`Runner`], and a table of job states for `GET /v1/jobs/{id}`.
//!
//! Jobs run on blocking threads, not on the async runtime: a simulation may take seconds and
//! must not stall request handling. The queue is bounded; a full queue is refused (the client
//! retries) rather than grown without limit. Every attempt is written to telemetry by the
//! runner. Finished jobs are kept until `retention` newer ones have finished.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::backend::Registry;
use crate::exec::{Attempt, JobReport, RunOptions, Runner};
use crate::route::Job;
use crate::route::{Constraints, Recommendation, Router};
use crate::telemetry::{TelemetryError, TelemetryWriter};

/// How jobs are executed.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Worker threads (jobs running at once).
    pub workers: usize,
    /// Jobs waiting beyond those running; more are refused.
    pub queue: usize,
    /// Finished jobs remembered for `GET /v1/jobs/{id}`.
    pub retention: usize,
    /// Timeout, seed, isolation and run id of every job.
    pub run: RunOptions,
}

/// Most job worker threads.
pub const MAX_JOB_WORKERS: usize = 1024;
/// Most jobs waiting, and most finished jobs remembered.
pub const MAX_JOB_QUEUE: usize = 1 << 20;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is running it.
    Running,
    /// An attempt succeeded.
    Succeeded,
    /// Every attempt failed.
    Failed,
    /// The server stopped before it ran.
    Cancelled,
}

/// A job as `GET /v1/jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    /// Its id.
    pub id: String,
    /// The name given at submission.
    pub name: String,
    /// Where it is.
    pub status: JobStatus,
    /// When it was submitted (RFC 3339, UTC).
    pub submitted: String,
    /// Time spent waiting for a worker, ms.
    pub queue_ms: Option<f64>,
    /// Time from a worker taking it to its end (every attempt, backoff included), ms.
    pub run_ms: Option<f64>,
    /// The backend that produced the result.
    pub backend: Option<String>,
    /// Shots per classical bitstring.
    pub counts: Option<BTreeMap<String, u64>>,
    /// Wall time of the successful simulation, ms.
    pub wall_ms: Option<f64>,
    /// Cost of every attempt under its backend's price.
    pub cost: Option<f64>,
    /// Fidelity of the result (1 when exact; a lower bound for approximate backends).
    pub fidelity: Option<f64>,
    /// The router's first choice.
    pub recommendation: Option<Recommendation>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
}

struct Entry {
    view: JobView,
    submitted: Instant,
    started: Option<Instant>,
}

struct Queued {
    id: String,
    job: Job,
    constraints: Constraints,
}

#[derive(Default)]
struct Table {
    jobs: HashMap<String, Entry>,
    finished: VecDeque<String>,
}

/// Why a job was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The queue is full.
    #[error("the job queue is full ({queued} waiting); retry later")]
    Full {
        /// Jobs waiting.
        queued: usize,
    },
    /// The server is stopping.
    #[error("the server is shutting down and takes no new jobs")]
    Stopping,
}

/// The job queue, its workers and the table of jobs.
pub struct Jobs {
    tx: Mutex<Option<SyncSender<Queued>>>,
    table: Arc<Mutex<Table>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    stopping: Arc<AtomicBool>,
    writer: Mutex<Option<Arc<TelemetryWriter>>>,
    seq: AtomicU64,
    prefix: String,
    queued: Arc<AtomicU64>,
    /// Jobs that may wait.
    capacity: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl Jobs {
    /// Starts `config.workers` workers routing with `router`, running in executor processes
    /// on `isolated` where the runner's isolation policy says so, and writing every attempt
    /// to `writer`.
    pub fn start(
        router: Arc<Router>,
        isolated: Option<Arc<Registry>>,
        writer: Arc<TelemetryWriter>,
        config: JobsConfig,
    ) -> std::io::Result<Jobs> {
        // The channel allocates its whole capacity at once, and a worker is a thread: both
        // are checked before anything is allocated for them (#28).
        for (what, n, max) in [
            ("workers", config.workers, MAX_JOB_WORKERS),
            ("queue", config.queue, MAX_JOB_QUEUE),
            ("retention", config.retention, MAX_JOB_QUEUE),
        ] {
            if n > max {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("job {what} {n} is over the limit of {max}"),
                ));
            }
        }
        let (tx, rx) = sync_channel::<Queued>(config.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let table = Arc::new(Mutex::new(Table::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        let queued = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::new();
        for w in 0..config.workers.max(1) {
            let worker = Worker {
                rx: rx.clone(),
                table: table.clone(),
                stopping: stopping.clone(),
                queued: queued.clone(),
                router: router.clone(),
                isolated: isolated.clone(),
                writer: writer.clone(),
                opts: config.run.clone(),
                retention: config.retention.max(1),
            };
            workers.push(
                std::thread::Builder::new()
                    .name(format!("qroute-job-{w}"))
                    .spawn(move || worker.run())?,
            );
        }
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        Ok(Jobs {
            tx: Mutex::new(Some(tx)),
            table,
            workers: Mutex::new(workers),
            stopping,
            writer: Mutex::new(Some(writer)),
            seq: AtomicU64::new(0),
            prefix: format!("{started:x}"),
            queued,
            capacity: config.queue.max(1),
        })
    }

    /// Jobs waiting for a worker.
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Queues a job; its id comes back at once.
    pub fn submit(&self, job: Job, constraints: Constraints) -> Result<JobView, SubmitError> {
        let guard = lock(&self.tx);
        let tx = guard.as_ref().ok_or(SubmitError::Stopping)?;
        let id = format!(
            "{}-{}",
            self.prefix,
            self.seq.fetch_add(1, Ordering::Relaxed) + 1
        );
        let view = JobView {
            id: id.clone(),
            name: job.name.clone(),
            status: JobStatus::Queued,
            submitted: crate::time::rfc3339_of(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as i64),
            ),
            queue_ms: None,
            run_ms: None,
            backend: None,
            counts: None,
            wall_ms: None,
            cost: None,
            fidelity: None,
            recommendation: None,
            attempts: Vec::new(),
            error: None,
        };
        // Entered before it is sent, so that a fast worker always finds it.
        lock(&self.table).jobs.insert(
            id.clone(),
            Entry {
                view: view.clone(),
                submitted: Instant::now(),
                started: None,
            },
        );
        self.queued.fetch_add(1, Ordering::Relaxed);
        let refused = |e: SubmitError| {
            lock(&self.table).jobs.remove(&id);
            self.queued.fetch_sub(1, Ordering::Relaxed);
            e
        };
        match tx.try_send(Queued {
            id: id.clone(),
            job,
            constraints,
        }) {
            Ok(()) => Ok(view),
            Err(TrySendError::Full(_)) => Err(refused(SubmitError::Full {
                queued: self.capacity,
            })),
            Err(TrySendError::Disconnected(_)) => Err(refused(SubmitError::Stopping)),
        }
    }

    /// A job's state, while it is remembered.
    pub fn get(&self, id: &str) -> Option<JobView> {
        let t = lock(&self.table);
        let e = t.jobs.get(id)?;
        let mut v = e.view.clone();
        if v.status == JobStatus::Queued {
            v.queue_ms = Some(ms(e.submitted.elapsed()));
        }
        if let (JobStatus::Running, Some(s)) = (v.status, e.started) {
            v.run_ms = Some(ms(s.elapsed()));
        }
        Some(v)
    }

    /// Stops taking jobs, cancels those still queued, waits up to `grace` for running ones to
    /// end, and flushes telemetry. Returns how many jobs were still running at the bound.
    pub fn shutdown(&self, grace: Duration) -> Result<usize, TelemetryError> {
        self.stopping.store(true, Ordering::SeqCst);
        drop(lock(&self.tx).take());
        let deadline = Instant::now() + grace;
        let mut workers = std::mem::take(&mut *lock(&self.workers));
        while workers.iter().any(|h| !h.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let (done, running): (Vec<_>, Vec<_>) = workers.drain(..).partition(|h| h.is_finished());
        for h in done {
            let _ = h.join();
        }
        let left = running.len();
        if let Some(w) = lock(&self.writer).take() {
            w.flush()?;
            // The last reference closes it (workers still running hold theirs).
            if let Ok(w) = Arc::try_unwrap(w) {
                w.close()?;
            }
        }
        Ok(left)
    }
}

struct Worker {
    rx: Arc<Mutex<Receiver<Queued>>>,
    table: Arc<Mutex<Table>>,
    stopping: Arc<AtomicBool>,
    queued: Arc<AtomicU64>,
    router: Arc<Router>,
    isolated: Option<Arc<Registry>>,
    writer: Arc<TelemetryWriter>,
    opts: RunOptions,
    retention: usize,
}

impl Worker {
    fn run(self) {
        let runner = Runner::new(
            &self.router,
            self.isolated.as_deref(),
            Some(&*self.writer),
            self.opts.clone(),
        );
        let mut n = 0;
        loop {
            // One worker waits on the channel at a time; the lock is released before running.
            let next = lock(&self.rx).recv();
            let Ok(q) = next else { break };
            self.queued.fetch_sub(1, Ordering::Relaxed);
            if self.stopping.load(Ordering::SeqCst) {
                self.finish(&q.id, Err("the server stopped before the job ran".into()));
                continue;
            }
            let started = Instant::now();
            {
                let mut t = lock(&self.table);
                if let Some(e) = t.jobs.get_mut(&q.id) {
                    e.view.status = JobStatus::Running;
                    e.view.queue_ms = Some(ms(e.submitted.elapsed()));
                    e.started = Some(started);
                }
            }
            tracing::debug!(job = %q.id, "job running");
            let result = runner.run(n, &q.job, &q.constraints);
            n += 1;
            self.finish(&q.id, result.map_err(|e: TelemetryError| e.to_string()));
        }
    }

    fn finish(&self, id: &str, result: Result<JobReport, String>) {
        let mut t = lock(&self.table);
        if let Some(e) = t.jobs.get_mut(id) {
            let v = &mut e.view;
            v.run_ms = e.started.map(|s| ms(s.elapsed()));
            match result {
                Ok(report) => {
                    let cost: f64 = report.attempts.iter().filter_map(|a| a.cost).sum();
                    v.cost = Some(cost);
                    if let Some(ok) = report.success() {
                        v.status = JobStatus::Succeeded;
                        v.backend = Some(ok.backend.clone());
                        v.wall_ms = ok.wall_ms;
                    } else {
                        v.status = JobStatus::Failed;
                    }
                    if let Some(o) = &report.outcome {
                        v.counts = Some(o.counts.clone());
                        v.fidelity = Some(o.fidelity);
                    }
                    v.error = report.error;
                    v.recommendation = report.recommendation;
                    v.attempts = report.attempts;
                }
                Err(message) => {
                    v.status = if e.started.is_some() {
                        JobStatus::Failed
                    } else {
                        JobStatus::Cancelled
                    };
                    v.error = Some(message);
                }
            }
            let tried: Vec<&str> = v.attempts.iter().map(|a| a.backend.as_str()).collect();
            tracing::info!(
                job = %id,
                status = ?v.status,
                backends = %tried.join(","),
                run_ms = v.run_ms,
                error = v.error.as_deref(),
                "job finished"
            );
        }
        t.finished.push_back(id.to_string());
        while t.finished.len() > self.retention {
            if let Some(old) = t.finished.pop_front() {
                t.jobs.remove(&old);
            }
        }
    }
}
