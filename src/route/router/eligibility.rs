//! Which backends can take a circuit, and what each is predicted to do with it.

use std::time::Instant;

use super::Router;
use super::models::Loaded;
use crate::backend::{BackendOptions, CircuitFacts, Fidelity, Ineligible, RunSpec};
use crate::features::NUM_FEATURES;
use crate::model::expected::expected_ms;
use crate::model::{Prediction, Row, terms};
use crate::route::cache::Key;
use crate::route::{Constraints, Estimate, Strategy};

/// One backend's shared state as one decision sees it.
struct Live {
    /// `Err`: why its circuit breaker keeps it out.
    admitted: Result<(), String>,
    /// Online correction factor.
    factor: f64,
    /// Expected wait before a new job starts, ms (`Err`: no worker serves its queue).
    queue_ms: Result<f64, String>,
}

impl Router {
    /// The run settings a backend is checked (and run) under for these constraints.
    pub fn run_spec(&self, c: &Constraints) -> RunSpec {
        RunSpec {
            shots: c.shots.unwrap_or(1024),
            seed: 0,
            memory_budget: c.memory_budget,
            threads: c.cores.unwrap_or(1) as usize,
            timeout: c.deadline,
            cutoff: None,
            options: BackendOptions {
                min_fidelity: c.min_fidelity.or(self.config.min_fidelity),
                ..Default::default()
            },
        }
    }

    /// Every backend's estimate for the circuit (unranked), and the refused ones with why.
    /// Each backend is checked once; its answer also says whether its result is exact.
    pub(super) fn estimate_all(
        &self,
        loaded: &Loaded,
        facts: &CircuitFacts<'_>,
        c: &Constraints,
        strategy: Strategy,
    ) -> (Vec<(usize, Estimate)>, Vec<Ineligible>) {
        let features = facts.features;
        let spec = self.run_spec(c);
        let shots = spec.shots;
        let cores = spec.threads.max(1) as u32;
        let x = &features.values[..NUM_FEATURES];
        // Terms and the row copy are made on the first prediction the cache does not hold.
        let t = std::cell::OnceCell::new();
        let row = std::cell::OnceCell::new();
        let key = Key { x, shots, cores };
        let deadline_ms = c.deadline.map(|d| d.as_secs_f64() * 1e3);
        let max_cost = c.max_cost.or(self.config.cost_threshold);
        let adaptive = strategy == Strategy::Adaptive;
        let now = Instant::now();

        // What the shared state says of each backend, read under the lock once; the
        // predictions below run without it, so concurrent requests do not queue on them.
        let live: Vec<Live> = {
            let mut st = self.lock();
            st.backends
                .iter_mut()
                .map(|b| Live {
                    admitted: b.breaker.admits(now).map_err(|wait| {
                        format!(
                            "circuit breaker {} after {} consecutive failures; next trial in \
                             {:.1} s",
                            b.breaker.describe(),
                            b.breaker.consecutive_failures,
                            wait.as_secs_f64()
                        )
                    }),
                    factor: b.correction.factor(),
                    queue_ms: b.queue_ms(self.config.slots),
                })
                .collect()
        };
        let mut ineligible = Vec::new();
        let mut cands: Vec<(usize, Estimate)> = Vec::with_capacity(self.registry.len());
        for (i, b) in self.registry.iter().enumerate() {
            let refuse = |reason: String| Ineligible {
                backend: b.name().to_string(),
                reason,
            };
            if c.exclude.iter().any(|e| e == b.name()) {
                ineligible.push(refuse("excluded by the request".into()));
                continue;
            }
            if let Some(why) = &self.availability[i] {
                ineligible.push(refuse(format!("unavailable: {why}")));
                continue;
            }
            let Some(m) = loaded.index[i] else {
                ineligible.push(refuse(format!(
                    "no model for it in {} (retrain with telemetry of it)",
                    loaded.set.meta.name
                )));
                continue;
            };
            if let Err(why) = &live[i].admitted {
                ineligible.push(refuse(why.clone()));
                continue;
            }
            let queue_ms = match &live[i].queue_ms {
                Ok(q) => *q,
                Err(why) => {
                    ineligible.push(refuse(why.clone()));
                    continue;
                }
            };
            let fidelity = match b.check(facts, &spec) {
                Ok(Fidelity::Exact) => Some(1.0),
                Ok(Fidelity::MayTruncate) => None,
                Err(e) => {
                    ineligible.push(e);
                    continue;
                }
            };
            let p: Prediction = loaded.cache.get_or_insert(key, m, || {
                let row = row.get_or_init(|| Row::new(x));
                loaded.set.backends[m].predict_row(x, row, t.get_or_init(|| terms(x)), shots, cores)
            });
            let (factor, queue_ms) = if adaptive {
                (live[i].factor, queue_ms)
            } else {
                (1.0, 0.0)
            };
            let latency_ms = p.latency_ms * factor;
            let est = Estimate {
                backend: b.name().to_string(),
                latency_ms,
                low_ms: p.low_ms * factor,
                high_ms: p.high_ms * factor,
                model_ms: p.latency_ms,
                queue_ms,
                risk: p.risk,
                expected_ms: queue_ms
                    + expected_ms(latency_ms, p.log_sd, p.risk, self.config.risk_penalty_ms),
                cost: p.cost * factor,
                fidelity,
                in_domain: p.in_domain,
                meets_deadline: deadline_ms.is_none_or(|d| latency_ms + queue_ms <= d),
                within_budget: max_cost.is_none_or(|m| p.cost * factor <= m),
                score: 0.0,
                log_sd: p.log_sd,
            };
            cands.push((i, est));
        }
        (cands, ineligible)
    }
}
