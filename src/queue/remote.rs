//! The router's side: a [`Backend`] whose `execute` enqueues the job on the backend's stream
//! and waits for a worker's result. Eligibility, price and version come from the local
//! instance of the same backend, so routing decisions do not touch Redis.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Conn, JobMessage, JobResult, MESSAGE_VERSION, QueueConfig, QueueError};
use crate::backend::protocol::RunRequest;
use crate::backend::{
    Availability, Backend, BackendError, BackendKind, Capabilities, CircuitFacts, Fidelity,
    Ineligible, Outcome, Price, Registry, RunSpec,
};
use crate::circuit::Circuit;
use crate::time::now_us;

/// Enqueues on a stream unless it holds `ARGV[1]` entries: the new length, or minus the
/// length when full.
const ENQUEUE: &str = r"
local n = redis.call('XLEN', KEYS[1])
if n >= tonumber(ARGV[1]) then return -n end
redis.call('XADD', KEYS[1], '*', 'id', ARGV[2], 'job', ARGV[3])
return n + 1
";

/// A backend served by workers through the queue.
pub struct RemoteBackend {
    inner: Arc<dyn Backend>,
    queue: QueueConfig,
    pool: Mutex<Vec<Conn>>,
    id_prefix: String,
    seq: AtomicU64,
    enqueue: redis::Script,
}

impl std::fmt::Debug for RemoteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteBackend")
            .field("backend", &self.inner.name())
            .field("stream", &self.queue.stream(self.inner.name()))
            .finish()
    }
}

/// A registry of `local`'s backends, each executed through the queue.
pub fn remote_registry(local: &Registry, queue: &QueueConfig) -> Registry {
    Registry::new(
        local
            .iter()
            .map(|b| Arc::new(RemoteBackend::new(b.clone(), queue.clone())) as Arc<dyn Backend>)
            .collect(),
    )
}

impl RemoteBackend {
    /// `inner` executed through `queue`.
    pub fn new(inner: Arc<dyn Backend>, queue: QueueConfig) -> RemoteBackend {
        let started = now_us();
        let seed = format!(
            "{}/{}/{started}/{}",
            crate::telemetry::host_name(),
            std::process::id(),
            inner.name()
        );
        let id_prefix = blake3::hash(seed.as_bytes()).to_hex()[..16].to_string();
        RemoteBackend {
            inner,
            queue,
            pool: Mutex::new(Vec::new()),
            id_prefix,
            seq: AtomicU64::new(0),
            enqueue: redis::Script::new(ENQUEUE),
        }
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Conn) -> T) -> T {
        let taken = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut c = taken.unwrap_or_else(|| self.queue.connect());
        let out = f(&mut c);
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).push(c);
        out
    }

    /// Enqueues the circuit; returns its job id.
    pub fn submit(&self, circuit: &Circuit, spec: &RunSpec) -> Result<String, QueueError> {
        let id = format!(
            "{}-{}",
            self.id_prefix,
            self.seq.fetch_add(1, Ordering::Relaxed) + 1
        );
        let msg = JobMessage {
            v: MESSAGE_VERSION,
            id: id.clone(),
            run: RunRequest::of(0, self.inner.name(), circuit, spec),
            timeout_s: spec.timeout.map(|t| t.as_secs_f64()),
            cutoff_s: spec.cutoff.map(|t| t.as_secs_f64()),
            enqueued_us: now_us(),
        };
        let payload = serde_json::to_string(&msg).map_err(|e| QueueError::Decode {
            what: "job message".into(),
            why: e.to_string(),
        })?;
        let stream = self.queue.stream(self.inner.name());
        let max = self.queue.params.max_len;
        let n: i64 = self.with_conn(|c| {
            c.run("enqueue", |con| {
                self.enqueue
                    .key(&stream)
                    .arg(max)
                    .arg(&id)
                    .arg(&payload)
                    .invoke(con)
            })
        })?;
        if n < 0 {
            return Err(QueueError::Full {
                stream,
                len: n.unsigned_abs(),
            });
        }
        Ok(id)
    }

    /// Waits for job `id`'s result, up to `wait`.
    pub fn wait(&self, id: &str, wait: Duration) -> Result<JobResult, QueueError> {
        let result_key = self.queue.result_key(id);
        let done_key = self.queue.done_key(id);
        let deadline = Instant::now() + wait;
        self.with_conn(|c| {
            loop {
                let text: Option<String> = c.run("read result", |con| {
                    redis::cmd("GET").arg(&result_key).query(con)
                })?;
                if let Some(t) = text {
                    return JobResult::decode(&t);
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(QueueError::NoResult {
                        id: id.to_string(),
                        waited: wait,
                    });
                }
                // Blocks until the worker's notification (or a short bound, so that a result
                // written while this connection was being remade is found by the GET above).
                let block = left.min(Duration::from_secs(5)).as_secs_f64().max(0.01);
                let _: Option<(String, String)> = c.run("wait for result", |con| {
                    redis::cmd("BLPOP").arg(&done_key).arg(block).query(con)
                })?;
            }
        })
    }

    fn outcome(&self, r: JobResult, spec: &RunSpec) -> Result<Outcome, BackendError> {
        let name = self.inner.name();
        match (r.result, r.error) {
            (Some(res), _) => res.into_outcome().map_err(|detail| BackendError::Executor {
                backend: name.to_string(),
                detail: format!("worker {}: {detail}", r.worker),
            }),
            (None, Some(e)) if e.kind == "dead_letter" => Err(BackendError::Executor {
                backend: name.to_string(),
                detail: e.message,
            }),
            (None, Some(e)) => Err(e.into_backend_error(name, spec.limit())),
            (None, None) => Err(BackendError::Executor {
                backend: name.to_string(),
                detail: format!("worker {} wrote an empty result", r.worker),
            }),
        }
    }
}

impl Backend for RemoteBackend {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn check(&self, facts: &CircuitFacts<'_>, spec: &RunSpec) -> Result<Fidelity, Ineligible> {
        self.inner.check(facts, spec)
    }

    fn execute(&self, circuit: &Circuit, spec: &RunSpec) -> Result<Outcome, BackendError> {
        let name = self.inner.name().to_string();
        let id = self.submit(circuit, spec).map_err(|e| match e {
            QueueError::Full { .. } => BackendError::Unavailable {
                backend: name.clone(),
                reason: e.to_string(),
            },
            e => BackendError::Executor {
                backend: name.clone(),
                detail: format!("cannot enqueue: {e}"),
            },
        })?;
        let r =
            self.wait(&id, self.queue.params.result_wait)
                .map_err(|e| BackendError::Executor {
                    backend: name.clone(),
                    detail: e.to_string(),
                })?;
        self.outcome(r, spec)
    }

    fn price(&self) -> Price {
        self.inner.price()
    }

    /// Available: whether it can run is the workers' business (a backend no live worker
    /// serves is refused by the router from the queue's load, see [`super::Monitor`]).
    fn availability(&self) -> Availability {
        Availability::Available
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn version(&self) -> String {
        self.inner.version()
    }

    fn records_remotely(&self) -> bool {
        true
    }
}
