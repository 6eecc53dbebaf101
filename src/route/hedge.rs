//! Hedging: a run still going past its cutoff — a multiple of the upper end of its own 90%
//! interval, never below a floor — is given up for the next-best eligible backend of another
//! family. No model is right on every circuit it has never seen; this bounds what a wrong
//! choice costs to about its cutoff plus the alternative's time.
//!
//! The runner ([`crate::exec::Runner`]) kills an executor process at the cutoff and tries the
//! alternative; replay ([`crate::replay`]) scores the same rule on recorded times, so its
//! gain is measured on families the models did not see before anyone relies on it.

use serde::Serialize;

use super::{Estimate, Recommendation};

/// When a run is given up for another backend (`[router]` `hedge_factor`, `hedge_floor_ms`,
/// `max_hedges`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Hedge {
    /// The cutoff is this many times the upper end of the run's 90% interval.
    pub factor: f64,
    /// Nor below this many milliseconds: starting an executor and a short run's noise are
    /// not worth a kill.
    pub floor_ms: f64,
    /// Most backends given up per job (0: never hedge).
    pub max: u32,
}

impl Default for Hedge {
    /// Chosen before any replay scored them: a calibrated model's run passes the upper end of
    /// its 90% interval one time in twenty and passes three times it far less often, so a run
    /// past that is more likely a misprediction than bad luck; 250 ms is several executor
    /// starts; one hedge per job.
    fn default() -> Self {
        Hedge {
            factor: 3.0,
            floor_ms: 250.0,
            max: 1,
        }
    }
}

impl Hedge {
    /// The cutoff of a run predicted as `e`, ms.
    pub fn cutoff_ms(&self, e: &Estimate) -> f64 {
        (self.factor * e.high_ms).max(self.floor_ms)
    }

    /// The backend to try when `current` overruns: the best-ranked alternative of `rec` that
    /// is of another family than `current`, was not `tried`, and `usable` accepts.
    pub fn next<'r>(
        &self,
        rec: &'r Recommendation,
        current: &str,
        tried: &[String],
        usable: impl Fn(&str) -> bool,
    ) -> Option<&'r Estimate> {
        let fam = family(current);
        std::iter::once(&rec.chosen)
            .chain(&rec.alternatives)
            .find(|e| {
                family(&e.backend) != fam
                    && !tried.iter().any(|t| t == &e.backend)
                    && usable(&e.backend)
            })
    }
}

/// A backend's family: its name without a trailing `-<number>` (a bond dimension, a width):
/// `mps-64` and `mps-256` are one engine, and an overrun on one predicts one on the other.
pub fn family(backend: &str) -> &str {
    match backend.rsplit_once('-') {
        Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => backend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_drop_a_numeric_suffix_only() {
        assert_eq!(family("mps-64"), "mps");
        assert_eq!(family("mps-256"), "mps");
        assert_eq!(family("factored-stabilizer"), "factored-stabilizer");
        assert_eq!(family("prism-auto"), "prism-auto");
        assert_eq!(family("statevector"), "statevector");
        assert_eq!(family("gpu-"), "gpu-");
    }
}
