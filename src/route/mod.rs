//! The predictive orchestrator: where each circuit runs, why, and what was learnt from it.
//!
//! A [`Router`] holds a [`ModelSet`](crate::model::ModelSet), the backend
//! [`Registry`](crate::backend::Registry) and a [`RouterConfig`]. For one circuit's features and
//! the caller's [`Constraints`] it first removes the backends that cannot take the circuit
//! (Clifford-only, memory, qubit limits, capabilities, availability, an open circuit breaker,
//! no model), then ranks the rest under a [`Strategy`] and returns a [`Recommendation`]: the
//! chosen backend, why, how confident the model is, the predicted latency with its 90% interval,
//! the expected cost and fidelity, the ranked alternatives and the refused backends with
//! reasons.
//!
//! [`Router::observe`] feeds each finished execution back: it corrects the backend's
//! predictions online, drives its circuit breaker and updates the statistics
//! ([`RouterStats`]). [`crate::exec::Runner`] executes circuits through the router — isolation chosen per job,
//! failures retried on the next backend with backoff, every attempt recorded as telemetry.
//!
//! ```
//! use qroute::backend::{Registry, registry::builtin};
//! use qroute::config::default_price;
//! use qroute::circuit::qasm;
//! use qroute::features;
//! use qroute::model::ModelSet;
//! use qroute::route::{Constraints, Router, RouterConfig, Strategy};
//!
//! let models = ModelSet::load("models/default".as_ref())?;
//! let registry = Registry::new(
//!     ["statevector", "stabilizer", "mps-64", "prism-auto"]
//!         .iter()
//!         .map(|n| builtin(n, default_price()).unwrap())
//!         .collect(),
//! );
//! let router = Router::new(models, registry, RouterConfig::default());
//! let circuit = qasm::parse_str(
//!     "OPENQASM 2.0; include \"qelib1.inc\"; qreg q[40]; h q[0]; cx q[0], q[1];",
//! )?;
//! let rec = router.recommend(&features::extract(&circuit), &Constraints {
//!     strategy: Some(Strategy::Performance),
//!     ..Constraints::default()
//! })?;
//! // 40 qubits: a dense state vector needs 16 TiB, so it is refused with the numbers.
//! assert_ne!(rec.backend, "statevector");
//! assert!(rec.ineligible.iter().any(|i| i.backend == "statevector"));
//! println!("{}: {}", rec.backend, rec.reason);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! How each strategy scores, and what the statistics mean: `docs/routing.md`.

mod cache;
pub mod config;
pub mod hedge;
mod job;
mod online;
pub mod router;
pub mod stats;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use config::{RouterConfig, RouterConfigError, RouterSection};
pub use hedge::Hedge;
pub use job::Job;
pub use router::{InFlight, ModelWatcher, Observation, Router};
pub use stats::{CacheStats, RouterStats};

use crate::backend::Ineligible;

/// How the router ranks the eligible backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Strategy {
    /// Least expected time: queue wait plus the run's mean time, where a run that fails or
    /// passes the timeout (risk, and the prediction's doubt) costs the timeout and a rerun.
    Performance,
    /// Least cost among the backends predicted to meet the deadline.
    Cost,
    /// Weighted normalised latency and cost (`performance_weight`, `cost_weight`).
    Balanced,
    /// `balanced`, but when the model is unsure or the circuit lies outside its training
    /// domain, the rule-based choice (prism-auto's).
    Predictive,
    /// `predictive` plus live load (queue wait from work in flight), online correction of
    /// each backend's predictions, and optional seeded exploration.
    Adaptive,
}

impl Strategy {
    /// Every strategy.
    pub const ALL: [Strategy; 5] = [
        Strategy::Performance,
        Strategy::Cost,
        Strategy::Balanced,
        Strategy::Predictive,
        Strategy::Adaptive,
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Performance => "performance",
            Strategy::Cost => "cost",
            Strategy::Balanced => "balanced",
            Strategy::Predictive => "predictive",
            Strategy::Adaptive => "adaptive",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = crate::UnknownName;

    fn from_str(s: &str) -> Result<Strategy, crate::UnknownName> {
        Strategy::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                crate::UnknownName::new(
                    "strategy",
                    s,
                    Strategy::ALL.map(Strategy::as_str).join(", "),
                )
            })
    }
}

/// What the caller needs from one execution. Unset fields fall back to the router's
/// configuration (`cost_threshold`, `performance_threshold`, `strategy`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Constraints {
    /// Strategy for this decision.
    pub strategy: Option<Strategy>,
    /// Shots to sample.
    pub shots: Option<u64>,
    /// Cores the run may hold (for cost; default 1).
    pub cores: Option<u32>,
    /// Latest acceptable finish, from now.
    #[serde(
        serialize_with = "crate::backend::opt_duration_secs::serialize",
        deserialize_with = "deadline_secs"
    )]
    pub deadline: Option<Duration>,
    /// Most the run may cost.
    pub max_cost: Option<f64>,
    /// Least acceptable fidelity, in [0, 1].
    pub min_fidelity: Option<f64>,
    /// Memory the run may use, bytes.
    pub memory_budget: Option<u64>,
    /// Backends not to consider (e.g. ones that already failed this job).
    pub exclude: Vec<String>,
}

