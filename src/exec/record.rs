//! The one execute-and-record path: a circuit run on a backend, and the telemetry record of
//! that attempt completed with the backend, host, settings, start time and how it ended.

use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendError, Outcome, RunSpec};
use crate::circuit::Circuit;
use crate::features::Features;
use crate::telemetry::ExecutionRecord;

/// Whether the backend's eligibility is checked before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Check first; a refusal is recorded as an ineligible attempt and nothing runs (the
    /// full-information sweep).
    First,
    /// Already checked (the router did, or the job's submitter).
    Done,
}

/// One attempt and its record.
#[derive(Debug)]
pub struct Recorded {
    /// The record: `Ok` with times, memory, cost and fidelity, or the status and error.
    pub record: ExecutionRecord,
    /// What the backend returned.
    pub result: Result<Outcome, BackendError>,
    /// Wall time around the call, the simulation and any process round trip included.
    pub elapsed: Duration,
}

/// Runs `circuit` (whose features are `features`) on `backend` under `spec` and completes
/// `base` — the attempt's identity and routing fields ([`ExecutionRecord::attempt`]) — into
/// its record, stamped now on `host`. Nothing is written: the caller writes the record where
/// it keeps telemetry (or leaves it to a remote worker).
pub fn execute_and_record(
    backend: &dyn Backend,
    circuit: &Circuit,
    features: &Features,
    spec: &RunSpec,
    check: Check,
    base: ExecutionRecord,
    host: &str,
) -> Recorded {
    let mut record = base.on(backend, spec, host, crate::time::now_us());
    let started = Instant::now();
    let result = match check {
        Check::First => match backend.check_circuit(circuit, features, spec) {
            Ok(_) => backend.execute(circuit, spec),
            Err(e) => Err(BackendError::Ineligible(e)),
        },
        Check::Done => backend.execute(circuit, spec),
    };
    let elapsed = started.elapsed();
    record.set_result(&result, backend.price());
    if let Ok(out) = &result
        && let Some(adapter) = out.metadata.get("adapter")
    {
        record.backend_version = format!("{} ({adapter})", record.backend_version);
    }
    Recorded {
        record,
        result,
        elapsed,
    }
}
