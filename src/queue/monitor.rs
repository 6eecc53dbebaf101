//! What the queue holds — backlog and pending jobs per backend, live workers and their
//! capacity, counters — read by `qroute queue status` and fed to the router's adaptive
//! strategy by a [`Monitor`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use super::{Conn, GROUP, QueueConfig, QueueError};
use crate::route::{RemoteLoad, Router};
use crate::time::now_us;

/// One backend's queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendQueue {
    /// The backend.
    pub backend: String,
    /// Its stream.
    pub stream: String,
    /// What the router sees of it.
    #[serde(flatten)]
    pub load: RemoteLoad,
    /// Live workers serving it.
    pub workers: u64,
}

/// A live worker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerInfo {
    /// Its consumer name.
    pub name: String,
    /// Its host.
    pub host: String,
    /// Backends it serves.
    pub backends: Vec<String>,
    /// Jobs it runs at once.
    pub concurrency: u64,
    /// Jobs it has executed.
    pub executed: u64,
    /// Time since its last heartbeat, ms.
    pub beat_age_ms: i64,
}

/// The queue as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueStatus {
    /// Per backend asked about.
    pub backends: Vec<BackendQueue>,
    /// Live workers (a heartbeat within three intervals).
    pub workers: Vec<WorkerInfo>,
    /// Entries in the dead-letter stream.
    pub dead_letters: u64,
    /// Counters since the queue began: completed, duplicates, reclaimed, dead.
    pub counters: BTreeMap<String, u64>,
}

fn int(v: Option<&String>) -> u64 {
    v.and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Reads the queue's state for `backends`.
pub fn status(
    queue: &QueueConfig,
    conn: &mut Conn,
    backends: &[String],
) -> Result<QueueStatus, QueueError> {
    let workers_key = queue.key("workers");
    let now_ms = now_us() / 1000;
    let names: Vec<String> = conn.run("live workers", |con| {
        redis::cmd("ZRANGEBYSCORE")
            .arg(&workers_key)
            .arg(now_ms - 86_400_000)
            .arg("+inf")
            .query(con)
    })?;
    let mut workers = Vec::new();
    // Per backend: capacity, workers, service times weighted by capacity.
    let mut served: HashMap<String, (u64, u64, f64, u64)> = HashMap::new();
    for name in names {
        let key = queue.worker_key(&name);
        // An expired hash (no heartbeat for three intervals) reads as empty: not live.
        let h: HashMap<String, String> =
            conn.run("worker", |con| redis::cmd("HGETALL").arg(&key).query(con))?;
        if h.is_empty() {
            continue;
        }
        let concurrency = int(h.get("concurrency"));
        let backends_of: Vec<String> = h
            .get("backends")
            .map(|b| b.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        for b in &backends_of {
            let e = served.entry(b.clone()).or_insert((0, 0, 0.0, 0));
            e.0 += concurrency;
            e.1 += 1;
            if let Some(ms) = h
                .get(&format!("service_ms:{b}"))
                .and_then(|s| s.parse::<f64>().ok())
            {
                e.2 += ms * concurrency as f64;
                e.3 += concurrency;
            }
        }
        workers.push(WorkerInfo {
            host: h.get("host").cloned().unwrap_or_default(),
            backends: backends_of,
            concurrency,
            executed: int(h.get("executed")),
            beat_age_ms: now_ms - int(h.get("beat_ms")) as i64,
            name,
        });
    }
    let mut out = Vec::new();
    for b in backends {
        let stream = queue.stream(b);
        let backlog: u64 = conn.run("queue length", |con| {
            redis::cmd("XLEN").arg(&stream).query(con)
        })?;
        let pending = if backlog == 0 {
            0
        } else {
            let v: redis::Value = conn.run("pending jobs", |con| {
                match redis::cmd("XPENDING").arg(&stream).arg(GROUP).query(con) {
                    // No group yet: no worker ever read it.
                    Err(e) if e.code() == Some("NOGROUP") => Ok(redis::Value::Nil),
                    r => r,
                }
            })?;
            match v {
                redis::Value::Array(a) => match a.first() {
                    Some(redis::Value::Int(n)) => *n as u64,
                    _ => 0,
                },
                _ => 0,
            }
        };
        let (capacity, n, weighted, with_time) = served.get(b).copied().unwrap_or((0, 0, 0.0, 0));
        out.push(BackendQueue {
            backend: b.clone(),
            stream,
            load: RemoteLoad {
                backlog,
                pending,
                capacity,
                service_ms: (with_time > 0).then(|| weighted / with_time as f64),
            },
            workers: n,
        });
    }
    let dead_key = queue.key("dead");
    let dead_letters: u64 = conn.run("dead letters", |con| {
        redis::cmd("XLEN").arg(&dead_key).query(con)
    })?;
    let stats_key = queue.key("stats");
    let raw: HashMap<String, String> = conn.run("counters", |con| {
        redis::cmd("HGETALL").arg(&stats_key).query(con)
    })?;
    let counters = raw
        .into_iter()
        .map(|(k, v)| (k, v.parse().unwrap_or(0)))
        .collect();
    Ok(QueueStatus {
        backends: out,
        workers,
        dead_letters,
        counters,
    })
}

/// How long a first contact retries an unreachable Redis before failing.
pub(super) const FIRST_CONTACT: Duration = Duration::from_secs(5);

/// Polls the queue and tells the router each backend's load, until dropped.
#[derive(Debug)]
pub struct Monitor {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Monitor {
    /// Reads the queue once (so that an unreachable Redis is an error here, and the first
    /// decision already sees the workers), then every `interval` on a thread. Every backend
    /// of the router's registry is taken to run behind the queue.
    pub fn start(
        queue: QueueConfig,
        router: Arc<Router>,
        interval: Duration,
    ) -> Result<Monitor, QueueError> {
        let backends: Vec<String> = router
            .registry()
            .iter()
            .map(|b| b.name().to_string())
            .collect();
        let first = status(&queue, &mut queue.connect_within(FIRST_CONTACT), &backends)?;
        for b in &first.backends {
            router.set_remote_load(&b.backend, Some(b.load));
        }
        let mut conn = queue.connect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("qroute-queue-monitor".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(interval);
                    // A failed read keeps the last known load; the next one retries.
                    if let Ok(s) = status(&queue, &mut conn, &backends) {
                        for b in &s.backends {
                            router.set_remote_load(&b.backend, Some(b.load));
                        }
                    }
                }
            })
            .map_err(|source| QueueError::Io {
                what: "cannot start the queue monitor",
                source,
            })?;
        Ok(Monitor {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
