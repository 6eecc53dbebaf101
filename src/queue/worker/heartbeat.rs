//! Heartbeats: the worker's expiring hash, its place in the live set, its running entries
//! kept fresh; and leaving cleanly.

use super::Worker;
use crate::queue::{Conn, GROUP, QueueError};
use crate::time::now_us;

impl Worker {
    /// Heartbeat: the worker's hash (expiring), its place in the live set, and its running
    /// entries kept fresh so that no other worker claims them.
    pub(super) fn beat(&self, conn: &mut Conn) -> Result<(), QueueError> {
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
    pub(super) fn leave(&self, conn: &mut Conn) -> Result<(), QueueError> {
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
}
