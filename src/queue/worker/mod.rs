//! The worker: reads jobs of its backends' streams, runs each in an executor process, writes
//! the result, records telemetry, claims jobs left by dead workers, dead-letters poison jobs,
//! and heartbeats.
//!
//! `mod.rs` holds the worker, its options and its read-run-finish loop; `heartbeat.rs` the
//! heartbeats and leaving; `reclaim.rs` claiming entries of dead workers, faults and dead
//! letters; `execute.rs` running one job and its telemetry row; `scripts.rs` the Lua scripts.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::streams::{StreamId, StreamReadReply};
use serde::Serialize;

use super::{Conn, GROUP, JobMessage, JobResult, MESSAGE_VERSION, QueueConfig, QueueError};
use crate::backend::Registry;
use crate::telemetry::{TelemetryWriter, host_name};

mod execute;
mod heartbeat;
mod reclaim;
mod scripts;

use scripts::{DEAD, FINISH};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Consumer name, unique among workers (default: host and process id).
    pub name: String,
    /// Backends served (one stream each).
    pub backends: Vec<String>,
    /// Jobs run at once.
    pub concurrency: usize,
    /// Wall-clock limit of a job that gives none, and the cap of one that gives more.
    pub max_timeout: Duration,
    /// Interval of heartbeats (and of keeping running jobs' entries fresh).
    pub heartbeat: Duration,
    /// Longest a read blocks waiting for jobs (bounds how fast a stop is noticed).
    pub block: Duration,
}

impl WorkerOptions {
    /// Defaults for `backends`.
    pub fn new(backends: Vec<String>) -> WorkerOptions {
        WorkerOptions {
            name: format!("{}-{}", host_name(), std::process::id()),
            backends,
            concurrency: 1,
            max_timeout: Duration::from_secs(600),
            heartbeat: Duration::from_secs(2),
            block: Duration::from_secs(1),
        }
    }
}

/// What a worker did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerStats {
    /// Jobs it executed (each execution, repeated ones included).
    pub executed: u64,
    /// Results it wrote first.
    pub completed: u64,
    /// Results another execution had already written.
    pub duplicates: u64,
    /// Of the results, failed runs (simulation error, timeout, ineligible, out of memory).
    pub failed: u64,
    /// Deliveries left pending by a fault (undecodable entry, executor died).
    pub faults: u64,
    /// Jobs it claimed from workers presumed dead.
    pub reclaimed: u64,
    /// Jobs it moved to the dead-letter stream.
    pub dead: u64,
}

#[derive(Default)]
struct Counters {
    executed: AtomicU64,
    completed: AtomicU64,
    duplicates: AtomicU64,
    failed: AtomicU64,
    faults: AtomicU64,
    reclaimed: AtomicU64,
    dead: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> WorkerStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WorkerStats {
            executed: g(&self.executed),
            completed: g(&self.completed),
            duplicates: g(&self.duplicates),
            failed: g(&self.failed),
            faults: g(&self.faults),
            reclaimed: g(&self.reclaimed),
            dead: g(&self.dead),
        }
    }
}

/// A worker serving some backends' streams.
pub struct Worker {
    queue: QueueConfig,
    registry: Arc<Registry>,
    writer: Option<Arc<TelemetryWriter>>,
    opts: WorkerOptions,
    streams: Vec<String>,
    stop: Arc<AtomicBool>,
    counters: Counters,
    in_flight: Mutex<HashSet<(String, String)>>,
    /// Mean service time per backend (exponentially weighted), ms.
    service_ms: Mutex<BTreeMap<String, f64>>,
    next_reclaim: Mutex<Instant>,
    host: String,
    finish: redis::Script,
    dead: redis::Script,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.opts.name)
            .field("streams", &self.streams)
            .finish()
    }
}

/// A delivered entry.
struct Delivery {
    stream: String,
    entry: StreamId,
    deliveries: u64,
}

