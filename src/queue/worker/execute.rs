//! Running one job on the worker's registry and recording its telemetry row.

use std::sync::atomic::Ordering;

use super::Worker;
use crate::backend::protocol::{RunResult, WireError};
use crate::backend::{BackendError, RunSpec};
use crate::exec::{Check, execute_and_record};
use crate::queue::JobMessage;
use crate::telemetry::ExecutionRecord;

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
            cutoff: msg.cutoff_s.and_then(crate::bounds::positive_seconds),
            options: msg.run.options.clone(),
        };
        let features = crate::features::extract(&circuit);
        let base = ExecutionRecord {
            circuit_name: msg.id.clone(),
            ..ExecutionRecord::attempt(
                format!("worker-{}", self.opts.name),
                format!("{}/{deliveries}", msg.id),
                circuit.id().to_string(),
                features.clone(),
                msg.run.backend.clone(),
            )
        };
        let done = execute_and_record(
            backend.as_ref(),
            &circuit,
            &features,
            &spec,
            Check::Done,
            base,
            &self.host,
        );
        let (mut row, result, elapsed) = (done.record, done.result, done.elapsed);
        row.queue_wait_ms = Some(((row.ts_us - msg.enqueued_us).max(0)) as f64 / 1e3);
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
