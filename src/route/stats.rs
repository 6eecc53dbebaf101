//! Routing statistics: what the router decided, what it cost, what is running, and how far
//! its predictions were from what happened.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::router::Observation;
use crate::backend::Status;

/// A snapshot of [`Router::stats`](super::Router::stats).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterStats {
    /// Decisions.
    pub routing: RoutingStats,
    /// Spending.
    pub cost: CostStats,
    /// What is happening now.
    pub realtime: RealtimeStats,
    /// Predictions against outcomes.
    pub debug: DebugStats,
}

/// Decisions made.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RoutingStats {
    /// Recommendations made.
    pub decisions: u64,
    /// By chosen backend.
    pub by_backend: BTreeMap<String, u64>,
    /// By strategy.
    pub by_strategy: BTreeMap<String, u64>,
    /// Decisions where the confidence gate took the rule's choice.
    pub rule_fallbacks: u64,
    /// Decisions that explored.
    pub explorations: u64,
    /// The model set in use (`name:checksum`).
    pub model_version: String,
    /// Backends it has models for.
    pub models_loaded: usize,
    /// Times the model set was replaced.
    pub model_swaps: u64,
    /// Why the last attempt to load a new model set failed (cleared by a successful one).
    pub model_error: Option<String>,
    /// The prediction cache of the model set in use.
    pub prediction_cache: CacheStats,
}

/// How often decisions found their predictions kept ([`RouterConfig`](super::RouterConfig)
/// `prediction_cache`). Counted per model set: a swap starts again from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CacheStats {
    /// Entries it can hold (0: no cache).
    pub capacity: usize,
    /// Backend predictions found in it.
    pub hits: u64,
    /// Backend predictions made and kept.
    pub misses: u64,
}

/// Spending, from observed executions.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CostStats {
    /// Total cost of every observed attempt.
    pub total: f64,
    /// Circuits that finished.
    pub circuits: u64,
    /// Total cost per finished circuit.
    pub per_circuit: f64,
    /// The configured budget, when there is one.
    pub budget: Option<f64>,
    /// Share of the budget spent.
    pub budget_utilisation: Option<f64>,
}

/// Load of one backend.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Load {
    /// Jobs in flight.
    pub in_flight: usize,
    /// Expected wait before a new job starts, ms (infinite when no worker serves its queue).
    pub queue_ms: f64,
    /// Its shared queue, when it runs on workers behind one.
    pub remote: Option<super::RemoteLoad>,
    /// Circuit breaker: closed, open or half-open.
    pub breaker: String,
    /// Online correction factor of its latency predictions.
    pub correction: f64,
}

/// What is happening now.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RealtimeStats {
    /// Per backend.
    pub load: BTreeMap<String, Load>,
    /// Backends that can take work now (available, breaker not open).
    pub active_backends: Vec<String>,
    /// Executions observed.
    pub observed: u64,
    /// Mean of queue wait + wall time over the retained successful executions, ms.
    pub average_response_ms: Option<f64>,
}

/// One observed execution that the router had routed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentExecution {
    /// Circuit.
    pub circuit: String,
    /// Backend.
    pub backend: String,
    /// Strategy.
    pub strategy: Option<String>,
    /// How it ended.
    pub status: Status,
    /// Predicted wall time, ms.
    pub predicted_ms: Option<f64>,
    /// Actual wall time, ms.
    pub actual_ms: Option<f64>,
}

/// Prediction error of one backend over the retained executions.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PredictionError {
    /// Executions with both a prediction and a wall time.
    pub n: usize,
    /// Median |predicted − actual| / actual.
    pub median_ape: Option<f64>,
    /// Mean ln(actual / predicted): above 0, the model is optimistic.
    pub mean_log_ratio: Option<f64>,
}

/// Predictions against outcomes.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DebugStats {
    /// The most recent executions, newest last.
    pub recent: Vec<RecentExecution>,
    /// Per backend.
    pub prediction_error: BTreeMap<String, PredictionError>,
    /// Share of the retained execution time spent on each backend.
    pub utilisation: BTreeMap<String, f64>,
}

/// The running tallies behind [`RouterStats`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) routing: RoutingStats,
    pub(crate) total_cost: f64,
    pub(crate) circuits: u64,
    pub(crate) observed: u64,
    pub(crate) recent: VecDeque<RecentExecution>,
    pub(crate) retention: usize,
}

impl Tally {
    pub(crate) fn new(retention: usize) -> Tally {
        Tally {
            retention,
            ..Tally::default()
        }
    }

    pub(crate) fn decided(&mut self, backend: &str, strategy: &str, rule: bool, explored: bool) {
        let r = &mut self.routing;
        r.decisions += 1;
        count(&mut r.by_backend, backend);
        count(&mut r.by_strategy, strategy);
        r.rule_fallbacks += rule as u64;
        r.explorations += explored as u64;
    }

    pub(crate) fn observed(&mut self, rec: &Observation<'_>) {
        self.observed += 1;
        self.total_cost += rec.cost.unwrap_or(0.0);
        self.circuits += (rec.status == Status::Ok) as u64;
        if self.recent.len() == self.retention {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentExecution {
            circuit: rec.circuit.to_string(),
            backend: rec.backend.to_string(),
            strategy: rec.strategy.map(str::to_string),
            status: rec.status,
            predicted_ms: rec.predicted_ms,
            actual_ms: rec.wall_ms,
        });
    }

    pub(crate) fn debug(&self) -> (DebugStats, Option<f64>) {
        let mut errors: BTreeMap<String, (Vec<f64>, f64)> = BTreeMap::new();
        let mut busy: BTreeMap<String, f64> = BTreeMap::new();
        let (mut resp, mut n_resp) = (0.0, 0usize);
        for r in &self.recent {
            if let Some(a) = r.actual_ms {
                *busy.entry(r.backend.clone()).or_default() += a;
            }
            if r.status != Status::Ok {
                continue;
            }
            if let Some(a) = r.actual_ms {
                resp += a;
                n_resp += 1;
            }
            if let (Some(p), Some(a)) = (r.predicted_ms, r.actual_ms)
                && p > 0.0
                && a > 0.0
            {
                let e = errors.entry(r.backend.clone()).or_default();
                e.0.push((p - a).abs() / a);
                e.1 += (a / p).ln();
            }
        }
        let total_busy: f64 = busy.values().sum();
        let prediction_error = errors
            .into_iter()
            .map(|(b, (mut apes, log_sum))| {
                let n = apes.len();
                apes.sort_by(f64::total_cmp);
                let median = if n % 2 == 1 {
                    apes[n / 2]
                } else {
                    (apes[n / 2 - 1] + apes[n / 2]) / 2.0
                };
                (
                    b,
                    PredictionError {
                        n,
                        median_ape: Some(median),
                        mean_log_ratio: Some(log_sum / n as f64),
                    },
                )
            })
            .collect();
        let utilisation = busy
            .into_iter()
            .map(|(b, ms)| {
                (
                    b,
                    if total_busy > 0.0 {
                        ms / total_busy
                    } else {
                        0.0
                    },
                )
            })
            .collect();
        (
            DebugStats {
                recent: self.recent.iter().cloned().collect(),
                prediction_error,
                utilisation,
            },
            (n_resp > 0).then(|| resp / n_resp as f64),
        )
    }
}

/// Adds one to `key`'s count, allocating its name only the first time.
fn count(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}