impl Worker {
    /// A worker running jobs on `registry`'s backends (executor processes, normally), writing
    /// telemetry to `writer` when given. Every backend of `opts` must be in the registry.
    pub fn new(
        queue: QueueConfig,
        registry: Arc<Registry>,
        writer: Option<Arc<TelemetryWriter>>,
        opts: WorkerOptions,
    ) -> Result<Worker, QueueError> {
        let bad = |why: String| QueueError::Config {
            field: "backends",
            why,
        };
        if opts.backends.is_empty() {
            return Err(bad("a worker needs at least one backend".into()));
        }
        let mut opts = opts;
        for b in &mut opts.backends {
            // A worker listens on the stream of the full name (`external:aer` for `aer`).
            match registry.get(b) {
                Some(found) => *b = found.name().to_string(),
                None => {
                    return Err(bad(format!(
                        "unknown backend `{b}` (known: {})",
                        registry.names()
                    )));
                }
            }
        }
        if !(1..=crate::bounds::MAX_THREADS).contains(&opts.concurrency) {
            return Err(QueueError::Config {
                field: "concurrency",
                why: format!("must be from 1 to {}", crate::bounds::MAX_THREADS),
            });
        }
        let streams = opts.backends.iter().map(|b| queue.stream(b)).collect();
        // Running entries are refreshed by heartbeats: often enough that none goes idle
        // for a visibility timeout while it runs.
        opts.heartbeat = opts
            .heartbeat
            .min(queue.params.visibility_timeout / 3)
            .max(Duration::from_millis(20));
        Ok(Worker {
            queue,
            registry,
            writer,
            streams,
            stop: Arc::new(AtomicBool::new(false)),
            counters: Counters::default(),
            in_flight: Mutex::new(HashSet::new()),
            service_ms: Mutex::new(BTreeMap::new()),
            next_reclaim: Mutex::new(Instant::now()),
            host: host_name(),
            finish: redis::Script::new(FINISH),
            dead: redis::Script::new(DEAD),
            opts,
        })
    }

