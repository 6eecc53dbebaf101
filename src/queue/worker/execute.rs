//! Running one job on the worker's registry and recording its telemetry row.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::Worker;
use crate::backend::protocol::{RunResult, WireError};
use crate::backend::{BackendError, RunSpec};
use crate::queue::JobMessage;
use crate::telemetry::ExecutionRecord;
use crate::time::now_us;

impl Worker {
    /// Runs a job. `Ok`: a result (success or the executor's answered error); `Err`: a fault
    /// to retry on another delivery.
    #[allow(clippy::type_complexity)]
    pub(super) fn execute(
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
        tracing::info!(
            job = %msg.id,
            backend = %msg.run.backend,
            attempt = deliveries,
            ms = elapsed.as_secs_f64() * 1e3,
            ok = result.is_ok(),
            "job executed"
        );
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
