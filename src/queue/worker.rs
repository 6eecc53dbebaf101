//! The worker: reads jobs of its backends' streams, runs each in an executor process, writes
//! the result, records telemetry, claims jobs left by dead workers, dead-letters poison jobs,
//! and heartbeats.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use serde::Serialize;

use super::{Conn, GROUP, JobMessage, JobResult, MESSAGE_VERSION, QueueConfig, QueueError, now_us};
use crate::backend::protocol::{RunResult, WireError};
use crate::backend::{BackendError, Registry, RunSpec};
use crate::telemetry::{ExecutionRecord, TelemetryWriter, host_name};

/// Writes a result once, acknowledges and deletes the entry. 1 when the result is new.
const FINISH: &str = r"
local fresh = redis.call('SET', KEYS[2], ARGV[3], 'NX', 'EX', ARGV[4])
if fresh then
  redis.call('RPUSH', KEYS[3], '1')
  redis.call('EXPIRE', KEYS[3], ARGV[4])
  redis.call('HINCRBY', KEYS[4], 'completed', 1)
else
  redis.call('HINCRBY', KEYS[4], 'duplicates', 1)
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if fresh then return 1 else return 0 end
";

/// Moves an entry to the dead-letter stream; its caller gets a failed result.
const DEAD: &str = r"
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*', 'id', ARGV[3], 'stream', KEYS[1],
  'deliveries', ARGV[5], 'error', ARGV[6], 'job', ARGV[4])
if ARGV[3] ~= '' then
  local fresh = redis.call('SET', KEYS[3], ARGV[7], 'NX', 'EX', ARGV[8])
  if fresh then
    redis.call('RPUSH', KEYS[4], '1')
    redis.call('EXPIRE', KEYS[4], ARGV[8])
  end