    /// Set it to stop: running jobs finish, no new one is read.
    pub fn stopper(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// What it has done so far.
    pub fn stats(&self) -> WorkerStats {
        self.counters.snapshot()
    }

    /// Serves until stopped; returns what it did. Creates the streams' consumer group when
    /// missing.
    pub fn run(&self) -> Result<WorkerStats, QueueError> {
        let mut first = self.queue.connect_within(super::monitor::FIRST_CONTACT);
        for s in &self.streams {
            let made: Result<(), QueueError> = first.run("create consumer group", |con| {
                match redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(s)
                    .arg(GROUP)
                    .arg("0")
                    .arg("MKSTREAM")
                    .query::<()>(con)
                {
                    Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
                    r => r,
                }
            });
            made?;
        }
        self.beat(&mut first)?;
        let mut conn = self.queue.connect();
        let result = std::thread::scope(|scope| {
            let mut threads = Vec::new();
            for t in 0..self.opts.concurrency {
                threads.push(
                    std::thread::Builder::new()
                        .name(format!("qroute-worker-{t}"))
                        .spawn_scoped(scope, || self.serve())
                        .map_err(|source| QueueError::Io {
                            what: "cannot start a worker thread",
                            source,
                        })?,
                );
            }
            let mut last = Instant::now();
            let mut first_error = None;
            while threads.iter().any(|h| !h.is_finished()) {
                std::thread::sleep(Duration::from_millis(20));
                if last.elapsed() >= self.opts.heartbeat {
                    last = Instant::now();
                    if let Err(e) = self.beat(&mut conn) {
                        // Redis gone for longer than the reconnect bound: stop cleanly.
                        self.stop.store(true, Ordering::SeqCst);
                        first_error.get_or_insert(e);
                    }
                }
            }
            for h in threads {
                match h.join() {
                    Ok(Err(e)) => {
                        first_error.get_or_insert(e);
                    }
                    Ok(Ok(())) => {}
                    Err(_) => {
                        first_error.get_or_insert(QueueError::Io {
                            what: "a worker thread panicked",
                            source: std::io::Error::other("panic"),
                        });
                    }
                }
            }
            first_error.map_or(Ok(()), Err)
        });
        let left = self.leave(&mut conn);
        if let Some(w) = &self.writer {
            w.flush()?;
        }
        result?;
        left?;
        Ok(self.stats())
    }

    /// One worker thread: claim stale entries when it is this thread's turn, else read new
    /// ones; run each.
    fn serve(&self) -> Result<(), QueueError> {
        let mut conn = self.queue.connect();
        while !self.stop.load(Ordering::SeqCst) {
            let delivery = if self.reclaim_turn() {
                self.reclaim(&mut conn)?
            } else {
                None
            };
            let deliveries = match delivery {
                Some(d) => vec![d],
                None => self.read(&mut conn)?,
            };
            // A read over several streams delivers up to one entry of each: all are this
            // worker's now, and kept fresh by heartbeats until handled in turn.
            {
                let mut held = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
                for d in &deliveries {
                    held.insert((d.stream.clone(), d.entry.id.clone()));
                }
            }
            for d in deliveries {
                self.handle(&mut conn, d)?;
            }
        }
        Ok(())
    }

    fn stat(&self, conn: &mut Conn, field: &str) -> Result<(), QueueError> {
        let key = self.queue.key("stats");
        conn.run("count", |con| {
            redis::cmd("HINCRBY")
                .arg(&key)
                .arg(field)
                .arg(1)
                .query::<i64>(con)
        })?;
        Ok(())
    }

    /// Reads new entries from its streams (at most one per stream), blocking briefly.
    fn read(&self, conn: &mut Conn) -> Result<Vec<Delivery>, QueueError> {
        let block = self.opts.block.as_millis().max(1) as u64;
        let reply: Option<StreamReadReply> = conn.run("read jobs", |con| {
            let mut c = redis::cmd("XREADGROUP");
            c.arg("GROUP")
                .arg(GROUP)
                .arg(&self.opts.name)
                .arg("COUNT")
                .arg(1)
                .arg("BLOCK")
                .arg(block)
                .arg("STREAMS")
                .arg(&self.streams);
            for _ in &self.streams {
                c.arg(">");
            }
            c.query(con)
        })?;
        Ok(reply
            .map(|r| {
                r.keys
                    .into_iter()
                    .flat_map(|k| {
                        let stream = k.key;
                        k.ids.into_iter().map(move |entry| Delivery {
                            stream: stream.clone(),
                            entry,
                            deliveries: 1,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Handles a held entry, and lets it go (heartbeats stop keeping it fresh).
    fn handle(&self, conn: &mut Conn, d: Delivery) -> Result<(), QueueError> {
        let key = (d.stream.clone(), d.entry.id.clone());
        let r = self.handle_held(conn, d);
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        r
    }

    fn handle_held(&self, conn: &mut Conn, d: Delivery) -> Result<(), QueueError> {
        let job_id: String = d.entry.get("id").unwrap_or_default();
        let payload: String = d.entry.get("job").unwrap_or_default();
        let error_key = self.queue.error_key(if job_id.is_empty() {
            &d.entry.id
        } else {
            &job_id
        });
        if d.deliveries > u64::from(self.queue.params.max_deliveries) {
            let last: Option<String> = conn.run("last error", |con| {
                redis::cmd("GET").arg(&error_key).query(con)
            })?;
            let error = last.unwrap_or_else(|| "no error recorded (the worker died)".into());
            return self.dead_letter(conn, &d, &job_id, &payload, &error);
        }
        let msg = JobMessage::decode(&payload);
        let msg = match msg {
            Ok(m) if m.run.backend == backend_of(&d.stream) && m.id == job_id => m,
            Ok(m) => {
                return self.fault(
                    conn,
                    &error_key,
                    format!(
                        "job {} for backend `{}` on stream {} with entry id `{job_id}`",
                        m.id, m.run.backend, d.stream
                    ),
                );
            }
            Err(e) => return self.fault(conn, &error_key, e.to_string()),
        };
        let outcome = self.execute(&msg, d.deliveries);
        match outcome {
            Err(fault) => self.fault(conn, &error_key, fault),
            Ok((result, error)) => {
                let r = JobResult {
                    v: MESSAGE_VERSION,
                    id: msg.id.clone(),
                    backend: msg.run.backend.clone(),
                    worker: self.opts.name.clone(),
                    deliveries: d.deliveries,
                    result,
                    error,
                };
                if r.error.is_some() {
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                }
                let text = serde_json::to_string(&r).map_err(|e| QueueError::Decode {
                    what: "job result".into(),
                    why: e.to_string(),
                })?;
                let ttl = self.queue.params.result_ttl.as_secs();
                let keys = [
                    d.stream.clone(),
                    self.queue.result_key(&msg.id),
                    self.queue.done_key(&msg.id),
                    self.queue.key("stats"),
                ];
                let fresh: i64 = conn.run("write result", |con| {
                    self.finish
                        .key(&keys[..])
                        .arg(GROUP)
                        .arg(&d.entry.id)
                        .arg(&text)
                        .arg(ttl)
                        .invoke(con)
                })?;
                if fresh == 1 {
                    self.counters.completed.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(job = %msg.id, "result written");
                } else {
                    self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(job = %msg.id, "result already written by another delivery");
                }
                Ok(())
            }
        }
    }
}

/// The backend of a stream name (`<prefix>:jobs:<backend>`).
fn backend_of(stream: &str) -> &str {
    stream.split_once(":jobs:").map_or(stream, |(_, b)| b)
}

#[cfg(test)]
mod tests {
    use super::backend_of;

    #[test]
    fn streams_name_their_backend() {
        assert_eq!(backend_of("qroute:jobs:mps-64"), "mps-64");
        assert_eq!(backend_of("a:b:jobs:external:aer"), "external:aer");
    }
}
