//! Recent model predictions by feature vector, so a circuit routed again is not predicted
//! again.
//!
//! The circuits of a parameter sweep or an error-mitigation batch differ in their angles and
//! share their structure, so most of them have the same features; a server is asked about the
//! same circuits again and again. A prediction is a pure function of the model set, the
//! features, the shots and the cores, so it can be kept: the cache lives beside the model set
//! it came from and goes with it when the set is swapped. What changes between decisions —
//! online correction, queue waits, circuit breakers, constraints — is applied after the
//! lookup, never cached.
//!
//! Direct-mapped: each key has one slot (chosen by its hash), a newer key takes the slot over,
//! and each slot has its own lock, so concurrent decisions do not queue on one another. Slots
//! keep their buffers, so a full cache allocates nothing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::stats::CacheStats;
use crate::model::Prediction;

/// The key of one entry: a feature vector (bit patterns) and the run settings a prediction
/// depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key<'a> {
    pub(crate) x: &'a [f64],
    pub(crate) shots: u64,
    pub(crate) cores: u32,
}

impl Key<'_> {
    fn hash(&self) -> u64 {
        use std::hash::Hasher;
        let mut h = rustc_hash::FxHasher::default();
        h.write_u64(self.shots);
        h.write_u32(self.cores);
        self.x.iter().for_each(|v| h.write_u64(v.to_bits()));
        h.finish()
    }

    fn matches(&self, e: &Entry) -> bool {
        e.shots == self.shots
            && e.cores == self.cores
            && e.x.len() == self.x.len()
            && e.x
                .iter()
                .zip(self.x)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

#[derive(Debug, Default)]
struct Entry {
    x: Vec<f64>,
    shots: u64,
    cores: u32,
    /// One per model of the set; `None` until predicted.
    predictions: Vec<Option<Prediction>>,
}

/// Predictions of one model set, by feature vector.
#[derive(Debug)]
pub(crate) struct PredictionCache {
    slots: Box<[Mutex<Entry>]>,
    models: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl PredictionCache {
    /// A cache of `capacity` entries (rounded up to a power of two; 0 keeps nothing) for a set
    /// of `models` backend models.
    pub(crate) fn new(capacity: usize, models: usize) -> PredictionCache {
        let n = if capacity == 0 {
            0
        } else {
            capacity.next_power_of_two()
        };
        PredictionCache {
            slots: (0..n).map(|_| Mutex::new(Entry::default())).collect(),
            models,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Its size and how often it served.
    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            capacity: self.slots.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Model `m`'s prediction for `key`: from the cache when it is there, else from `predict`,
    /// which is then kept.
    pub(crate) fn get_or_insert(
        &self,
        key: Key<'_>,
        m: usize,
        predict: impl FnOnce() -> Prediction,
    ) -> Prediction {
        if self.slots.is_empty() || m >= self.models {
            return predict();
        }
        let slot = &self.slots[(key.hash() as usize) & (self.slots.len() - 1)];
        {
            let e = slot.lock().unwrap_or_else(|p| p.into_inner());
            if key.matches(&e)
                && let Some(p) = e.predictions[m]
            {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return p;
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        // Predicted without the lock: another decision may use the slot meanwhile.
        let p = predict();
        let mut e = slot.lock().unwrap_or_else(|p| p.into_inner());
        if !key.matches(&e) {
            e.x.clear();
            e.x.extend_from_slice(key.x);
            e.shots = key.shots;
            e.cores = key.cores;
            e.predictions.clear();
            e.predictions.resize(self.models, None);
        }
        e.predictions[m] = Some(p);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(v: f64) -> Prediction {
        Prediction {
            latency_ms: v,
            ..Prediction::default()
        }
    }

    #[test]
    fn a_kept_prediction_is_returned_and_a_different_key_is_not_served_it() {
        let c = PredictionCache::new(4, 2);
        let x = [1.0, 2.0];
        let key = Key {
            x: &x,
            shots: 10,
            cores: 1,
        };
        assert_eq!(c.get_or_insert(key, 0, || pred(5.0)).latency_ms, 5.0);
        // Kept: the second closure is not called.
        assert_eq!(
            c.get_or_insert(key, 0, || unreachable!("kept")).latency_ms,
            5.0
        );
        // Another model of the same key, other shots, other cores, other features: predicted.
        assert_eq!(c.get_or_insert(key, 1, || pred(6.0)).latency_ms, 6.0);
        for other in [
            Key { shots: 11, ..key },
            Key { cores: 2, ..key },
            Key {
                x: &[1.0, 2.5],
                ..key
            },
        ] {
            assert_eq!(c.get_or_insert(other, 0, || pred(7.0)).latency_ms, 7.0);
        }
        // -0.0 and 0.0 compare equal but are different inputs: not shared.
        let zero = Key { x: &[0.0], ..key };
        let minus = Key { x: &[-0.0], ..key };
        assert_eq!(c.get_or_insert(zero, 0, || pred(8.0)).latency_ms, 8.0);
        assert_eq!(c.get_or_insert(minus, 0, || pred(9.0)).latency_ms, 9.0);
        let s = c.stats();
        assert_eq!((s.capacity, s.hits, s.misses), (4, 1, 7));
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let c = PredictionCache::new(0, 1);
        assert_eq!(c.stats().capacity, 0);
        let key = Key {
            x: &[1.0],
            shots: 1,
            cores: 1,
        };
        assert_eq!(c.get_or_insert(key, 0, || pred(1.0)).latency_ms, 1.0);
        assert_eq!(c.get_or_insert(key, 0, || pred(2.0)).latency_ms, 2.0);
    }
}