end
redis.call('HINCRBY', KEYS[5], 'dead', 1)
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
";

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
        for b in &opts.backends {
            if registry.get(b).is_none() {
                let known: Vec<&str> = registry.iter().map(|b| b.name()).collect();
                return Err(bad(format!(
                    "unknown backend `{b}` (known: {})",
                    known.join(", ")
                )));
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
        let mut opts = opts;
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

    /// Heartbeat: the worker's hash (expiring), its place in the live set, and its running
    /// entries kept fresh so that no other worker claims them.
    fn beat(&self, conn: &mut Conn) -> Result<(), QueueError> {
        let key = self.queue.worker_key(&self.opts.name);
        let ttl_ms = (self.opts.heartbeat.as_millis() as u64 * 3).max(1000);
        let now_ms = now_us() / 1000;
        let s = self.stats();
        let mut fields: Vec<(String, String)> = vec![
            ("backends".into(), self.opts.backends.join(",")),
            ("concurrency".into(), self.opts.concurrency.to_string()),
            ("host".into(), self.host.clone()),
            ("pid".into(), std::process::id().to_string()),
            ("beat_ms".into(), now_ms.to_string()),
            ("executed".into(), s.executed.to_string()),
            ("completed".into(), s.completed.to_string()),
        ];
        for (b, ms) in self
            .service_ms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            fields.push((format!("service_ms:{b}"), format!("{ms:.3}")));
        }
        let workers = self.queue.key("workers");
        conn.run("heartbeat", |con| {
            redis::pipe()
                .cmd("HSET")
                .arg(&key)
                .arg(&fields)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(ttl_ms)
                .ignore()
                .cmd("ZADD")
                .arg(&workers)
                .arg(now_ms)
                .arg(&self.opts.name)
                .ignore()
                .cmd("ZREMRANGEBYSCORE")
                .arg(&workers)
                .arg("-inf")
                .arg(now_ms - 86_400_000)
                .ignore()
                .query::<()>(con)
        })?;
        let running: Vec<(String, String)> = self
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        for (stream, id) in running {
            // JUSTID: resets the idle time without counting a delivery.
            conn.run("keep a running job claimed", |con| {
                redis::cmd("XCLAIM")
                    .arg(&stream)
                    .arg(GROUP)
                    .arg(&self.opts.name)
                    .arg(0)
                    .arg(&id)
                    .arg("JUSTID")
                    .query::<redis::Value>(con)
            })?;
        }
        Ok(())
    }

    /// Leaves the live set; drops the consumer from groups where it holds nothing pending.
    fn leave(&self, conn: &mut Conn) -> Result<(), QueueError> {
        let key = self.queue.worker_key(&self.opts.name);
        let workers = self.queue.key("workers");
        conn.run("leave", |con| {
            redis::pipe()
                .cmd("DEL")
                .arg(&key)
                .ignore()
                .cmd("ZREM")
                .arg(&workers)
                .arg(&self.opts.name)
                .ignore()
                .query::<()>(con)
        })?;
        for s in &self.streams {
            let mine: redis::Value = conn.run("pending of this worker", |con| {
                redis::cmd("XPENDING")
                    .arg(s)
                    .arg(GROUP)
                    .arg("-")
                    .arg("+")
                    .arg(1)
                    .arg(&self.opts.name)
                    .query(con)
            })?;
            if matches!(&mine, redis::Value::Array(a) if a.is_empty()) {
                conn.run("delete consumer", |con| {
                    redis::cmd("XGROUP")
                        .arg("DELCONSUMER")
                        .arg(s)
                        .arg(GROUP)
                        .arg(&self.opts.name)
                        .query::<i64>(con)
                })?;
            }
        }
        Ok(())
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

    fn reclaim_turn(&self) -> bool {
        let period = (self.queue.params.visibility_timeout / 4)
            .clamp(Duration::from_millis(50), Duration::from_secs(5));
        let mut next = self.next_reclaim.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now < *next {
            return false;
        }
        *next = now + period;
        true
    }

    /// Claims one entry idle longer than the visibility timeout, from any of its streams.
    fn reclaim(&self, conn: &mut Conn) -> Result<Option<Delivery>, QueueError> {
        let idle = self.queue.params.visibility_timeout.as_millis() as u64;
        for s in &self.streams {
            let reply: StreamAutoClaimReply = conn.run("claim stale jobs", |con| {
                redis::cmd("XAUTOCLAIM")
                    .arg(s)
                    .arg(GROUP)
                    .arg(&self.opts.name)
                    .arg(idle)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(1)
                    .query(con)
            })?;
            if let Some(entry) = reply.claimed.into_iter().next() {
                let deliveries = self.deliveries(conn, s, &entry.id)?;
                self.counters.reclaimed.fetch_add(1, Ordering::Relaxed);
                self.stat(conn, "reclaimed")?;
                return Ok(Some(Delivery {
                    stream: s.clone(),
                    entry,
                    deliveries,
                }));
            }
        }
        Ok(None)
    }

    fn deliveries(&self, conn: &mut Conn, stream: &str, id: &str) -> Result<u64, QueueError> {
        let v: redis::Value = conn.run("delivery count", |con| {
            redis::cmd("XPENDING")
                .arg(stream)
                .arg(GROUP)
                .arg(id)
                .arg(id)
                .arg(1)
                .query(con)
        })?;
        // [[id, consumer, idle, deliveries]]
        let n = match v {
            redis::Value::Array(rows) => rows.into_iter().next().and_then(|r| match r {
                redis::Value::Array(f) => match f.get(3) {
                    Some(redis::Value::Int(n)) => Some(*n as u64),
                    _ => None,
                },
                _ => None,
            }),
            _ => None,
        };
        Ok(n.unwrap_or(1))
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
                } else {
                    self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
        }
    }

    /// Leaves the entry pending (another delivery follows after the visibility timeout) and
    /// keeps why.
    fn fault(&self, conn: &mut Conn, error_key: &str, why: String) -> Result<(), QueueError> {
        self.counters.faults.fetch_add(1, Ordering::Relaxed);
        let ttl = self.queue.params.result_ttl.as_secs();
        conn.run("record error", |con| {
            redis::cmd("SET")
                .arg(error_key)
                .arg(&why)
                .arg("EX")
                .arg(ttl)
                .query::<()>(con)
        })
    }

    fn dead_letter(
        &self,
        conn: &mut Conn,
        d: &Delivery,
        job_id: &str,
        payload: &str,
        error: &str,
    ) -> Result<(), QueueError> {
        let message = format!(
            "moved to the dead-letter stream after {} deliveries; last error: {error}",
            d.deliveries - 1
        );
        let r = JobResult {
            v: MESSAGE_VERSION,
            id: job_id.to_string(),
            backend: backend_of(&d.stream).to_string(),
            worker: self.opts.name.clone(),
            deliveries: d.deliveries - 1,
            result: None,
            error: Some(WireError {
                kind: "dead_letter".into(),
                message,
            }),
        };
        let text = serde_json::to_string(&r).map_err(|e| QueueError::Decode {
            what: "job result".into(),
            why: e.to_string(),
        })?;
        let id_for_keys = if job_id.is_empty() { "-" } else { job_id };
        let keys = [
            d.stream.clone(),
            self.queue.key("dead"),
            self.queue.result_key(id_for_keys),
            self.queue.done_key(id_for_keys),
            self.queue.key("stats"),
        ];
        let p = &self.queue.params;
        conn.run("dead-letter", |con| {
            self.dead
                .key(&keys[..])
                .arg(GROUP)
                .arg(&d.entry.id)
                .arg(job_id)
                .arg(payload)
                .arg(d.deliveries - 1)
                .arg(error)
                .arg(&text)
                .arg(p.result_ttl.as_secs())
                .arg(p.dead_letter_len)
                .invoke::<i64>(con)
        })?;
        self.counters.dead.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Runs a job. `Ok`: a result (success or the executor's answered error); `Err`: a fault
    /// to retry on another delivery.
    #[allow(clippy::type_complexity)]
    fn execute(
        &self,
        msg: &JobMessage,
        deliveries: u64,
    ) -> Result<(Option<RunResult>, Option<WireError>), String> {
        let Some(backend) = self.registry.get(&msg.run.backend) else {
            return Err(format!("backend `{}` is not served here", msg.run.backend));
        };
        let circuit = match crate::circuit::qasm::parse_str(&msg.run.qasm) {
            Ok(c) => c,
            Err(e) => {
                return Ok((
                    None,
                    Some(WireError {
                        kind: "parse".into(),
                        message: e.to_string(),
                    }),
                ));
            }
        };
        let timeout = msg
            .timeout_s
            .and_then(crate::bounds::positive_seconds)
            .unwrap_or(self.opts.max_timeout)
            .min(self.opts.max_timeout);
        let spec = RunSpec {
            shots: msg.run.shots,
            seed: msg.run.seed,
            memory_budget: msg.run.memory_budget,
            threads: msg.run.threads,
            timeout: Some(timeout),
            options: msg.run.options.clone(),
        };
        let ts_us = now_us();
        let started = Instant::now();
        let result = backend.execute(&circuit, &spec);
        let elapsed = started.elapsed();
        self.counters.executed.fetch_add(1, Ordering::Relaxed);
        {
            let mut s = self.service_ms.lock().unwrap_or_else(|p| p.into_inner());
            let ms = elapsed.as_secs_f64() * 1e3;
            s.entry(msg.run.backend.clone())
                .and_modify(|m| *m = 0.8 * *m + 0.2 * ms)
                .or_insert(ms);
        }
        let mut row = ExecutionRecord {
            circuit_name: msg.id.clone(),
            queue_wait_ms: Some(((ts_us - msg.enqueued_us).max(0)) as f64 / 1e3),
            ..ExecutionRecord::attempt(
                format!("worker-{}", self.opts.name),
                format!("{}/{deliveries}", msg.id),
                circuit.id().to_string(),
                crate::features::extract(&circuit),
                msg.run.backend.clone(),
            )
            .on(backend.as_ref(), &spec, &self.host, ts_us)
        };
        row.set_result(&result, backend.price());
        // On disk before the job is acknowledged: a worker killed after the ack loses no row
        // (#28). One small file per job; compaction merges them.
        if let Some(w) = &self.writer {
            w.write(&row).map_err(|e| format!("telemetry: {e}"))?;
            w.flush().map_err(|e| format!("telemetry: {e}"))?;
        }
        match result {
            Ok(out) => Ok((Some(RunResult::of(out, None)), None)),
            Err(e @ BackendError::Executor { .. }) => Err(e.to_string()),
            Err(e) => Ok((None, Some(WireError::of(&e)))),
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
