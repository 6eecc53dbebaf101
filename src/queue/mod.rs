//! Distributed execution on Redis Streams: the router enqueues a job on the chosen backend's
//! stream, workers on any machine execute it and write its result, the router waits for that.
//!
//! # Layout in Redis (every key under the configured prefix, `qroute` by default)
//! - `qroute:jobs:<backend>` — one stream per backend; entries carry `id` (the job id) and
//!   `job` (a [`JobMessage`], JSON, versioned). Consumer group `workers`. A finished entry
//!   is acknowledged and deleted, so the stream's length is its backlog.
//! - `qroute:result:<id>` — the job's [`JobResult`], set once (`SET NX`): a job executed
//!   twice (reclaimed from a worker presumed dead that was only slow) yields one result.
//!   `qroute:done:<id>` — a list the waiting caller blocks on (`BLPOP`). Both expire after
//!   the result TTL.
//! - `qroute:dead` — the dead-letter stream: jobs delivered `max_deliveries` times without a
//!   result, with their last error; capped near `dead_letter_len` entries (oldest trimmed).
//! - `qroute:workers` (sorted set, last heartbeat) and `qroute:worker:<name>` (hash: backends,
//!   concurrency, mean service time per backend, counters; expires without heartbeats).
//! - `qroute:stats` — counters: `completed`, `duplicates`, `reclaimed`, `dead`.
//!
//! # Delivery
//! A worker reads with `XREADGROUP`, runs the job in an executor process and writes the
//! result, acknowledges and deletes the entry in one script. Answers of the executor —
//! success, a simulation error, a timeout, out of memory, an ineligible circuit — are results.
//! Faults — an undecodable entry, an executor process that died, a worker that died — leave
//! the entry pending: its last error is kept, and once it has been idle longer than the
//! visibility timeout another worker claims it (`XAUTOCLAIM`). A worker keeps the entries it
//! is running fresh, so a long job is not claimed from under it. After `max_deliveries`
//! deliveries the entry goes to the dead-letter stream and its caller gets a failed result.
//!
//! Job streams are never trimmed (trimming would drop jobs): a producer refuses to enqueue on
//! a stream already holding `max_len` entries, and the router tries another backend.

mod conn;
pub mod monitor;
pub mod remote;
pub mod worker;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::protocol::{RunRequest, RunResult, WireError};

pub use conn::Conn;
pub use monitor::{Monitor, QueueStatus, status};
pub use remote::{RemoteBackend, remote_registry};
pub use worker::{Worker, WorkerOptions, WorkerStats};

/// Version of [`JobMessage`] and [`JobResult`]; a worker refuses another one.
pub const MESSAGE_VERSION: u32 = 1;

/// The consumer group of every job stream.
pub const GROUP: &str = "workers";

/// Queue settings as given (command line or configuration); [`QueueParams::check`] makes
/// them a [`QueueConfig`].
#[derive(Debug, Clone)]
pub struct QueueParams {
    /// `redis://host:port[/db]` (or `rediss://`, `redis+unix://`).
    pub url: String,
    /// Prefix of every key.
    pub prefix: String,
    /// A pending job idle longer than this is claimed by another worker.
    pub visibility_timeout: Duration,
    /// Deliveries before a job goes to the dead-letter stream.
    pub max_deliveries: u32,
    /// Entries a job stream may hold; beyond it producers refuse.
    pub max_len: u64,
    /// Approximate cap of the dead-letter stream.
    pub dead_letter_len: u64,
    /// How long results stay readable.
    pub result_ttl: Duration,
    /// How long a caller waits for a result before giving up on it.
    pub result_wait: Duration,
    /// How long an operation retries while Redis is unreachable (a restart) before failing.
    pub reconnect_for: Duration,
}

impl QueueParams {
    /// The defaults for `url`.
    pub fn new(url: impl Into<String>) -> QueueParams {
        QueueParams {
            url: url.into(),
            prefix: "qroute".into(),
            visibility_timeout: Duration::from_secs(60),
            max_deliveries: 3,
            max_len: 100_000,
            dead_letter_len: 10_000,
            result_ttl: Duration::from_secs(24 * 3600),
            result_wait: Duration::from_secs(3600),
            reconnect_for: Duration::from_secs(60),
        }
    }

