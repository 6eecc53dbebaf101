//! Host speed: a fixed workload timed on this host, recorded with each row of a sweep
//! (`host_calibration_ms`, telemetry v2) so that times taken on fast and slow days, or on
//! different hosts, can be put on one scale (#34).
//!
//! The workload is two seeded circuits from qroute's own generator on prism-q in this
//! process, one thread: a 16-qubit random circuit of depth 40 on the dense state vector
//! (memory-bound amplitude updates) and a 32-qubit brickwork of depth 10 on MPS with bond cap
//! 64 (small dense linear algebra). Each runs three times and the fastest counts, so that one
//! interruption by another process does not move the figure. On the 2-core VM this was written
//! on the sum is about 45 ms (three `qroute collect` runs: 43.6, 48.0 and 44.0 ms) and a
//! measurement, three passes, about 0.15 s. It never changes for
//! a given qroute version: a changed workload would be a different unit.

use std::time::{Duration, Instant};

use crate::backend::prism::{PrismBackend, PrismTarget};
use crate::backend::{Backend, RunSpec};
use crate::circuit::generate::{GenKind, GenSpec, generate};

/// How often a sweep measures again by default: a shared host's speed drifts over minutes.
pub const RECALIBRATE_EVERY: Duration = Duration::from_secs(300);

/// The workload's wall time on this host now, ms: lower is faster.
pub fn measure() -> f64 {
    let spec = RunSpec {
        shots: 1,
        seed: 0,
        threads: 1,
        ..RunSpec::default()
    };
    let price = crate::backend::registry::default_price();
    let kernels = [
        (PrismTarget::Statevector, GenKind::Random, 16, 40, 1),
        (
            PrismTarget::Mps { max_bond: 64 },
            GenKind::Brickwork,
            32,
            10,
            2,
        ),
    ];
    kernels
        .iter()
        .map(|&(target, kind, qubits, depth, seed)| {
            let circuit = generate(
                &GenSpec {
                    kind,
                    qubits,
                    depth: Some(depth),
                    seed,
                }
                .check()
                .expect("the calibration circuits are within the generator's bounds"),
            );
            let backend = PrismBackend::new(target, price);
            (0..3)
                .map(|_| {
                    let t = Instant::now();
                    // A failure here would be prism-q's own bug; its time still counts.
                    let _ = backend.execute(&circuit, &spec);
                    t.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::INFINITY, f64::min)
        })
        .sum()
}

/// The host's calibration, measured again when older than its period.
#[derive(Debug)]
pub struct HostCalibration {
    every: Duration,
    last: Option<(Instant, f64)>,
}

impl HostCalibration {
    /// Measures again after `every`.
    pub fn new(every: Duration) -> HostCalibration {
        HostCalibration { every, last: None }
    }

    /// The latest measurement, measured now when there is none or it is older than the period.
    pub fn current(&mut self) -> f64 {
        match self.last {
            Some((at, ms)) if at.elapsed() < self.every => ms,
            _ => {
                let ms = measure();
                self.last = Some((Instant::now(), ms));
                ms
            }
        }
    }
}
