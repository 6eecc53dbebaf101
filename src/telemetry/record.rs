//! One execution attempt, as recorded.

use serde::{Deserialize, Serialize};

use crate::features::Features;

pub use crate::backend::Status;

/// One row of telemetry: one execution attempt of one circuit on one backend.
///
/// Columns are documented in `docs/telemetry.md`; optional fields are null where they do not
/// apply (no wall time for an ineligible attempt, no prediction when not routed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// When the attempt started, microseconds since the Unix epoch (UTC).
    pub ts_us: i64,
    /// The run (one `qroute collect` or `qroute run` invocation) it belongs to.
    pub run_id: String,
    /// The job within the run.
    pub job_id: String,
    /// Canonical circuit id.
    pub circuit_id: String,
    /// File name or label of the circuit.
    pub circuit_name: String,
    /// Where the circuit came from (e.g. `mqtbench`), when known.
    pub source: Option<String>,
    /// Its family (e.g. `qft`), when known.
    pub family: Option<String>,
    /// Its features (the schema version is stored with them).
    pub features: Features,
    /// Backend name.
    pub backend: String,
    /// Backend kind.
    pub backend_kind: String,
    /// Backend version and details (adapter for the GPU).
    pub backend_version: String,
    /// Host name.
    pub host: String,
    /// Wall time of qroute's fixed calibration workload on this host near the row's time, ms
    /// (`exec::calibration`): the host's speed, which training and replay can normalise by.
    /// `None` when not measured (telemetry v1; runs that did not calibrate).
    pub host_calibration_ms: Option<f64>,
    /// Threads the run could use.
    pub threads: u32,
    /// Shots.
    pub shots: u64,
    /// Seed.
    pub seed: u64,
    /// Timeout the attempt ran under, ms.
    pub timeout_ms: Option<f64>,
    /// Wall time, ms (for a timeout: the time until it was killed).
    pub wall_ms: Option<f64>,
    /// CPU time, ms.
    pub cpu_ms: Option<f64>,
    /// Peak resident memory, bytes.
    pub peak_mem_bytes: Option<u64>,
    /// Cost under the backend's price.
    pub cost: Option<f64>,
    /// How it ended.
    pub status: Status,
    /// Machine-readable error kind.
    pub error_kind: Option<String>,
    /// Error message.
    pub error_message: Option<String>,
    /// Fidelity estimate (1.0 when exact).
    pub fidelity_estimate: Option<f64>,
    /// Time spent waiting before running, ms.
    pub queue_wait_ms: Option<f64>,
    /// Routing strategy that chose the backend.
    pub strategy: Option<String>,
    /// Predicted wall time, ms.
    pub predicted_ms: Option<f64>,
    /// Predicted cost.
    pub predicted_cost: Option<f64>,
    /// Version of the model set that predicted.
    pub model_version: Option<String>,
}

impl ExecutionRecord {
    /// The record with what is known before running on `backend` under `spec` on `host`,
    /// starting at `ts_us`: backend kind and version, host, threads, shots, seed, timeout.
    pub fn on(
        self,
        backend: &dyn crate::backend::Backend,
        spec: &crate::backend::RunSpec,
        host: &str,
        ts_us: i64,
    ) -> ExecutionRecord {
        ExecutionRecord {
            ts_us,
            backend_kind: backend.kind().to_string(),
            backend_version: backend.version(),
            host: host.to_string(),
            threads: spec.threads as u32,
            shots: spec.shots,
            seed: spec.seed,
            timeout_ms: spec.limit().map(|t| t.as_secs_f64() * 1e3),
            ..self
        }
    }

    /// Fills in how the execution ended. Success: wall and CPU time, peak memory, cost under
    /// `price` (for the record's threads and shots) and fidelity. Failure: the status (timed
    /// out, refused, failed), the error's kind and detail, and for a timeout its limit as the
    /// wall time (a censored observation). A run `spec` stopped at its hedging cutoff rather
    /// than its timeout is `hedged`.
    pub fn set_result(
        &mut self,
        result: &Result<crate::backend::Outcome, crate::backend::BackendError>,
        price: crate::backend::Price,
        spec: &crate::backend::RunSpec,
    ) {
        use crate::backend::BackendError;
        match result {
            Ok(out) => {
                self.wall_ms = Some(out.wall.as_secs_f64() * 1e3);
                self.cpu_ms = Some(out.cpu.as_secs_f64() * 1e3);
                self.peak_mem_bytes = out.peak_memory;
                self.cost = Some(price.cost(out.wall, (self.threads as usize).max(1), self.shots));
                self.fidelity_estimate = Some(out.fidelity);
            }
            Err(e) => {
                self.status = match e {
                    BackendError::Timeout { .. } if spec.cut_short() => Status::Hedged,
                    BackendError::Timeout { .. } => Status::Timeout,
                    BackendError::Ineligible(_) => Status::Ineligible,
                    _ => Status::Failed,
                };
                if matches!(self.status, Status::Timeout | Status::Hedged) {
                    self.wall_ms = self.timeout_ms;
                }
                self.error_kind = Some(e.kind().to_string());
                self.error_message = Some(e.detail());
            }
        }
    }

    /// A record of one attempt with its identity filled in and every outcome, routing and
    /// detail field empty (status `Ok` until the caller says otherwise). Callers set the rest
    /// with struct update syntax.
    pub fn attempt(
        run_id: impl Into<String>,
        job_id: impl Into<String>,
        circuit_id: impl Into<String>,
        features: Features,
        backend: impl Into<String>,
    ) -> ExecutionRecord {
        ExecutionRecord {
            ts_us: 0,
            run_id: run_id.into(),
            job_id: job_id.into(),
            circuit_id: circuit_id.into(),
            circuit_name: String::new(),
            source: None,
            family: None,
            features,
            backend: backend.into(),
            backend_kind: String::new(),
            backend_version: String::new(),
            host: String::new(),
            host_calibration_ms: None,
            threads: 1,
            shots: 0,
            seed: 0,
            timeout_ms: None,
            wall_ms: None,
            cpu_ms: None,
            peak_mem_bytes: None,
            cost: None,
            status: Status::Ok,
            error_kind: None,
            error_message: None,
            fidelity_estimate: None,
            queue_wait_ms: None,
            strategy: None,
            predicted_ms: None,
            predicted_cost: None,
            model_version: None,
        }
    }
}

impl<'a> From<&'a ExecutionRecord> for crate::route::Observation<'a> {
    fn from(r: &'a ExecutionRecord) -> Self {
        crate::route::Observation {
            circuit: &r.circuit_name,
            backend: &r.backend,
            strategy: r.strategy.as_deref(),
            status: r.status,
            features: &r.features,
            predicted_ms: r.predicted_ms,
            wall_ms: r.wall_ms,
            cost: r.cost,
        }
    }
}