    /// Checks every value (the URL's form, not that Redis answers).
    pub fn check(self) -> Result<QueueConfig, QueueError> {
        let bad = |field: &'static str, why: String| QueueError::Config { field, why };
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| bad("url", format!("{}: {e}", self.url)))?;
        if self.prefix.is_empty() || self.prefix.contains(char::is_whitespace) {
            return Err(bad(
                "prefix",
                format!("`{}` must be non-empty without spaces", self.prefix),
            ));
        }
        if self.visibility_timeout < Duration::from_millis(100) {
            return Err(bad(
                "visibility_timeout",
                format!(
                    "{:.3} s is below 0.1 s",
                    self.visibility_timeout.as_secs_f64()
                ),
            ));
        }
        if self.max_deliveries == 0 {
            return Err(bad("max_deliveries", "must be at least 1".into()));
        }
        if self.max_len == 0 {
            return Err(bad("max_len", "must be at least 1".into()));
        }
        if self.result_ttl < Duration::from_secs(1) {
            return Err(bad("result_ttl", "must be at least 1 s".into()));
        }
        Ok(QueueConfig {
            client,
            params: self,
        })
    }
}

/// Checked queue settings and the Redis client.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    client: redis::Client,
    params: QueueParams,
}

impl QueueConfig {
    /// The settings.
    pub fn params(&self) -> &QueueParams {
        &self.params
    }

    /// A new connection (made lazily, remade after Redis restarts).
    pub fn connect(&self) -> Conn {
        Conn::new(self.client.clone(), self.params.reconnect_for)
    }

    /// A new connection whose operations retry an unreachable Redis for at most `bound`
    /// (for a first contact, where a wrong URL should fail fast).
    pub fn connect_within(&self, bound: Duration) -> Conn {
        Conn::new(self.client.clone(), bound)
    }

    /// The stream of `backend`'s jobs.
    pub fn stream(&self, backend: &str) -> String {
        format!("{}:jobs:{backend}", self.params.prefix)
    }

    fn key(&self, what: &str) -> String {
        format!("{}:{what}", self.params.prefix)
    }

    fn result_key(&self, id: &str) -> String {
        format!("{}:result:{id}", self.params.prefix)
    }

    fn done_key(&self, id: &str) -> String {
        format!("{}:done:{id}", self.params.prefix)
    }

    fn error_key(&self, id: &str) -> String {
        format!("{}:error:{id}", self.params.prefix)
    }

    fn worker_key(&self, name: &str) -> String {
        format!("{}:worker:{name}", self.params.prefix)
    }
}

/// What goes wrong with the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A setting is invalid.
    #[error("invalid queue setting {field}: {why}")]
    Config {
        /// Which.
        field: &'static str,
        /// Why.
        why: String,
    },
    /// Redis failed or stayed unreachable.
    #[error("redis {op}: {error}")]
    Redis {
        /// What was being done.
        op: &'static str,
        /// The client's error (in the message, not as a source: its own chain repeats it).
        error: redis::RedisError,
    },
    /// A message or result could not be read.
    #[error("cannot decode {what}: {why}")]
    Decode {
        /// Which message.
        what: String,
        /// Why.
        why: String,
    },
    /// The job stream is at its cap.
    #[error("{stream} holds {len} jobs, its cap; retry later or raise max_len")]
    Full {
        /// The stream.
        stream: String,
        /// Its length.
        len: u64,
    },
    /// No result came in time.
    #[error("no result for job {id} within {:.1} s", waited.as_secs_f64())]
    NoResult {
        /// The job.
        id: String,
        /// How long the caller waited.
        waited: Duration,
    },
    /// Telemetry could not be written.
    #[error(transparent)]
    Telemetry(#[from] crate::telemetry::TelemetryError),
    /// A thread or signal handler could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// One job on a stream (the entry's `job` field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMessage {
    /// [`MESSAGE_VERSION`].
    pub v: u32,
    /// Job id (also the entry's `id` field); names its result.
    pub id: String,
    /// The circuit and how to run it (its `backend` names the stream's backend).
    pub run: RunRequest,
    /// Wall-clock limit of the execution, seconds.
    pub timeout_s: Option<f64>,
    /// Hedging cutoff, seconds (#31): a run still going here is stopped and recorded as
    /// `hedged`, and the router hands the job to another backend. Absent from the messages
    /// of routers before it; a worker before it ignores it and runs the job to `timeout_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff_s: Option<f64>,
    /// When it was enqueued, µs since the Unix epoch.
    pub enqueued_us: i64,
}