impl Constraints {
    /// Checks the values that have a range (fidelity in [0, 1], a cost ≥ 0, at least one
    /// core). Every decision checks them; a caller with many circuits can check once first.
    pub fn check(&self) -> Result<(), RouteError> {
        let bad = |name, value: String, message: &str| RouteError::Constraint {
            name,
            value,
            message: message.to_string(),
        };
        if let Some(f) = self.min_fidelity
            && !(0.0..=1.0).contains(&f)
        {
            return Err(bad("min_fidelity", f.to_string(), "must be in [0, 1]"));
        }
        if let Some(m) = self.max_cost
            && !(m.is_finite() && m >= 0.0)
        {
            return Err(bad("max_cost", m.to_string(), "must be a number ≥ 0"));
        }
        if let Some(c) = self.cores
            && !(1..=MAX_CORES).contains(&c)
        {
            return Err(bad(
                "cores",
                c.to_string(),
                &format!("must be from 1 to {MAX_CORES}"),
            ));
        }
        if let Some(s) = self.shots
            && s > crate::bounds::MAX_SHOTS
        {
            return Err(bad(
                "shots",
                s.to_string(),
                &format!("must be at most {}", crate::bounds::MAX_SHOTS),
            ));
        }
        if self.exclude.len() > MAX_EXCLUDE {
            return Err(bad(
                "exclude",
                format!("{} names", self.exclude.len()),
                &format!("takes at most {MAX_EXCLUDE} backend names"),
            ));
        }
        Ok(())
    }
}

/// Most cores a constraint may name.
const MAX_CORES: u32 = 4096;
/// Most backends a constraint may exclude.
const MAX_EXCLUDE: usize = 256;

/// A deadline: a positive number of seconds below 10^9, or null.
fn deadline_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        Some(x) => crate::bounds::positive_seconds(x).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "deadline must be a positive number of seconds up to 1e9, got {x}"
            ))
        }),
        None => Ok(None),
    }
}

/// A backend's shared queue as its workers and the queue report it (see
/// [`Router::set_remote_load`]).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct RemoteLoad {
    /// Jobs in the queue: waiting, or delivered to a worker and not yet finished.
    pub backlog: u64,
    /// Of those, delivered to a worker and not yet finished.
    pub pending: u64,
    /// Jobs the live workers serving it run at once.
    pub capacity: u64,
    /// The workers' mean service time of recent jobs, ms.
    pub service_ms: Option<f64>,
}

/// What the router predicts for one eligible backend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Backend name.
    pub backend: String,
    /// Expected run time, ms (the model's, corrected online under `adaptive`).
    pub latency_ms: f64,
    /// Lower end of the 90% interval, ms.
    pub low_ms: f64,
    /// Upper end of the 90% interval, ms.
    pub high_ms: f64,
    /// The model's own prediction before any online correction, ms.
    pub model_ms: f64,
    /// Expected wait for work already in flight on the backend, ms (`adaptive` only).
    pub queue_ms: f64,
    /// Predicted share of attempts that fail or time out.
    pub risk: f64,
    /// What the ranking uses, ms: queue wait + the expected time of a run of this latency,
    /// uncertainty (`log_sd`) and risk against the timeout `risk_penalty_ms`
    /// ([`crate::model::expected::expected_ms`]).
    pub expected_ms: f64,
    /// Expected cost.
    pub cost: f64,
    /// Fidelity: 1 when exact; `None` for an approximate backend that may truncate.
    pub fidelity: Option<f64>,
    /// Whether the circuit lies inside the backend's training domain.
    pub in_domain: bool,
    /// Whether latency + queue wait is within the deadline (true without one).
    pub meets_deadline: bool,
    /// Whether the cost is within the limit (true without one).
    pub within_budget: bool,
    /// The strategy's score, lower is better.
    pub score: f64,
    /// Standard deviation of the log latency prediction.
    pub log_sd: f64,
}

/// The router's answer for one circuit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The chosen backend.
    pub backend: String,
    /// The strategy that chose it.
    pub strategy: Strategy,
    /// Why, in one sentence with the numbers.
    pub reason: String,
    /// Probability, under the model's own error, that the chosen backend finishes before the
    /// best alternative (1 when there is none).
    pub confidence: f64,
    /// The prediction for the chosen backend.
    pub chosen: Estimate,
    /// The other eligible backends, best first.
    pub alternatives: Vec<Estimate>,
    /// Backends that cannot take the circuit, with why.
    pub ineligible: Vec<Ineligible>,
    /// Whether the choice meets the deadline and cost limit.
    pub constraints_met: bool,
    /// Whether the confidence gate replaced the model's choice with the rule's.
    pub rule_fallback: bool,
    /// Whether this was an exploration of a near-best alternative.
    pub explored: bool,
    /// The model set that predicted (`name:checksum`).
    pub model_version: String,
}

/// Routing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// No backend can take the circuit.
    #[error("no backend can run this circuit: {}", list(.ineligible))]
    NoBackend {
        /// Every backend, with why not.
        ineligible: Vec<Ineligible>,
    },
    /// A constraint is out of range.
    #[error("invalid constraint {name} = {value}: {message}")]
    Constraint {
        /// Which.
        name: &'static str,
        /// As given.
        value: String,
        /// Why.
        message: String,
    },
    /// The feature vector does not match the models.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
}

fn list(v: &[Ineligible]) -> String {
    v.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
