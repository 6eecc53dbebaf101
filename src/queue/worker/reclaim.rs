//! Entries left by dead workers: claimed after the visibility timeout, retried, and
//! dead-lettered after too many deliveries.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use redis::streams::StreamAutoClaimReply;

use super::{Delivery, Worker, backend_of};
use crate::backend::protocol::WireError;
use crate::queue::{Conn, GROUP, JobResult, MESSAGE_VERSION, QueueError};

impl Worker {
    pub(super) fn reclaim_turn(&self) -> bool {
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
    pub(super) fn reclaim(&self, conn: &mut Conn) -> Result<Option<Delivery>, QueueError> {
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
                tracing::info!(stream = %s, entry = %entry.id, deliveries, "stale job reclaimed");
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

    pub(super) fn deliveries(
        &self,
        conn: &mut Conn,
        stream: &str,
        id: &str,
    ) -> Result<u64, QueueError> {
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

    /// Leaves the entry pending (another delivery follows after the visibility timeout) and
    /// keeps why.
    pub(super) fn fault(
        &self,
        conn: &mut Conn,
        error_key: &str,
        why: String,
    ) -> Result<(), QueueError> {
        self.counters.faults.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(why = %why, "job not finished; left pending for another delivery");
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

    pub(super) fn dead_letter(
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
        tracing::error!(
            job = %job_id,
            deliveries = d.deliveries - 1,
            error = %error,
            "job dead-lettered"
        );
        Ok(())
    }
}