impl JobMessage {
    /// Reads the `job` field of an entry.
    pub fn decode(text: &str) -> Result<JobMessage, QueueError> {
        let what = || "job message".to_string();
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| QueueError::Decode {
            what: what(),
            why: format!(
                "invalid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        })?;
        match v.get("v").and_then(|v| v.as_u64()) {
            Some(n) if n == u64::from(MESSAGE_VERSION) => {}
            other => {
                return Err(QueueError::Decode {
                    what: what(),
                    why: format!(
                        "message version {} is not {MESSAGE_VERSION}, the one this worker reads",
                        other.map_or("missing".to_string(), |n| n.to_string())
                    ),
                });
            }
        }
        serde_json::from_value(v).map_err(|e| QueueError::Decode {
            what: what(),
            why: e.to_string(),
        })
    }
}

/// The result of a job (stored under `result:<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// [`MESSAGE_VERSION`].
    pub v: u32,
    /// The job.
    pub id: String,
    /// The backend.
    pub backend: String,
    /// The worker that produced it.
    pub worker: String,
    /// Deliveries of the job up to this result.
    pub deliveries: u64,
    /// The run's result on success.
    pub result: Option<RunResult>,
    /// The executor's error, or why the job was dead-lettered (`kind` = `dead_letter`).
    pub error: Option<WireError>,
}

impl JobResult {
    /// Reads a stored result.
    pub fn decode(text: &str) -> Result<JobResult, QueueError> {
        let r: JobResult = serde_json::from_str(text).map_err(|e| QueueError::Decode {
            what: "job result".into(),
            why: e.to_string(),
        })?;
        if r.v != MESSAGE_VERSION {
            return Err(QueueError::Decode {
                what: "job result".into(),
                why: format!("result version {} is not {MESSAGE_VERSION}", r.v),
            });
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_checked() {
        assert!(QueueParams::new("redis://127.0.0.1:6379").check().is_ok());
        let e = QueueParams::new("http://x").check().unwrap_err();
        assert!(e.to_string().contains("url"), "{e}");
        let mut p = QueueParams::new("redis://127.0.0.1:6379");
        p.max_deliveries = 0;
        assert!(
            p.check()
                .unwrap_err()
                .to_string()
                .contains("max_deliveries")
        );
    }

    #[test]
    fn another_message_version_is_refused_clearly() {
        let e = JobMessage::decode(r#"{"v": 2, "id": "x"}"#).unwrap_err();
        assert!(e.to_string().contains("version 2 is not 1"), "{e}");
        let e = JobMessage::decode("{\n  \"v\": 1,,").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = JobMessage::decode(r#"{"id": "x"}"#).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    /// The hedging cutoff (#31) is optional both ways: a message without it (from a router
    /// before it) still reads, and a message without a cutoff is written as before.
    #[test]
    fn the_hedging_cutoff_is_optional_in_messages() {
        let circuit = crate::circuit::qasm::parse_str(
            "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[1]; h q[0];",
        )
        .unwrap();
        let run = RunRequest::of(0, "statevector", &circuit, &Default::default());
        let plain = JobMessage {
            v: MESSAGE_VERSION,
            id: "a".into(),
            run,
            timeout_s: Some(60.0),
            cutoff_s: None,
            enqueued_us: 1,
        };
        let text = serde_json::to_string(&plain).unwrap();
        assert!(!text.contains("cutoff_s"), "{text}");
        assert_eq!(JobMessage::decode(&text).unwrap(), plain);
        let hedged = JobMessage {
            cutoff_s: Some(0.25),
            ..plain
        };
        let text = serde_json::to_string(&hedged).unwrap();
        assert_eq!(JobMessage::decode(&text).unwrap().cutoff_s, Some(0.25));
    }
}
