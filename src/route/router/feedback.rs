//! What happened, back into the router: jobs in flight, remote queue load, finished attempts
//! (online correction and circuit breakers), and statistics.

use std::time::Instant;

use super::Router;
use crate::backend::Status;
use crate::features::Features;
use crate::features::{FEATURE_SCHEMA, NUM_FEATURES};
use crate::model::terms;
use crate::route::stats::{CostStats, Load, RealtimeStats, RouterStats};
use crate::route::{Recommendation, RemoteLoad};

/// One finished attempt, as the router learns from it: what the telemetry record of an
/// attempt holds, less everything the router does not read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation<'a> {
    /// The circuit's name.
    pub circuit: &'a str,
    /// The backend it ran on.
    pub backend: &'a str,
    /// The strategy that chose it, when routed.
    pub strategy: Option<&'a str>,
    /// How it ended.
    pub status: Status,
    /// The circuit's features.
    pub features: &'a Features,
    /// The predicted wall time, ms, when routed.
    pub predicted_ms: Option<f64>,
    /// The wall time, ms (the timeout for a timeout).
    pub wall_ms: Option<f64>,
    /// What it cost.
    pub cost: Option<f64>,
}

/// Work in flight on a backend: counted in the expected queue wait of `adaptive` until
/// dropped.
#[derive(Debug)]
pub struct InFlight<'a> {
    router: &'a Router,
    backend: usize,
    ms: f64,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut st = self.router.lock();
        let b = &mut st.backends[self.backend];
        b.in_flight = b.in_flight.saturating_sub(1);
        b.in_flight_ms = if b.in_flight == 0 {
            0.0
        } else {
            (b.in_flight_ms - self.ms).max(0.0)
        };
    }
}

impl Router {
    /// Marks the recommended job as started: it counts in its backend's expected queue wait
    /// until the returned guard is dropped, and a half-open circuit breaker lets no second
    /// trial through meanwhile.
    pub fn begin(&self, rec: &Recommendation) -> Option<InFlight<'_>> {
        let i = self.registry.iter().position(|b| b.name() == rec.backend)?;
        let mut st = self.lock();
        let b = &mut st.backends[i];
        b.in_flight += 1;
        b.in_flight_ms += rec.chosen.latency_ms;
        b.breaker.dispatched();
        Some(InFlight {
            router: self,
            backend: i,
            ms: rec.chosen.latency_ms,
        })
    }

    /// Tells the router what `backend`'s shared queue holds now (`None`: it runs here, not
    /// behind a queue). Under `adaptive` the expected wait follows it; a queue no live worker
    /// reads makes the backend ineligible. Returns false for an unknown backend.
    pub fn set_remote_load(&self, backend: &str, load: Option<RemoteLoad>) -> bool {
        let Some(i) = self.registry.iter().position(|b| b.name() == backend) else {
            return false;
        };
        self.lock().backends[i].remote = load;
        true
    }

    /// Feeds back one finished attempt: online correction (successful runs), circuit breaker
    /// (failures and timeouts count; refusals do not), and statistics. A telemetry record
    /// converts into an [`Observation`].
    pub fn observe<'a>(&self, obs: impl Into<Observation<'a>>) {
        let rec = &obs.into();
        let Some(i) = self.registry.iter().position(|b| b.name() == rec.backend) else {
            self.lock().tally.observed(rec);
            return;
        };
        let loaded = self.loaded();
        // A run stopped at its timeout or cutoff: its wall time is a lower bound.
        let censored = matches!(rec.status, Status::Timeout | Status::Hedged);
        let residual = match (rec.status, rec.wall_ms, loaded.index[i]) {
            (Status::Ok | Status::Timeout | Status::Hedged, Some(wall), Some(m))
                if wall > 0.0 && FEATURE_SCHEMA.check(rec.features).is_ok() =>
            {
                let x = &rec.features.values[..NUM_FEATURES];
                let (mu, _) = loaded.set.backends[m].log_latency(x, &terms(x));
                Some(wall.ln() - mu)
            }
            _ => None,
        };
        let now = Instant::now();
        let mut st = self.lock();
        let b = &mut st.backends[i];
        match residual {
            Some(r) if censored => b
                .correction
                .update_censored(r, self.config.prediction_horizon),
            Some(r) => b.correction.update(r, self.config.prediction_horizon),
            None => {}
        }
        match rec.status {
            Status::Ok => b.breaker.record(
                true,
                now,
                self.config.breaker_failures,
                self.config.breaker_cooldown,
            ),
            Status::Failed | Status::Timeout => b.breaker.record(
                false,
                now,
                self.config.breaker_failures,
                self.config.breaker_cooldown,
            ),
            // Given up at a cutoff: the run was slow, not broken.
            Status::Ineligible | Status::Hedged => {}
        }
        st.tally.observed(rec);
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> RouterStats {
        let now = Instant::now();
        let mut st = self.lock();
        let mut load = std::collections::BTreeMap::new();
        let mut active = Vec::new();
        for (i, b) in self.registry.iter().enumerate() {
            let s = &mut st.backends[i];
            if self.availability[i].is_none() && s.breaker.admits(now).is_ok() {
                active.push(b.name().to_string());
            }
            load.insert(
                b.name().to_string(),
                Load {
                    in_flight: s.in_flight,
                    queue_ms: s.queue_ms(self.config.slots).unwrap_or(f64::INFINITY),
                    remote: s.remote,
                    breaker: s.breaker.describe().to_string(),
                    correction: s.correction.factor(),
                },
            );
        }
        let (debug, average_response_ms) = st.tally.debug();
        let t = &st.tally;
        let budget = self.config.budget;
        let mut routing = t.routing.clone();
        routing.prediction_cache = self.loaded().cache.stats();
        RouterStats {
            routing,
            cost: CostStats {
                total: t.total_cost,
                circuits: t.circuits,
                per_circuit: if t.circuits > 0 {
                    t.total_cost / t.circuits as f64
                } else {
                    0.0
                },
                budget,
                budget_utilisation: budget.filter(|b| *b > 0.0).map(|b| t.total_cost / b),
            },
            realtime: RealtimeStats {
                load,
                active_backends: active,
                observed: t.observed,
                average_response_ms,
            },
            debug,
        }
    }
}
